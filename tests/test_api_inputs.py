"""The Python API takes what callers naturally pass, and says what to change otherwise."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from classifier import UnknownLabelError, classify, clean
from classifier.frames import clean_frame


def test_one_label_to_keep_may_be_a_plain_string(seed_text: str) -> None:
    assert clean(seed_text, keep="reporting") == clean(seed_text, keep=("reporting",))
    assert clean(seed_text, keep="ui_residue") == clean(seed_text, keep=["ui_residue"])
    frame = pd.DataFrame({"text": [seed_text]})
    assert clean_frame(frame, keep="reporting")["text"].tolist() == [clean(seed_text)]


def test_a_misspelt_label_is_named_whole() -> None:
    with pytest.raises(UnknownLabelError, match="unknown label 'report'"):
        clean("Some text.", keep="report")


@pytest.mark.parametrize("function", [classify, clean])
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bytes_are_refused_with_the_way_to_decode_them(function, kind) -> None:
    with pytest.raises(TypeError, match=rf"got {kind.__name__}: decode the text first"):
        function(kind(b"The council met on Monday."))


@pytest.mark.parametrize("keep", [(), []])
def test_keeping_no_label_is_refused_rather_than_emptying_the_text(keep, seed_text: str) -> None:
    from classifier.errors import InputError

    with pytest.raises(InputError, match="keep names no label"):
        clean(seed_text, keep=keep)


def test_keep_none_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="keep must be a label or a sequence of labels"):
        clean("The council met.", keep=None)  # type: ignore[arg-type]


def test_load_model_refuses_what_is_not_a_path() -> None:
    from classifier import load_model

    with pytest.raises(TypeError, match="load_model expects a model folder's path or None, not int"):
        load_model(5)  # type: ignore[arg-type]


def test_none_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="got None"):
        classify(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got NoneType"):
        clean(None)  # type: ignore[arg-type]


def test_evaluate_and_corpus_jobs_take_one_label_as_a_string(small_model, small_training_table, tmp_path) -> None:
    import classifier
    from classifier.bulk.runner import CorpusJob, run_corpus

    as_string = classifier.evaluate(small_model, small_training_table, keep="reporting")
    assert as_string.to_dict() == classifier.evaluate(small_model, small_training_table, keep=("reporting",)).to_dict()
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "The council met.\\nDonate now!"}\n', encoding="utf-8")
    result = run_corpus(CorpusJob(source, tmp_path / "out.jsonl", keep="reporting", jobs=1), notify=lambda _: None)  # type: ignore[arg-type]
    assert result.rows == 1


@pytest.mark.parametrize("value", [5, {"The council met.": 1}, {"The council met.", "Donate now!"}])
def test_what_is_neither_text_nor_a_list_of_paragraphs_is_refused(value) -> None:
    # A mapping would otherwise be classified as its keys.
    with pytest.raises(TypeError, match="expects str or a list of paragraph strings"):
        classify(value)


def test_given_probabilities_must_fit_the_paragraphs() -> None:
    import numpy as np

    from classifier.api import clean_document

    text = "Donate now!\nThe mayor said.\nSubscribe today."
    with pytest.raises(ValueError, match=r"shape \(5, 3\), but the text has 3 paragraphs"):
        clean_document(text, probabilities=np.array([[0.0, 1.0, 0.0]] * 5))
    given = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert clean_document(text, probabilities=given).text == "The mayor said.\n"


@pytest.mark.parametrize("rows", [[[float("nan")] * 3] * 3, [[-0.5, 1.5, 0.0]] * 3, [[0.2, 0.2, 0.2]] * 3])
def test_given_probabilities_must_be_probabilities(rows) -> None:
    import numpy as np

    from classifier.api import clean_document

    # NaN compares false: such rows would keep every paragraph and say nothing.
    with pytest.raises(ValueError, match="sum to 1 in each row"):
        clean_document("Donate now!\nThe mayor said.\nSubscribe today.", probabilities=np.array(rows))


@pytest.mark.parametrize("value", ["0.5", True, [0.5]])
def test_a_threshold_that_is_not_a_number_is_refused_by_name(value) -> None:
    with pytest.raises(TypeError, match="min_confidence must be a number from 0 to 1"):
        clean("Donate now!", min_confidence=value)
    with pytest.raises(TypeError, match="min_confidence must be a number from 0 to 1"):
        clean_frame(pd.DataFrame({"text": ["Donate now!"]}), min_confidence=value)


@pytest.mark.parametrize("value", [float("nan"), -0.1, 1.5])
def test_a_threshold_outside_0_to_1_is_refused(value, small_model, small_training_table) -> None:
    from classifier.evaluation import evaluate

    with pytest.raises(ValueError, match="min_confidence must lie between 0 and 1"):
        clean("Donate now!", min_confidence=value)
    with pytest.raises(ValueError, match="min_confidence must lie between 0 and 1"):
        evaluate(small_model, small_training_table, min_confidence=value)


def test_a_threshold_may_be_any_real_number_type() -> None:
    from decimal import Decimal
    from fractions import Fraction

    import numpy as np

    expected = clean("Donate now!\nThe mayor said.", min_confidence=0.5)
    for value in (np.float32(0.5), np.array(0.5), Decimal("0.5"), Fraction(1, 2)):
        assert clean("Donate now!\nThe mayor said.", min_confidence=value) == expected


def test_a_corpus_job_in_python_logs_its_notes_rather_than_printing(tmp_path, caplog, capsys) -> None:
    import logging

    from classifier.bulk.runner import CorpusJob, run_corpus

    source = tmp_path / "in.jsonl"
    rows = [{"domain": "site.example", "text": f"Story {n}.\nShare this"} for n in range(3)]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="newsclean"):
        run_corpus(CorpusJob(source, tmp_path / "out.jsonl", jobs=1, site_repeats=True, progress=False))
    assert any("distinct paragraphs per site" in record.getMessage() for record in caplog.records)
    assert capsys.readouterr().err == ""

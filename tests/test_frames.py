"""pandas frames: classify_frame and clean_frame agree with classify and clean, row by row."""

from __future__ import annotations

import pandas as pd
import pytest

import classifier
from classifier import InputError, split_paragraphs
from classifier.frames import classify_frame, clean_frame
from classifier.labels import LABELS
from tests.conftest import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
TEXTS = [SEED_TEXT, "Officials said the bridge would reopen on Monday.\nRead more\n", "", SEED_TEXT.replace("\n", "\r\n")]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"body": TEXTS, "source": ["a", "b", "c", "d"]}, index=[10, 20, 30, 40])


def test_clean_frame_cleans_each_row_as_clean_does() -> None:
    result = clean_frame(frame(), column="body")
    assert result["body"].tolist() == [classifier.clean(text) for text in TEXTS]
    assert result["source"].tolist() == ["a", "b", "c", "d"] and list(result.index) == [10, 20, 30, 40]
    assert frame()["body"].tolist() == TEXTS  # the input is not changed


def test_clean_frame_passes_keep_and_min_confidence_and_gives_labels() -> None:
    everything = clean_frame(frame(), column="body", keep=LABELS)
    assert everything["body"].tolist() == TEXTS
    result = clean_frame(frame(), column="body", min_confidence=0.999, labels=True)
    assert result["body"].tolist() == [classifier.clean(text, min_confidence=0.999) for text in TEXTS]
    labels = result.loc[10, "paragraph_labels"]
    assert len(labels) == len(split_paragraphs(SEED_TEXT))
    assert labels[-1]["label"] == "ui_residue" and set(labels[0]) == {"label", "probability", "kept"}


def test_classify_frame_has_one_row_per_paragraph_under_its_document() -> None:
    result = classify_frame(frame(), column="body")
    assert len(result) == sum(len(split_paragraphs(text)) for text in TEXTS)
    seed_rows = result.loc[10]
    expected = classifier.classify(SEED_TEXT)
    assert seed_rows["label"].tolist() == [p.label for p in expected]
    assert seed_rows["position"].tolist() == list(range(len(expected)))
    assert seed_rows["p_donation_appeal"].tolist() == pytest.approx([p.probabilities["donation_appeal"] for p in expected])
    assert 30 not in result.index  # the empty text has no paragraphs
    assert list(result.columns) == [
        "position",
        "label",
        "probability",
        "p_reporting",
        "p_donation_appeal",
        "p_ui_residue",
        "text",
    ]


def test_classify_frame_of_an_empty_frame() -> None:
    result = classify_frame(frame().iloc[:0], column="body")
    assert result.empty and "label" in result.columns


def test_a_null_or_non_text_row_is_an_error_naming_it_or_is_skipped() -> None:
    data = pd.DataFrame({"text": [SEED_TEXT, None, 7]}, index=["x", "y", "z"], dtype=object)
    with pytest.raises(InputError, match=r"row 'y' of column 'text' is null.*on_error='skip'"):
        clean_frame(data)
    result = clean_frame(data, on_error="skip")
    assert result["text"].tolist() == [classifier.clean(SEED_TEXT), None, 7]
    assert set(classify_frame(data, on_error="skip").index) == {"x"}


def test_a_missing_column_names_the_columns() -> None:
    with pytest.raises(InputError, match=r"no column 'text' in the frame \(columns: body, source\)"):
        classify_frame(frame())


def test_a_categorical_column_is_cleaned_not_emptied() -> None:
    data = pd.DataFrame({"text": pd.Categorical(TEXTS)})
    result = clean_frame(data)
    assert isinstance(result["text"].dtype, pd.CategoricalDtype)
    assert result["text"].tolist() == [classifier.clean(text) for text in TEXTS]


def test_a_text_column_named_twice_is_refused() -> None:
    data = pd.DataFrame([[SEED_TEXT, "Donate now!"]], columns=["text", "text"])
    for function in (clean_frame, classify_frame):
        with pytest.raises(InputError, match="more than one column named 'text'"):
            function(data)


def test_a_bad_row_is_named_by_its_plain_index_value() -> None:
    data = pd.DataFrame({"text": [SEED_TEXT, None]}, dtype=object)
    with pytest.raises(InputError, match=r"^row 1 of column 'text' is null"):
        clean_frame(data)


def test_the_package_offers_the_frame_functions_lazily() -> None:
    import subprocess
    import sys

    assert classifier.clean_frame is clean_frame and classifier.classify_frame is classify_frame
    # Lazily: importing the package alone does not import pandas.
    code = "import sys, classifier; assert 'pandas' not in sys.modules; classifier.clean_frame; assert 'pandas' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {"clean_frame", "classify_frame", "clean_html"} <= set(classifier.__all__)


def test_a_lone_surrogate_is_classified_not_refused_by_the_string_column() -> None:
    # Text decoded with errors="surrogateescape"; an Arrow string column cannot hold it.
    texts = pd.Series(["Caf\udce9 opens on Monday.\nDonate now", "Plain."], dtype=object)
    paragraphs = classify_frame(pd.DataFrame({"text": texts}))
    assert paragraphs["text"].tolist() == ["Caf\udce9 opens on Monday.", "Donate now", "Plain."]
    assert paragraphs["label"].tolist() == [p.label for text in texts for p in classifier.classify(text)]


def test_batches_are_capped_by_lines_and_give_what_one_batch_gives(monkeypatch) -> None:
    import classifier.frames as frames

    whole = classify_frame(frame(), column="body")
    cleaned = clean_frame(frame(), column="body", labels=True)
    monkeypatch.setattr(frames, "BATCH_LINES", 5)
    assert [len(batch) for batch in frames._batches(list(enumerate(["a\nb\nc", "d\ne", "f", "g\nh\ni\nj\nk\nl"])))] == [2, 1, 1]
    pd.testing.assert_frame_equal(classify_frame(frame(), column="body"), whole, atol=1e-6)
    pd.testing.assert_frame_equal(clean_frame(frame(), column="body", labels=True), cleaned)


def test_counting_site_repeats_names_a_missing_text_column() -> None:
    from classifier.frames import count_frame_site_repeats

    with pytest.raises(InputError, match="no column 'nope'"):
        count_frame_site_repeats(pd.DataFrame({"domain": ["a.org"], "text": ["x"]}), column="nope")

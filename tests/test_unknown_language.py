"""Text in a language the vocabulary does not know: the coverage feature and the
enciphered training copies that teach stage two what to do with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.data import encipher
from classifier.evaluation import predict_table
from classifier.features import paragraph_features, vocabulary_coverage
from classifier.model import load_model_folder, save_model
from classifier.training import CIPHER_SUFFIX, TrainingConfig, ciphered_copies, train
from tests.conftest import ROOT


def _coverage(texts: list[str], vocabulary: dict[str, int]) -> np.ndarray:
    ids, owners, shapes = paragraph_features(texts, vocabulary)
    return vocabulary_coverage(ids, owners, shapes, len(vocabulary))


def test_coverage_is_the_share_of_known_words() -> None:
    vocabulary = {"the": 0, "council": 1, "met": 2}
    coverage = _coverage(["The council met.", "The valtuusto kokoontui.", "Kunta", "", "..."], vocabulary)
    assert coverage.tolist() == [1.0, 1 / 3, 0.0, 1.0, 1.0]


def _pages() -> pd.DataFrame:
    rows = [
        ("a1", 0, "Floods closed 12 roads on Tuesday.", "reporting", "a.example", "real"),
        ("a1", 1, "Share this article", "ui_residue", "a.example", "real"),
        ("a2", 0, "Ministers met in Berlin, said Ms Ålund.", "reporting", "a.example", "real"),
        ("a2", 1, "Share this article", "ui_residue", "a.example", "real"),
        ("ours", 0, "Support us from $2 a month.", "donation_appeal", "ours.example", "authored"),
    ]
    return pd.DataFrame(rows, columns=["doc_id", "position", "text", "label", "domain", "corpus"])


def test_copies_keep_shape_and_labels_but_not_words() -> None:
    pages = _pages()
    copies = ciphered_copies(pages, 1.0)
    real = pages[pages["corpus"] == "real"]
    # Our own examples are never enciphered; every real document is at share 1.
    assert copies["doc_id"].tolist() == [name + CIPHER_SUFFIX for name in real["doc_id"]]
    assert copies["label"].tolist() == real["label"].tolist()
    assert copies["position"].tolist() == real["position"].tolist()
    for source, copy in zip(real["text"], copies["text"], strict=True):
        assert len(copy) == len(source)
        assert copy != source
        # Digits, punctuation, spaces and case survive; only letters change.
        for a, b in zip(source, copy, strict=True):
            assert a.isalpha() == b.isalpha()
            if not a.isalpha():
                assert a == b
            else:
                assert a.isupper() == b.isupper()
    # One substitution per site: a line repeated across its pages stays repeated.
    assert copies["text"].iloc[1] == copies["text"].iloc[3]
    assert ciphered_copies(pages, 0.0).empty


def test_the_share_of_documents_copied_follows_the_setting() -> None:
    pages = pd.DataFrame({"doc_id": [f"d{i}" for i in range(400)], "position": 0, "text": "Words here.", "label": "reporting"})
    copied = len(ciphered_copies(pages, 0.25))
    assert 60 <= copied <= 140
    assert ciphered_copies(pages, 0.25)["doc_id"].tolist() == ciphered_copies(pages, 0.25)["doc_id"].tolist()


def test_a_model_with_coverage_exports_saves_and_loads_exactly(small_training_table, tmp_path: Path) -> None:
    config = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, vocabulary_coverage=True)
    model, estimator = train(small_training_table, config=config)
    assert model.vocabulary_coverage
    expected = estimator.predict_proba(small_training_table)
    assert np.abs(predict_table(model, small_training_table) - expected).max() < 1e-5
    save_model(model, tmp_path / "m")
    loaded = load_model_folder(tmp_path / "m")
    assert loaded.vocabulary_coverage
    assert np.array_equal(predict_table(loaded, small_training_table), predict_table(model, small_training_table))
    # Stage two reads two more columns than a model without coverage.
    plain = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, vocabulary_coverage=False)
    without, _ = train(small_training_table, config=plain)
    assert not without.vocabulary_coverage
    assert len(model.context_mean) == len(without.context_mean) + 2


def test_a_share_outside_zero_to_one_is_refused(small_training_table) -> None:
    with pytest.raises(ValueError, match="unknown_language_copies is a share"):
        train(small_training_table, config=TrainingConfig(unknown_language_copies=1.5))


def test_evaluate_can_score_enciphered_text(tmp_path: Path) -> None:
    genre = str(ROOT / "datasets" / "evaluation" / "appeal_blocks.jsonl")
    runner = CliRunner()
    plain, enciphered = tmp_path / "plain.json", tmp_path / "enciphered.json"
    assert runner.invoke(app, ["evaluate", genre, "--json", str(plain)]).exit_code == 0
    result = runner.invoke(app, ["evaluate", genre, "--encipher", "--json", str(enciphered)])
    assert result.exit_code == 0, result.output
    plain_report, enciphered_report = json.loads(plain.read_text()), json.loads(enciphered.read_text())
    # Same paragraphs, other words: the figures move, the counts do not.
    assert enciphered_report["rows"] == plain_report["rows"]
    assert enciphered_report != plain_report
    refused = runner.invoke(app, ["evaluate", genre, "--encipher", "--cross-validate"])
    assert refused.exit_code == 1 and "--encipher scores a trained model" in refused.output


def test_encipher_keeps_everything_but_the_letters() -> None:
    pages = _pages()
    enciphered = encipher(pages)
    assert enciphered.drop(columns="text").equals(pages.drop(columns="text"))
    assert [len(text) for text in enciphered["text"]] == [len(text) for text in pages["text"]]
    assert encipher(pages)["text"].tolist() == enciphered["text"].tolist()
    assert encipher(pages, key="other")["text"].tolist() != enciphered["text"].tolist()


def test_every_latin_greek_and_cyrillic_letter_is_enciphered_and_links_are_kept() -> None:
    pages = pd.DataFrame(
        {
            "doc_id": ["pl", "el"],
            "position": 0,
            "text": ["Zażółć gęślą jaźń: https://example.pl/a-b (c) biuro@example.pl", "Ήλιος ΐ ї ґ Ёлка"],
            "label": "reporting",
        }
    )
    enciphered = encipher(pages)["text"].tolist()
    assert enciphered[0].endswith(": https://example.pl/a-b (c) biuro@example.pl")
    letters = [character for text in enciphered for character in text.split(":")[0] if character.isalpha()]
    assert letters and all(character.isascii() for character in letters)


def test_documents_with_letters_the_cipher_keeps_are_not_copied() -> None:
    pages = pd.DataFrame(
        {
            "doc_id": ["ja", "ja", "de"],
            "position": [0, 1, 0],
            "text": ["Berlin 2024", "この記事は会員限定です", "Der Rat tagte."],
            "label": "reporting",
        }
    )
    assert ciphered_copies(pages, 1.0)["doc_id"].tolist() == ["de" + CIPHER_SUFFIX]


def _site_pages() -> pd.DataFrame:
    # Two sites, three pages each: a line of its own, the site's button, its appeal,
    # and a time stamp, which has no letter to encipher.
    rows = []
    for site in ("a.example", "b.example"):
        for page in range(3):
            name = f"{site}/{page}"
            rows += [
                (name, 0, f"Story {page} on {site} about the council.", "reporting", site, "real"),
                (name, 1, "Share this", "ui_residue", site, "real"),
                (name, 2, "Support us from $2 a month.", "donation_appeal", site, "real"),
                (name, 3, "12:30", "ui_residue", site, "real"),
            ]
    return pd.DataFrame(rows, columns=["doc_id", "position", "text", "label", "domain", "corpus"])


def test_copies_keep_their_source_group_and_site_counts(fit_arguments: dict) -> None:
    seen = fit_arguments
    pages = _site_pages()
    config = TrainingConfig(folds=2, hidden_layers=(4,), unknown_language_copies=1.0, labelled_copies=False)
    train(pages, config=config, groups_column="doc_id")
    frame, groups, repeats = seen["frame"], seen["groups"], seen["site_repeats"]
    copies = frame["doc_id"].str.endswith(CIPHER_SUFFIX).to_numpy()
    assert copies.sum() == len(pages)
    # Grouped by doc_id, a copy still sits in its source page's group ...
    assert [groups[row] for row in np.flatnonzero(copies)] == pages["doc_id"].tolist()
    # ... and reads its source's site counts: button, appeal and time stamp are on
    # three pages of the site (the copies' own pages do not count as more).
    assert repeats.tolist() == [1.0, 3.0, 3.0, 3.0] * 6 * 2
    # The copies are trained on but neither scored nor fingerprinted.
    assert seen["calibrate_on"].sum() == len(pages)
    assert not seen["vocabulary_from"][copies].any()

"""``newsclean train --adapt``: a trained model moved towards a team's own labels.

The base here is the shipped model; the team's site ends every page with a tagline
that the shipped model keeps, and the team labels it as residue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import classifier
from classifier.cli import app
from tests.conftest import SEED

runner = CliRunner()
TAGLINE = "Our weekend picks are curated by the features team"
PLACES = ["Elm Street", "the harbour", "Mill Lane", "the old station", "Castle Hill", "the bypass", "North Road", "the market"]


def story(number: int) -> list[str]:
    place = PLACES[number % len(PLACES)]
    return [
        f"The council voted on Tuesday to close the library branch on {place} after a three-hour debate.",
        f"Residents had gathered more than {1000 + 137 * number:,} signatures asking for the branch to stay open.",
        f"The mayor said the savings would pay for longer opening hours at the central library near {place}.",
        f"A final decision on the building's future is expected in month {number % 12 + 1}, officials said.",
    ]


def team_labels(documents: int = 10) -> pd.DataFrame:
    rows = []
    for number in range(documents):
        texts = [*story(number), TAGLINE]
        labels = ["reporting"] * 4 + ["ui_residue"]
        for position, (text, label) in enumerate(zip(texts, labels, strict=True)):
            rows.append({"doc_id": f"page{number}", "position": position, "text": text, "label": label})
    return pd.DataFrame(rows)


def removed(model, texts: list[str]) -> np.ndarray:
    return (1.0 - model.predict_proba(texts)[:, 0]) >= model.default_min_confidence


def test_the_tagline_the_team_labelled_goes_and_the_story_stays() -> None:
    from classifier.adaptation import adapt

    base = classifier.load_model()
    page = [*story(99), TAGLINE]
    assert not removed(base, page).any()  # the shipped model keeps the tagline
    adapted, found = adapt(base, team_labels(), strength=0.1)
    assert found.strength == 0.1 and found.base is None
    assert removed(adapted, page).tolist() == [False, False, False, False, True]
    # The seed's appeal, which the labels say nothing about, still goes.
    seed = classifier.clean(SEED.read_text(encoding="utf-8"), model=adapted)
    assert "Dear readers" not in seed and seed.startswith("The Kremlin")


def test_only_the_words_of_the_labels_move() -> None:
    from classifier.adaptation import fit_word_weights

    base = classifier.load_model()
    labels = team_labels(4)
    adapted = fit_word_weights(base, labels["text"].tolist(), labels["label"].tolist(), strength=1.0)
    changed = np.flatnonzero((adapted.token_coef != base.token_coef).any(axis=1))
    assert len(changed) > 0
    words = {word for text in labels["text"] for word in classifier.features.words_of(text)}
    seen = {base.vocabulary[word] for word in words if word in base.vocabulary}
    assert seen & set(changed.tolist())
    assert len(changed) < 0.01 * len(base.token_coef)
    for name in ("shape_coef", "stage1_intercept", "context_mean"):
        assert np.array_equal(getattr(adapted, name), getattr(base, name))


def test_the_strength_is_chosen_by_cross_validation_and_recorded(tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text(team_labels().to_json(orient="records", lines=True), encoding="utf-8")
    result = runner.invoke(app, ["train", str(data), "--adapt", "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "chosen by 3-fold cross-validation over doc_id" in result.output and "macro-F1" in result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    adapted = manifest["adapted"]
    assert adapted["base_checksum"] == classifier.load_model().manifest["checksum"]
    assert adapted["chosen_by"] == "cross-validation" and adapted["training_data"]["labelled_rows"] == 50
    assert set(adapted["cross_validated"]) == {"base", "adapted"}
    assert not removed(classifier.load_model(tmp_path / "m"), story(7)).any()
    info = runner.invoke(app, ["info", "--model", str(tmp_path / "m")])
    assert "adapted to 50 labelled paragraphs" in info.output
    # Scored on the labels it learnt from, the model's figures flatter it: said so.
    scored = runner.invoke(app, ["evaluate", str(data), "--model", str(tmp_path / "m")])
    assert scored.exit_code == 0 and "the model learnt from these very labels" in scored.output
    shipped = runner.invoke(app, ["evaluate", str(data)])
    assert shipped.exit_code == 0, shipped.output
    assert "macro" in shipped.output and "learnt from these very labels" not in shipped.output


def test_the_shipped_model_is_never_written_over(tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text(team_labels().to_json(orient="records", lines=True), encoding="utf-8")
    result = runner.invoke(app, ["train", str(data), "--adapt", "-o", str(classifier.default_model_path())])
    assert result.exit_code == 1 and "is the shipped model" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--strength", "1"], "--strength applies to --adapt"),
        (["--base", "models/default"], "--base applies to --adapt"),
        (["--adapt", "--hidden", "8"], "--adapt keeps the base model's passes"),
        (["--adapt", "--strength", "1", "--folds", "4"], "leave them out with --strength"),
    ],
)
def test_options_that_do_not_apply_are_refused(tmp_path: Path, arguments: list[str], message: str) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text(team_labels(2).to_json(orient="records", lines=True), encoding="utf-8")
    result = runner.invoke(app, ["train", str(data), *arguments, "-o", str(tmp_path / "m")])
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "m").exists()


def test_words_the_base_never_saw_join_the_vocabulary_and_learn() -> None:
    from classifier.adaptation import adapt

    base = classifier.load_model()
    tagline = "Vakumbi zorlat menuvo kestoro vundipal"
    assert not any(word in base.vocabulary for word in tagline.lower().split())
    labels = team_labels().replace(TAGLINE, tagline)
    page = [*story(99), tagline]
    assert not removed(base, page).any()
    adapted, _ = adapt(base, labels, strength=0.1)
    assert adapted.manifest["adapted"]["new_words"] >= 5
    assert all(word in adapted.vocabulary for word in tagline.lower().split())
    assert removed(adapted, page).tolist() == [False, False, False, False, True]


def test_a_fold_with_nothing_labelled_to_learn_from_keeps_the_base_weights(tmp_path: Path) -> None:
    from classifier.adaptation import adapt

    labels = team_labels(2)
    context = pd.DataFrame(
        {"doc_id": "big", "position": range(30), "text": [f"Line {n} of a long page." for n in range(30)], "label": None}
    )
    _, found = adapt(classifier.load_model(), pd.concat([labels, context], ignore_index=True), folds=2)
    assert found.base is not None and found.strength in found.by_strength


def test_a_strength_that_is_not_a_positive_number_is_refused() -> None:
    from classifier.adaptation import adapt

    for strength in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ValueError, match="strength must be a number above 0"):
            adapt(classifier.load_model(), team_labels(2), strength=strength)


def test_adapting_twice_keeps_the_first_record(tmp_path: Path) -> None:
    from classifier.adaptation import adapt

    once, _ = adapt(classifier.load_model(), team_labels(3), strength=1.0)
    twice, _ = adapt(once, team_labels(2), strength=1.0)
    assert twice.manifest["adapted"]["earlier"]["training_data"]["labelled_rows"] == 15
    assert twice.manifest["adapted"]["training_data"]["labelled_rows"] == 10


def test_the_strength_never_trades_reporting_for_macro_f1() -> None:
    from types import SimpleNamespace

    from classifier.adaptation import choose_strength

    def found(macro: float, kept: float):
        return SimpleNamespace(macro_f1=macro, reporting_chars_kept=kept)

    base = found(0.64, 0.894)
    # The best macro-F1 kept 73% of reporting: not chosen.
    assert choose_strength({0.1: found(0.67, 0.730), 1.0: found(0.66, 0.894), 10.0: found(0.65, 0.90)}, base) == 1.0
    # Near ties go to the strongest pull.
    assert choose_strength({0.1: found(0.70, 0.90), 1.0: found(0.698, 0.90)}, base) == 1.0
    # None keeps as much as the base: the one that keeps most.
    assert choose_strength({0.1: found(0.70, 0.80), 3.0: found(0.60, 0.85)}, base) == 3.0

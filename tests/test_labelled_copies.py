"""Documents with unlabelled lines and an appeal are also trained on as their labelled lines alone."""

from __future__ import annotations

import pandas as pd

from classifier.data import fingerprint
from classifier.repeats import frame_site_repeats
from classifier.training import COPY_SUFFIX, TrainingConfig, build_vocabulary, labelled_copies, train, with_labelled_copies


def _frame() -> pd.DataFrame:
    rows = [
        # A full page: menus left unlabelled, an appeal among the story.
        ("page", 0, "Home", None),
        ("page", 1, "The council met on Tuesday.", "reporting"),
        ("page", 2, "World", None),
        ("page", 3, "Support us from $2 a month.", "donation_appeal"),
        ("page", 4, "Share", "ui_residue"),
        # Every line labelled: nothing to leave out.
        ("labelled", 0, "Budget passes.", "reporting"),
        ("labelled", 1, "Subscribe now.", "donation_appeal"),
        # Unlabelled lines but no appeal.
        ("no-appeal", 0, "Menu", None),
        ("no-appeal", 1, "Flooding closes the bridge.", "reporting"),
    ]
    frame = pd.DataFrame(rows, columns=["doc_id", "position", "text", "label"])
    return frame.assign(domain=frame["doc_id"] + ".example", corpus="test")


def test_copies_hold_the_labelled_lines_of_pages_with_an_appeal() -> None:
    copies = labelled_copies(_frame())
    assert copies["doc_id"].unique().tolist() == ["page" + COPY_SUFFIX]
    assert copies["text"].tolist() == ["The council met on Tuesday.", "Support us from $2 a month.", "Share"]
    assert copies["position"].tolist() == [1, 3, 4]
    assert copies["domain"].unique().tolist() == ["page.example"]


def test_a_copy_is_the_same_page_for_site_repeats() -> None:
    # Two pages of one site share a line; the copy must not make it a third page.
    frame = _frame().assign(domain="one.example")
    frame.loc[frame["doc_id"] == "no-appeal", "text"] = frame.loc[frame["doc_id"] == "no-appeal", "text"].replace(
        "Flooding closes the bridge.", "Share"
    )
    augmented, copied = with_labelled_copies(frame)
    assert copied.sum() == 3 and not copied[: len(frame)].any()
    assert frame_site_repeats(augmented)[: len(frame)].tolist() == frame_site_repeats(frame).tolist()
    assert frame_site_repeats(augmented)[copied].tolist() == [1.0, 1.0, 2.0]


def test_copies_train_but_are_neither_scored_nor_fingerprinted(small_training_table: pd.DataFrame) -> None:
    frame = small_training_table.copy()
    frame["domain"] = frame["doc_id"]
    # Pages of a real corpus with their first lines left unlabelled, as full pages have.
    with_appeal = frame.groupby("doc_id")["label"].apply(lambda labels: (labels == "donation_appeal").any())
    pages = with_appeal[with_appeal].index[:4]
    chosen = frame["doc_id"].isin(pages)
    frame.loc[chosen, "corpus"] = "real"
    frame.loc[chosen & (frame["position"] < 2), "label"] = None
    # Spliced copies (tests/test_spliced_copies.py) would add rows of their own.
    config = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, spliced_copies=0.0)
    copies = labelled_copies(frame)
    assert set(copies["doc_id"]) == {page + COPY_SUFFIX for page in pages}

    model, estimator = train(frame, config=config)
    scored = int((chosen & frame["label"].notna()).sum())
    assert model.manifest["metrics"]["grouped_out_of_fold"]["rows"] == scored
    assert model.manifest["training_data"] == fingerprint(frame)
    assert len(estimator.oof_proba_) == len(frame) + len(copies)
    # Words are counted once per real paragraph: a copy does not count them again.
    assert estimator.vocabulary_ == build_vocabulary(
        frame.loc[frame["label"].notna(), "text"].tolist(), max_size=config.max_vocabulary, min_document_frequency=2
    )

    without, _ = train(frame, config=TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, labelled_copies=False))
    assert without.manifest["config"]["labelled_copies"] is False
    assert without.manifest["metrics"]["grouped_out_of_fold"]["rows"] == scored

"""Spliced copies: a site's appeal block set into the story of its other pages, as
an extractor that keeps such a block leaves it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from classifier.training import SPLICE_SUFFIX, TrainingConfig, spliced_copies, train

_STORY = [f"Paragraph {number} of the council story, with what the mayor said." for number in range(5)]
_BLOCK = [
    ("Dear reader, our reporting depends on you.", "donation_appeal"),
    ("Give $5 a month to keep it free.", "donation_appeal"),
    ("Remind me later.", "ui_residue"),
]


def _pages() -> pd.DataFrame:
    rows = []
    for page in ("a.example/1", "a.example/2"):
        lines = [(text, "reporting") for text in _STORY]
        if page.endswith("2"):
            lines += _BLOCK
        rows += [(page, position, text, label, "a.example", "real") for position, (text, label) in enumerate(lines)]
    # A site without any appeal, and a page we wrote: neither is copied.
    rows += [("b.example/1", position, text, "reporting", "b.example", "real") for position, text in enumerate(_STORY)]
    rows += [("ours", position, text, "reporting", "ours", "authored") for position, text in enumerate(_STORY)]
    rows += [("ours", 5, "Subscribe for $1.", "donation_appeal", "ours", "authored")]
    return pd.DataFrame(rows, columns=["doc_id", "position", "text", "label", "domain", "corpus"])


def _copy(copies: pd.DataFrame, name: str) -> pd.DataFrame:
    return copies[copies["doc_id"] == name + SPLICE_SUFFIX]


def test_a_copy_is_its_page_with_a_block_of_its_site_after_a_reporting_line() -> None:
    pages = _pages()
    block_texts = {text for text, _ in _BLOCK}
    labels_of = dict(_BLOCK)
    for seed in range(20):
        copies = spliced_copies(pages, 1.0, random_state=seed)
        assert sorted(copies["doc_id"].unique()) == ["a.example/1" + SPLICE_SUFFIX, "a.example/2" + SPLICE_SUFFIX]
        for name in ("a.example/1", "a.example/2"):
            copy = _copy(copies, name)
            source = pages[pages["doc_id"] == name]
            assert copy["position"].tolist() == list(range(len(copy)))
            texts = copy["text"].tolist()
            # The source's lines, in order, with one run of the block's lines set in.
            inserted = [index for index, text in enumerate(texts) if text in block_texts]
            own = len(source) - (len(_BLOCK) if name.endswith("2") else 0)
            first = inserted[0]
            assert texts[:first] == source["text"].tolist()[:first]
            assert first >= 1 and copy["label"].iloc[first - 1] == "reporting"
            added = len(texts) - len(source)
            assert 1 <= added <= len(_BLOCK)
            assert [texts[index] for index in range(first, first + added)] == [
                text for text, _ in _BLOCK if text in texts[first : first + added]
            ]
            assert texts[:first] + texts[first + added :] == source["text"].tolist()
            assert first <= own
            # Labels travel with their lines; the index names each line's source row.
            assert copy["label"].tolist()[first : first + added] == [labels_of[text] for text in texts[first : first + added]]
            assert pages.loc[copy.index, "text"].tolist() == texts


def test_copies_take_the_story_on_after_the_block_and_sometimes_only_its_appeals() -> None:
    pages = _pages()
    interior, appeals_only = 0, 0
    for seed in range(60):
        copy = _copy(spliced_copies(pages, 1.0, random_state=seed), "a.example/1")
        labels = copy["label"].tolist()
        last_block = max(index for index, label in enumerate(labels) if label != "reporting")
        interior += labels[last_block + 1 :].count("reporting") > 0
        appeals_only += "ui_residue" not in labels
    # Both where the block goes and what it holds vary.
    assert 20 <= interior <= 52
    assert 15 <= appeals_only <= 45


def test_blocks_come_only_from_the_same_group() -> None:
    pages = _pages()
    # Grouped by page, a page without a block of its own gets none.
    copies = spliced_copies(pages, 1.0, within="doc_id")
    assert copies["doc_id"].unique().tolist() == ["a.example/2" + SPLICE_SUFFIX]
    assert spliced_copies(pages, 0.0).empty
    assert spliced_copies(pages, 1.0, random_state=3).equals(spliced_copies(pages, 1.0, random_state=3))


def test_a_site_without_a_block_borrows_one_from_its_corpus_with_elsewhere() -> None:
    pages = _pages()
    lone = pd.DataFrame(
        [("c.example/1", position, text, "reporting", "c.example", "other") for position, text in enumerate(_STORY)],
        columns=pages.columns,
    )
    pages = pd.concat([pages, lone], ignore_index=True)
    block_texts = {text for text, _ in _BLOCK}
    for seed in range(10):
        copies = spliced_copies(pages, 1.0, random_state=seed, elsewhere="corpus")
        # b.example shares a.example's corpus; c.example's corpus has no block to lend,
        # and our own pages are never copied.
        expected = [f"{page}{SPLICE_SUFFIX}" for page in ("a.example/1", "a.example/2", "b.example/1")]
        assert sorted(copies["doc_id"].unique()) == expected
        borrowed = _copy(copies, "b.example/1")
        assert set(borrowed["text"]) & block_texts
        # The whole copy counts as the story's site, so that it is one fold group.
        assert set(borrowed["domain"]) == {"b.example"}
        assert pages.loc[borrowed.index, "text"].tolist() == borrowed["text"].tolist()
    assert "b.example/1" + SPLICE_SUFFIX not in set(spliced_copies(pages, 1.0)["doc_id"])


def test_training_reads_the_copies_in_the_passes_that_read_neighbours_only(fit_arguments: dict) -> None:
    seen = fit_arguments
    pages = _pages()
    # Every fold's training rows need every label.
    extra = [
        (name, 9, "Share this page", "ui_residue", site, corpus)
        for name, site, corpus in [("b.example/1", "b.example", "real"), ("ours", "ours", "authored")]
    ]
    extra.append(("b.example/1", 10, "Donate today.", "donation_appeal", "b.example", "real"))
    pages = pd.concat([pages, pd.DataFrame(extra, columns=pages.columns)], ignore_index=True)
    config = TrainingConfig(folds=2, hidden_layers=(4,), spliced_copies=1.0, unknown_language_copies=0.0, labelled_copies=False)
    train(pages, config=config, groups_column="domain")
    frame = seen["frame"]
    spliced = frame["doc_id"].str.endswith(SPLICE_SUFFIX).to_numpy()
    assert spliced.sum() > 0
    assert not np.asarray(seen["stage1_from"])[spliced].any()
    assert np.asarray(seen["stage1_from"])[~spliced].all()
    rows = np.flatnonzero(spliced)
    # Each copy sits in its site's fold group, as its source page and its block do.
    assert [seen["groups"][row] for row in rows] == frame["domain"].iloc[rows].tolist()
    assert set(frame["domain"].iloc[rows]) == {"a.example", "b.example"}
    assert not np.asarray(seen["calibrate_on"])[spliced].any()


def test_shares_outside_zero_to_one_are_refused() -> None:
    for field in ("spliced_copies", "splice_inside_story", "splice_appeal_lines_only"):
        with pytest.raises(ValueError, match=f"{field} is a share"):
            train(_pages(), config=TrainingConfig(**{field: 1.5}))


def _two_extractions() -> pd.DataFrame:
    # Each page in two extractions (doc_id "page:extractor", as the corpus build names
    # them); only the full page of p2 keeps the appeal block.
    pages = _pages()
    pages = pages[pages["corpus"] == "real"].copy()
    pages["page_id"] = pages["doc_id"].str.replace("/", "-")
    both = []
    for extractor in ("full", "traf"):
        extraction = pages.copy()
        extraction["doc_id"] = extraction["page_id"] + ":" + extractor
        if extractor == "traf":
            extraction = extraction[extraction["label"] == "reporting"]
        both.append(extraction)
    # Every fold's training rows need every label: b.example gets an appeal line, but
    # no block (a run of lines of which half or more are appeals).
    rows = [
        (f"{page}:full", 9, "Share this page", "ui_residue", page.split("-")[0], "real", page)
        for page in ("a.example-1", "a.example-2", "b.example-1")
    ]
    rows += [
        ("b.example-1:full", 10, "Follow us", "ui_residue", "b.example", "real", "b.example-1"),
        ("b.example-1:full", 11, "Donate today.", "donation_appeal", "b.example", "real", "b.example-1"),
    ]
    extra = pd.DataFrame(rows, columns=pages.columns)
    return pd.concat([*both, extra], ignore_index=True)


def test_grouped_by_page_a_copy_stays_with_its_page(fit_arguments: dict) -> None:
    pages = _two_extractions()
    copies = spliced_copies(pages, 1.0, within="page_id")
    # Blocks come from the same page only: both extractions of p2, neither of p1.
    assert sorted(copies["doc_id"].unique()) == [f"a.example-2:{e}{SPLICE_SUFFIX}" for e in ("full", "traf")]
    assert set(copies["page_id"]) == {"a.example-2" + SPLICE_SUFFIX}

    seen = fit_arguments
    config = TrainingConfig(folds=2, hidden_layers=(4,), spliced_copies=1.0, unknown_language_copies=0.0, splice_elsewhere=None)
    train(pages, config=config, groups_column="page_id")
    frame = seen["frame"]
    spliced = frame["doc_id"].str.endswith(SPLICE_SUFFIX).to_numpy()
    assert spliced.sum() == len(copies)
    assert {seen["groups"][row] for row in np.flatnonzero(spliced)} == {"a.example-2"}
    # Pages without a block borrow one from their corpus (the default), and each copy,
    # its borrowed lines too, stays in its own page's group.
    config = TrainingConfig(folds=2, hidden_layers=(4,), spliced_copies=1.0, unknown_language_copies=0.0)
    train(pages, config=config, groups_column="page_id")
    frame = seen["frame"]
    spliced = np.flatnonzero(frame["doc_id"].str.endswith(SPLICE_SUFFIX).to_numpy())
    assert {seen["groups"][row] for row in spliced} == {"a.example-1", "a.example-2", "b.example-1"}
    source_page = frame["doc_id"].iloc[spliced].str.split(":").str[0]
    assert [seen["groups"][row] for row in spliced] == source_page.tolist()


def test_copies_read_their_lines_site_counts_and_add_no_words(fit_arguments: dict) -> None:
    pages = _two_extractions()
    seen = fit_arguments
    # Lines keep their own site's counts; borrowed blocks (splice_elsewhere) are left out
    # here, since their lines take the story's site name.
    config = TrainingConfig(folds=2, hidden_layers=(4,), spliced_copies=1.0, unknown_language_copies=0.0, splice_elsewhere=None)
    train(pages, config=config)
    frame, repeats = seen["frame"], np.asarray(seen["site_repeats"])
    spliced = frame["doc_id"].str.endswith(SPLICE_SUFFIX).to_numpy()
    assert spliced.any()
    # A line's count is its site's pages that hold it, whichever copy reads it.
    sites, texts = frame["domain"].to_numpy(), frame["text"].to_numpy()
    count_of = {(sites[row], texts[row]): repeats[row] for row in np.flatnonzero(~spliced)}
    assert [count_of[(sites[row], texts[row])] for row in np.flatnonzero(spliced)] == repeats[spliced].tolist()
    # Both pages of a.example hold the story's first line.
    story_copies = spliced & (texts == _STORY[0])
    assert story_copies.any() and set(repeats[story_copies]) == {2.0}
    assert not np.asarray(seen["vocabulary_from"])[spliced].any()


def test_stage_one_is_fitted_without_the_copies(monkeypatch) -> None:
    import classifier.training as training

    sizes: list[int] = []
    new_stage1 = training.ParagraphClassifier._new_stage1

    def recording(self, n_rows):
        estimator = new_stage1(self, n_rows)
        fit = estimator.fit

        def fit_and_record(X, y, **options):
            sizes.append(X.shape[0])
            return fit(X, y, **options)

        estimator.fit = fit_and_record
        return estimator

    monkeypatch.setattr(training.ParagraphClassifier, "_new_stage1", recording)
    pages = _two_extractions()
    config = TrainingConfig(
        folds=2, hidden_layers=(4,), spliced_copies=1.0, unknown_language_copies=0.0, stage1_fold_average=False
    )
    train(pages, config=config, groups_column="page_id")
    labelled_real = int(pages["label"].notna().sum())
    # Two fold fits on part of the real rows, then one on all of them: none on a copy.
    assert len(sizes) == 3
    assert sizes[-1] == labelled_real
    assert sum(sizes[:2]) == labelled_real

"""Labels carried from the extractions readers read to the precision extractions' copies of the same lines."""

from __future__ import annotations

from classifier.corpus.build import PROPAGATED, propagated_labels

PAGE = ("news", "page-1")
OTHER_PAGE = ("news", "page-2")


def key(page: tuple[str, str], extractor: str, position: int) -> tuple[str, str, str, int]:
    return (*page, extractor, position)


def labelled(page: tuple[str, str], extractor: str, position: int, text_hash: str, label: str, method: str):
    k = key(page, extractor, position)
    row = dict(corpus=k[0], page_id=k[1], extractor=k[2], position=k[3], text_hash=text_hash, label=label, method=method)
    return k, (row, "test")


def propagate(build: list[tuple[tuple[str, str, str, int], str]], *rows) -> dict:
    merged = dict(rows)
    result = propagated_labels(merged, [k for k, _ in build], [h for _, h in build])
    return {k: (row["label"], row["method"]) for k, (row, _) in result.items()}


def test_a_line_read_on_the_page_takes_its_label_in_the_precision_extractions() -> None:
    build = [
        (key(PAGE, "fulltext", 0), "ad"),
        (key(PAGE, "readability", 3), "ad"),
        (key(PAGE, "trafilatura", 5), "ad"),
        (key(PAGE, "trafilatura_recall", 7), "ad"),
        (key(OTHER_PAGE, "trafilatura", 0), "ad"),  # another page: its own reading decides
    ]
    carried = propagate(build, labelled(PAGE, "trafilatura_recall", 7, "ad", "ui_residue", "reviewed"))
    assert carried == {
        key(PAGE, "readability", 3): ("ui_residue", PROPAGATED),
        key(PAGE, "trafilatura", 5): ("ui_residue", PROPAGATED),
    }


def test_a_readers_verdict_overrides_alignment_but_not_another_reader() -> None:
    build = [
        (key(PAGE, "trafilatura_recall", 0), "more"),
        (key(PAGE, "trafilatura", 0), "more"),
        (key(PAGE, "readability", 1), "story"),
        (key(PAGE, "trafilatura_recall", 1), "story"),
        (key(PAGE, "trafilatura_recall", 2), "disputed"),
        (key(PAGE, "readability", 2), "disputed"),
        (key(PAGE, "trafilatura", 2), "disputed"),
    ]
    carried = propagate(
        build,
        labelled(PAGE, "trafilatura_recall", 0, "more", "ui_residue", "reviewed"),
        labelled(PAGE, "trafilatura", 0, "more", "reporting", "aligned"),  # alignment trusted a ground truth's link
        labelled(PAGE, "trafilatura_recall", 1, "story", "reporting", "reviewed"),
        labelled(PAGE, "readability", 1, "story", "reporting", "aligned"),  # the same label already: nothing to carry
        labelled(PAGE, "trafilatura_recall", 2, "disputed", "ui_residue", "reviewed"),
        # A reader who decided otherwise on a copy stays, and makes the text disputed.
        labelled(PAGE, "readability", 2, "disputed", "reporting", "reviewed"),
    )
    assert carried == {key(PAGE, "trafilatura", 0): ("ui_residue", PROPAGATED)}


def test_an_extraction_with_more_copies_of_a_text_than_the_read_ones_keeps_them_unlabelled() -> None:
    build = [
        (key(PAGE, "trafilatura_recall", 0), "title"),
        (key(PAGE, "readability", 0), "title"),
        (key(PAGE, "readability", 7), "title"),  # a second copy: perhaps a teaser of the story
        (key(PAGE, "trafilatura", 0), "title"),
    ]
    carried = propagate(build, labelled(PAGE, "trafilatura_recall", 0, "title", "reporting", "reviewed"))
    assert carried == {key(PAGE, "trafilatura", 0): ("reporting", PROPAGATED)}


def test_text_with_two_labels_on_the_page_or_none_from_a_reader_is_left_alone() -> None:
    build = [
        (key(PAGE, "fulltext", 0), "title"),  # a breadcrumb
        (key(PAGE, "fulltext", 9), "title"),  # the headline
        (key(PAGE, "trafilatura", 0), "title"),
        (key(PAGE, "trafilatura_recall", 4), "aligned only"),
        (key(PAGE, "trafilatura", 4), "aligned only"),
        (key(PAGE, "readability", 2), "read in trafilatura"),
        (key(PAGE, "trafilatura", 2), "read in trafilatura"),
    ]
    carried = propagate(
        build,
        labelled(PAGE, "fulltext", 0, "title", "ui_residue", "reviewed"),
        labelled(PAGE, "fulltext", 9, "title", "reporting", "aligned"),
        labelled(PAGE, "trafilatura_recall", 4, "aligned only", "reporting", "aligned"),
        # trafilatura is not an extraction readers read: it passes nothing on
        labelled(PAGE, "trafilatura", 2, "read in trafilatura", "ui_residue", "reviewed"),
    )
    assert carried == {}

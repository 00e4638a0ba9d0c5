from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from classifier.text import remove_paragraphs, restore_paragraphs, split_paragraphs


def test_one_non_empty_line_is_one_paragraph() -> None:
    text = "First line.\r\n\n   \nSecond line\n\tThird\n"
    assert [p.text for p in split_paragraphs(text)] == ["First line.", "Second line", "\tThird"]


def test_a_lone_carriage_return_ends_a_line() -> None:
    # Old Mac files and some CMS exports break lines with "\r" alone: each is a paragraph.
    text = "Reporting.\rDonate now!\r\rRemind me later.\r\nLast"
    paragraphs = split_paragraphs(text)
    assert [p.text for p in paragraphs] == ["Reporting.", "Donate now!", "Remind me later.", "Last"]
    assert remove_paragraphs(text, paragraphs, [1, 2]) == "Reporting.\rLast"


def test_spans_cover_blank_lines_after_a_paragraph() -> None:
    text = "\nA\n\nB\nC"
    paragraphs = split_paragraphs(text)
    assert [(p.start, p.end) for p in paragraphs] == [(1, 4), (4, 6), (6, 7)]
    assert remove_paragraphs(text, paragraphs, [1]) == "\nA\n\nC"


def test_no_paragraphs_in_blank_text() -> None:
    assert split_paragraphs("") == []
    assert split_paragraphs(" \n\t\n\r\n") == []


lines = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=12)


@given(lines, st.data())
def test_removing_then_restoring_gives_the_original(parts: list[str], data: st.DataObject) -> None:
    text = "\n".join(parts)
    paragraphs = split_paragraphs(text)
    drop = data.draw(st.sets(st.sampled_from(range(len(paragraphs))))) if paragraphs else set()
    cleaned = remove_paragraphs(text, paragraphs, drop)
    removed = [(p.start, text[p.start : p.end]) for p in paragraphs if p.index in drop]
    assert restore_paragraphs(cleaned, removed) == text
    kept = [p.text for p in paragraphs if p.index not in drop]
    assert [p.text for p in split_paragraphs(cleaned)] == kept


def test_what_needs_the_plain_form_is_exactly_what_it_changes() -> None:
    from classifier.text import needs_plain, plain_paragraph

    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        text = f"a{chr(code)}b"
        assert needs_plain(text) == (plain_paragraph(text) != text), hex(code)
    assert needs_plain("a  b") and needs_plain(" a b") and not needs_plain("a b")


def test_restoring_many_spans_gives_the_text_back_in_one_pass() -> None:
    lines = [f"Paragraph {n} of the story." if n % 3 else f"Share {n}" for n in range(30_000)]
    text = "\n".join(lines) + "\n"
    paragraphs = split_paragraphs(text)
    drop = [p.index for p in paragraphs if p.text.startswith("Share")]
    cleaned = remove_paragraphs(text, paragraphs, drop)
    spans = [(p.start, text[p.start : p.end]) for p in paragraphs if p.index in set(drop)]
    # Ten thousand spans: put back one at a time, each copy of the whole text made
    # this take minutes on an eight-megabyte article.
    assert restore_paragraphs(cleaned, reversed(spans)) == text


def test_a_byte_order_mark_alone_on_a_line_is_no_paragraph() -> None:
    for text, leading in [("\ufeff\n\nStory.\nDonate", "\ufeff\n\n"), ("\ufeff \r\nStory.\rDonate\r", "\ufeff \r\n")]:
        paragraphs = split_paragraphs(text)
        assert [p.text for p in paragraphs] == ["Story.", "Donate"]
        assert remove_paragraphs(text, paragraphs, [0, 1]) == leading  # the mark stays in the leading gap
    assert split_paragraphs("\ufeff") == []
    assert [p.text for p in split_paragraphs("\ufeffStory.\nDonate")] == ["\ufeffStory.", "Donate"]  # on the line: the line's


def test_shown_escapes_what_a_terminal_would_obey_and_nothing_else() -> None:
    from classifier.text import shown

    assert shown("red \x1b[31mtext\x1b[0m\x07 \u202eevil") == "red \\x1b[31mtext\\x1b[0m\\x07 \\u202eevil"
    assert shown("no-break\u00a0space, soft\u00adhyphen, zero\u200cjoiner, Ünïcödé") == (
        "no-break\u00a0space, soft\u00adhyphen, zero\u200cjoiner, Ünïcödé"
    )

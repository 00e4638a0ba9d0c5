"""Splitting text into paragraphs and putting it back together. No model here.

A paragraph is one non-empty line. Each paragraph remembers the span of the original
text that belongs to it (its line, its line break and any blank lines after it), so
that dropping paragraphs and restoring them are both exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A line ends at "\n", "\r\n" or a lone "\r" (old Mac files, some CMS exports).
_LINE_BREAK = re.compile(r"\r\n?|\n")
# Characters that render as nothing but would make equal-looking lines differ.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"), None)
# C0/C1 control characters other than white space: never legitimate paragraph text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# The characters ``plain_paragraph`` changes: those above and white space other than
# a space (one character class, the quickest scan; runs of spaces and spaces at
# either end are found apart, in ``needs_plain``).
_NOT_PLAIN_RE = re.compile(r"[\x00-\x1f\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]")


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One non-empty line of a text.

    ``text`` is the line as it was, without its line break. ``start:end`` is the span
    of the original text that removing this paragraph removes: the line, its line
    break and the blank lines that follow it.
    """

    index: int
    text: str
    start: int
    end: int


# What a terminal obeys rather than shows: C0 and C1 controls (escape sequences
# start with ESC or CSI) and the bidirectional overrides and isolates.
_TERMINAL_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``), for a
    terminal: scraped text may hold escape sequences that would move the cursor or
    recolour the screen. Other characters (no-break spaces, soft hyphens) stay."""
    return _TERMINAL_CONTROL_RE.sub(lambda match: repr(match.group())[1:-1], text)


def _holds_text(line: str) -> bool:
    # A file's byte order mark alone on its first line is no paragraph: it is kept
    # in the text (the rebuild is exact) but is nothing to classify.
    stripped = line.strip()
    return bool(stripped) and stripped != "\ufeff"


def split_paragraphs(text: str) -> list[Paragraph]:
    """Split ``text`` into paragraphs: one non-empty line each.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``. Lines holding only white
    space (or a byte order mark) are not paragraphs; they stay in the span of the
    paragraph before them (or in the leading gap before the first paragraph).
    """
    if not isinstance(text, str):
        raise TypeError(f"split_paragraphs expects str, got {type(text).__name__}")
    paragraphs: list[Paragraph] = []
    starts: list[int] = []
    lines: list[str] = []
    if "\r" not in text:  # the common case, without a regex
        position = 0
        for line in text.split("\n"):
            # Inline (a call per line costs): see _holds_text.
            if (stripped := line.strip()) and stripped != "\ufeff":
                starts.append(position)
                lines.append(line)
            position += len(line) + 1
    else:
        position = 0
        for match in _LINE_BREAK.finditer(text):
            line = text[position : match.start()]
            if _holds_text(line):
                starts.append(position)
                lines.append(line)
            position = match.end()
        if _holds_text(text[position:]):
            starts.append(position)
            lines.append(text[position:])
    total = len(text)
    for index, (start, content) in enumerate(zip(starts, lines, strict=True)):
        end = starts[index + 1] if index + 1 < len(starts) else total
        paragraphs.append(Paragraph(index, content, start, end))
    return paragraphs


def plain_paragraph(text: str) -> str:
    """``text`` with invisible and control characters dropped and white space
    collapsed to single spaces, stripped: the form every training paragraph has."""
    text = _CONTROL_RE.sub(" ", text.translate(_INVISIBLE))
    return " ".join(text.split())


def needs_plain(text: str) -> bool:
    """Whether ``plain_paragraph`` would change ``text``."""
    if "  " in text or text[:1] == " " or text[-1:] == " ":
        return True
    # Every character the class holds is unprintable: most texts pass the quick test.
    return not text.isprintable() and _NOT_PLAIN_RE.search(text) is not None


def plain_paragraphs(texts: Sequence[str]) -> Sequence[str]:
    """``plain_paragraph`` of the texts that need it (``needs_plain``; most batches
    have none), the others as they are: the model reads at work what it learnt from."""
    # Joined by spaces, a text's space at either end makes two in a row: one scan
    # of the batch tells whether any text needs the work.
    if not needs_plain(" ".join(texts)):
        return texts
    return [plain_paragraph(text) if needs_plain(text) else text for text in texts]


def paragraph_texts(text: str) -> list[str]:
    """The paragraphs of ``text`` as plain strings."""
    return [paragraph.text for paragraph in split_paragraphs(text)]


def remove_paragraphs(text: str, paragraphs: Sequence[Paragraph], drop: Iterable[int]) -> str:
    """``text`` without the spans of the paragraphs whose indexes are in ``drop``."""
    dropped = set(drop)
    if not dropped:
        return text
    pieces: list[str] = []
    cursor = 0
    for paragraph in paragraphs:
        if paragraph.index in dropped:
            pieces.append(text[cursor : paragraph.start])
            cursor = paragraph.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def restore_paragraphs(cleaned: str, removed: Iterable[tuple[int, str]]) -> str:
    """Put removed spans back: ``removed`` holds (original start offset, span text).

    Inserting in order of offset makes each offset valid again at its turn, so the
    result is the original text exactly.
    """
    pieces: list[str] = []
    cursor = 0  # in ``cleaned``
    inserted = 0  # characters of spans put back so far
    for start, span in sorted(removed):
        # ``start`` counts the spans before it; in ``cleaned`` they are not there.
        pieces.append(cleaned[cursor : start - inserted])
        pieces.append(span)
        cursor = start - inserted
        inserted += len(span)
    pieces.append(cleaned[cursor:])
    return "".join(pieces)

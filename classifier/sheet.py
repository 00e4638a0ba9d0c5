"""A labelling sheet: a team's own pages, one paragraph a row, ready to label.

The sheet holds ``doc_id``, ``position``, ``text`` and an empty ``label`` for every
paragraph of the chosen documents, in order (context decides labels, so whole
documents), with the model's guess beside it (``suggested_label`` and its
probability) to make reading quicker. The guess is never copied into ``label``: a
row left empty is context, read as a neighbour and not learnt from, so only what a
person labelled teaches ``newsclean train --adapt``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from classifier.model import Model

SHEET_COLUMNS = ("doc_id", "position", "text", "label", "suggested_label", "suggested_probability", "domain")
#: Longest text a corpus field may hold to come along into the sheet.
EXTRA_FIELD_CHARS = 200
# Fields of a corpus row that say where its text is, not what else is known of the page.
_TEXT_FIELDS = frozenset({"text", "html", "doc_id", "id"})


def labelling_sheet(
    corpus: str | os.PathLike[str],
    *,
    model: Model | str | os.PathLike[str] | None = None,
    text_column: str = "text",
    documents: int | None = None,
    seed: int = 0,
    html: bool = False,
) -> pd.DataFrame:
    """The sheet of ``corpus`` (any corpus ``newsclean clean`` reads): every paragraph
    of ``documents`` documents drawn at random with ``seed`` (all when None).

    A row without a usable text raises ``InputError`` naming its place (``clean``
    stops there too, unless told to pass bad rows through); blank lines are no rows.
    Other short plain fields of the corpus (a language, a url) become columns of the
    sheet, for grouping and breakdowns. A row with an ``html`` field and no text field
    is a page, as ``clean`` reads it; with ``html``, the text field holds each page's
    HTML. A page's rows are the paragraphs trafilatura extracts from it.
    """
    import pandas as pd

    from classifier.api import resolve_model
    from classifier.bulk.formats import iter_records
    from classifier.bulk.report import domain_of
    from classifier.text import split_paragraphs

    if documents is not None and documents < 1:
        raise ValueError(f"documents must be 1 or more, got {documents}")
    path = Path(corpus)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir() and text_column != "text":
        raise InputError(f"{path} is a folder of text files, which have no columns: leave out --text-column")

    def rows() -> Iterator[tuple[str, str, dict[str, Any] | None]]:
        return iter_records(path, text_column=text_column, strict=True, html_pages=True)

    chosen: set[int] | None = None
    if documents is not None:
        # A first pass counts the rows, so that only the drawn ones are held.
        total = sum(1 for _ in rows())
        if documents < total:
            chosen = set(random.Random(seed).sample(range(total), documents))
    found: list[tuple[str, str, dict[str, Any] | None]] = []
    seen: set[str] = set()
    for number, (doc_id, text, record) in enumerate(rows(), start=1):
        if chosen is not None and number - 1 not in chosen:
            continue
        # Each document its own id: rows sharing one (or none) would merge into one
        # document, which training refuses only after the labelling is done.
        if doc_id in seen or (record is not None and record.get("doc_id", record.get("id", "")) is None):
            doc_id = f"row-{number}"
        seen.add(doc_id)
        found.append((doc_id, text, record))
    if not found:
        raise InputError(f"{path} holds no document with a text in {text_column!r}: name the text field with --text-column")
    # Pages: with --html every row's text; without it, a row with an html field and
    # no text field (as clean reads such rows).
    pages = [html or (record is not None and text_column not in record) for _, _, record in found]
    if any(pages):
        from classifier.html import extract_text

        found = [
            (doc_id, extract_text(text) if page else text, record)
            for (doc_id, text, record), page in zip(found, pages, strict=True)
        ]
    loaded = resolve_model(model)
    paragraphs = [[paragraph.text for paragraph in split_paragraphs(text)] for _, text, _ in found]
    empty = sum(not texts for texts in paragraphs)
    if empty == len(found):
        raise InputError(
            f"the {len(found):,} document(s) drawn from {path} hold no paragraph to label (blank texts, or pages "
            "trafilatura found no text in): draw others (--seed), or check the corpus"
        )
    probabilities = loaded.predict_proba_documents(paragraphs)
    extra = _extra_fields([record for _, _, record in found], text_column)
    table = []
    for (doc_id, _, record), texts, document in zip(found, paragraphs, probabilities, strict=True):
        domain = domain_of(record) if record is not None else None
        fields = [None if record is None else record.get(name) for name in extra]
        for position, (text, row) in enumerate(zip(texts, document, strict=True)):
            best = int(row.argmax())
            table.append((doc_id, position, text, None, loaded.labels[best], round(float(row[best]), 4), domain, *fields))
    sheet = pd.DataFrame(table, columns=[*SHEET_COLUMNS, *extra]).astype({"label": object})
    # Drawn but not in the sheet: said, not dropped without a word.
    sheet.attrs["documents_without_text"] = empty
    return sheet


def _extra_fields(records: list[dict[str, Any] | None], text_column: str) -> list[str]:
    """The corpus fields the sheet carries: those holding only short plain values
    (text of up to ``EXTRA_FIELD_CHARS`` characters, numbers, true or false), in the
    order first seen. Each is repeated on every paragraph's row: a long one (a raw
    page text) would swell the sheet past what a spreadsheet's cell holds."""
    names: dict[str, bool] = {}
    for record in records:
        for name, value in (record or {}).items():
            if name in SHEET_COLUMNS or name in _TEXT_FIELDS or name == text_column:
                continue
            plain = (
                value is None
                or isinstance(value, (int, float, bool))
                or (isinstance(value, str) and len(value) <= EXTRA_FIELD_CHARS)
            )
            names[name] = names.get(name, True) and plain
    return [name for name, plain in names.items() if plain]

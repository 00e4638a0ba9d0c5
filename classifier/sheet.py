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
from pathlib import Path
from typing import TYPE_CHECKING

from classifier.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from classifier.model import Model

SHEET_COLUMNS = ("doc_id", "position", "text", "label", "suggested_label", "suggested_probability", "domain")


def labelling_sheet(
    corpus: str | os.PathLike[str],
    *,
    model: Model | str | os.PathLike[str] | None = None,
    text_column: str = "text",
    documents: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The sheet of ``corpus`` (any corpus ``newsclean clean`` reads): every paragraph
    of ``documents`` documents drawn at random with ``seed`` (all when None)."""
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
    found: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    for number, (doc_id, text, record) in enumerate(iter_records(path, text_column=text_column), start=1):
        # Each document its own id: rows sharing one (or none) would merge into one
        # document, which training refuses only after the labelling is done.
        if doc_id in seen or (record is not None and record.get("doc_id", record.get("id", "")) is None):
            doc_id = f"row-{number}"
        seen.add(doc_id)
        found.append((doc_id, text, domain_of(record) if record is not None else None))
    if not found:
        raise InputError(f"{path} holds no document with a text in {text_column!r}: name the text field with --text-column")
    if documents is not None and documents < len(found):
        chosen = sorted(random.Random(seed).sample(range(len(found)), documents))
        found = [found[index] for index in chosen]
    loaded = resolve_model(model)
    paragraphs = [[paragraph.text for paragraph in split_paragraphs(text)] for _, text, _ in found]
    probabilities = loaded.predict_proba_documents(paragraphs)
    rows = []
    for (doc_id, _, domain), texts, document in zip(found, paragraphs, probabilities, strict=True):
        for position, (text, row) in enumerate(zip(texts, document, strict=True)):
            best = int(row.argmax())
            rows.append((doc_id, position, text, None, loaded.labels[best], round(float(row[best]), 4), domain))
    return pd.DataFrame(rows, columns=list(SHEET_COLUMNS)).astype({"label": object})

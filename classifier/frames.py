"""pandas frames in: classify or clean a text column, many documents per model call.

``classify_frame`` gives one row per paragraph (indexed by its document's index
label); ``clean_frame`` gives the frame back with the column cleaned. A null or
non-text value is an error naming the row, or with ``on_error="skip"`` is left as it
is. ``classifier.dask`` does the same over a Dask DataFrame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from classifier.bulk.process import LABELS_COLUMN, Documents, JobOptions, analyse
from classifier.bulk.report import domain_of
from classifier.data import plain_value
from classifier.errors import InputError
from classifier.evaluation import min_confidence_of
from classifier.labels import LABELS, REPORTING, as_labels
from classifier.repeats import SiteRepeats
from classifier.text import split_paragraphs

if TYPE_CHECKING:
    from classifier.model import Model

#: Documents per model call: big enough to amortise the call, small enough for memory.
BATCH_DOCUMENTS = 512
#: Lines per model call, however few documents hold them: memory goes with paragraphs
#: (about 2 KB each while classified), and one page of a million short lines would
#: otherwise take gigabytes. A document longer than this is a batch of its own.
BATCH_LINES = 100_000
PARAGRAPH_COLUMNS = ("position", "label", "probability", *(f"p_{label}" for label in LABELS), "text")


def _text_dtype() -> Any:
    """This pandas' default dtype for strings (object before pandas 3, str since)."""
    return pd.Series(["text"]).dtype


def _model(model: Model | str | os.PathLike[str] | None) -> Model:
    from classifier.api import resolve_model

    return resolve_model(model)


def _texts(frame: pd.DataFrame, column: str, on_error: str) -> list[tuple[int, str]]:
    """(row position, text) of the rows with a usable text."""
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if column not in frame.columns:
        names = ", ".join(map(str, list(frame.columns)[:8]))
        raise InputError(f"no column {column!r} in the frame (columns: {names}): name the text column with column=")
    if list(frame.columns).count(column) > 1:
        raise InputError(f"the frame has more than one column named {column!r}: give each column its own name")
    usable: list[tuple[int, str]] = []
    for position, value in enumerate(frame[column].tolist()):
        if isinstance(value, str):
            usable.append((position, value))
        elif on_error == "fail":
            what = (
                "null"
                if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA
                else type(value).__name__
            )
            raise InputError(
                f"row {plain_value(frame.index[position])!r} of column {column!r} is {what}, not a text: "
                "fix it, or pass on_error='skip' to leave such rows as they are"
            )
    return usable


def _batches(usable: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """``usable`` cut into model calls of at most ``BATCH_DOCUMENTS`` documents and,
    where a document alone does not exceed it, ``BATCH_LINES`` lines."""
    batches: list[list[tuple[int, str]]] = []
    batch: list[tuple[int, str]] = []
    lines = 0
    for item in usable:
        # A lone carriage return ends a line too ("\r\n" counts twice: a bound).
        count = item[1].count("\n") + item[1].count("\r") + 1
        if batch and (len(batch) >= BATCH_DOCUMENTS or lines + count > BATCH_LINES):
            batches.append(batch)
            batch, lines = [], 0
        batch.append(item)
        lines += count
    if batch:
        batches.append(batch)
    return batches


def _domains(frame: pd.DataFrame, needed: bool, domain_column: str) -> list[str | None]:
    """Each row's site (None where it has none); all None when not ``needed``."""
    if not needed:
        return [None] * len(frame)
    if domain_column not in frame.columns:
        raise InputError(f"site_repeats needs each row's site: no column {domain_column!r} (name it with domain_column=...)")
    return [domain_of({"domain": value}) for value in frame[domain_column]]


def count_frame_site_repeats(frame: pd.DataFrame, *, column: str = "text", domain_column: str = "domain") -> SiteRepeats:
    """Pages of each site (``domain_column``) that repeat each paragraph of ``column``.

    Give the result as ``site_repeats=`` to ``classify_frame`` or ``clean_frame``, for
    this frame or another from the same crawl.
    """
    domains = _domains(frame, True, domain_column)
    if column not in frame.columns:
        raise InputError(f"no column {column!r} in the frame: name the text column with column=")
    texts = frame[column].tolist()
    return SiteRepeats.count(
        (
            (domain, [p.text for p in split_paragraphs(text)])
            for domain, text in zip(domains, texts, strict=True)
            if domain and isinstance(text, str)
        ),
        distinct=True,
    )


def classify_frame(
    frame: pd.DataFrame,
    *,
    column: str = "text",
    model: Model | None = None,
    on_error: str = "fail",
    site_repeats: SiteRepeats | None = None,
    domain_column: str = "domain",
) -> pd.DataFrame:
    """Every paragraph of every document with its label and probabilities.

    One row per paragraph, indexed by its document's index label, with the columns
    ``position`` (0-based within the document), ``label``, ``probability``,
    ``p_<label>`` for each label and ``text`` (the paragraph). ``site_repeats`` (from
    ``count_frame_site_repeats``) gives the model how many pages of each row's site
    repeat each paragraph.
    """
    loaded = _model(model)
    domains = _domains(frame, site_repeats is not None, domain_column)
    usable = _texts(frame, column, on_error)
    pieces: list[pd.DataFrame] = []
    for batch in _batches(usable):
        paragraphs = [[p.text for p in split_paragraphs(text)] for _, text in batch]
        repeats = None
        if site_repeats is not None:
            repeats = [
                site_repeats.lookup(domains[position], texts) for (position, _), texts in zip(batch, paragraphs, strict=True)
            ]
        probabilities = loaded.predict_proba_documents(paragraphs, site_repeats=repeats)
        counts = [len(texts) for texts in paragraphs]
        if not sum(counts):
            continue
        stacked = np.concatenate(probabilities)
        best = stacked.argmax(axis=1)
        index = frame.index[np.repeat([position for position, _ in batch], counts)]
        data: dict[str, Any] = {
            "position": np.concatenate([np.arange(count) for count in counts]),
            "label": np.asarray(LABELS, dtype=object)[best],
            "probability": stacked[np.arange(len(best)), best],
        }
        for number, label in enumerate(LABELS):
            data[f"p_{label}"] = stacked[:, number]
        # Object first: ``_typed`` makes them strings where they can be.
        data["text"] = pd.Series([text for texts in paragraphs for text in texts], index=index, dtype=object)
        pieces.append(_typed(pd.DataFrame(data, index=index)))
    if not pieces:
        return _empty_paragraphs(frame.index[:0])
    return pd.concat(pieces) if len(pieces) > 1 else pieces[0]


def _empty_paragraphs(index: pd.Index) -> pd.DataFrame:
    data: dict[str, Any] = {
        "position": np.zeros(0, dtype=np.int64),
        "label": np.zeros(0, dtype=object),
        "probability": np.zeros(0),
    }
    for label in LABELS:
        data[f"p_{label}"] = np.zeros(0)
    data["text"] = np.zeros(0, dtype=object)
    return _typed(pd.DataFrame(data, index=index))


def _typed(paragraphs: pd.DataFrame) -> pd.DataFrame:
    text = _text_dtype()
    try:
        return paragraphs.astype({"position": np.int64, "label": text, "text": text})
    except UnicodeEncodeError:
        # A lone surrogate (text decoded with errors="surrogateescape"), which an Arrow
        # string column cannot hold: the paragraphs stay Python strings.
        return paragraphs.astype({"position": np.int64, "label": text})


def clean_frame(
    frame: pd.DataFrame,
    *,
    column: str = "text",
    keep: Sequence[str] = (REPORTING,),
    min_confidence: float | None = None,
    model: Model | None = None,
    labels: bool = False,
    on_error: str = "fail",
    site_repeats: SiteRepeats | None = None,
    domain_column: str = "domain",
) -> pd.DataFrame:
    """A copy of ``frame`` with ``column`` cleaned (as ``classifier.clean`` does each text).

    With ``labels=True`` a ``paragraph_labels`` column holds, for each document, a
    list of {label, probability, kept} for its paragraphs (None where the text was
    skipped). ``site_repeats``: as for ``classify_frame``.
    """
    keep = as_labels(keep)
    loaded = _model(model)
    threshold = min_confidence_of(min_confidence, default=loaded.default_min_confidence)
    domains = _domains(frame, site_repeats is not None, domain_column)
    usable = _texts(frame, column, on_error)
    options = JobOptions(
        mode="clean", text_column=column, keep=tuple(keep), min_confidence=threshold, labels=labels, site_repeats=site_repeats
    )
    values = frame[column].tolist()
    label_values: list[Any] = [None] * len(frame)
    for batch in _batches(usable):
        documents = Documents()
        for position, text in batch:
            documents.add(text, position + 1, position, domains[position])
        analysis = analyse(documents, options, model=loaded, threshold=threshold)
        for slot, (position, _) in enumerate(batch):
            values[position] = analysis.outputs[slot]
            if analysis.labels is not None:
                label_values[position] = analysis.labels[slot]
    result = frame.copy()
    dtype = frame[column].dtype
    # A categorical column gets the categories of its cleaned texts: cast to the old
    # ones, every changed text would become a missing value.
    result[column] = pd.Series(values, index=frame.index, dtype="category" if isinstance(dtype, pd.CategoricalDtype) else dtype)
    if labels:
        result[LABELS_COLUMN] = pd.Series(label_values, index=frame.index, dtype=object)
    return result


def clean_meta(frame: pd.DataFrame, *, labels: bool = False) -> pd.DataFrame:
    """The empty frame ``clean_frame`` returns for ``frame``'s columns (Dask's meta)."""
    meta = frame.iloc[:0].copy()
    if labels:
        meta[LABELS_COLUMN] = pd.Series([], dtype=object)
    return meta


def classify_meta(index: pd.Index) -> pd.DataFrame:
    """The empty frame ``classify_frame`` returns (Dask's meta)."""
    return _empty_paragraphs(index[:0])

"""Dask DataFrames in: ``classify_frame`` and ``clean_frame`` partition by partition.

The same as ``classifier.frames`` over ``map_partitions``. Each worker process loads
the model once and keeps it: give ``model`` as a folder path (or None for the shipped
model) and every worker loads it on its first partition (and again only if its files
change). A loaded ``Model`` goes into the task graph instead, as one shared piece, sent
with every computation (tens of megabytes for the shipped one): on a cluster, prefer
a path every worker can read.

    import dask.dataframe as dd
    from classifier.dask import clean_frame
    cleaned = clean_frame(dd.read_parquet("articles/"), column="text")
    cleaned.to_parquet("clean/")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classifier.bulk.process import LABELS_COLUMN
from classifier.labels import REPORTING

_MODELS: dict[str, Any] = {}
_LOADS = 0
_CALLS = 0


def worker_model(reference: Any) -> Any:
    """The model of ``reference`` (a folder path, None for the shipped one, or a Model), loaded once per process."""
    global _LOADS, _CALLS
    from classifier.model import Model

    _CALLS += 1
    if isinstance(reference, Model):
        return reference
    from classifier.api import load_model

    # load_model keeps the model per process and reads it again only when its files
    # change: a model retrained in place on a long-lived cluster is not missed.
    key = "" if reference is None else str(reference)
    model = load_model(reference)
    if _MODELS.get(key) is not model:
        _MODELS[key] = model
        _LOADS += 1
    return model


def worker_model_loads() -> tuple[int, int]:
    """(models loaded, partitions that asked for one) in this process, for tests."""
    return _LOADS, _CALLS


def _reference(model: Any) -> Any:
    """What goes into the task graph for ``model``: a path, None, or one delayed Model."""
    from classifier.model import Model

    if model is None:
        return None
    if isinstance(model, Model):
        import dask

        name = f"newsclean-model-{model.manifest.get('checksum', '')[:16]}-{id(model):x}"
        return dask.delayed(model, name=name, pure=True)
    if isinstance(model, (str, os.PathLike)):
        return str(Path(model).resolve())
    raise TypeError(f"model must be a folder path, a Model or None, not {type(model).__name__}")


def _classify_partition(partition: Any, column: str, reference: Any, on_error: str) -> Any:
    from classifier.frames import classify_frame

    return classify_frame(partition, column=column, model=worker_model(reference), on_error=on_error)


def _clean_partition(
    partition: Any,
    column: str,
    keep: tuple[str, ...],
    min_confidence: float | None,
    reference: Any,
    labels: bool,
    on_error: str,
) -> Any:
    from classifier.frames import clean_frame

    cleaned = clean_frame(
        partition,
        column=column,
        keep=keep,
        min_confidence=min_confidence,
        model=worker_model(reference),
        labels=labels,
        on_error=on_error,
    )
    if labels:
        cleaned[LABELS_COLUMN] = _json_labels(cleaned[LABELS_COLUMN])
    return cleaned


def _json_labels(column: Any) -> Any:
    """The labels column as JSON text, as in a CSV corpus: Dask cannot write a column
    of Python lists to Parquet, and pandas cannot read back a nested Arrow column."""
    import json

    import pandas as pd

    from classifier.frames import _text_dtype

    values = [None if entries is None else json.dumps(entries, ensure_ascii=False) for entries in column.tolist()]
    return pd.Series(values, index=column.index, dtype=_text_dtype())


def _check(frame: Any, column: str, on_error: str) -> None:
    import dask.dataframe as dd

    from classifier.errors import InputError

    if not isinstance(frame, dd.DataFrame):
        raise TypeError(f"expected a Dask DataFrame, got {type(frame).__name__}: use classifier.frames for pandas")
    if column not in frame.columns:
        names = ", ".join(map(str, list(frame.columns)[:8]))
        raise InputError(f"no column {column!r} in the frame (columns: {names}): name the text column with column=")
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")


def classify_frame(frame: Any, *, column: str = "text", model: Any = None, on_error: str = "fail") -> Any:
    """Every paragraph with its label and probabilities: one row per paragraph,
    indexed by its document's index label (see ``classifier.frames.classify_frame``).
    Lazy: nothing runs until the result is computed or written."""
    from classifier.frames import classify_meta

    _check(frame, column, on_error)
    meta = classify_meta(frame._meta.index)
    return frame.map_partitions(_classify_partition, column, _reference(model), on_error, meta=meta)


def clean_frame(
    frame: Any,
    *,
    column: str = "text",
    keep: Sequence[str] = (REPORTING,),
    min_confidence: float | None = None,
    model: Any = None,
    labels: bool = False,
    on_error: str = "fail",
) -> Any:
    """``frame`` with ``column`` cleaned, partition by partition (see
    ``classifier.frames.clean_frame``). Lazy: nothing runs until computed or written.

    With ``labels=True`` the ``paragraph_labels`` column holds each document's list of
    {label, probability, kept} as JSON text (``json.loads`` gives the list that
    pandas' ``clean_frame`` holds), so that the result can be written to Parquet."""
    import pandas as pd

    from classifier.evaluation import min_confidence_of
    from classifier.frames import clean_meta
    from classifier.labels import as_labels

    # Refused here, before anything runs, rather than on the first partition.
    _check(frame, column, on_error)
    keep = as_labels(keep)
    min_confidence_of(min_confidence, default=0.5)  # refused here, not on the first partition
    meta = clean_meta(frame._meta, labels=labels)
    if isinstance(meta[column].dtype, pd.CategoricalDtype):
        # Each partition's cleaned texts are its own categories: none is known ahead.
        from dask.dataframe.utils import clear_known_categories

        meta = clear_known_categories(meta, cols=[column])
    if labels:
        meta[LABELS_COLUMN] = _json_labels(meta[LABELS_COLUMN])
    return frame.map_partitions(_clean_partition, column, keep, min_confidence, _reference(model), labels, on_error, meta=meta)

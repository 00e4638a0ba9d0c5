"""Corpus jobs: clean or classify whole corpora, streaming, on every core.

``formats`` reads and writes JSONL (also .gz and .zst), CSV, Parquet and folders of
.txt files chunk by chunk; ``process`` turns a chunk into output rows, removed
paragraphs and report counts (in a worker process); ``runner`` drives a job with
resumable partial output; ``report`` sums up a corpus.

Nothing here is imported when one article is cleaned, and importing this package
imports its modules only when their names are used.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "CORPUS_SUFFIXES": "classifier.bulk.names",
    "corpus_format": "classifier.bulk.names",
    "is_corpus": "classifier.bulk.names",
    "iter_documents": "classifier.bulk.formats",
    "CorpusJob": "classifier.bulk.runner",
    "JobResult": "classifier.bulk.runner",
    "run_corpus": "classifier.bulk.runner",
    "CorpusReport": "classifier.bulk.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'classifier.bulk' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)

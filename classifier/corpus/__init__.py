"""Corpus build: real HTML pages with ground truth -> labelled paragraphs.

sources  -> iterate the four benchmark corpora (Page, iter_pages)
extract  -> paragraph extractors (trafilatura, trafilatura_recall, readability, fulltext)
align    -> reporting / non_reporting / uncertain against the page's ground truth
build    -> paragraphs.parquet, aligned label export, join with committed labels
review   -> reading batches for what alignment cannot label, and their ingestion

The corpora and everything built from them hold publishers' text: they stay outside
git. Committed label files (datasets/labels/) hold keys, hashes and labels only.
"""

from .align import align_paragraph, align_paragraphs
from .build import (
    BuildStats,
    JoinStats,
    LabelConflictError,
    LabelFormatError,
    LabelJoinError,
    StaleLabelError,
    build_corpus,
    export_aligned_labels,
    join_labels,
    text_hash,
)
from .extract import EXTRACTOR_NAMES, run_extractor
from .review import ReviewAnswerError, ingest_review, make_review_batches
from .sources import CORPORA, Page, iter_pages, list_pages, load_page

__all__ = [
    "CORPORA",
    "EXTRACTOR_NAMES",
    "BuildStats",
    "JoinStats",
    "LabelConflictError",
    "LabelFormatError",
    "LabelJoinError",
    "Page",
    "ReviewAnswerError",
    "StaleLabelError",
    "align_paragraph",
    "align_paragraphs",
    "build_corpus",
    "export_aligned_labels",
    "ingest_review",
    "iter_pages",
    "join_labels",
    "list_pages",
    "load_page",
    "make_review_batches",
    "run_extractor",
    "text_hash",
]

"""Repetition across a site: how many pages of one domain carry a paragraph verbatim.

A line that recurs on many pages of one site is almost always its furniture (menus,
newsletter boxes, footers); a sentence of reporting is written once. In the labelled
corpus, of the paragraphs found on five or more pages of their site, 17% are
reporting, against 86% of those found on one page only. The count is an input of the
model's second stage; where it is unknown (one article at a time) it reads as 1.

Counting keeps one 8-byte key per distinct (domain, paragraph) and page, so a corpus
of ten million paragraphs needs about 160 MB at the peak of a count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from classifier.text import needs_plain, plain_paragraph

# Chunks of keys are merged once they hold this many, which bounds the memory a count
# holds beyond its result.
_MERGE_EVERY = 1 << 22
# Pages held in a set (some 60 bytes each) before they join the sorted runs (8).
_PAGES_PER_RUN = 1 << 16


def paragraph_keys(domain: str | None, texts: Sequence[str]) -> np.ndarray:
    """Stable 64-bit keys of a page's paragraphs on its site (the same in every process)."""
    prefix = (domain or "").strip().lower().encode("utf-8", "surrogatepass") + b"\x1f"
    keys = np.empty(len(texts), dtype=np.uint64)
    for i, text in enumerate(texts):
        # The paragraph as the model reads it (``plain_paragraph``, which strips it).
        plain = plain_paragraph(text) if needs_plain(text) else text
        digest = hashlib.blake2b(prefix + plain.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        keys[i] = int.from_bytes(digest, "little")
    return keys


@dataclass(frozen=True)
class SiteRepeats:
    """Pages per (domain, paragraph), as sorted keys and their counts."""

    keys: np.ndarray
    counts: np.ndarray

    @classmethod
    def count(cls, pages: Iterable[tuple[str | None, Sequence[str]]], *, distinct: bool = False) -> SiteRepeats:
        """Count over ``(domain, paragraphs)`` pages; pages without a domain are not counted.

        With ``distinct``, a page whose whole text its site has shown before counts
        once: a corpus that holds an article twice (a crawl's duplicate rows) would
        otherwise make its own story look like the site's furniture.
        """
        pending: list[np.ndarray] = []
        held = 0
        runs = _Runs()
        seen = _PageSet()
        for domain, texts in pages:
            if not domain or not texts:
                continue
            if distinct and not seen.add(domain, texts):
                continue
            # A paragraph repeated within one page counts once for that page.
            unique = np.unique(paragraph_keys(domain, texts))
            pending.append(unique)
            held += len(unique)
            if held >= _MERGE_EVERY:
                runs.add(np.concatenate(pending))
                pending, held = [], 0
        if pending:
            runs.add(np.concatenate(pending))
        keys, counts = runs.merged()
        return cls(keys=keys, counts=counts)

    def lookup(self, domain: str | None, texts: Sequence[str]) -> np.ndarray:
        """Pages of ``domain`` holding each paragraph (at least 1: this page)."""
        if not domain or not len(self.keys) or not texts:
            return np.ones(len(texts))
        wanted = paragraph_keys(domain, texts)
        where = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        found = self.keys[where] == wanted
        return np.where(found, np.maximum(self.counts[where], 1), 1).astype(np.float64)


class _PageSet:
    """Pages seen so far, one 8-byte key each: a sorted array, and a set of the
    latest merged into it now and then (a set alone costs some 60 bytes a page)."""

    def __init__(self) -> None:
        self.runs = _Runs()
        self.recent: set[int] = set()

    def add(self, domain: str, texts: Sequence[str]) -> bool:
        """Whether the page is new (and now seen)."""
        key = int(paragraph_keys(domain, ["\n".join(text.strip() for text in texts)])[0])
        if key in self.recent or self.runs.holds(key):
            return False
        self.recent.add(key)
        if len(self.recent) >= _PAGES_PER_RUN:
            self.runs.add(np.fromiter(self.recent, dtype=np.uint64, count=len(self.recent)))
            self.recent.clear()
        return True


class _Runs:
    """Keys with counts, in sorted runs whose sizes at least double from newest to
    oldest: a new run merges only with runs no larger than what it has become, so each
    key is merged about log2(runs) times, not once for every later run (merging every
    run into one grew with the square of the corpus: 85 s for two million pages)."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, keys: np.ndarray) -> None:
        run = _counted(keys, np.ones(len(keys), dtype=np.int64))
        while self.runs and len(self.runs[-1][0]) <= len(run[0]):
            older_keys, older_counts = self.runs.pop()
            run = _counted(np.concatenate([older_keys, run[0]]), np.concatenate([older_counts, run[1]]))
        self.runs.append(run)

    def holds(self, key: int) -> bool:
        wanted = np.uint64(key)
        for keys, _ in self.runs:
            where = int(np.searchsorted(keys, wanted))
            if where < len(keys) and keys[where] == wanted:
                return True
        return False

    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.runs:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        keys = np.concatenate([keys for keys, _ in self.runs])
        counts = np.concatenate([counts for _, counts in self.runs])
        return _counted(keys, counts)


def _counted(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys``, sorted, each with the sum of its ``counts``."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct, np.bincount(inverse.ravel(), weights=counts, minlength=len(distinct)).astype(np.int64)


def frame_site_repeats(frame) -> np.ndarray:
    """Per row of a labelled table: pages of the row's domain that hold its text.

    Pages are told apart by ``corpus`` and ``page_id`` where the table has them (one
    page may come in several extractions), else by ``doc_id``; rows without a domain
    get 1.
    """
    if "domain" not in frame.columns:
        return np.ones(len(frame))
    if "page_id" in frame.columns:
        corpus = frame["corpus"].astype(str) + "/" if "corpus" in frame.columns else ""
        pages = (corpus + frame["page_id"].astype(str)).tolist()
    else:
        pages = frame["doc_id"].astype(str).tolist()
    domains = frame["domain"].tolist()
    texts = frame["text"].tolist()
    by_page: dict[tuple[str, str], list[str]] = {}
    for domain, page, text in zip(domains, pages, texts, strict=True):
        if isinstance(domain, str) and domain:
            by_page.setdefault((domain, page), []).append(text)
    repeats = SiteRepeats.count((domain, page_texts) for (domain, _), page_texts in by_page.items())
    result = np.ones(len(frame))
    rows_by_domain: dict[str, list[int]] = {}
    for row, domain in enumerate(domains):
        if isinstance(domain, str) and domain:
            rows_by_domain.setdefault(domain, []).append(row)
    for domain, rows in rows_by_domain.items():
        result[rows] = repeats.lookup(domain, [texts[row] for row in rows])
    return result

"""The corpus report: documents, paragraphs and characters by label (removed and kept),
by domain where the rows name one, and the paragraphs removed most often.

Workers fill a report per chunk; the job merges them. The counter of removed
paragraphs keeps at most a few thousand distinct texts (the most frequent, counted
by the Misra-Gries rule), so that memory stays flat on any corpus; ``approximate``
says when counts may be short because of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from classifier.labels import LABELS
from classifier.text import shown

_N = len(LABELS)
DEFAULT_TOP = 20
DEFAULT_CAPACITY = 2000
_DOMAIN_CAPACITY = 100_000


def domain_of(record: dict[str, Any] | None) -> str | None:
    """The row's ``domain`` field, else the host of its ``url`` (without ``www.``)."""
    if not record:
        return None
    domain = record.get("domain")
    if isinstance(domain, str) and domain.strip():
        return domain.strip().lower()
    url = record.get("url")
    if isinstance(url, str) and url:
        try:
            host = urlsplit(url if "//" in url else "//" + url).hostname
        except ValueError:
            return None
        if host:
            return host[4:] if host.startswith("www.") else host
    return None


def _zeros() -> list[int]:
    return [0] * _N


def _new_domain() -> dict[str, Any]:
    return {"documents": 0, "paragraphs": _zeros(), "characters": _zeros(), "removed_characters": 0}


class CorpusReport:
    """Counts over a corpus; ``add_chunk`` per batch of documents, ``merge`` to combine."""

    def __init__(self, mode: str = "clean", *, top: int = DEFAULT_TOP, capacity: int = DEFAULT_CAPACITY) -> None:
        self.mode = mode
        self.top = top
        self.capacity = capacity
        self.documents = 0
        self.documents_changed = 0
        self.rows_skipped = 0
        self.skipped_examples: list[str] = []
        self.input_characters = 0
        self.output_characters = 0
        self.paragraphs = _zeros()
        self.characters = _zeros()
        self.removed_paragraphs = _zeros()
        self.removed_characters = _zeros()
        self.domains: dict[str, dict[str, Any]] = {}
        self.removed_texts: dict[str, list[int]] = {}  # text -> [count, label index]
        self.approximate = False

    # -- filling -----------------------------------------------------------------

    def add_chunk(
        self,
        best: np.ndarray,
        lengths: np.ndarray,
        dropped: np.ndarray,
        counts: Sequence[int],
        domains: Sequence[str | None] | None = None,
    ) -> None:
        """Add documents whose paragraphs are concatenated in ``best``/``lengths``/``dropped``.

        ``counts`` gives each document's number of paragraphs, in order.
        """
        self.documents += len(counts)
        if len(best):
            self.paragraphs = _add(self.paragraphs, np.bincount(best, minlength=_N))
            self.characters = _add(self.characters, np.bincount(best, weights=lengths, minlength=_N))
            removed = best[dropped]
            self.removed_paragraphs = _add(self.removed_paragraphs, np.bincount(removed, minlength=_N))
            self.removed_characters = _add(self.removed_characters, np.bincount(removed, weights=lengths[dropped], minlength=_N))
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        running = np.concatenate([[0], np.cumsum(dropped, dtype=np.int64)])
        self.documents_changed += int((running[starts[1:]] > running[starts[:-1]]).sum())
        if domains is None:
            return
        for number, domain in enumerate(domains):
            if domain is None:
                continue
            stats = self.domains.get(domain)
            if stats is None:
                if len(self.domains) >= _DOMAIN_CAPACITY:
                    domain = "(other domains)"
                    stats = self.domains.setdefault(domain, _new_domain())
                else:
                    stats = self.domains[domain] = _new_domain()
            stats["documents"] += 1
            start, end = starts[number], starts[number + 1]
            if end > start:
                labels = best[start:end]
                stats["paragraphs"] = _add(stats["paragraphs"], np.bincount(labels, minlength=_N))
                stats["characters"] = _add(stats["characters"], np.bincount(labels, weights=lengths[start:end], minlength=_N))
                stats["removed_characters"] += int(lengths[start:end][dropped[start:end]].sum())

    def add_removed_text(self, text: str, label: int) -> None:
        entry = self.removed_texts.get(text)
        if entry is None:
            self.removed_texts[text] = [1, label]
            if len(self.removed_texts) > 2 * self.capacity:
                self._prune()
        else:
            entry[0] += 1

    def add_skipped(self, where: str, count: int = 1) -> None:
        self.rows_skipped += count
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(where)

    def _prune(self) -> None:
        """Keep the ``capacity`` most frequent texts, less the count of the first one dropped."""
        ranked = sorted(self.removed_texts.items(), key=lambda item: -item[1][0])
        floor = ranked[self.capacity][1][0] if len(ranked) > self.capacity else 0
        self.removed_texts = {text: [count - floor, label] for text, (count, label) in ranked[: self.capacity] if count > floor}
        self.approximate = True

    def merge(self, other: CorpusReport) -> None:
        self.documents += other.documents
        self.documents_changed += other.documents_changed
        self.rows_skipped += other.rows_skipped
        self.skipped_examples.extend(other.skipped_examples[: max(0, 5 - len(self.skipped_examples))])
        self.input_characters += other.input_characters
        self.output_characters += other.output_characters
        self.paragraphs = _add(self.paragraphs, other.paragraphs)
        self.characters = _add(self.characters, other.characters)
        self.removed_paragraphs = _add(self.removed_paragraphs, other.removed_paragraphs)
        self.removed_characters = _add(self.removed_characters, other.removed_characters)
        for domain, stats in other.domains.items():
            mine = self.domains.get(domain)
            if mine is None:
                self.domains[domain] = {key: list(value) if isinstance(value, list) else value for key, value in stats.items()}
                continue
            mine["documents"] += stats["documents"]
            mine["removed_characters"] += stats["removed_characters"]
            mine["paragraphs"] = _add(mine["paragraphs"], stats["paragraphs"])
            mine["characters"] = _add(mine["characters"], stats["characters"])
        for text, (count, label) in other.removed_texts.items():
            entry = self.removed_texts.get(text)
            if entry is None:
                self.removed_texts[text] = [count, label]
            else:
                entry[0] += count
        self.approximate = self.approximate or other.approximate
        if len(self.removed_texts) > 2 * self.capacity:
            self._prune()

    # -- state for --resume --------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        state = {key: value for key, value in vars(self).items()}
        state["removed_texts"] = [[text, count, label] for text, (count, label) in self.removed_texts.items()]
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CorpusReport:
        report = cls(state["mode"], top=state["top"], capacity=state["capacity"])
        for key, value in state.items():
            setattr(report, key, value)
        report.removed_texts = {text: [count, label] for text, count, label in state["removed_texts"]}
        return report

    # -- output ------------------------------------------------------------------

    def most_removed(self) -> list[dict[str, Any]]:
        ranked = sorted(self.removed_texts.items(), key=lambda item: (-item[1][0], item[0]))[: self.top]
        return [{"text": text, "count": count, "label": LABELS[label]} for text, (count, label) in ranked]

    def to_dict(self) -> dict[str, Any]:
        def by_label(values: Sequence[int]) -> dict[str, int]:
            return {label: int(value) for label, value in zip(LABELS, values, strict=True)}

        removed_key = "removed" if self.mode == "clean" else "would_remove"
        result: dict[str, Any] = {
            "command": self.mode,
            "documents": self.documents,
            "documents_changed": self.documents_changed,
            "rows_skipped": self.rows_skipped,
            "skipped_examples": self.skipped_examples,
            "input_characters": self.input_characters,
            "paragraphs": by_label(self.paragraphs),
            "characters": by_label(self.characters),
            removed_key: {
                "paragraphs": by_label(self.removed_paragraphs),
                "characters": by_label(self.removed_characters),
            },
        }
        if self.mode == "clean":
            result["output_characters"] = self.output_characters
        if self.domains:
            ranked = sorted(self.domains.items(), key=lambda item: (-item[1]["documents"], item[0]))
            result["by_domain"] = {
                domain: {
                    "documents": stats["documents"],
                    "paragraphs": by_label(stats["paragraphs"]),
                    "characters": by_label(stats["characters"]),
                    f"{removed_key}_characters": stats["removed_characters"],
                }
                for domain, stats in ranked
            }
        result[f"most_{removed_key}"] = self.most_removed()
        result["most_removed_approximate"] = self.approximate
        return result

    def render(self, *, domains: int = 10, texts: int = 10) -> str:
        """A few lines for a terminal."""
        verb = "removed" if self.mode == "clean" else "would remove"
        changed = "changed" if self.mode == "clean" else "with something to remove"
        lines = [
            f"{self.documents:,} documents ({self.documents_changed:,} {changed}), "
            f"{sum(self.paragraphs):,} paragraphs, {sum(self.characters):,} characters"
        ]
        if self.rows_skipped:
            rows = "bad row" if self.rows_skipped == 1 else "bad rows"
            lines.append(f"{self.rows_skipped:,} {rows} passed through unchanged (first: {self.skipped_examples[0]})")
            if not self.documents:
                lines.append("Warning: no row was cleaned or classified: check --text-column and the first bad row above")
        header = "removed" if self.mode == "clean" else "to remove"
        lines.append(f"  {'label':<16}{'paragraphs':>12}{'characters':>14}{header + ' ¶':>14}{header + ' chars':>18}")
        for number, label in enumerate(LABELS):
            lines.append(
                f"  {label:<16}{self.paragraphs[number]:>12,}{self.characters[number]:>14,}"
                f"{self.removed_paragraphs[number]:>14,}{self.removed_characters[number]:>18,}"
            )
        if self.domains:
            ranked = sorted(self.domains.items(), key=lambda item: (-item[1]["documents"], item[0]))
            lines.append(f"by domain (top {min(domains, len(ranked))} of {len(ranked):,}):")
            for domain, stats in ranked[:domains]:
                total = sum(stats["characters"]) or 1
                documents = f"{stats['documents']:>8,} doc{'s' if stats['documents'] != 1 else ' '}"
                lines.append(
                    f"  {domain:<32}{documents}{sum(stats['paragraphs']):>9,} ¶"
                    f"  {verb} {stats['removed_characters'] / total:>6.1%} of characters"
                )
        top = self.most_removed()[:texts]
        if top:
            lines.append(f"most often {verb}{' (approximate counts)' if self.approximate else ''}:")
            for entry in top:
                text = shown(entry["text"].strip())
                text = text if len(text) <= 70 else text[:69] + "…"
                lines.append(f"  {entry['count']:>7,}×  {entry['label']:<16}{text}")
        return "\n".join(lines)


def _add(values: Sequence[int], more: Any) -> list[int]:
    return [int(a) + round(float(b)) for a, b in zip(values, more, strict=True)]

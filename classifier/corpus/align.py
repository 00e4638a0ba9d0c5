"""Align extracted paragraphs with a page's ground truth.

Alignment only says whether a paragraph is in the ground truth; it never decides
between `donation_appeal` and `ui_residue`. Its decisions:

- `reporting`: the ground truth covers the paragraph (most of its word 3-grams occur
  in the truth text; a short paragraph equals a whole truth line; on pages that only
  have `with` snippets, the paragraph contains one);
- `non_reporting`: the paragraph is clearly absent from the truth, or contains a
  `without` snippet;
- `uncertain`: in between, contradictory evidence, or no ground truth at all.

Ground truths leave out bylines, captions and credits that LABELLING.md counts as
reporting, and some are cut short, so only `reporting` is trusted as a label; the rest
goes to human review.

The score is the evidence behind the decision: the 3-gram coverage for long paragraphs
on pages with a truth text, 1.0 / 0.5 / 0.0 for snippet and line matches, and NaN when
there is nothing to compare with.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

REPORTING = "reporting"
NON_REPORTING = "non_reporting"
UNCERTAIN = "uncertain"
DECISIONS: tuple[str, ...] = (REPORTING, NON_REPORTING, UNCERTAIN)

# Paragraphs shorter than this have too few 3-grams for coverage to mean anything
# ("Share", "Read more", a date): they must match a whole truth line instead.
SHORT_WORDS = 6
# 3-gram coverage thresholds. Reporting is the only decision used as a label without
# review, so its bar is high; everything between the two bars goes to review.
REPORTING_MIN_COVERAGE = 0.7
NON_REPORTING_MAX_COVERAGE = 0.2
# A snippet counts inside a paragraph only when it is a substantial part of it: a
# one-word `without` snippet such as "Home" must not condemn a body paragraph that
# happens to contain the word.
SNIPPET_MIN_WORDS = 3
SNIPPET_MIN_SHARE = 0.5

# Anything that is not a letter, digit or combining mark separates words; combining
# marks are kept so that Indic and other scripts do not split inside words.
_NON_WORD = regex.compile(r"[^\p{L}\p{N}\p{M}]+")


def normalise(text: str) -> str:
    """NFKC, casefold, punctuation/symbols/whitespace to single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    return normalise(text).split()


def ngrams(words: Sequence[str], n: int = 3) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _padded(words: Sequence[str]) -> str:
    # Spaces around a normalised string make `in` tests respect word boundaries.
    return f" {' '.join(words)} "


@dataclass(frozen=True)
class TruthIndex:
    """A page's ground truth, pre-normalised for matching many paragraphs."""

    has_text: bool
    grams: frozenset[tuple[str, ...]]
    lines: frozenset[str]
    joined: str
    with_snippets: tuple[tuple[str, ...], ...]
    without_snippets: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not (self.has_text or self.with_snippets or self.without_snippets)

    @classmethod
    def build(
        cls,
        truth_text: str | None,
        truth_with: Iterable[str] = (),
        truth_without: Iterable[str] = (),
    ) -> TruthIndex:
        lines: set[str] = set()
        words: list[str] = []
        for line in (truth_text or "").splitlines():
            line_words = tokens(line)
            if line_words:
                lines.add(" ".join(line_words))
                words.extend(line_words)
        with_snippets = tuple(t for t in (tuple(tokens(s)) for s in truth_with) if t)
        without_snippets = tuple(t for t in (tuple(tokens(s)) for s in truth_without) if t)
        return cls(
            has_text=bool(words),
            grams=frozenset(ngrams(words)),
            lines=frozenset(lines),
            joined=_padded(words),
            with_snippets=with_snippets,
            without_snippets=without_snippets,
        )


def _contains_snippet(words: Sequence[str], padded: str, snippets) -> bool:
    for snippet in snippets:
        substantial = len(snippet) >= SNIPPET_MIN_WORDS or len(snippet) >= SNIPPET_MIN_SHARE * len(words)
        if substantial and _padded(snippet) in padded:
            return True
    return False


def _inside_snippet(words: Sequence[str], padded: str, snippets) -> bool:
    # `with` snippets are sometimes longer than what an extractor put on one line.
    if len(words) < SNIPPET_MIN_WORDS:
        return False
    return any(padded in _padded(snippet) for snippet in snippets)


def align_paragraph(paragraph: str, truth: TruthIndex) -> tuple[str, float]:
    """(decision, score) for one paragraph against a page's ground truth."""
    if truth.empty:
        return UNCERTAIN, math.nan
    words = tokens(paragraph)
    if not words:
        # Only punctuation, bullets or rules: never part of a ground truth.
        return NON_REPORTING, 0.0
    padded = _padded(words)
    with_hit = _contains_snippet(words, padded, truth.with_snippets) or _inside_snippet(words, padded, truth.with_snippets)
    without_hit = _contains_snippet(words, padded, truth.without_snippets)

    if not truth.has_text:
        # Snippet-only ground truth (trafilatura-tests): evidence only where a snippet
        # matches; everything else is unknown.
        if with_hit and without_hit:
            return UNCERTAIN, 0.5
        if with_hit:
            return REPORTING, 1.0
        if without_hit:
            return NON_REPORTING, 0.0
        return UNCERTAIN, math.nan

    if len(words) < SHORT_WORDS:
        line = " ".join(words)
        if line in truth.lines or any(line == " ".join(s) for s in truth.with_snippets):
            return (UNCERTAIN, 0.5) if without_hit else (REPORTING, 1.0)
        if without_hit:
            return NON_REPORTING, 0.0
        if padded in truth.joined:
            # Occurs inside a longer truth line: could be a sub-heading the truth glued
            # to its paragraph, or a button label that happens to be a common phrase.
            return UNCERTAIN, 0.5
        return NON_REPORTING, 0.0

    grams = ngrams(words)
    coverage = round(len(grams & truth.grams) / len(grams), 4)
    if coverage >= REPORTING_MIN_COVERAGE:
        return (UNCERTAIN if without_hit else REPORTING), coverage
    if without_hit:
        return NON_REPORTING, coverage
    if coverage <= NON_REPORTING_MAX_COVERAGE and not with_hit:
        return NON_REPORTING, coverage
    return UNCERTAIN, coverage


def align_paragraphs(
    paragraphs: Sequence[str],
    truth_text: str | None,
    truth_with: Iterable[str] = (),
    truth_without: Iterable[str] = (),
) -> list[tuple[str, float]]:
    """Align every paragraph of one extraction against the same ground truth."""
    truth = TruthIndex.build(truth_text, truth_with, truth_without)
    return [align_paragraph(p, truth) for p in paragraphs]

"""What the model sees of a paragraph and of its neighbours.

Two kinds of features:
- per paragraph: its words (unigrams, bigrams and its first word, looked up in a
  vocabulary fixed at training) and its shape (length, punctuation, digits, prices,
  capitals, first and second person, links, bullets);
- per document: for each paragraph, the first-pass probabilities of its neighbours,
  its place from the start and from the end, and repeats within the document. An
  appeal is a block: "Dear readers," is judged by what follows it.

Training and inference call the same functions, so the exported model sees exactly
what the fitted one saw.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress

import numpy as np

# Letters and digits; "_" is not a word character worth keeping.
_WORD_RE = re.compile(r"[^\W_]+")
# Chinese and Japanese write no spaces between words, so a run of their characters is
# one "word" above: a whole clause, seen once. Under the "cjk-characters" tokenizer
# each such character is a token of its own (and neighbouring pairs become bigrams).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_WORD_OR_CJK_RE = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
#: How text becomes tokens; a model records the one it was trained with.
TOKENIZERS = ("words", "cjk-characters")
DEFAULT_TOKENIZER = "cjk-characters"
# Searched in lower-cased text whose digits are all 0 (see ``_lowered``). Each
# pattern starts with one character or class, which the regex engine scans for fast.
CURRENCY_WORDS = frozenset("usd eur euro euros gbp chf pln zł sek kr dkk nok rub brl".split())
_LINK_RE = re.compile(r"https?://|www\.|@\w|\.(?:com|org|net|de|fr|uk)\b")
_SENTENCE_END = frozenset(".!?…\"”»’)'")
_BULLETS = frozenset("-–—•·*►▶»>|#+~=_/\\[(")

# Pronouns of the reader and of the outlet, in the languages the data covers. The
# words feed the model through the vocabulary too; these counts are what carries
# over to a site or a language whose vocabulary the model never saw.
FIRST_PLURAL = frozenset(
    "we our us ours wir uns unser unsere unseren unserer nous notre nos nosotros "
    "nosotras nuestro nuestra nuestros nuestras noi nostro nostra nostri nostre nós "
    "nosso nossa nossos nossas wij we ons onze my nasz nasza nasze naszych vi vår vårt "
    "våra oss мы нас наш наша наше наши".split()
)
SECOND_PERSON = frozenset(
    "you your yours du dich dir dein deine deinen ihr euch euer vous votre vos tu toi "
    "ton ta tes usted ustedes tú tus vosotros voi vostro vostra tuo tua você vocês "
    "teu tua seu sua jij jou jouw je u uw ty ciebie twój twoja twoje państwo pan pani "
    "din ditt dina ni er вы вас ваш ваша ваше ты тебя твой".split()
)

SHAPE_FEATURES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "ends_sentence",
    "ends_colon",
    "no_letters",
    "upper_ratio",
    "digit_ratio",
    "has_price",
    "first_plural_ratio",
    "second_person_ratio",
    "has_link",
    "starts_bullet",
    "title_ratio",
    "has_question",
    "has_exclamation",
    "short_line",
    "mean_word_length",
    "nav_separators",
    "has_copyright",
)
N_SHAPE = len(SHAPE_FEATURES)

# Marks found anywhere in a paragraph, each searched once over a whole batch.
_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("has_price", re.compile(r"[$€£¥₹₽]")),
    ("has_price", re.compile(r"0[.,]00\b")),
    ("has_link", _LINK_RE),
    ("has_question", re.compile(r"\?")),
    ("has_exclamation", re.compile(r"!")),
    ("nav_separators", re.compile(r"[|»›→•]")),
    ("nav_separators", re.compile(r" / ")),
    ("has_copyright", re.compile(r"©|\(c\)")),
)

#: Hashed word-bigram buckets; the vocabulary holds unigrams only.
DEFAULT_BUCKETS = 1 << 18
_BIGRAM_MULTIPLIER = 2_654_435_761


@dataclass(frozen=True)
class FeatureSpace:
    """Where each kind of token feature sits: unigrams, bigram buckets, first word, empty."""

    n_words: int
    n_buckets: int

    @property
    def bigram_offset(self) -> int:
        return self.n_words

    @property
    def first_offset(self) -> int:
        return self.n_words + self.n_buckets

    @property
    def empty_feature(self) -> int:
        return 2 * self.n_words + self.n_buckets

    @property
    def size(self) -> int:
        return self.empty_feature + 1

    def bigram(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.bigram_offset + (left * _BIGRAM_MULTIPLIER + right) % self.n_buckets


_ANY_DIGIT = re.compile(r"[0-9]")


def _lowered(texts: Sequence[str]) -> tuple[list[str], str]:
    """Lower-cased texts with every ASCII digit written as 0 (prices and dates generalise),
    and all of them joined (to look for a script once, not text by text)."""
    joined = "\n".join(texts).lower()
    if _ANY_DIGIT.search(joined):
        joined = _ANY_DIGIT.sub("0", joined)
    parts = joined.split("\n")
    if len(parts) != len(texts):  # a text held a line break: do it one at a time
        parts = [_ANY_DIGIT.sub("0", text.lower()).replace("\n", " ") for text in texts]
    return parts, joined


def _word_pattern(tokenizer: str, lowered: str) -> re.Pattern[str]:
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {tokenizer!r}; this release knows {TOKENIZERS}")
    # The plain pattern is faster; it gives the same tokens where there is no CJK text.
    return _WORD_OR_CJK_RE if tokenizer == "cjk-characters" and _CJK_RE.search(lowered) else _WORD_RE


def words_of(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """Lower-cased words with every digit written as 0 (prices and dates generalise)."""
    lowered = _ANY_DIGIT.sub("0", text.lower())
    return _word_pattern(tokenizer, lowered).findall(lowered)


@lru_cache(maxsize=1)
def _character_classes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Letter, upper-case, digit and space flags for every BMP code point.

    Built once per process (about 10 ms); characters beyond the BMP count as none.
    """
    table = "".join(chr(code) if not 0xD800 <= code <= 0xDFFF else " " for code in range(0x10000))
    flags = [
        np.fromiter(map(test, table), dtype=bool, count=0x10000) for test in (str.isalpha, str.isupper, str.isdigit, str.isspace)
    ]
    return flags[0], flags[1], flags[2], flags[3]


def _segment_sums(flags: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sums of the boolean ``flags`` over each segment ``starts[i]:starts[i]+lengths[i]``."""
    if len(flags) == 0:
        return np.zeros(len(starts), dtype=np.int64)
    # One-dimensional uint8 into int32 is by far numpy's fastest reduceat here.
    sums = np.add.reduceat(flags.view(np.uint8), np.minimum(starts, len(flags) - 1), dtype=np.int32)
    return np.where(lengths > 0, sums, 0)


def _shapes(
    stripped: list[str],
    lowered: list[str],
    counts: np.ndarray,
    word_lengths: np.ndarray,
    first_plural: np.ndarray,
    second: np.ndarray,
    currency: np.ndarray,
) -> np.ndarray:
    n = len(stripped)
    shapes = np.zeros((n, N_SHAPE))
    if n == 0:
        return shapes
    column = {name: index for index, name in enumerate(SHAPE_FEATURES)}
    lengths = np.fromiter(map(len, stripped), dtype=np.int64, count=n)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    codes = np.frombuffer("\n".join(stripped).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = np.where(codes < 0x10000, codes, 0x20)
    alpha, upper, digit, space = _character_classes()
    is_upper = upper[codes]
    blank = space[codes]
    word_start = ~blank
    word_start[1:] &= blank[:-1]
    letters, uppers, digits, raw_words, titled = (
        _segment_sums(flags, starts, lengths)
        for flags in (alpha[codes], is_upper, digit[codes], word_start, word_start & is_upper)
    )
    per_word = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    shapes[:, column["log_chars"]] = np.log1p(lengths)
    shapes[:, column["log_words"]] = np.log1p(counts)
    shapes[:, column["no_letters"]] = letters == 0
    shapes[:, column["upper_ratio"]] = uppers / np.maximum(letters, 1)
    shapes[:, column["digit_ratio"]] = digits / np.maximum(lengths, 1)
    shapes[:, column["first_plural_ratio"]] = first_plural * per_word
    shapes[:, column["second_person_ratio"]] = second * per_word
    shapes[:, column["title_ratio"]] = titled / np.maximum(raw_words, 1)
    shapes[:, column["short_line"]] = counts <= 3
    shapes[:, column["mean_word_length"]] = word_lengths * per_word / 10.0
    shapes[:, column["has_price"]] = currency > 0
    last = [text[-1:] for text in stripped]
    shapes[:, column["ends_sentence"]] = [character in _SENTENCE_END for character in last]
    shapes[:, column["ends_colon"]] = [character == ":" for character in last]
    shapes[:, column["starts_bullet"]] = [text[:1] in _BULLETS for text in stripped]
    lowered_joined = "\n".join(lowered)
    lowered_starts = np.concatenate([[0], np.cumsum(np.fromiter(map(len, lowered), dtype=np.int64, count=n) + 1)[:-1]])
    for name, pattern in _MARKS:
        positions = np.fromiter((match.start() for match in pattern.finditer(lowered_joined)), dtype=np.int64)
        if len(positions):
            shapes[np.searchsorted(lowered_starts, positions, side="right") - 1, column[name]] = 1.0
    return shapes


def paragraph_features(
    texts: Sequence[str],
    vocabulary: Mapping[str, int],
    n_buckets: int = DEFAULT_BUCKETS,
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
    content_words: bool = False,
) -> tuple[np.ndarray, ...]:
    """Token features and shapes of paragraphs, computed a batch at a time.

    Returns ``(ids, owners, shapes)``: token feature ``ids[j]`` (see ``FeatureSpace``)
    occurs in paragraph ``owners[j]``, once per occurrence (term counts), and
    ``shapes[i]`` is paragraph ``i``'s shape row. With ``content_words``, also
    ``(content_owners, content_keys)``: the paragraph and a within-process key of each
    word of ``CONTENT_WORD_LENGTH`` letters or more, known to the vocabulary or not
    (see ``story_support``).
    """
    n = len(texts)
    space = FeatureSpace(len(vocabulary), n_buckets)
    lowered, joined = _lowered(texts)
    pattern = _word_pattern(tokenizer, joined)
    word_lists = list(map(pattern.findall, lowered))
    counts = np.fromiter(map(len, word_lists), dtype=np.int64, count=n)
    flat = list(chain.from_iterable(word_lists))
    unknown = space.n_words
    get = vocabulary.get
    words = np.asarray([get(word, unknown) for word in flat], dtype=np.int64)
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    known = words < unknown

    lengths = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    if flat:
        first_plural = np.bincount(owner, weights=[word in FIRST_PLURAL for word in flat], minlength=n)
        second = np.bincount(owner, weights=[word in SECOND_PERSON for word in flat], minlength=n)
        currency = np.bincount(owner, weights=[word in CURRENCY_WORDS for word in flat], minlength=n)
        word_lengths = np.bincount(owner, weights=lengths.astype(np.float64), minlength=n)
    else:
        first_plural = second = word_lengths = currency = np.zeros(n)
    shapes = _shapes([text.strip() for text in texts], lowered, counts, word_lengths, first_plural, second, currency)
    if content_words:
        long_enough = lengths >= CONTENT_WORD_LENGTH
        content_owners = owner[long_enough]
        # Python's hash: equal words get equal keys within this process, which is all
        # that comparing paragraphs of one document needs; no weight depends on it.
        content_keys = np.fromiter(map(hash, compress(flat, long_enough.tolist())), dtype=np.int64, count=len(content_owners))

    pair = known[:-1] & known[1:] & (owner[:-1] == owner[1:])
    has_words = counts > 0
    firsts = (np.cumsum(counts) - counts)[has_words]
    first_known = known[firsts]
    ids = np.concatenate(
        [
            words[known],
            space.bigram(words[:-1][pair], words[1:][pair]),
            space.first_offset + words[firsts][first_known],
            np.full(n - int(has_words.sum()), space.empty_feature, dtype=np.int64),
        ]
    )
    owners = np.concatenate([owner[known], owner[:-1][pair], np.flatnonzero(has_words)[first_known], np.flatnonzero(~has_words)])
    if content_words:
        return ids, owners, shapes, content_owners, content_keys
    return ids, owners, shapes


#: Words this long or longer carry a story's topic (names, places, nouns); shorter
#: ones are mostly function words, which every paragraph shares.
CONTENT_WORD_LENGTH = 5
N_STORY = 3


def story_support(
    content_owners: np.ndarray, content_keys: np.ndarray, documents: np.ndarray, reporting: np.ndarray
) -> np.ndarray:
    """How much of each paragraph's vocabulary the rest of its document's story shares.

    The article's own sub-headings and captions share names and nouns with its
    reporting; teasers for other stories, menus and appeals share few. For each
    paragraph (rows of ``reporting``, the first-pass probability of reporting;
    ``documents`` numbers each paragraph's document) three columns: the mean, over its
    distinct content words, of how much reporting elsewhere in the document uses the
    word (capped at 1); the share of them used anywhere else in the document; and
    log(1 + distinct content words).
    """
    n = len(reporting)
    result = np.zeros((n, N_STORY))
    if not len(content_owners):
        return result
    # Distinct (paragraph, word) pairs, with the word keyed within its document. The
    # pair gets one 64-bit key (two 1-D sorts are much faster than a 2-D unique); a
    # collision of two keys would merge two words, which moves a share a little.
    doc_keys = content_keys.astype(np.uint64) ^ (documents[content_owners].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    pair_keys = doc_keys ^ (content_owners.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
    _, first = np.unique(pair_keys, return_index=True)
    owners = content_owners[first]
    words, word_index = np.unique(doc_keys[first], return_inverse=True)
    weight = reporting[owners]
    everywhere = np.bincount(word_index, weights=weight, minlength=len(words))
    paragraphs = np.bincount(word_index, minlength=len(words))
    elsewhere = np.minimum(everywhere[word_index] - weight, 1.0)
    shared = (paragraphs[word_index] > 1).astype(np.float64)
    distinct = np.bincount(owners, minlength=n)
    has = distinct > 0
    result[has, 0] = np.bincount(owners, weights=elsewhere, minlength=n)[has] / distinct[has]
    result[has, 1] = np.bincount(owners, weights=shared, minlength=n)[has] / distinct[has]
    result[:, 2] = np.log1p(distinct)
    return result


def feature_names(
    text: str, vocabulary: Mapping[str, int], n_buckets: int = DEFAULT_BUCKETS, *, tokenizer: str = DEFAULT_TOKENIZER
) -> dict[int, str]:
    """Readable names of the token features of ``text`` (for explanations)."""
    space = FeatureSpace(len(vocabulary), n_buckets)
    words = words_of(text, tokenizer)
    names: dict[int, str] = {}
    ids = [vocabulary.get(word) for word in words]
    for word, index in zip(words, ids, strict=True):
        if index is not None:
            names[index] = word
    for (left, right), (a, b) in zip(itertools.pairwise(words), itertools.pairwise(ids), strict=False):
        if a is not None and b is not None:
            names[int(space.bigram(np.int64(a), np.int64(b)))] = f"{left} {right}"
    if words and ids[0] is not None:
        names[space.first_offset + ids[0]] = f"<first> {words[0]}"
    if not words:
        names[space.empty_feature] = "<no words>"
    return names


# Neighbours whose first-pass probabilities each paragraph sees.
NEIGHBOUR_OFFSETS: tuple[int, ...] = (-3, -2, -1, 1, 2, 3)
WINDOW = 6


def context_features(
    probabilities: np.ndarray,
    shapes: np.ndarray,
    texts: Sequence[str],
    *,
    site_repeats: np.ndarray | None = None,
    story: np.ndarray | None = None,
) -> np.ndarray:
    """Second-pass features of one document's paragraphs (rows in document order).

    With ``site_repeats`` (pages of the site holding each paragraph, 1 when unknown;
    see ``classifier.repeats``) one more column: the log of the other pages. With
    ``story`` (``story_support`` rows of these paragraphs) its columns, and the first
    two of each neighbour's.
    """
    n, k = probabilities.shape
    eps = 1e-6
    blocks: list[np.ndarray] = [np.log(np.clip(probabilities, eps, 1.0))]
    reach = max(abs(offset) for offset in NEIGHBOUR_OFFSETS)
    padded = np.vstack([np.zeros((reach, k)), probabilities, np.zeros((reach, k))])
    index = np.arange(n)
    for offset in NEIGHBOUR_OFFSETS:
        missing = ((index + offset < 0) | (index + offset >= n)).astype(float)
        blocks.append(padded[reach + offset : reach + offset + n])
        blocks.append(missing[:, None])
    cumulative = np.vstack([np.zeros((1, k)), np.cumsum(probabilities, axis=0)])
    lo = np.maximum(index - WINDOW, 0)
    hi = np.minimum(index + 1 + WINDOW, n)
    before = (cumulative[index] - cumulative[lo]) / np.maximum(index - lo, 1)[:, None]
    after = (cumulative[hi] - cumulative[index + 1]) / np.maximum(hi - index - 1, 1)[:, None]
    blocks += [before, after]
    non_reporting = probabilities[:, 1:]
    running_max = np.maximum.accumulate(non_reporting, axis=0)
    before_max = np.vstack([np.zeros((1, k - 1)), running_max[:-1]]) if n else running_max
    reverse_max = np.maximum.accumulate(non_reporting[::-1], axis=0)[::-1]
    after_max = np.vstack([reverse_max[1:], np.zeros((1, k - 1))]) if n else reverse_max
    blocks += [before_max, after_max]
    # Inside a block: a label strong both just before and just after this paragraph
    # (the "why we need money" paragraph between "Dear readers," and "Donate").
    near_before = np.max([padded[reach + offset : reach + offset + n, 1:] for offset in (-3, -2, -1)], axis=0)
    near_after = np.max([padded[reach + offset : reach + offset + n, 1:] for offset in (1, 2, 3)], axis=0)
    blocks.append(np.minimum(near_before, near_after))
    denominator = max(n - 1, 1)
    seen: dict[str, int] = {}
    repeats = np.zeros(n)
    for i, text in enumerate(texts):
        key = text.strip()
        repeats[i] = seen.get(key, 0)
        seen[key] = seen.get(key, 0) + 1
    position = np.column_stack(
        [
            index / denominator,
            (n - 1 - index) / denominator,
            (index == 0).astype(float),
            (index == n - 1).astype(float),
            np.full(n, math.log1p(n)),
            np.log1p(index),
            np.log1p(n - 1 - index),
            np.log1p(repeats),
        ]
    )
    blocks += [position, shapes]
    neighbours = np.zeros((n, 4))
    if n > 1:
        neighbours[1:, 0] = shapes[:-1, 1]
        neighbours[1:, 1] = shapes[:-1, 2]
        neighbours[:-1, 2] = shapes[1:, 1]
        neighbours[:-1, 3] = shapes[1:, 2]
    blocks.append(neighbours)
    if site_repeats is not None:
        blocks.append(np.log1p(np.maximum(np.asarray(site_repeats, dtype=np.float64) - 1.0, 0.0))[:, None])
    if story is not None:
        # The paragraph's own support, and its neighbours' (a teaser block is a run).
        padded_story = np.vstack([np.zeros((1, N_STORY)), story, np.zeros((1, N_STORY))])
        blocks += [story, padded_story[:-2, :2], padded_story[2:, :2]]
    return np.hstack(blocks)

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

import numpy as np

# Letters and digits; "_" is not a word character worth keeping.
_WORD_RE = re.compile(r"[^\W_]+")
_DIGITS = str.maketrans("0123456789", "0000000000")
_PRICE_RE = re.compile(
    r"[$€£¥₹₽]|\b(?:usd|eur|euro|euros|gbp|chf|pln|zł|sek|kr|dkk|nok|rub|brl|r\$)\b|\d[.,]\d\d\b",
    re.IGNORECASE,
)
_LINK_RE = re.compile(r"https?://|www\.|@\w|\.(?:com|org|net|de|fr|uk)\b", re.IGNORECASE)
_SENTENCE_END = frozenset(".!?…\"”»’)'")
_BULLETS = frozenset("-–—•·*►▶»>|#+~=_/\\[(")
_NAV_SEPARATORS = ("|", "»", "›", "→", " / ", "•")

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


def words_of(text: str) -> list[str]:
    """Lower-cased words with every digit written as 0 (prices and dates generalise)."""
    return _WORD_RE.findall(text.lower().translate(_DIGITS))


def tokens_of(words: Sequence[str]) -> list[str]:
    """Unigrams, bigrams and the first word marked as such."""
    if not words:
        return ["<empty>"]
    grams = list(words)
    grams.extend(f"{a} {b}" for a, b in itertools.pairwise(words))
    grams.append(f"<first> {words[0]}")
    return grams


def shape_of(text: str, words: Sequence[str]) -> list[float]:
    """The shape features of one paragraph, in ``SHAPE_FEATURES`` order."""
    stripped = text.strip()
    n_chars = len(stripped)
    n_words = len(words)
    letters = sum(1 for ch in stripped if ch.isalpha())
    upper = sum(1 for ch in stripped if ch.isupper())
    digits = sum(1 for ch in stripped if ch.isdigit())
    raw_words = stripped.split()
    titled = sum(1 for word in raw_words if word[:1].isupper())
    per_word = 1.0 / n_words if n_words else 0.0
    last = stripped[-1:] if stripped else ""
    return [
        math.log1p(n_chars),
        math.log1p(n_words),
        1.0 if last in _SENTENCE_END else 0.0,
        1.0 if last == ":" else 0.0,
        1.0 if letters == 0 else 0.0,
        upper / letters if letters else 0.0,
        digits / n_chars if n_chars else 0.0,
        1.0 if _PRICE_RE.search(stripped) else 0.0,
        sum(1 for word in words if word in FIRST_PLURAL) * per_word,
        sum(1 for word in words if word in SECOND_PERSON) * per_word,
        1.0 if _LINK_RE.search(stripped) else 0.0,
        1.0 if stripped[:1] in _BULLETS else 0.0,
        titled / len(raw_words) if raw_words else 0.0,
        1.0 if "?" in stripped else 0.0,
        1.0 if "!" in stripped else 0.0,
        1.0 if n_words <= 3 else 0.0,
        (sum(len(word) for word in words) * per_word) / 10.0,
        1.0 if any(sep in stripped for sep in _NAV_SEPARATORS) else 0.0,
        1.0 if "©" in stripped or "(c)" in stripped.lower() else 0.0,
    ]


def paragraph_features(texts: Sequence[str], vocabulary: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids and shapes of paragraphs.

    Returns ``(ids, offsets, shapes)``: the vocabulary ids of paragraph ``i`` are
    ``ids[offsets[i]:offsets[i+1]]`` (unique, unknown tokens left out) and ``shapes[i]``
    is its shape row.
    """
    ids: list[int] = []
    offsets = [0]
    shapes: list[list[float]] = []
    lookup = vocabulary.get
    for text in texts:
        words = words_of(text)
        found = {lookup(token) for token in tokens_of(words)}
        found.discard(None)
        ids.extend(sorted(found))  # type: ignore[arg-type]
        offsets.append(len(ids))
        shapes.append(shape_of(text, words))
    return (
        np.asarray(ids, dtype=np.int64),
        np.asarray(offsets, dtype=np.int64),
        np.asarray(shapes, dtype=np.float64).reshape(len(texts), N_SHAPE),
    )


# Neighbours whose first-pass probabilities each paragraph sees.
NEIGHBOUR_OFFSETS: tuple[int, ...] = (-3, -2, -1, 1, 2, 3)
WINDOW = 6


def context_feature_names(labels: Sequence[str]) -> list[str]:
    names = [f"logp_{label}" for label in labels]
    for offset in NEIGHBOUR_OFFSETS:
        names += [f"p{offset:+d}_{label}" for label in labels] + [f"p{offset:+d}_missing"]
    names += [f"before_mean_{label}" for label in labels]
    names += [f"after_mean_{label}" for label in labels]
    names += [f"before_max_{label}" for label in labels[1:]]
    names += [f"after_max_{label}" for label in labels[1:]]
    names += [
        "rel_position",
        "rel_from_end",
        "is_first",
        "is_last",
        "log_doc_paragraphs",
        "log_from_start",
        "log_from_end",
        "repeats_in_doc",
    ]
    names += [f"shape_{name}" for name in SHAPE_FEATURES]
    names += ["prev_log_words", "prev_ends_sentence", "next_log_words", "next_ends_sentence"]
    return names


def context_features(probabilities: np.ndarray, shapes: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """Second-pass features of one document's paragraphs (rows in document order)."""
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
    return np.hstack(blocks)

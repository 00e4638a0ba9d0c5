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

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat

import numpy as np

from .text import plain_paragraphs
from .tokens import CJK_RE as _CJK_RE
from .tokens import KEY_BYTES, ByteVocabulary, byte_tokens
from .tokens import WORD_OR_CJK_RE as _WORD_OR_CJK_RE
from .tokens import WORD_RE as _WORD_RE

#: How text becomes tokens; a model records the one it was trained with.
TOKENIZERS = ("words", "cjk-characters")
DEFAULT_TOKENIZER = "cjk-characters"
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

# Marks of more than one character, in a whole batch of lower-cased text (see
# ``_lowered``); single characters are looked up with the character classes (see
# ``_CHARACTER_MARKS``). These patterns define the marks; ``_longer_marks`` finds the
# same places faster (a test holds it to them).
_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("has_price", re.compile(r"[0-9][.,][0-9][0-9]\b")),
    ("has_link", _LINK_RE),
    ("nav_separators", re.compile(r" / ")),
    ("has_copyright", re.compile(r"\(c\)")),
)

_LINK_DOMAINS = (b"com", b"org", b"net", b"de", b"fr", b"uk")
_WORD_CHARACTER = re.compile(r"\w")
_MARK_BYTES = np.zeros(256, dtype=np.uint8)
_MARK_BYTES[[ord(character) for character in ":.,/(@"]] = np.arange(1, 7)
_ASCII_WORD = np.array([bool(_WORD_CHARACTER.match(chr(byte))) if byte < 0x80 else False for byte in range(256)])
_PAD = np.zeros(8, dtype=np.uint8)

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
# Written between paragraphs before one tokenizer pass over all of them. Lower-cased
# text holds no capital B, so the token "B" can only be this mark.
_BOUNDARY = "B"


def _lowered(texts: Sequence[str]) -> str:
    """The texts lower-cased, a line break inside a text read as a space, joined by
    line breaks: one line per text, searched once rather than text by text."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        joined = "\n".join(text.replace("\n", " ") for text in texts)
    return joined.lower()


def _zero_digits(tokens: list[str]) -> list[str]:
    """The tokens with every ASCII digit written as 0 (prices and dates generalise)."""
    joined = "\n".join(tokens)
    return _ANY_DIGIT.sub("0", joined).split("\n") if _ANY_DIGIT.search(joined) else tokens


def _check_tokenizer(tokenizer: str) -> None:
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {tokenizer!r}; this release knows {TOKENIZERS}")


def _word_pattern(tokenizer: str, lowered: str) -> re.Pattern[str]:
    _check_tokenizer(tokenizer)
    # The plain pattern is faster; it gives the same tokens where there is no CJK text.
    return _WORD_OR_CJK_RE if tokenizer == "cjk-characters" and _CJK_RE.search(lowered) else _WORD_RE


def words_of(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """Lower-cased words with every digit written as 0 (prices and dates generalise)."""
    lowered = _ANY_DIGIT.sub("0", text.lower())
    return _word_pattern(tokenizer, lowered).findall(lowered)


@dataclass(frozen=True, eq=False)
class TokenTable:
    """A vocabulary ready for one lookup per token.

    ``ids`` maps the vocabulary's words to their indices, then the pronoun and
    currency words it lacks to the indices after them, then the paragraph boundary;
    every other token is ``unknown``. Each array holds one fact per index: the word's
    length and whether it is a first-person-plural pronoun, a second-person one or a
    currency word.
    """

    ids: dict[str, int]
    n_words: int
    boundary: int
    lengths: np.ndarray
    first_plural: np.ndarray
    second_person: np.ndarray
    currency: np.ndarray

    @property
    def unknown(self) -> int:
        return len(self.ids)

    @classmethod
    def from_vocabulary(cls, vocabulary: Mapping[str, int]) -> TokenTable:
        ids = dict(vocabulary)
        n_words = len(ids)
        for word in sorted(FIRST_PLURAL | SECOND_PERSON | CURRENCY_WORDS):
            ids.setdefault(word, len(ids))
        boundary = ids.setdefault(_BOUNDARY, len(ids))
        size = len(ids) + 1  # the last index: unknown words
        lengths = np.zeros(size, dtype=np.int64)
        lengths[np.fromiter(ids.values(), dtype=np.int64, count=len(ids))] = np.fromiter(
            map(len, ids), dtype=np.int64, count=len(ids)
        )
        lengths[boundary] = 0
        flags = []
        for group in (FIRST_PLURAL, SECOND_PERSON, CURRENCY_WORDS):
            flag = np.zeros(size)
            flag[[ids[word] for word in group]] = 1.0
            flags.append(flag)
        return cls(ids, n_words, boundary, lengths, *flags)

    @functools.cached_property
    def by_bytes(self) -> ByteVocabulary:
        """The same words keyed by their bytes, for large batches (``classifier.tokens``)."""
        # The regex path's boundary mark is no token of the byte path.
        words = [word for word in self.ids if word != _BOUNDARY]
        return ByteVocabulary.from_words(words, [self.ids[word] for word in words])


def token_table(vocabulary: Mapping[str, int] | TokenTable) -> TokenTable:
    return vocabulary if isinstance(vocabulary, TokenTable) else TokenTable.from_vocabulary(vocabulary)


# Character classes, one bit each, per BMP code point (characters beyond it count as
# spaces); bit 4 is added per character when the one before it is a space.
_LETTER, _UPPER, _DIGIT, _SPACE, _AFTER_SPACE = 1, 2, 4, 8, 16
_NOT_YET = 128
_BEYOND_BMP = 0x10000
# Marks that are single characters, found through the same code points as the classes.
_CHARACTER_MARKS: dict[str, str] = {
    **dict.fromkeys("$€£¥₹₽", "has_price"),
    "?": "has_question",
    "!": "has_exclamation",
    **dict.fromkeys("|»›→•", "nav_separators"),
    "©": "has_copyright",
}
# Filled in as code points are first seen: classifying all 65,536 up front would cost
# a one-article run more than its whole classification. Writers racing on an entry
# write the same value.
_CLASSES = np.full(_BEYOND_BMP + 1, _NOT_YET, dtype=np.uint8)
_CLASSES[_BEYOND_BMP] = _SPACE
_MARK_NUMBERS = np.zeros(_BEYOND_BMP + 1, dtype=np.uint8)  # 1 + index into SHAPE_FEATURES
for _character, _name in _CHARACTER_MARKS.items():
    _MARK_NUMBERS[ord(_character)] = 1 + SHAPE_FEATURES.index(_name)


def _classes_of(codes: np.ndarray) -> np.ndarray:
    """Class bits of code points (``_BEYOND_BMP`` standing for any beyond the BMP)."""
    classes = _CLASSES[codes]
    if (classes & _NOT_YET).any():
        for code in np.unique(codes[(classes & _NOT_YET) > 0]).tolist():
            character = chr(code) if not 0xD800 <= code <= 0xDFFF else " "
            _CLASSES[code] = (
                _LETTER * character.isalpha()
                | _UPPER * character.isupper()
                | _DIGIT * character.isdigit()
                | _SPACE * character.isspace()
            )
        classes = _CLASSES[codes]
    return classes


# Bits of the 32 class combinations: which of them count toward each sum.
_COMBINATIONS = np.arange(32)
_LETTERS, _UPPERS, _DIGITS = ((_COMBINATIONS & bit) > 0 for bit in (_LETTER, _UPPER, _DIGIT))
_WORD_STARTS = ((_COMBINATIONS & _SPACE) == 0) & ((_COMBINATIONS & _AFTER_SPACE) > 0)
_TITLED = _WORD_STARTS & _UPPERS


def _shapes(
    stripped: list[str],
    encoded: np.ndarray,
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
    codes = np.frombuffer("\n".join(stripped).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = np.minimum(codes, _BEYOND_BMP)
    classes = _classes_of(codes)
    # A paragraph's first character follows the line break joining it to the last.
    classes[1:] |= (classes[:-1] & _SPACE) << 1
    if len(classes):
        classes[0] |= _AFTER_SPACE
    # Each character counted once, in its paragraph's row and its class combination's
    # column; the line breaks between paragraphs count in a row of their own.
    paragraph = np.repeat(np.arange(n, dtype=np.int32) * 2, lengths + 1)[: len(codes)]
    paragraph[np.cumsum(lengths + 1)[:-1] - 1] += 1
    combinations = np.bincount(paragraph * 32 + classes, minlength=2 * n * 32).reshape(2 * n, 32)[::2]
    letters, uppers, digits, raw_words, titled = (
        combinations[:, selected].sum(axis=1) for selected in (_LETTERS, _UPPERS, _DIGITS, _WORD_STARTS, _TITLED)
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
    marked = np.flatnonzero(_MARK_NUMBERS[codes])
    if len(marked):
        shapes[paragraph[marked] // 2, _MARK_NUMBERS[codes[marked]].astype(np.int64) - 1] = 1.0
    breaks = np.flatnonzero(encoded == 0x0A)
    for name, positions in _longer_marks(encoded):
        shapes[np.searchsorted(breaks, positions), column[name]] = 1.0
    return shapes


def _longer_marks(encoded: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Where the marks of ``_MARKS`` start in ``encoded`` (lower-cased text as UTF-8).

    The same places as the patterns' (a paragraph has a mark when one starts in it),
    found around the few bytes every match holds (":", ".", ",", "/", "(", "@"): all
    ASCII, so in UTF-8 each byte is that character. Scanning with the patterns made
    the regex engine try nearly every position.
    """
    # Zero bytes around the text: they match no part of a pattern and end a word.
    padded = np.concatenate([_PAD, encoded, _PAD])
    found = np.flatnonzero(_MARK_BYTES[padded])
    kinds = _MARK_BYTES[padded[found]]

    def at(positions: np.ndarray, offset: int, text: bytes) -> np.ndarray:
        """Whether ``text`` stands at each position plus ``offset``."""
        same = np.ones(len(positions), dtype=bool)
        for step, byte in enumerate(text):
            same &= padded[positions + offset + step] == byte
        return same

    def word_follows(positions: np.ndarray) -> np.ndarray:
        """Whether a word character (``\\w``) starts at each position."""
        follows = _ASCII_WORD[padded[positions]]
        for index in np.flatnonzero(padded[positions] >= 0xC0).tolist():
            start = int(positions[index])
            width = 2 + (padded[start] >= 0xE0) + (padded[start] >= 0xF0)
            character = padded[start : start + width].tobytes().decode("utf-8", "surrogatepass")
            follows[index] = _WORD_CHARACTER.match(character) is not None
        return follows

    colons, dots, commas, slashes, brackets, ats = (found[kinds == kind] for kind in range(1, 7))
    separators = np.concatenate([dots, commas])
    digit = [(padded[separators + step] >= 0x30) & (padded[separators + step] <= 0x39) for step in (-1, 1, 2)]
    separators = separators[digit[0] & digit[1] & digit[2]]
    prices = separators[~word_follows(separators + 3)] - 1
    web = colons[at(colons, 1, b"//")]
    domains = [dots[at(dots, 1, name)] for name in _LINK_DOMAINS]
    domains = [ends[~word_follows(ends + 1 + len(name))] for ends, name in zip(domains, _LINK_DOMAINS, strict=True)]
    links = np.concatenate(
        [
            web[at(web, -4, b"http")] - 4,
            web[at(web, -5, b"https")] - 5,
            dots[at(dots, -3, b"www")] - 3,
            ats[word_follows(ats + 1)],
            *domains,
        ]
    )
    return [
        ("has_price", prices - len(_PAD)),
        ("has_link", links - len(_PAD)),
        ("nav_separators", slashes[at(slashes, -1, b" ") & at(slashes, 1, b" ")] - 1 - len(_PAD)),
        ("has_copyright", brackets[at(brackets, 1, b"c)")] - len(_PAD)),
    ]


#: From this many characters a batch is tokenised in bytes; below it the regex is
#: cheaper than building the byte-keyed table (a one-article run never builds it).
BYTES_PATH_CHARS = 20_000


def _tokens_by_regex(
    lowered: str, n: int, table: TokenTable, tokenizer: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Token ids, their paragraphs, their lengths and the keys of unknown ones, found
    with one regex pass over every paragraph, each line break marked by a boundary
    token which the lookup finds again."""
    tokens = _word_pattern(tokenizer, lowered).findall(lowered.replace("\n", f" {_BOUNDARY} ")) if n else []
    looked_up = np.fromiter(map(table.ids.get, tokens, repeat(table.unknown)), dtype=np.int64, count=len(tokens))
    # Every word the table knows has its digits as 0s already; only tokens it does not
    # know can hold other digits, so only they are rewritten and looked up again.
    missed = np.flatnonzero(looked_up == table.unknown)
    rewritten = _zero_digits([tokens[index] for index in missed.tolist()])
    looked_up[missed] = np.fromiter(map(table.ids.get, rewritten, repeat(table.unknown)), dtype=np.int64, count=len(missed))
    unknown_tokens = list(compress(rewritten, (looked_up[missed] == table.unknown).tolist()))
    is_boundary = looked_up == table.boundary
    is_token = ~is_boundary
    words = looked_up[is_token]
    owner = np.cumsum(is_boundary)[is_token]
    lengths = table.lengths[words]
    lengths[words == table.unknown] = np.fromiter(map(len, unknown_tokens), dtype=np.int64, count=len(unknown_tokens))
    # Python's hash gives equal words equal keys within this process, which is all
    # comparing the paragraphs of one document needs (no weight depends on a key).
    keys = np.fromiter(map(hash, unknown_tokens), dtype=np.int64, count=len(unknown_tokens))
    return words, owner, lengths, keys


def _tokens_by_bytes(encoded: bytes, table: TokenTable, tokenizer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What ``_tokens_by_regex`` returns, found in the UTF-8 bytes of the same text
    (``classifier.tokens``)."""
    _check_tokenizer(tokenizer)
    found = byte_tokens(encoded, cjk_characters=tokenizer == "cjk-characters")
    words = table.by_bytes.lookup(found.keys, table.unknown)
    # Tokens too long to key are looked up as strings.
    long = np.flatnonzero(found.byte_lengths > KEY_BYTES)
    long_texts = [found.text(index) for index in long.tolist()]
    words[long] = np.fromiter(map(table.ids.get, long_texts, repeat(table.unknown)), dtype=np.int64, count=len(long))
    unknown = words == table.unknown
    lengths = table.lengths[words]
    lengths[unknown] = found.char_lengths(unknown)
    lengths[long] = np.fromiter(map(len, long_texts), dtype=np.int64, count=len(long))
    keys = np.zeros(len(words), dtype=np.int64)
    keys[unknown] = found.mixed_keys(unknown)
    keys[long] = np.fromiter(map(hash, long_texts), dtype=np.int64, count=len(long))
    return words, found.owner, lengths, keys[unknown]


def paragraph_features(
    texts: Sequence[str],
    vocabulary: Mapping[str, int] | TokenTable,
    n_buckets: int = DEFAULT_BUCKETS,
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
    content_words: bool = False,
    plain: bool = False,
) -> tuple[np.ndarray, ...]:
    """Token features and shapes of paragraphs, computed a batch at a time.

    Returns ``(ids, owners, shapes)``: token feature ``ids[j]`` (see ``FeatureSpace``)
    occurs in paragraph ``owners[j]``, once per occurrence (term counts), and
    ``shapes[i]`` is paragraph ``i``'s shape row. With ``content_words``, also
    ``(content_owners, content_keys)``: the paragraph and a within-process key of each
    word of ``CONTENT_WORD_LENGTH`` letters or more, known to the vocabulary or not
    (see ``story_support``). ``vocabulary`` may be given as its ``TokenTable``, which
    saves building one per call.

    Batches of ``BYTES_PATH_CHARS`` characters or more are tokenised in bytes
    (``classifier.tokens``), smaller ones by the regex; both give the same tokens.
    """
    # The form of every training paragraph: an invisible character or a run of spaces
    # would otherwise split a word or change a paragraph's length and ending
    # (``plain``: the caller has made it so already).
    if not plain:
        texts = plain_paragraphs(texts)
    n = len(texts)
    table = token_table(vocabulary)
    space = FeatureSpace(table.n_words, n_buckets)
    lowered = _lowered(texts)
    encoded = lowered.encode("utf-8", "surrogatepass")
    if len(lowered) >= BYTES_PATH_CHARS:
        words, owner, lengths, unknown_keys = _tokens_by_bytes(encoded, table, tokenizer)
    else:
        words, owner, lengths, unknown_keys = _tokens_by_regex(lowered, n, table, tokenizer)
    counts = np.bincount(owner, minlength=n)
    known = words < space.n_words
    unknown = words == table.unknown
    first_plural, second, currency = (
        np.bincount(owner, weights=flags[words], minlength=n)
        for flags in (table.first_plural, table.second_person, table.currency)
    )
    word_lengths = np.bincount(owner, weights=lengths, minlength=n)
    shapes = _shapes(
        [text.strip() for text in texts],
        np.frombuffer(encoded, dtype=np.uint8),
        counts,
        word_lengths,
        first_plural,
        second,
        currency,
    )
    if content_words:
        long_enough = lengths >= CONTENT_WORD_LENGTH
        content_owners = owner[long_enough]
        # A word the table knows is keyed by its index; any other by a key that is
        # equal for equal words within this process (see the two tokenizers above).
        keys = words.copy()
        keys[unknown] = unknown_keys
        content_keys = keys[long_enough]

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


def _within_document(keys: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """64-bit keys mixed with each key's document number: equal keys of one document
    stay equal, and those of different documents part."""
    return keys.astype(np.uint64) ^ (documents.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))


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
    doc_keys = _within_document(content_keys, documents[content_owners])
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


def vocabulary_coverage(ids: np.ndarray, owners: np.ndarray, shapes: np.ndarray, n_words: int) -> np.ndarray:
    """Share of each paragraph's words that the vocabulary knows (1 for a paragraph
    without words), from ``paragraph_features``' output.

    Stage one can only judge the words it knows: in a language the training data
    hardly had, its probabilities say little, and stage two should lean on place and
    shape instead. This tells it when.
    """
    n = len(shapes)
    words = np.rint(np.expm1(shapes[:, SHAPE_FEATURES.index("log_words")]))
    known = np.bincount(owners[ids < n_words], minlength=n)
    return np.where(words > 0, known / np.maximum(words, 1.0), 1.0)


def _layout(n: int, lengths: Sequence[int] | np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For ``n`` rows in document order, ``lengths`` paragraphs per document (default:
    one document): the documents' sizes, and per row its document's number, its
    document's size and its place in it."""
    sizes = np.asarray([n] if lengths is None else lengths, dtype=np.int64)
    document = np.repeat(np.arange(len(sizes)), sizes)
    size = sizes[document]
    index = np.arange(n) - (np.cumsum(sizes) - sizes)[document]
    return sizes, document, size, index


# Neighbours whose first-pass probabilities each paragraph sees.
NEIGHBOUR_OFFSETS: tuple[int, ...] = (-3, -2, -1, 1, 2, 3)
WINDOW = 6


def context_features(
    probabilities: np.ndarray,
    shapes: np.ndarray,
    texts: Sequence[str],
    *,
    lengths: Sequence[int] | np.ndarray | None = None,
    site_repeats: np.ndarray | None = None,
    story: np.ndarray | None = None,
    coverage: np.ndarray | None = None,
) -> np.ndarray:
    """Second-pass features of paragraphs, rows in document order.

    ``lengths`` gives the paragraphs of each document in turn (default: all rows are
    one document); no feature reaches across documents. With ``site_repeats`` (pages
    of the site holding each paragraph, 1 when unknown; see ``classifier.repeats``)
    one more column: the log of the other pages. With ``story`` (``story_support``
    rows of these paragraphs) its columns, and the first two of each neighbour's.
    With ``coverage`` (``vocabulary_coverage`` of these paragraphs) two more: the
    paragraph's and its document's mean (the language of the whole page).
    """
    n, k = probabilities.shape
    sizes, document, size, index = _layout(n, lengths)
    rows = np.arange(n)

    def neighbour(values: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
        """Each row's neighbour ``offset`` rows away in its document (zeros where it
        has none), and where it has none."""
        missing = (index + offset < 0) | (index + offset >= size)
        return np.where(missing[:, None], 0.0, values[np.clip(rows + offset, 0, max(n - 1, 0))]), missing

    eps = 1e-6
    blocks: list[np.ndarray] = [np.log(np.clip(probabilities, eps, 1.0))]
    shifted: dict[int, np.ndarray] = {}
    # The probabilities' neighbours and windows read one zero-padded copy, as the
    # block pass's do (``block_features``).
    padded, where = _padded(probabilities, document, len(sizes))
    for offset in NEIGHBOUR_OFFSETS:
        shifted[offset] = np.take(padded, where + offset, axis=0)
        missing = (index + offset < 0) | (index + offset >= size)
        blocks += [shifted[offset], missing.astype(float)[:, None]]
    blocks += _window_means(padded, where, index, size)
    # The strongest non-reporting probability before and after each paragraph in its
    # document: probabilities lie in [0, 1], so lifting each document by twice its
    # number lets one running maximum over all rows stay within each document.
    lift = 2.0 * document[:, None]
    first, last = index == 0, index == size - 1
    running = np.maximum.accumulate(probabilities[:, 1:] + lift, axis=0) - lift
    before_max = np.where(first[:, None], 0.0, np.vstack([np.zeros((1, k - 1)), running[:-1]]))
    # Backwards, later documents come first, so they are lowered instead.
    reverse = np.maximum.accumulate((probabilities[:, 1:] - lift)[::-1], axis=0)[::-1] + lift
    after_max = np.where(last[:, None], 0.0, np.vstack([reverse[1:], np.zeros((1, k - 1))]))
    blocks += [before_max, after_max]
    blocks.append(_inside(shifted))
    denominator = np.maximum(size - 1, 1)
    position = np.column_stack(
        [
            index / denominator,
            (size - 1 - index) / denominator,
            first.astype(float),
            last.astype(float),
            np.log1p(size),
            np.log1p(index),
            np.log1p(size - 1 - index),
            np.log1p(_earlier_copies(texts, document)),
        ]
    )
    blocks += [position, shapes]
    neighbours = np.zeros((n, 4))
    neighbours[:, 0:2] = neighbour(shapes[:, 1:3], -1)[0]
    neighbours[:, 2:4] = neighbour(shapes[:, 1:3], 1)[0]
    blocks.append(neighbours)
    if site_repeats is not None:
        blocks.append(np.log1p(np.maximum(np.asarray(site_repeats, dtype=np.float64) - 1.0, 0.0))[:, None])
    if story is not None:
        # The paragraph's own support, and its neighbours' (a teaser block is a run).
        blocks += [story, neighbour(story[:, :2], -1)[0], neighbour(story[:, :2], 1)[0]]
    if coverage is not None:
        page = np.bincount(document, weights=coverage, minlength=len(sizes)) / np.maximum(sizes, 1)
        blocks.append(np.column_stack([coverage, page[document]]))
    return np.hstack(blocks)


#: Zero rows put before each document (and after the last) by ``_padded``: enough
#: that no offset or window reaches into another document.
_DOCUMENT_PAD = max(WINDOW, *(abs(offset) for offset in NEIGHBOUR_OFFSETS))


def _padded(probabilities: np.ndarray, document: np.ndarray, n_documents: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows with ``_DOCUMENT_PAD`` zero rows before each document and after the
    last, and where each row went: a neighbour outside its document reads zeros."""
    n, k = probabilities.shape
    where = np.arange(n) + _DOCUMENT_PAD * (document + 1)
    padded = np.zeros((n + _DOCUMENT_PAD * (n_documents + 1), k))
    padded[where] = probabilities
    return padded, where


def _window_means(padded: np.ndarray, where: np.ndarray, index: np.ndarray, size: np.ndarray) -> list[np.ndarray]:
    """Mean probabilities of the ``WINDOW`` paragraphs before and after each one in
    its document (zeros where there are none), from ``_padded`` rows.

    Summed neighbour by neighbour rather than from a running sum over the batch,
    whose rounding moved with the documents before (by up to 1e-13 in large
    batches). Other parts still move with the batch in the last bits (the running
    maxima here; stage two's single precision).
    """
    length = len(padded)
    before = np.zeros_like(padded)
    after = np.zeros_like(padded)
    for offset in range(1, WINDOW + 1):
        before[offset:] += padded[: length - offset]
        after[: length - offset] += padded[offset:]
    return [
        before[where] / np.maximum(np.minimum(index, WINDOW), 1)[:, None],
        after[where] / np.maximum(np.minimum(size - 1 - index, WINDOW), 1)[:, None],
    ]


def _inside(shifted: Mapping[int, np.ndarray]) -> np.ndarray:
    """Inside a block: each non-reporting label's strength both just before and just
    after a paragraph (the "why we need money" paragraph between "Dear readers," and
    "Donate"), from its neighbours' probabilities by offset."""
    near_before = np.max([shifted[offset][:, 1:] for offset in (-3, -2, -1)], axis=0)
    near_after = np.max([shifted[offset][:, 1:] for offset in (1, 2, 3)], axis=0)
    return np.minimum(near_before, near_after)


def block_features(probabilities: np.ndarray, lengths: Sequence[int] | np.ndarray, *, at_end: bool = False) -> np.ndarray:
    """Features of the block pass: each paragraph's second-pass probabilities with
    its neighbours' and those of the run around it (rows in document order,
    ``lengths`` paragraphs per document in turn). With ``at_end``, also the
    paragraph's own log-probabilities again where it is its document's last (zeros
    elsewhere), and whether it is.

    Stage two judges a paragraph by its neighbours' first-pass probabilities, which
    come from their words alone; a paragraph that reads like news in the middle of a
    drive has neighbours that may read like news too. Read once more over stage
    two's own judgements, the drive around it shows.

    The block pass is linear, and a line that stage two calls an appeal amid
    reporting is more often a story's line misread than an appeal, so it learns to
    pull such a line back; at a story's end, a lone line that asks is the paywall
    notice ("Il vous reste 64% de cet article à lire", "This article is for
    subscribers only") far more often. The ``at_end`` columns let it weigh a last
    line's own judgement apart.
    """
    n = len(probabilities)
    sizes, document, size, index = _layout(n, lengths)
    padded, where = _padded(probabilities, document, len(sizes))
    k = probabilities.shape[1]
    # Filled column block by column block: one array, no stacking of pieces.
    width = k + len(NEIGHBOUR_OFFSETS) * (k + 1) + 2 * k + (k - 1)
    result = np.empty((n, width + (k + 1 if at_end else 0)))
    np.log(np.clip(probabilities, 1e-6, 1.0), out=result[:, :k])
    column = k
    shifted: dict[int, np.ndarray] = {}
    for offset in NEIGHBOUR_OFFSETS:
        shifted[offset] = np.take(padded, where + offset, axis=0)
        result[:, column : column + k] = shifted[offset]
        result[:, column + k] = (index + offset < 0) | (index + offset >= size)
        column += k + 1
    for mean in _window_means(padded, where, index, size):
        result[:, column : column + k] = mean
        column += k
    result[:, column:width] = _inside(shifted)
    if at_end:
        last = index == size - 1
        result[:, width : width + k] = result[:, :k] * last[:, None]
        result[:, width + k] = last
    return result


def _earlier_copies(texts: Sequence[str], document: np.ndarray) -> np.ndarray:
    """For each paragraph, how many earlier paragraphs of its document have the same
    text (ignoring surrounding space; callers give the plain form the model reads)."""
    n = len(texts)
    if n == 0:
        return np.zeros(0)
    # Python's hash of the stripped text, mixed with the document's number: equal
    # texts of one document share a key (a collision of 64-bit keys would count a
    # different paragraph as a copy, too rare to matter).
    keys = np.fromiter(map(hash, (text.strip() for text in texts)), dtype=np.int64, count=n)
    _, group = np.unique(_within_document(keys, document), return_inverse=True)
    order = np.argsort(group, kind="stable")
    sorted_groups = group[order]
    run_start = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    first_of_run = np.repeat(run_start, np.diff(np.r_[run_start, n]))
    copies = np.empty(n)
    copies[order] = np.arange(n) - first_of_run
    return copies

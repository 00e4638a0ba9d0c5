"""Tokens of a large batch found in bytes, with numpy, rather than by a regex.

The tokens are the regex's (``WORD_RE``, or ``WORD_OR_CJK_RE`` where a batch holds
Chinese or Japanese), exactly: runs of word characters of the lower-cased text, ASCII
digits written as 0. The batch is encoded once as UTF-8; one byte table turns every
ASCII character that is not a letter or digit into a space; multi-byte characters are
decoded in numpy and blanked where they are not word characters. Tokens of up to
``KEY_BYTES`` bytes are then keyed by their bytes (three 64-bit words, exact) and
looked up in an open-addressing table, so no string object is made per token.

Longer tokens (rare: long compounds, encoded blobs) come back as strings for a plain
dictionary lookup. Small batches are left to the regex path, which needs no table:
building one costs a one-article run more than its whole classification.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Letters and digits; "_" is not a word character worth keeping.
WORD_RE = re.compile(r"[^\W_]+")
# Chinese and Japanese write no spaces between words, so a run of their characters is
# one "word" above: a whole clause, seen once. Under the "cjk-characters" tokenizer
# each such character is a token of its own (and neighbouring pairs become bigrams).
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{CJK}]")
WORD_OR_CJK_RE = re.compile(f"[{CJK}]|[^\\W_{CJK}]+")

#: Tokens up to this many UTF-8 bytes are keyed by their bytes.
KEY_WORDS = 3
KEY_BYTES = 8 * KEY_WORDS

_SPACE, _NEWLINE = 0x20, 0x0A
# ASCII letters and digits stay (digits as 0, capitals lowered, though lower-cased
# text has none), line breaks stay (they part paragraphs), every other ASCII byte
# becomes a space; bytes of multi-byte characters stay for the decoding below.
_BYTE_MAP = bytes(
    0x30
    if 0x30 <= byte <= 0x39
    else byte
    if 0x61 <= byte <= 0x7A or byte == _NEWLINE or byte >= 0x80
    else byte + 0x20
    if 0x41 <= byte <= 0x5A
    else _SPACE
    for byte in range(256)
)
_MASKS = np.array([(1 << (8 * size)) - 1 for size in range(9)], dtype=np.uint64)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)

# Kinds of code points, filled in as they are first seen: bit 1 a word character, bit
# 2 in the Chinese and Japanese ranges (a token of its own under the "cjk-characters"
# tokenizer, even the few there that are not word characters, such as "・").
_NOT_YET = 255
_BMP = 0x10000
_KINDS = np.full(_BMP, _NOT_YET, dtype=np.uint8)


_WORD, _CJK = 1, 2


def _kind(code: int) -> int:
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate, carried through by surrogatepass
        return 0
    character = chr(code)
    return _WORD * bool(WORD_RE.fullmatch(character)) | _CJK * bool(CJK_RE.fullmatch(character))


def _kinds_of(codes: np.ndarray) -> np.ndarray:
    bmp = codes < _BMP
    kinds = np.zeros(len(codes), dtype=np.uint8)
    kinds[bmp] = _KINDS[codes[bmp]]
    unseen = bmp & (kinds == _NOT_YET)
    if unseen.any():
        for code in np.unique(codes[unseen]).tolist():
            _KINDS[code] = _kind(code)
        kinds[bmp] = _KINDS[codes[bmp]]
    if not bmp.all():
        beyond = np.unique(codes[~bmp])
        table = {code: _kind(code) for code in beyond.tolist()}
        kinds[~bmp] = np.fromiter(map(table.__getitem__, codes[~bmp].tolist()), dtype=np.uint8)
    return kinds


@dataclass(frozen=True, eq=False)
class ByteTokens:
    """Tokens of a batch: byte ``starts`` and ``ends`` in ``data``, the paragraph
    (``owner``) of each, and ``keys`` (a row of ``KEY_WORDS`` per token; exact for
    tokens of up to ``KEY_BYTES`` bytes)."""

    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    owner: np.ndarray
    keys: np.ndarray
    ascii: bool

    @property
    def byte_lengths(self) -> np.ndarray:
        return self.ends - self.starts

    def text(self, index: int) -> str:
        return self.data[self.starts[index] : self.ends[index]].tobytes().decode("utf-8", "surrogatepass")

    def char_lengths(self, selected: np.ndarray) -> np.ndarray:
        """Characters of the selected tokens of up to ``KEY_BYTES`` bytes: their bytes
        less the UTF-8 continuation bytes (``10xxxxxx``) among them, counted in their
        keys (bytes past a token's end are 0, which is no continuation byte)."""
        lengths = self.byte_lengths[selected]
        if self.ascii or not len(lengths):
            return lengths
        # The keys' bytes, in whatever order the machine keeps a word's bytes: only
        # how many are continuation bytes matters.
        key_bytes = np.ascontiguousarray(self.keys[selected]).view(np.uint8)
        continuation = ((key_bytes & 0xC0) == 0x80).sum(axis=1, dtype=np.int64)
        return lengths - continuation

    def mixed_keys(self, selected: np.ndarray) -> np.ndarray:
        """One 64-bit key per selected token, equal for equal tokens of up to
        ``KEY_BYTES`` bytes (a within-process key, like ``hash``)."""
        keys = self.keys[selected]
        with np.errstate(over="ignore"):
            mixed = keys[:, 0] * _MIX[0]
            for word in range(1, KEY_WORDS):
                mixed ^= keys[:, word] * _MIX[word]
        return (mixed ^ self.byte_lengths[selected].astype(np.uint64)).view(np.int64)


def _keys(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The first ``KEY_BYTES`` bytes of each token as little-endian 64-bit words, bytes
    beyond the token zeroed. ``data`` ends in at least ``KEY_BYTES`` spaces."""
    # Every byte offset read as a 64-bit word (unaligned reads of the same buffer).
    words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    keys = np.zeros((len(starts), KEY_WORDS), dtype=np.uint64)
    # Most tokens fit the first word; only longer ones read the next.
    chosen = np.arange(len(starts))
    for word in range(KEY_WORDS):
        rest = lengths[chosen] - 8 * word
        keys[chosen, word] = words[starts[chosen] + 8 * word] & _MASKS[np.minimum(rest, 8)]
        chosen = chosen[rest > 8]
    return keys


def byte_tokens(encoded: bytes, *, cjk_characters: bool) -> ByteTokens:
    """Tokens of lower-cased paragraphs joined by line breaks (see ``features._lowered``),
    encoded as UTF-8 (lone surrogates passed through)."""
    # Through the byte map, then KEY_BYTES spaces; a writable copy.
    data = np.frombuffer(bytearray(encoded.translate(_BYTE_MAP) + b" " * KEY_BYTES), dtype=np.uint8)
    leads = np.flatnonzero(data >= 0xC0)
    is_ascii = not len(leads)
    cjk_leads = leads[:0]
    if len(leads):
        b0, b1, b2, b3 = (data[leads + step].astype(np.uint32) for step in range(4))
        width = 2 + (b0 >= 0xE0) + (b0 >= 0xF0)
        codes = np.where(
            width == 2,
            ((b0 & 0x1F) << 6) | (b1 & 0x3F),
            np.where(
                width == 3,
                ((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F),
                ((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F),
            ),
        )
        kinds = _kinds_of(codes)
        cjk = (kinds & _CJK) > 0 if cjk_characters else np.zeros(len(kinds), dtype=bool)
        blank = ((kinds & _WORD) == 0) & ~cjk
        for step in range(4):
            data[leads[blank & (width > step)] + step] = _SPACE
        cjk_leads = leads[cjk]
    word = (data != _SPACE) & (data != _NEWLINE)
    if len(cjk_leads):
        # Each Chinese or Japanese character (three bytes) is a token of its own: a
        # token starts at it and at the word character after it.
        cut = np.zeros(len(data), dtype=bool)
        cut[cjk_leads] = True
        cut[cjk_leads + 3] = True
        follows_word = np.concatenate([[False], word[:-1]])
        starts = np.flatnonzero(word & (~follows_word | cut))
        stops = np.flatnonzero(~word | cut)
        ends = stops[np.searchsorted(stops, starts, side="right")]
    else:
        # The data ends in spaces, so every run of word bytes has an end.
        edges = np.flatnonzero(np.diff(word.view(np.int8), prepend=np.int8(0)))
        starts, ends = edges[0::2], edges[1::2]
    # Each paragraph's first token, found from the line breaks between paragraphs.
    firsts = np.searchsorted(starts, np.flatnonzero(data == _NEWLINE))
    owner = np.repeat(np.arange(len(firsts) + 1), np.diff(firsts, prepend=0, append=len(starts)))
    keys = _keys(data, starts, ends - starts)
    return ByteTokens(data, starts, ends, owner, keys, is_ascii)


@dataclass(frozen=True, eq=False)
class ByteVocabulary:
    """Words of up to ``KEY_BYTES`` UTF-8 bytes and their ids, in an open-addressing
    table keyed by their bytes (``_keys``), looked up a whole array at a time.

    ``reach[slot]`` is how many slots past ``slot`` the words whose probe starts there
    went: a key whose own slot reaches no further stops after one look, which is what
    makes the many unknown tokens cheap.
    """

    keys: np.ndarray  # slots x KEY_WORDS
    ids: np.ndarray  # per slot; -1 where empty
    reach: np.ndarray  # per slot
    shift: np.uint64

    @classmethod
    def from_words(cls, words: Sequence[str], ids: Sequence[int]) -> ByteVocabulary:
        words, word_ids = list(words), np.asarray(ids, dtype=np.int64)
        # One encoding of all the words, one per line, cut at its line breaks.
        joined = "\n".join(words).encode("utf-8", "surrogatepass")
        if joined.translate(_BYTE_MAP) != joined or joined.count(b"\n") != len(words) - 1:
            # A word the byte map would change (a capital, a digit other than 0, an
            # ASCII sign, a NUL, a line break) can never equal a token here: leave it
            # out. Vocabularies made by ``features.words_of`` hold no such word.
            kept = [index for index, word in enumerate(words) if _is_byte_token(word)]
            words, word_ids = [words[index] for index in kept], word_ids[kept]
            joined = "\n".join(words).encode("utf-8", "surrogatepass")
        data = np.frombuffer(bytearray(joined + b" " * KEY_BYTES), dtype=np.uint8)
        breaks = np.flatnonzero(data[: len(joined)] == 0x0A)
        starts = np.concatenate([[0], breaks + 1])[: len(words)]
        lengths = np.append(breaks, len(joined))[: len(words)] - starts
        chosen = np.flatnonzero((lengths > 0) & (lengths <= KEY_BYTES))
        starts, lengths, word_ids = starts[chosen], lengths[chosen], word_ids[chosen]
        word_keys = _keys(data, starts, lengths)
        bits = max((4 * len(chosen) - 1).bit_length(), 4)  # at most a quarter full
        slots = 1 << bits
        shift = np.uint64(64 - bits)
        table_keys = np.zeros((slots, KEY_WORDS), dtype=np.uint64)
        table_ids = np.full(slots, -1, dtype=np.int64)
        reach = np.zeros(slots, dtype=np.int64)
        home = _slots(word_keys, shift)
        # Shorter words first: they are the frequent ones ("the", "und"), and the
        # first word to claim a slot is found in one look.
        pending = np.argsort(lengths, kind="stable")
        step = 0
        while len(pending):
            slot = (home[pending] + step) & (slots - 1)
            free = np.flatnonzero(table_ids[slot] < 0)
            # One word per free slot this round; the others probe on.
            _, first = np.unique(slot[free], return_index=True)
            placed = free[first]
            table_keys[slot[placed]] = word_keys[pending[placed]]
            table_ids[slot[placed]] = word_ids[pending[placed]]
            np.maximum.at(reach, home[pending[placed]], step)
            pending = np.delete(pending, placed)
            step += 1
        return cls(table_keys, table_ids, reach, shift)

    def lookup(self, keys: np.ndarray, missing: int) -> np.ndarray:
        """The id of each key's word (rows of ``keys``), or ``missing``."""
        home = _slots(keys, self.shift)
        ids = self.ids[home]
        result = np.where(self._holds(home, keys, ids), ids, missing)
        pending = np.flatnonzero((result == missing) & (self.reach[home] > 0))
        mask = len(self.ids) - 1
        step = 1
        while len(pending):
            slot = (home[pending] + step) & mask
            ids = self.ids[slot]
            found = self._holds(slot, keys[pending], ids)
            result[pending[found]] = ids[found]
            pending = pending[~found & (self.reach[home[pending]] > step)]
            step += 1
        return result

    def _holds(self, slot: np.ndarray, keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Whether each slot holds a word, and that word is the key's."""
        stored = np.take(self.keys, slot, axis=0)
        holds = ids >= 0
        for word in range(KEY_WORDS):
            holds &= stored[:, word] == keys[:, word]
        return holds


def _is_byte_token(word: str) -> bool:
    raw = word.encode("utf-8", "surrogatepass")
    return bool(raw) and b"\n" not in raw and raw.translate(_BYTE_MAP) == raw


def _slots(keys: np.ndarray, shift: np.uint64) -> np.ndarray:
    with np.errstate(over="ignore"):
        mixed = keys[:, 0] * _MIX[0]
        for word in range(1, KEY_WORDS):
            mixed += keys[:, word] * _MIX[word]
        mixed ^= mixed >> np.uint64(29)
        mixed *= _MIX[1]
    return (mixed >> shift).astype(np.int64)

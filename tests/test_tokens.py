"""Large batches are tokenised in bytes: the same tokens, lengths, marks and features as the regex."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier.features as features
from classifier.features import _MARKS, TokenTable, _longer_marks, _lowered, paragraph_features, words_of
from classifier.tokens import KEY_BYTES, ByteVocabulary, byte_tokens

ODD = [
    "",
    " ",
    "B b B",
    "İstanbul İİ KELVIN \u212a",
    "naïve café 123 4567 ①② 3.14²",
    "Straße STRASSE ß ǅungla ǈ ﬁnance",
    "中文字 日本語のテキスト abc中def・x 々〆",
    "emoji 😀 x𝐀𝐁y 𝟙𝟚 9.99😀",
    "\ud800 lone \udfff surrogates",
    "a\u0301b combining हिन्दी भाषा",
    "x_y __ a-b",
    "٣٤ arabic-indic ١٢٣ مرحبا",
    "ä" * 13 + " " + "a" * 30 + "é" + "b" * 30,
    "1" * 25 + " " + "q" * 24 + " " + "q" * 25 + " " + "ü" * 12,
    "\u00a0nbsp\u2003em\u2028ls\r cr\ttab",
    "x\x00y\x7fz won’t it’s “quoted” — dash…",
    "Price: $9.99, 1,50 € or 12.34 but not 9.999, x1.5, 9.99_ or 9.99a",
    "WWW.EXAMPLE.COM http://x HTTPS://y httpx @user @_x @ x a@ @é mail.de. x.dev x.com_ x.uk .COM x.fr/y",
    "(C) 2024 (c) a / b a/b © » ? ! |",
    "ends with 1.23",
]


def _corpus(seed: int = 5) -> list[str]:
    """ODD plus generated paragraphs that mix scripts, digits and punctuation."""
    pieces = [
        "the", "minister", "said", "Über", "façade", "東京", "テスト", "2024", "9,99", "www.x.de",
        "it’s", "—", "@news", "Straße", "x" * 30, "ü" * 15, "😀", "𝐀", "_", "a_b", "(c)", " / ",
    ]  # fmt: skip
    rng = random.Random(seed)
    generated = [" ".join(rng.choice(pieces) for _ in range(rng.randint(0, 25))) for _ in range(300)]
    return ODD + generated


def _table(texts: list[str], tokenizer: str) -> TokenTable:
    # Every second word the texts hold is known, so known and unknown tokens mix.
    words = sorted({word for text in texts for word in words_of(text, tokenizer)})
    return TokenTable.from_vocabulary({word: index for index, word in enumerate(words[::2])})


def _features(texts: list[str], table: TokenTable, tokenizer: str, *, by_bytes: bool) -> tuple[np.ndarray, ...]:
    threshold = features.BYTES_PATH_CHARS
    features.BYTES_PATH_CHARS = 0 if by_bytes else 10**12
    try:
        return paragraph_features(texts, table, 1 << 10, tokenizer=tokenizer, content_words=True)
    finally:
        features.BYTES_PATH_CHARS = threshold


def _partition(keys: np.ndarray) -> list[int]:
    """Keys renamed by first appearance: equal where the keys are equal."""
    names: dict[int, int] = {}
    return [names.setdefault(key, len(names)) for key in keys.tolist()]


@pytest.mark.parametrize("tokenizer", ["words", "cjk-characters"])
def test_bytes_and_regex_give_the_same_features(tokenizer: str) -> None:
    texts = _corpus()
    table = _table(texts, tokenizer)
    by_regex = _features(texts, table, tokenizer, by_bytes=False)
    by_bytes = _features(texts, table, tokenizer, by_bytes=True)
    for name, regex_part, bytes_part in zip(["ids", "owners", "shapes", "content owners"], by_regex, by_bytes, strict=False):
        assert np.array_equal(regex_part, bytes_part), name
    # Content keys differ in value between the paths, never in which words they join.
    assert _partition(by_regex[4]) == _partition(by_bytes[4])


@pytest.mark.parametrize("tokenizer", ["words", "cjk-characters"])
def test_byte_tokens_are_the_regex_tokens(tokenizer: str) -> None:
    texts = _corpus(seed=9)
    lowered = _lowered(texts)
    found = byte_tokens(lowered.encode("utf-8", "surrogatepass"), cjk_characters=tokenizer == "cjk-characters")
    expected = [(row, word) for row, text in enumerate(lowered.split("\n")) for word in words_of(text, tokenizer)]
    assert [(int(row), found.text(index)) for index, row in enumerate(found.owner)] == expected
    short = np.flatnonzero(found.byte_lengths <= KEY_BYTES)
    assert found.char_lengths(short).tolist() == [len(expected[index][1]) for index in short.tolist()]
    assert (found.byte_lengths > KEY_BYTES).any() and not found.ascii


def test_the_byte_vocabulary_finds_each_word_and_nothing_else() -> None:
    rng = random.Random(3)
    alphabet = "abcdefghijklmnopqrstuvwxyz0äöüß東"
    words = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(5000)})
    known, unknown = words[::2], words[1::2]
    vocabulary = ByteVocabulary.from_words(known, range(100, 100 + len(known)))
    tokens = byte_tokens("\n".join(known + unknown).encode(), cjk_characters=False)
    assert [tokens.text(index) for index in range(len(known) + len(unknown))] == known + unknown
    ids = vocabulary.lookup(tokens.keys, -1)
    assert ids[: len(known)].tolist() == list(range(100, 100 + len(known)))
    assert (ids[len(known) :] == -1).all()


def test_marks_are_where_their_patterns_match() -> None:
    texts = _corpus(seed=11)
    encoded = np.frombuffer(_lowered(texts).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    breaks = np.flatnonzero(encoded == 0x0A)
    found = {name: set(np.searchsorted(breaks, positions).tolist()) for name, positions in _longer_marks(encoded)}
    for name, pattern in _MARKS:
        expected = {row for row, text in enumerate(texts) if pattern.search(text.replace("\n", " ").lower())}
        assert expected and found[name] == expected, name


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=()), max_size=60), min_size=1, max_size=8))
def test_any_text_gets_the_same_features_on_both_paths(texts: list[str]) -> None:
    # Any code point, lone surrogates included; the vocabulary holds half the words.
    for tokenizer in ("words", "cjk-characters"):
        table = _table(texts, tokenizer)
        by_regex = _features(texts, table, tokenizer, by_bytes=False)
        by_bytes = _features(texts, table, tokenizer, by_bytes=True)
        for regex_part, bytes_part in zip(by_regex[:4], by_bytes[:4], strict=True):
            assert np.array_equal(regex_part, bytes_part)
        assert _partition(by_regex[4]) == _partition(by_bytes[4])


def test_words_no_token_can_equal_are_never_found() -> None:
    # Not words a vocabulary built by words_of holds, but a table must not match them.
    table = TokenTable.from_vocabulary({"ab\x00": 0, "AB": 1, "a-b": 2, "a\nb": 3, "": 4, "x": 5})
    texts = ["ab AB a-b a b x"] * 3
    by_regex = _features(texts, table, "words", by_bytes=False)
    by_bytes = _features(texts, table, "words", by_bytes=True)
    for regex_part, bytes_part in zip(by_regex[:4], by_bytes[:4], strict=True):
        assert np.array_equal(regex_part, bytes_part)
    found = table.by_bytes.lookup(byte_tokens(b"ab\nx", cjk_characters=False).keys, -1)
    assert found.tolist() == [-1, 5]

"""Features computed a batch at a time: the same numbers as one text or one document at a time."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.features import (
    N_SHAPE,
    SHAPE_FEATURES,
    TokenTable,
    context_features,
    paragraph_features,
    words_of,
)
from classifier.text import plain_paragraph
from tests.conftest import SEED

VOCABULARY = {
    word: index for index, word in enumerate(sorted({"we", "you", "donate", "today", "the", "minister", "said", "0000", "usd"}))
}

TEXTS = [
    "The minister said on Tuesday that 2024 would be hard.",
    "Donate today: we need you! $5.00",
    "",
    "   ",
    "1 2 3",
    "A line\nbreak inside one text, www.example.com",
    "東京で会見 Tokyo",
    "Home | News » World © (c) 2024 a / b",
    "😀 emoji 𝔘 text?",
]


def _by_paragraph(ids: np.ndarray, owners: np.ndarray, n: int) -> list[list[int]]:
    rows: list[list[int]] = [[] for _ in range(n)]
    for token, owner in zip(ids.tolist(), owners.tolist(), strict=True):
        rows[owner].append(token)
    return [sorted(row) for row in rows]


def test_a_batch_gives_each_text_the_features_it_gets_alone() -> None:
    ids, owners, shapes = paragraph_features(TEXTS, VOCABULARY)
    batch = _by_paragraph(ids, owners, len(TEXTS))
    for number, text in enumerate(TEXTS):
        alone_ids, alone_owners, alone_shapes = paragraph_features([text], VOCABULARY)
        assert batch[number] == _by_paragraph(alone_ids, alone_owners, 1)[0], text
        np.testing.assert_array_equal(shapes[number], alone_shapes[0])
    assert shapes.shape == (len(TEXTS), N_SHAPE)


def test_a_prepared_token_table_gives_the_same_features_as_the_vocabulary() -> None:
    plain = paragraph_features(TEXTS, VOCABULARY, content_words=True)
    prepared = paragraph_features(TEXTS, TokenTable.from_vocabulary(VOCABULARY), content_words=True)
    for left, right in zip(plain[:4], prepared[:4], strict=True):
        np.testing.assert_array_equal(left, right)


def test_digits_become_zeros_and_no_word_splits_paragraphs() -> None:
    # "B" is the mark written between paragraphs for one tokenizer pass; no word of
    # the text itself may be read as that mark.
    ids, owners, shapes = paragraph_features(["1 2 3", "in 2024", "B b B"], VOCABULARY)
    words = SHAPE_FEATURES.index("log_words")
    np.testing.assert_array_equal(shapes[:, words], np.log1p([3, 2, 3]))
    assert (ids[owners == 1] == VOCABULARY["0000"]).any()
    assert words_of("in 2024") == ["in", "0000"]


def test_shapes_count_marks_and_classes_of_each_text() -> None:
    _, _, shapes = paragraph_features(TEXTS, VOCABULARY)
    column = {name: index for index, name in enumerate(SHAPE_FEATURES)}
    assert shapes[1, column["has_price"]] == 1 and shapes[1, column["has_exclamation"]] == 1
    assert shapes[0, column["has_price"]] == 0 and shapes[0, column["has_question"]] == 0
    assert shapes[7, column["nav_separators"]] == 1 and shapes[7, column["has_copyright"]] == 1
    assert shapes[5, column["has_link"]] == 1 and shapes[8, column["has_question"]] == 1
    assert shapes[2, column["no_letters"]] == 1 and shapes[3, column["no_letters"]] == 1
    # "Home", "News", "World": three of its eleven runs between spaces start with a capital.
    assert shapes[7, column["title_ratio"]] == 3 / 11
    assert shapes[1, column["second_person_ratio"]] > 0 and shapes[1, column["first_plural_ratio"]] > 0


def _probabilities(n: int, seed: int) -> np.ndarray:
    raw = np.random.default_rng(seed).random((n, 3))
    return raw / raw.sum(axis=1, keepdims=True)


def test_context_of_several_documents_is_each_document_on_its_own() -> None:
    documents = [
        ["Dear readers,", "Please give.", "Dear readers,", "Thanks."],
        ["Only one paragraph."],
        ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
    ]
    texts = [text for document in documents for text in document]
    n = len(texts)
    probabilities, shapes = _probabilities(n, 1), np.random.default_rng(2).random((n, N_SHAPE))
    repeats, story = np.arange(1, n + 1, dtype=float), np.random.default_rng(3).random((n, 3))
    together = context_features(
        probabilities, shapes, texts, lengths=[len(document) for document in documents], site_repeats=repeats, story=story
    )
    start = 0
    for document in documents:
        rows = slice(start, start + len(document))
        alone = context_features(probabilities[rows], shapes[rows], document, site_repeats=repeats[rows], story=story[rows])
        np.testing.assert_allclose(together[rows], alone, rtol=0, atol=1e-12)
        start += len(document)


def test_context_counts_earlier_copies_within_the_document_only() -> None:
    texts = ["Dear readers,", "x", " Dear readers, ", "Dear readers,"]
    features = context_features(_probabilities(4, 0), np.zeros((4, N_SHAPE)), texts, lengths=[2, 2])
    # The position block's last column is log(1 + earlier copies); the shapes follow it.
    copies = np.expm1(features[:, -(N_SHAPE + 4) - 1])
    np.testing.assert_allclose(copies, [0, 0, 0, 1])


def test_character_classes_filled_as_seen_match_the_string_methods() -> None:
    from classifier.features import _BEYOND_BMP, _DIGIT, _LETTER, _SPACE, _UPPER, _classes_of

    codes = np.r_[np.arange(0x41, 0x7B), np.arange(_BEYOND_BMP, -1, -1)]  # some twice: filled once, then read
    classes = _classes_of(codes)
    for code, bits in zip(codes.tolist(), classes.tolist(), strict=True):
        character = " " if code == _BEYOND_BMP or 0xD800 <= code <= 0xDFFF else chr(code)
        expected = (
            _LETTER * character.isalpha()
            | _UPPER * character.isupper()
            | _DIGIT * character.isdigit()
            | _SPACE * character.isspace()
        )
        assert bits == expected, hex(code)


odd_texts = st.lists(
    st.text(alphabet=st.sampled_from(list("ab .!/\t\xa0\u200b\u2060\ufeff\x00\x07\x85\u2028é東0")), max_size=12),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(odd_texts)
def test_text_is_read_as_training_text_is_written(texts: list[str]) -> None:
    # Training paragraphs hold no invisible or control characters and single spaces
    # only: the model reads any text in that form (a batch with nothing to change
    # skips the work, which must not matter either).
    plain = [plain_paragraph(text) for text in texts]
    for got, wanted in zip(paragraph_features(texts, VOCABULARY), paragraph_features(plain, VOCABULARY), strict=True):
        np.testing.assert_array_equal(got, wanted)


def test_an_invisible_or_control_character_changes_no_probability() -> None:
    import classifier

    paragraphs = SEED.read_text(encoding="utf-8").splitlines()
    paragraphs += paragraphs[-2:]  # copies of earlier lines: read as copies still
    model = classifier.load_model()
    plain = model.predict_proba(paragraphs)
    for odd in ("\u200b", "\x00", "\ufeff", "  ", "\xa0"):
        # On every other paragraph: a copy with the odd character is a copy still.
        texts = [text + odd if number % 2 else text for number, text in enumerate(paragraphs)]
        np.testing.assert_array_equal(model.predict_proba(texts), plain)
    assert model.explain("Do\u200bnate now!", "donation_appeal") == model.explain("Donate now!", "donation_appeal")

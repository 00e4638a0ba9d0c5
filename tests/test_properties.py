"""Whatever the input, classify and clean behave: no crash, nothing invented or reordered."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import LABELS, classify, clean, split_paragraphs

any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
news_like = st.lists(
    st.sampled_from(
        [
            "Officials said the talks would resume on Monday.",
            "Support us from just $2 a month.",
            "Read more",
            "",
            "   ",
            "Dear readers,",
            "\x00\x07 control \x1b[0m",
            "Ünïcödé — 日本語のテキスト 🚀",
        ]
    ),
    max_size=20,
).map("\n".join)


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    remaining = iter(big)
    return all(any(item == candidate for candidate in remaining) for item in small)


@settings(max_examples=60, deadline=None)
@given(st.one_of(any_text, news_like))
def test_clean_returns_a_subsequence_of_the_paragraphs(text: str) -> None:
    original = [p.text for p in split_paragraphs(text)]
    cleaned = [p.text for p in split_paragraphs(clean(text))]
    assert _is_subsequence(cleaned, original)


@settings(max_examples=60, deadline=None)
@given(st.one_of(any_text, news_like))
def test_classify_gives_one_distribution_per_paragraph(text: str) -> None:
    predictions = classify(text)
    assert len(predictions) == len(split_paragraphs(text))
    for prediction in predictions:
        assert list(prediction.probabilities) == list(LABELS)
        assert abs(sum(prediction.probabilities.values()) - 1.0) < 1e-9
        assert prediction.label == max(prediction.probabilities, key=prediction.probabilities.get)
        assert np.isfinite(prediction.probability)


def test_odd_inputs_do_not_crash() -> None:
    huge = "word " * 200_000  # a 1 MB paragraph
    for text in ["", " ", "\n\n\n", "\r\n\r\n", "\x00", "\ufeff", huge, huge + "\nRead more"]:
        cleaned = clean(text)
        assert isinstance(cleaned, str)
        assert len(classify(text)) == len(split_paragraphs(text))


def test_classify_accepts_a_list_of_paragraphs() -> None:
    predictions = classify(["Dear readers,", "Please give $5 today.", "Share"])
    assert [p.index for p in predictions] == [0, 1, 2]
    assert [p.text for p in predictions] == ["Dear readers,", "Please give $5 today.", "Share"]


def test_text_with_no_known_word_is_classified() -> None:
    predictions = classify("日本語のテキストです\nمرحبا بالعالم")
    assert len(predictions) == 2
    assert all(abs(sum(p.probabilities.values()) - 1.0) < 1e-9 for p in predictions)

"""Story support: how much of a paragraph's vocabulary the rest of its document shares."""

from __future__ import annotations

import numpy as np

from classifier.features import N_STORY, paragraph_features, story_support


def _support(documents: list[list[str]], reporting: list[float]) -> np.ndarray:
    texts = [text for document in documents for text in document]
    _, _, _, owners, keys = paragraph_features(texts, {}, content_words=True)
    document_of = np.repeat(np.arange(len(documents)), [len(document) for document in documents])
    return story_support(owners, keys, document_of, np.asarray(reporting))


def test_a_teaser_for_another_story_shares_little_with_the_story() -> None:
    story = [
        "Armenian and Azerbaijani leaders prepare peace talks in Brussels.",
        "Pashinyan and Aliyev met in Brussels for talks mediated by Michel.",
        "Brussels talks",  # the story's own sub-heading
        "Celebrity chef opens restaurant downtown",  # a teaser for another story
    ]
    support = _support([story], [0.9, 0.9, 0.5, 0.5])
    assert support.shape == (4, N_STORY)
    assert support[2, 0] > 0.8 and support[2, 1] == 1.0
    assert support[3, 0] == 0.0 and support[3, 1] == 0.0
    assert support[3, 2] == np.log1p(4)  # celebrity, restaurant, downtown: "opens" too


def test_documents_do_not_support_each_other() -> None:
    support = _support([["Brussels talks today"], ["Brussels talks tomorrow"]], [0.9, 0.9])
    assert support[:, :2].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_no_content_words_gives_zeros() -> None:
    support = _support([["a b c", "of to in"]], [0.5, 0.5])
    assert support.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]

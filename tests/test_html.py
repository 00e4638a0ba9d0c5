"""HTML in: trafilatura extracts the text, then it is cleaned."""

from __future__ import annotations

import sys

import pytest

import classifier
from classifier.html import classify_html, clean_html, extract_text
from tests.conftest import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
PARAGRAPHS = [line for line in SEED_TEXT.splitlines() if line.strip()]
PAGE = (
    "<html><head><title>Talks</title><script>var tracking = 'javascript only';</script></head><body>"
    "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
    "<article>" + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS) + "</article>"
    "</body></html>"
)


def test_extract_text_keeps_the_article_paragraphs_and_drops_scripts() -> None:
    text = extract_text(PAGE)
    lines = text.splitlines()
    assert lines[0] == PARAGRAPHS[0]
    assert set(lines) <= set(PARAGRAPHS)
    assert "javascript only" not in text
    assert extract_text(PAGE.encode("utf-8")) == text


def test_clean_html_is_clean_of_the_extracted_text() -> None:
    cleaned = clean_html(PAGE)
    assert cleaned == classifier.clean(extract_text(PAGE))
    assert cleaned.startswith("The Kremlin on Thursday") and "Dear readers," not in cleaned
    assert clean_html(PAGE, keep=classifier.LABELS) == extract_text(PAGE)


def test_classify_html_labels_the_extracted_paragraphs() -> None:
    predictions = classify_html(PAGE)
    assert [p.text for p in predictions] == extract_text(PAGE).splitlines()
    assert predictions[0].label == "reporting"


@pytest.mark.parametrize("page", ["", "   ", "<html><body></body></html>"])
def test_a_page_without_text_gives_an_empty_string(page: str) -> None:
    assert clean_html(page) == ""


def test_clean_html_refuses_what_is_not_html() -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        clean_html(None)  # type: ignore[arg-type]


def test_the_package_offers_clean_html() -> None:
    assert classifier.clean_html is clean_html
    assert "clean_html" in classifier.__all__


def test_a_missing_import_names_what_failed_and_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # As when lxml (5.2 and later) lacks its separate HTML cleaner, which trafilatura imports.
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    with pytest.raises(classifier.InputError) as caught:
        clean_html(PAGE)
    message = str(caught.value)
    assert "trafilatura" in message and "pip install -U 'newsclean[html]'" in message
    assert "halted" in message  # the import error itself, not only the advice


def test_a_lone_surrogate_does_not_cost_the_rest_of_the_page() -> None:
    # Text decoded with errors="surrogateescape" can hold one; lxml stopped at it.
    broken = PAGE.replace("Thursday", "Thurs\udcffday", 1)
    lines = extract_text(broken).splitlines()
    assert len(lines) == len(extract_text(PAGE).splitlines())
    assert lines[0] == PARAGRAPHS[0].replace("Thursday", "Thurs\ufffdday", 1)

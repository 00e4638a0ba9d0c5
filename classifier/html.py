"""HTML in: trafilatura extracts the page's text, then newsclean cleans it.

trafilatura keeps the article and a good deal of what surrounds it (appeals,
teasers, captions, comments): that is the text the model was trained on, so it runs
with its ordinary settings. Imported only when HTML is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from classifier.errors import InputError
from classifier.labels import REPORTING

if TYPE_CHECKING:
    from classifier.api import Prediction
    from classifier.model import Model


_SURROGATE = re.compile("[\ud800-\udfff]")


def _trafilatura() -> Any:
    try:
        import trafilatura
    except ImportError as error:
        # Name what failed: trafilatura itself, or a package it imports (lxml's
        # HTML cleaner left lxml for lxml_html_clean in 5.2).
        raise InputError(
            f"HTML input needs trafilatura and what it imports ({error}): pip install -U 'newsclean[html]'"
        ) from None
    return trafilatura


def extract_text(html: str | bytes, *, favor_recall: bool = False) -> str:
    """The text trafilatura extracts from a page, one paragraph a line ("" when none)."""
    if not isinstance(html, (str, bytes)):
        raise TypeError(f"a page's HTML must be str or bytes, got {type(html).__name__}")
    if not html.strip():
        return ""
    if isinstance(html, str):
        # lxml stops at a lone surrogate (text decoded with errors="surrogateescape")
        # and the rest of the page, article included, would be lost: it becomes U+FFFD.
        html = _SURROGATE.sub("\ufffd", html) if _has_surrogate(html) else html
    trafilatura = _trafilatura()
    text = trafilatura.extract(html, favor_recall=favor_recall)
    if not text:
        return ""
    return "\n".join(line for line in text.splitlines() if line.strip()) + "\n"


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_html(
    html: str | bytes,
    *,
    keep: Sequence[str] = (REPORTING,),
    min_confidence: float | None = None,
    model: Model | str | os.PathLike[str] | None = None,
    favor_recall: bool = False,
) -> str:
    """The cleaned text of a web page: trafilatura's extraction, then ``clean``.

    Example: ``clean_html(requests.get(url).text)``. Returns "" for a page without
    extractable text.
    """
    from classifier.api import clean

    return clean(extract_text(html, favor_recall=favor_recall), keep=keep, min_confidence=min_confidence, model=model)


def classify_html(
    html: str | bytes, *, model: Model | str | os.PathLike[str] | None = None, favor_recall: bool = False
) -> list[Prediction]:
    """Each paragraph of the page's extracted text with its label and probabilities."""
    from classifier.api import classify

    return classify(extract_text(html, favor_recall=favor_recall), model=model)

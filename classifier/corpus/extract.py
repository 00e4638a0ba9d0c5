"""Paragraph extractors over an HTML string.

Every extractor returns a list of paragraphs: one non-empty, stripped line each, with
internal whitespace collapsed to single spaces. The classifier sees exactly what a
scraper built on that extractor would hand it, so the extractors run with their
ordinary settings and we do not clean their output beyond whitespace.

Extractors never raise: `run_extractor` catches everything and reports the error as a
string so that the corpus build can count failures instead of stopping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from readability import Document

from classifier.text import plain_paragraph

logger = logging.getLogger(__name__)

EXTRACTOR_NAMES: tuple[str, ...] = (
    "trafilatura",
    "trafilatura_recall",
    "readability",
    "fulltext",
)

# Elements whose content is never page text: code, styling, fallbacks for disabled
# scripting, inert templates, and <head> (title and metas are not body text).
# Everything else is kept, hidden or not, as a crude scraper keeps it: pages hide real
# content until scripts run (Next.js streams articles into `hidden` divs, paywall
# modals start as display:none), and the pages were saved without JavaScript.
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head"})

# Block-level (and block-like) elements: each one starts its own line, like a scraper
# that walks the DOM and breaks at blocks. Table cells, list items, buttons, labels
# and form options get their own lines because pages use them as separate widgets.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "button",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "label",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "optgroup",
        "option",
        "p",
        "pre",
        "section",
        "select",
        "summary",
        "table",
        "tbody",
        "td",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)


@dataclass(frozen=True)
class ExtractResult:
    """Paragraphs of one extractor on one page; `error` is set when it failed."""

    paragraphs: list[str]
    error: str | None = None


#: Collapse internal whitespace and drop invisible/control characters (the model reads
#: text so at work too: ``classifier.text.plain_paragraphs``).
clean_line = plain_paragraph


def text_to_paragraphs(text: str | None) -> list[str]:
    """Split extractor text output into cleaned, non-empty lines."""
    if not text:
        return []
    lines = (clean_line(line) for line in text.splitlines())
    return [line for line in lines if line]


def parse_html(html: str) -> etree._Element | None:
    """Parse an HTML string with lxml; None for an empty or unparsable document.

    The text is re-encoded to UTF-8 bytes because lxml refuses `str` input that still
    carries an XML encoding declaration, which many saved pages do.
    """
    if not html or not html.strip():
        return None
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None


def block_lines(root: etree._Element | None) -> list[str]:
    """One line per block-level element's own text (inline children included).

    Iterative walk so that very deep pages cannot hit Python's recursion limit.
    """
    if root is None:
        return []
    lines: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            line = clean_line("".join(buf))
            if line:
                lines.append(line)
            buf.clear()

    walker = etree.iterwalk(root, events=("start", "end"))
    skipped: set[int] = set()
    for event, el in walker:
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if event == "start":
            if tag in _SKIP_TAGS or not tag:
                skipped.add(id(el))
                walker.skip_subtree()
                continue
            if tag in _BLOCK_TAGS or tag == "br":
                flush()
            if el.text:
                buf.append(el.text)
        else:
            if id(el) in skipped:
                skipped.discard(id(el))
            elif tag in _BLOCK_TAGS:
                flush()
            # The tail belongs to the parent's flow, after this element ends, and it
            # is visible even when the element itself was skipped.
            if el.tail:
                buf.append(el.tail)
    flush()
    return lines


def html_to_lines(html: str) -> list[str]:
    """Block text of an HTML document or fragment."""
    return block_lines(parse_html(html))


def _trafilatura(html: str) -> list[str]:
    return text_to_paragraphs(trafilatura.extract(html))


def _trafilatura_recall(html: str) -> list[str]:
    return text_to_paragraphs(trafilatura.extract(html, favor_recall=True))


def _readability(html: str) -> list[str]:
    if not html.strip():
        return []
    summary = Document(html).summary(html_partial=True)
    return html_to_lines(summary)


def _fulltext(html: str) -> list[str]:
    return html_to_lines(html)


EXTRACTORS: dict[str, Callable[[str], list[str]]] = {
    "trafilatura": _trafilatura,
    "trafilatura_recall": _trafilatura_recall,
    "readability": _readability,
    "fulltext": _fulltext,
}


def run_extractor(name: str, html: str) -> ExtractResult:
    """Run one extractor; never raises (errors come back in `ExtractResult.error`)."""
    func = EXTRACTORS.get(name)
    if func is None:
        return ExtractResult([], f"unknown extractor {name!r}")
    try:
        return ExtractResult(func(html))
    except Exception as exc:
        logger.debug("extractor %s failed", name, exc_info=True)
        message = " ".join(str(exc).split())[:300]
        return ExtractResult([], f"{type(exc).__name__}: {message}")

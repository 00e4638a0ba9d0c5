"""Pages of the four benchmark corpora, with their ground truth.

See ../shared/corpora/README.md for what each corpus holds. Listing is cheap
(`list_pages` returns `PageRef`s: paths and metadata only) and loading is done per page
(`load_page`), so that parallel workers read their own pages instead of receiving
megabytes of HTML from the parent process.

Nothing here raises on a bad page: unreadable or undecodable files give a `Page` whose
`decode_error` says what went wrong (and an empty `html` when nothing could be read).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .align import ngrams, tokens
from .extract import html_to_lines

logger = logging.getLogger(__name__)

CORPORA: tuple[str, ...] = (
    "wcxb-dev",
    "trafilatura-tests",
    "readability-test-pages",
    "news-fixtures",
)

# A fundus ground-truth version belongs to a page only when most of its body occurs in
# the page; the README says the other versions share almost none of it.
FUNDUS_MIN_SHARE = 0.3


@dataclass(frozen=True)
class Page:
    corpus: str
    page_id: str
    url: str
    domain: str
    language: str
    page_type: str
    html: str
    truth_text: str | None
    truth_with: tuple[str, ...]
    truth_without: tuple[str, ...]
    # How the bytes were decoded, and what went wrong if anything (None: clean).
    encoding: str = "utf-8"
    decode_error: str | None = None

    @property
    def has_truth(self) -> bool:
        return bool(self.truth_text or self.truth_with or self.truth_without)


@dataclass(frozen=True)
class PageRef:
    """Where a page lives and what its corpus metadata says, without its content."""

    corpus: str
    page_id: str
    html_path: Path
    url: str = ""
    domain: str = ""
    page_type: str = "unknown"
    truth_path: Path | None = None
    truth_with: tuple[str, ...] = ()
    truth_without: tuple[str, ...] = ()


def default_corpora_dir() -> Path:
    """NEWSCLEAN_CORPORA, else ``shared/corpora`` beside the source checkout, else
    beside the current folder (an installed package has no checkout around it)."""
    env = os.environ.get("NEWSCLEAN_CORPORA")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[2]
    if (package / "pyproject.toml").is_file():  # a source checkout
        return package.parent / "shared" / "corpora"
    try:
        return Path.cwd().resolve().parent / "shared" / "corpora"
    except OSError:  # the current folder was removed
        return package.parent / "shared" / "corpora"


# --------------------------------------------------------------------------- decoding

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING_RE = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
# Browsers (WHATWG) decode these labels as windows-1252; so do we, because pages that
# declare latin-1 routinely contain cp1252 quotes and dashes.
_CONTROL_RE = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f]")
_CP1252_ALIASES = frozenset({"iso8859-1", "latin-1", "ascii", "latin_1", "iso-8859-1"})


def _declared_charset(data: bytes) -> str | None:
    head = data[:65536]
    match = _META_CHARSET_RE.search(head) or _XML_ENCODING_RE.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", "ignore").strip().lower()
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "cp1252" if name in _CP1252_ALIASES else name


def decode_html(data: bytes) -> tuple[str, str, str | None]:
    """Decode page bytes: (text, encoding used, problem or None). Never raises.

    UTF-8 is tried before the declared charset because declarations are often stale
    (pages re-saved as UTF-8 that still say iso-8859-1), while non-UTF-8 bytes almost
    never happen to be valid UTF-8.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding, None
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(data)
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return data.decode(declared), declared, None
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None and best.encoding:
            return str(best), best.encoding, None
    except Exception:
        logger.debug("charset detection failed", exc_info=True)
    fallback = declared or "utf-8"
    try:
        text = data.decode(fallback, "replace")
    except LookupError:
        fallback = "utf-8"
        text = data.decode(fallback, "replace")
    return text, fallback, f"no charset decodes cleanly; decoded as {fallback} with replacement"


def read_html(path: Path) -> tuple[str, str, str | None]:
    """Read a (possibly gzip'd) HTML file: (text, encoding, problem or None)."""
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return "", "", f"read error: {type(exc).__name__}: {exc}"
    text, encoding, problem = decode_html(data)
    # Control characters are never page text, and lxml refuses strings that hold them
    # (readability fails on the whole page); NUL also makes libxml2 truncate documents.
    return _CONTROL_RE.sub(" ", text.replace("\x00", "")), encoding, problem


# --------------------------------------------------------------------------- metadata

_TAG_RE = re.compile(r"<(html|meta|link)\b([^>]*)>", re.I)
_ATTR_RE = re.compile(r"""([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")

_LANG_NAMES = {
    "eng": "en",
    "english": "en",
    "deu": "de",
    "ger": "de",
    "german": "de",
    "deutsch": "de",
    "fra": "fr",
    "fre": "fr",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "spa": "es",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "ita": "it",
    "italian": "it",
    "por": "pt",
    "portuguese": "pt",
    "nld": "nl",
    "dut": "nl",
    "dutch": "nl",
    "pol": "pl",
    "polish": "pl",
    "rus": "ru",
    "russian": "ru",
    "jpn": "ja",
    "japanese": "ja",
    "zho": "zh",
    "chi": "zh",
    "chinese": "zh",
}


def normalise_language(value: str | None) -> str:
    """'en-US', 'de_DE', 'deu', 'English' -> 2-letter code; anything else -> 'und'."""
    if not value:
        return "und"
    first = value.strip().split(",")[0].strip().lower()
    if not first:
        return "und"
    primary = re.split(r"[-_\s]", first)[0]
    if len(primary) == 2 and primary.isascii() and primary.isalpha():
        return primary
    return _LANG_NAMES.get(primary, _LANG_NAMES.get(first, "und"))


def normalise_domain(value: str | None) -> str:
    """Host of a URL or a bare domain, lower-case, without 'www.' and port."""
    if not value:
        return ""
    value = value.strip()
    host = urlsplit(value if "//" in value else f"//{value}").hostname or ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _head_tags(html: str) -> list[tuple[str, dict[str, str]]]:
    found = []
    for match in _TAG_RE.finditer(html[:500_000]):
        attrs = {}
        for name, raw in _ATTR_RE.findall(match.group(2)):
            attrs[name.lower()] = raw.strip("\"'").strip()
        found.append((match.group(1).lower(), attrs))
    return found


def page_language(html: str, hint: str | None = None) -> str:
    """From <html lang>, then Content-Language / og:locale / language metas, then hint."""
    tags = _head_tags(html)
    candidates: list[str | None] = []
    for tag, attrs in tags:
        if tag == "html":
            candidates.append(attrs.get("lang") or attrs.get("xml:lang"))
            break
    for tag, attrs in tags:
        if tag != "meta":
            continue
        key = (attrs.get("http-equiv") or attrs.get("name") or attrs.get("property") or "").lower()
        if key in ("content-language", "og:locale", "language", "dc.language", "lang"):
            candidates.append(attrs.get("content"))
    candidates.append(hint)
    for candidate in candidates:
        code = normalise_language(candidate)
        if code != "und":
            return code
    return "und"


def page_url(html: str) -> str:
    """The page's own URL from <link rel=canonical> or og:url, else ''."""
    canonical = og = ""
    for tag, attrs in _head_tags(html):
        if tag == "link" and "canonical" in attrs.get("rel", "").lower().split():
            canonical = canonical or attrs.get("href", "")
        elif tag == "meta" and attrs.get("property", attrs.get("name", "")).lower() == "og:url":
            og = og or attrs.get("content", "")
    for url in (canonical, og):
        if url.startswith(("http://", "https://", "//")):
            return url
    return ""


# --------------------------------------------------------------------------- listing


def _require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(
            f"corpus folder {path} not found: set NEWSCLEAN_CORPORA to the folder that "
            "holds wcxb-dev/, trafilatura-tests/, readability-test-pages/, news-fixtures/"
        )
    return path


def _list_wcxb(root: Path) -> list[PageRef]:
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8")).get("files", {})
    refs = []
    for html_path in sorted((root / "html").glob("*.html*")):
        file_id = html_path.name.split(".")[0]
        info = meta.get(file_id, {})
        refs.append(
            PageRef(
                corpus="wcxb-dev",
                page_id=file_id,
                html_path=html_path,
                domain=normalise_domain(info.get("domain")),
                page_type=info.get("page_type") or "unknown",
                truth_path=root / "ground-truth" / f"{file_id}.json",
            )
        )
    return refs


def _list_trafilatura(root: Path) -> list[PageRef]:
    evaldata = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    # File names carry accents; match them whatever Unicode form the file system uses.
    on_disk: dict[str, Path] = {}
    for sub in ("eval", "cache"):
        folder = root / sub
        if folder.is_dir():
            for path in folder.iterdir():
                on_disk.setdefault(unicodedata.normalize("NFC", path.name), path)
    refs = []
    for url, entry in evaldata.items():
        name = unicodedata.normalize("NFC", entry["file"])
        path = on_disk.get(name + ".gz") or on_disk.get(name)
        if path is None:
            logger.warning("trafilatura-tests: no file for %s", entry["file"])
            path = root / "eval" / (entry["file"] + ".gz")
        refs.append(
            PageRef(
                corpus="trafilatura-tests",
                page_id=entry["file"],
                html_path=path,
                url=url,
                domain=normalise_domain(url),
                # The evaluation set mixes articles, blog posts, product and service
                # pages, and says nothing per page.
                page_type="unknown",
                truth_with=tuple(s for s in entry.get("with") or () if s),
                truth_without=tuple(s for s in entry.get("without") or () if s),
            )
        )
    return sorted(refs, key=lambda r: r.page_id)


def _list_readability(root: Path) -> list[PageRef]:
    refs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        source = folder / "source.html.gz"
        if not source.exists():
            source = folder / "source.html"
        expected = folder / "expected.html.gz"
        refs.append(
            PageRef(
                corpus="readability-test-pages",
                page_id=folder.name,
                html_path=source,
                # Readability's test pages are the pages it is meant to extract from:
                # articles and blog posts.
                page_type="article",
                truth_path=expected if expected.exists() else None,
            )
        )
    return refs


def _list_news_fixtures(root: Path) -> list[PageRef]:
    with (root / "manifest.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    refs = []
    for row in rows:
        gt = (row.get("ground_truth") or "").strip()
        refs.append(
            PageRef(
                corpus="news-fixtures",
                page_id=row["file"],
                html_path=root / row["file"],
                domain=normalise_domain(row.get("domain")),
                # Saved news pages from news-extractor test fixtures.
                page_type="article",
                truth_path=root / gt if gt else None,
            )
        )
    return sorted(refs, key=lambda r: r.page_id)


_LISTERS = {
    "wcxb-dev": _list_wcxb,
    "trafilatura-tests": _list_trafilatura,
    "readability-test-pages": _list_readability,
    "news-fixtures": _list_news_fixtures,
}


def list_pages(
    corpora_dir: str | Path | None = None,
    *,
    corpora: Sequence[str] = CORPORA,
    limit: int | None = None,
) -> list[PageRef]:
    """Every page of the given corpora, sorted by page_id within each corpus.

    `limit` keeps the first N pages of each corpus (for tests).
    """
    base = _require_dir(Path(corpora_dir) if corpora_dir else default_corpora_dir())
    refs: list[PageRef] = []
    for corpus in corpora:
        if corpus not in _LISTERS:
            raise ValueError(f"unknown corpus {corpus!r}; expected one of {CORPORA}")
        listed = _LISTERS[corpus](_require_dir(base / corpus))
        refs.extend(listed[:limit] if limit is not None else listed)
    return refs


# --------------------------------------------------------------------------- loading


def _load_json(path: Path | None) -> object:
    if path is None or not path.exists():
        return None
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw.decode("utf-8"))


def _fundus_lines(entry: dict) -> list[str]:
    lines = [entry.get("title") or ""]
    body = entry.get("body") or {}
    lines.extend(body.get("summary") or [])
    for section in body.get("sections") or []:
        lines.extend(section.get("headline") or [])
        lines.extend(section.get("paragraphs") or [])
    return [line.strip() for line in lines if isinstance(line, str) and line.strip()]


def choose_fundus_version(page_lines: Sequence[str], versions: dict) -> tuple[str | None, float]:
    """The fundus expected-output version whose body shares most text with the page.

    Share = fraction of the version's body word 3-grams that occur in the page's
    visible text. Returns (None, best share) when no version reaches FUNDUS_MIN_SHARE.
    """
    page_grams = ngrams(tokens(" ".join(page_lines)))
    best_name, best_share = None, 0.0
    for name in sorted(versions):
        entry = versions[name]
        if not isinstance(entry, dict):
            continue
        body = _fundus_lines(entry)[1:]  # without the title: titles are short, shared
        grams = ngrams(tokens(" ".join(body)))
        if not grams:
            continue
        share = len(grams & page_grams) / len(grams)
        if share > best_share:
            best_name, best_share = name, share
    if best_share < FUNDUS_MIN_SHARE:
        return None, best_share
    return best_name, best_share


def _truth_wcxb(ref: PageRef) -> tuple[str | None, tuple[str, ...], tuple[str, ...], dict]:
    data = _load_json(ref.truth_path) or {}
    gt = data.get("ground_truth") or {}
    main = (gt.get("main_content") or "").strip()
    title = (gt.get("title") or "").strip()
    # The headline is reporting (LABELLING.md) but main_content does not always repeat
    # it; adding it as a truth line lets an extracted headline match.
    text = "\n".join(x for x in (title, main) if x) if main else None
    info = {
        "url": data.get("url") or "",
        "page_type": ((data.get("_internal") or {}).get("page_type") or {}).get("primary"),
    }
    return (
        text,
        tuple(s for s in gt.get("with") or () if s),
        tuple(s for s in gt.get("without") or () if s),
        info,
    )


def load_page(ref: PageRef) -> Page:
    """Read and decode one page and its ground truth. Never raises for bad data."""
    html, encoding, problem = read_html(ref.html_path)
    url, domain, page_type = ref.url, ref.domain, ref.page_type
    truth_text: str | None = None
    truth_with, truth_without = ref.truth_with, ref.truth_without
    language_hint: str | None = None
    try:
        if ref.corpus == "wcxb-dev":
            truth_text, truth_with, truth_without, info = _truth_wcxb(ref)
            url = info["url"] or url
            page_type = info["page_type"] or page_type
        elif ref.corpus == "readability-test-pages":
            if ref.truth_path is not None:
                expected, _, _ = read_html(ref.truth_path)
                lines = html_to_lines(expected)
                meta = _load_json(ref.truth_path.with_name("expected-metadata.json.gz")) or {}
                title = (meta.get("title") or "").strip() if isinstance(meta, dict) else ""
                if lines:
                    truth_text = "\n".join(([title] if title else []) + lines)
                if isinstance(meta, dict):
                    language_hint = meta.get("lang")
        elif ref.corpus == "news-fixtures" and ref.truth_path is not None:
            versions = _load_json(ref.truth_path)
            if isinstance(versions, dict) and html:
                chosen, _share = choose_fundus_version(html_to_lines(html), versions)
                if chosen is not None:
                    truth_text = "\n".join(_fundus_lines(versions[chosen]))
    except Exception as exc:
        logger.warning("ground truth of %s:%s unreadable: %s", ref.corpus, ref.page_id, exc)
        problem = f"{problem + '; ' if problem else ''}truth error: {type(exc).__name__}: {exc}"
    if not url:
        url = page_url(html)
    if not domain:
        domain = normalise_domain(url)
    return Page(
        corpus=ref.corpus,
        page_id=ref.page_id,
        url=url,
        domain=domain,
        language=page_language(html, language_hint),
        page_type=page_type or "unknown",
        html=html,
        truth_text=truth_text,
        truth_with=tuple(truth_with),
        truth_without=tuple(truth_without),
        encoding=encoding,
        decode_error=problem,
    )


def iter_pages(
    corpora_dir: str | Path | None = None,
    *,
    corpora: Sequence[str] = CORPORA,
    limit: int | None = None,
) -> Iterator[Page]:
    """Every page of the corpora (default: NEWSCLEAN_CORPORA or ../shared/corpora)."""
    for ref in list_pages(corpora_dir, corpora=corpora, limit=limit):
        yield load_page(ref)

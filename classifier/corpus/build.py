"""Corpus build: real pages -> extracted, aligned paragraphs -> labelled paragraphs.

1. `build_corpus` extracts every page of the four corpora with every extractor, aligns
   each paragraph with the page's ground truth and writes `paragraphs.parquet`. This
   file holds publishers' text: it lives in the git-ignored build folder only.
2. `export_aligned_labels` turns the `reporting` alignments into committed label rows
   (keys, text hashes and labels only, no text).
3. `join_labels` joins committed label files (datasets/labels/*.jsonl[.gz]) with a
   fresh build into `labelled.parquet`, refusing stale or conflicting labels.

Outputs are deterministic: rows are sorted, parquet is written with fixed settings and
gzip'd label files carry no timestamp, so a rebuild from the same corpora and library
versions gives identical bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from joblib import Parallel, delayed

from classifier.errors import DataError
from classifier.labels import LABELS

from .align import REPORTING, TruthIndex, align_paragraph
from .extract import EXTRACTOR_NAMES, run_extractor
from .sources import PageRef, default_corpora_dir, list_pages, load_page

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("aligned", "reviewed")
KEY_FIELDS: tuple[str, ...] = ("corpus", "page_id", "extractor", "position")
LABEL_FIELDS: tuple[str, ...] = (*KEY_FIELDS, "text_hash", "label", "method")

PARAGRAPHS_SCHEMA = pa.schema(
    [
        ("corpus", pa.string()),
        ("page_id", pa.string()),
        ("domain", pa.string()),
        ("language", pa.string()),
        ("page_type", pa.string()),
        ("extractor", pa.string()),
        ("position", pa.int32()),
        ("text", pa.string()),
        ("text_hash", pa.string()),
        ("align_decision", pa.string()),
        ("align_score", pa.float64()),
    ]
)

# The joined table: a document id and the label, then the paragraph's own columns.
LABELLED_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        PARAGRAPHS_SCHEMA.field("position"),
        PARAGRAPHS_SCHEMA.field("text"),
        ("label", pa.string()),
        ("method", pa.string()),
        *(PARAGRAPHS_SCHEMA.field(name) for name in ("corpus", "page_id", "domain", "language", "page_type", "extractor")),
    ]
)

Key = tuple[str, str, str, int]


class LabelJoinError(DataError):
    """Committed labels do not fit the current corpus build."""


class StaleLabelError(LabelJoinError):
    """A label's key is missing from the build, or its text_hash no longer matches."""


class LabelConflictError(LabelJoinError):
    """The same key carries two different labels with the same method."""


class LabelFormatError(LabelJoinError):
    """A label row is malformed (missing field, unknown label or method)."""


def text_hash(text: str) -> str:
    """First 16 hex characters of the SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_heldout_domain(domain: str | None, *, share: int = 5) -> bool:
    """One domain in ``share`` (by a stable hash of its name) is held out for testing."""
    digest = hashlib.sha256((domain or "").encode("utf-8")).digest()
    return digest[0] % share == 0


def doc_id(corpus: str, page_id: str, extractor: str) -> str:
    return f"{corpus}:{page_id}:{extractor}"


@dataclass(frozen=True)
class ExtractionFailure:
    corpus: str
    page_id: str
    extractor: str
    error: str


@dataclass
class BuildStats:
    paragraphs_path: Path
    table_hash: str
    seconds: float
    rows: int
    pages: dict[str, int]
    pages_without_truth: dict[str, int]
    paragraphs: dict[str, dict[str, int]]  # corpus -> extractor -> rows
    decisions: dict[str, dict[str, int]]  # corpus -> decision -> rows
    empty_extractions: dict[str, int]  # extractor -> pages with no paragraph
    extraction_failures: list[ExtractionFailure] = field(default_factory=list)
    decode_problems: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["paragraphs_path"] = str(self.paragraphs_path)
        return data


@dataclass(frozen=True)
class _PageResult:
    rows: list[tuple]
    failures: list[ExtractionFailure]
    decode_problem: str | None
    has_truth: bool


def _process_page(ref: PageRef, extractors: tuple[str, ...]) -> _PageResult:
    page = load_page(ref)
    truth = TruthIndex.build(page.truth_text, page.truth_with, page.truth_without)
    rows: list[tuple] = []
    failures: list[ExtractionFailure] = []
    for extractor in extractors:
        result = run_extractor(extractor, page.html)
        if result.error:
            failures.append(ExtractionFailure(page.corpus, page.page_id, extractor, result.error))
        for position, text in enumerate(result.paragraphs):
            decision, score = align_paragraph(text, truth)
            rows.append(
                (
                    page.corpus,
                    page.page_id,
                    page.domain,
                    page.language,
                    page.page_type,
                    extractor,
                    position,
                    text,
                    text_hash(text),
                    decision,
                    score,
                )
            )
    return _PageResult(rows, failures, page.decode_error, not truth.empty)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write with fixed settings so equal tables give equal bytes; atomic replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(
        table,
        tmp,
        compression="zstd",
        compression_level=9,
        row_group_size=200_000,
        use_dictionary=True,
        write_statistics=True,
        data_page_version="1.0",
        version="2.6",
    )
    tmp.replace(path)


def table_hash(table: pa.Table) -> str:
    """SHA-256 over the table's values in row order, independent of parquet encoding."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(table.column_names).encode())
    for batch in table.to_batches(max_chunksize=50_000):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            parts = []
            for value in row:
                if isinstance(value, float):
                    value = "nan" if math.isnan(value) else repr(value)
                parts.append("\x00" if value is None else str(value))
            digest.update(("\x1f".join(parts) + "\x1e").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def build_corpus(
    corpora_dir: str | Path | None,
    out_dir: str | Path,
    *,
    jobs: int = 1,
    limit: int | None = None,
) -> BuildStats:
    """Extract, align and write `out_dir/paragraphs.parquet` (+ build_stats.json).

    `corpora_dir` None means NEWSCLEAN_CORPORA or ../shared/corpora; `limit` keeps the
    first N pages of each corpus; `jobs` is the number of joblib worker processes.
    """
    started = time.monotonic()
    out = Path(out_dir)
    refs = list_pages(corpora_dir or default_corpora_dir(), limit=limit)
    logger.info("building %d pages with %d job(s)", len(refs), jobs)
    # Parallel returns results in input order, so the output does not depend on `jobs`.
    results: list[_PageResult] = Parallel(n_jobs=jobs, batch_size=4)(delayed(_process_page)(ref, EXTRACTOR_NAMES) for ref in refs)

    rows = [row for result in results for row in result.rows]
    rows.sort(key=lambda r: (r[0], r[1], r[5], r[6]))
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in PARAGRAPHS_SCHEMA]
    table = pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, PARAGRAPHS_SCHEMA, strict=True)],
        schema=PARAGRAPHS_SCHEMA,
    )
    paragraphs_path = out / "paragraphs.parquet"
    _write_parquet(table, paragraphs_path)

    pages: Counter[str] = Counter()
    without_truth: Counter[str] = Counter()
    per_extractor: dict[str, Counter[str]] = defaultdict(Counter)
    decisions: dict[str, Counter[str]] = defaultdict(Counter)
    produced: Counter[tuple[str, str, str]] = Counter()
    for ref, result in zip(refs, results, strict=True):
        pages[ref.corpus] += 1
        without_truth[ref.corpus] += not result.has_truth
    for row in rows:
        per_extractor[row[0]][row[5]] += 1
        decisions[row[0]][row[9]] += 1
        produced[(row[0], row[1], row[5])] += 1
    empty: Counter[str] = Counter()
    for ref in refs:
        for extractor in EXTRACTOR_NAMES:
            empty[extractor] += (ref.corpus, ref.page_id, extractor) not in produced

    stats = BuildStats(
        paragraphs_path=paragraphs_path,
        table_hash=table_hash(table),
        seconds=round(time.monotonic() - started, 1),
        rows=len(rows),
        pages=dict(pages),
        pages_without_truth=dict(without_truth),
        paragraphs={c: dict(sorted(v.items())) for c, v in sorted(per_extractor.items())},
        decisions={c: dict(sorted(v.items())) for c, v in sorted(decisions.items())},
        empty_extractions=dict(empty),
        extraction_failures=[f for r in results for f in r.failures],
        decode_problems=[
            (ref.corpus, ref.page_id, r.decode_problem) for ref, r in zip(refs, results, strict=True) if r.decode_problem
        ],
    )
    (out / "build_stats.json").write_text(json.dumps(stats.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %d paragraphs to %s in %.0fs", len(rows), paragraphs_path, stats.seconds)
    return stats


# --------------------------------------------------------------------------- label files


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def write_label_rows(rows: Iterable[dict], out_file: str | Path) -> int:
    """Write label rows sorted by key as JSONL (gzip'd when the name ends in .gz)."""
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows, key=lambda r: (*_key(r), r["method"]))
    text = "".join(json.dumps({name: row[name] for name in LABEL_FIELDS}, ensure_ascii=False) + "\n" for row in ordered)
    data = text.encode("utf-8")
    if path.name.endswith(".gz"):
        # mtime=0: no timestamp in the header, so equal content gives equal bytes.
        data = gzip.compress(data, compresslevel=9, mtime=0)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(ordered)


def _key(row: dict) -> Key:
    return (row["corpus"], row["page_id"], row["extractor"], int(row["position"]))


def label_files(labels_dir: str | Path) -> list[Path]:
    folder = Path(labels_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))


def read_label_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) for every non-blank line of one label file."""
    path = Path(path)
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelFormatError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise LabelFormatError(f"{path}:{number}: not a JSON object")
        yield number, row


def load_labels(labels_dir: str | Path) -> dict[str, dict[Key, tuple[dict, str]]]:
    """method -> key -> (row, where) from every label file, checking format/conflicts."""
    by_method: dict[str, dict[Key, tuple[dict, str]]] = {m: {} for m in METHODS}
    conflicts: list[str] = []
    for path in label_files(labels_dir):
        for number, row in read_label_rows(path):
            where = f"{path.name}:{number}"
            missing = [name for name in LABEL_FIELDS if name not in row]
            if missing:
                raise LabelFormatError(f"{where}: missing field(s) {missing}")
            if row["label"] not in LABELS:
                raise LabelFormatError(f"{where}: unknown label {row['label']!r}; use {LABELS}")
            if row["method"] not in METHODS:
                raise LabelFormatError(f"{where}: unknown method {row['method']!r}; use {METHODS}")
            try:
                key = _key(row)
            except (TypeError, ValueError) as exc:
                raise LabelFormatError(f"{where}: bad position {row['position']!r}") from exc
            seen = by_method[row["method"]].get(key)
            if seen is None:
                by_method[row["method"]][key] = (row, where)
            elif seen[0]["label"] != row["label"]:
                conflicts.append(f"{key}: {seen[0]['label']!r} ({seen[1]}) vs {row['label']!r} ({where})")
            elif seen[0]["text_hash"] != row["text_hash"]:
                conflicts.append(
                    f"{key}: {row['label']!r} both, for different texts: text_hash {seen[0]['text_hash']} "
                    f"({seen[1]}) vs {row['text_hash']} ({where})"
                )
    if conflicts:
        raise LabelConflictError(
            f"{len(conflicts)} key(s) carry two labels of one method (two aligned or two reviewed rows) that differ "
            "in label or in the text they were given for; keep one row per key (fix or delete the wrong row), e.g.:\n  "
            + "\n  ".join(conflicts[:20])
        )
    return by_method


#: Readers read the page as ``trafilatura`` with favor_recall and as a full-text scrape
#: give it; ``trafilatura`` and ``readability`` keep less of the page, so nearly every
#: line of theirs is a line of those two, already read (see ``propagated_labels``).
PROPAGATED_FROM: tuple[str, ...] = ("trafilatura_recall", "fulltext")
PROPAGATED_TO: tuple[str, ...] = ("trafilatura", "readability")
PROPAGATED = "propagated"


def propagated_labels(
    merged: dict[Key, tuple[dict, str]], keys: Iterable[Key], hashes: Iterable[str]
) -> dict[Key, tuple[dict, str]]:
    """Labels for the lines of ``PROPAGATED_TO`` extractions that readers labelled on
    the same page in a ``PROPAGATED_FROM`` extraction: the same text on the same page
    takes the same label (the guide's rule), so a line that a reader read there needs
    no second reading here.

    ``keys`` and ``hashes``: every paragraph of the build, each key with its text's
    hash. A line gets the label only when
    - a reader decided the text on that page, and every labelled copy of it in the
      read extractions, and every copy a reader decided anywhere, has that one label
      (a headline that is also a breadcrumb carries two, and is left alone);
    - its own extraction holds the text no more often than one of the read ones
      does (a second copy there may play another role: a teaser of the story).
    The result overrides labels by alignment alone (a reader's verdict on the same
    text beats alignment with a ground truth), never a reviewed one. Rows carry method
    ``"propagated"``. Left to a reader: a page where the extractor kept other articles
    instead of the story, whose lines are all residue even where a heading matches
    the story's own.
    """
    pairs = list(zip(keys, hashes, strict=True))
    seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    read: set[tuple[str, str, str]] = set()
    copies: Counter[tuple[str, str, str, str]] = Counter()  # (page, text, extractor)
    for key, text_hash in pairs:
        twin = (key[0], key[1], text_hash)
        copies[(*twin, key[2])] += 1
        found = merged.get(key)
        if found is None:
            continue
        reviewed = found[0]["method"] == "reviewed"
        if key[2] in PROPAGATED_FROM or reviewed:
            seen[twin].add(found[0]["label"])
        if reviewed and key[2] in PROPAGATED_FROM:
            read.add(twin)
    result: dict[Key, tuple[dict, str]] = {}
    for key, text_hash in pairs:
        twin = (key[0], key[1], text_hash)
        if key[2] not in PROPAGATED_TO or twin not in read or len(seen[twin]) != 1:
            continue
        if copies[(*twin, key[2])] > max(copies[(*twin, source)] for source in PROPAGATED_FROM):
            continue
        (label,) = seen[twin]
        current = merged.get(key)
        if current is not None and (current[0]["method"] == "reviewed" or current[0]["label"] == label):
            continue
        row = dict(zip(KEY_FIELDS, key, strict=True), text_hash=text_hash, label=label, method=PROPAGATED)
        result[key] = (row, f"propagated from {PROPAGATED_FROM}")
    return result


def merge_methods(labels: dict[str, dict[Key, tuple[dict, str]]]) -> dict[Key, tuple[dict, str]]:
    """One label per key from ``load_labels``: a reviewed row overrides an aligned one."""
    merged: dict[Key, tuple[dict, str]] = dict(labels["aligned"])
    merged.update(labels["reviewed"])
    return merged


def export_aligned_labels(paragraphs_parquet: str | Path, out_file: str | Path) -> int:
    """Write `reporting` alignments as committed label rows; returns the row count.

    Only `reporting` is trusted from alignment; non_reporting and uncertain paragraphs
    are labelled by review. Rows hold keys and hashes only, never text.
    """
    table = pq.read_table(paragraphs_parquet, columns=[*KEY_FIELDS, "text_hash", "align_decision"])
    table = table.filter(pc.equal(table["align_decision"], REPORTING))
    rows = [
        {
            "corpus": r["corpus"],
            "page_id": r["page_id"],
            "extractor": r["extractor"],
            "position": int(r["position"]),
            "text_hash": r["text_hash"],
            "label": "reporting",
            "method": "aligned",
        }
        for r in table.to_pylist()
    ]
    return write_label_rows(rows, out_file)


@dataclass(frozen=True)
class JoinStats:
    labelled_path: Path
    rows: int
    by_label: dict[str, int]
    by_method: dict[str, int]
    training_path: Path | None = None
    training_rows: int = 0
    complete_documents: int = 0
    training_documents: int = 0


def join_labels(
    paragraphs_parquet: str | Path,
    labels_dir: str | Path,
    out_path: str | Path,
    *,
    aligned_only_documents: int = 1500,
    seed: int = 0,
) -> JoinStats:
    """Join committed labels with a build into `labelled.parquet` (at `out_path`).

    A reviewed row overrides an aligned row for the same key, and labels are carried
    to the precision extractions' copies of lines that readers labelled on the same
    page (``propagated_labels``). Raises StaleLabelError
    when a key is not in the build or its text_hash differs, LabelConflictError when a
    key has two different labels of the same method, LabelFormatError on bad rows.
    """
    if not label_files(labels_dir):
        # Joining nothing would empty the earlier join's tables, and training on them
        # would go on without a word.
        where = "no such folder" if not Path(labels_dir).is_dir() else "no .jsonl or .jsonl.gz label files in it"
        raise LabelJoinError(f"{labels_dir}: {where}; give the committed labels with --labels (datasets/labels)")
    if not Path(paragraphs_parquet).is_file():
        raise LabelJoinError(f"{paragraphs_parquet}: no such build; run 'newsclean data build' first")
    labels = load_labels(labels_dir)
    merged = merge_methods(labels)

    table = pq.read_table(paragraphs_parquet)
    keys = zip(
        table["corpus"].to_pylist(),
        table["page_id"].to_pylist(),
        table["extractor"].to_pylist(),
        table["position"].to_pylist(),
        strict=True,
    )
    index = {key: i for i, key in enumerate(keys)}
    hashes = table["text_hash"].to_pylist()

    stale: list[str] = []
    for method in METHODS:
        for key, (row, where) in labels[method].items():
            i = index.get(key)
            if i is None:
                stale.append(f"{where}: {key} is not in the build")
            elif hashes[i] != row["text_hash"]:
                stale.append(f"{where}: {key} text_hash {row['text_hash']} != build {hashes[i]}")
    if stale:
        raise StaleLabelError(
            f"{len(stale)} label row(s) do not match {paragraphs_parquet}: the paragraphs "
            "changed (new extractor version, corpus or build code). Rebuild with the "
            "pinned versions, or re-export aligned labels (export_aligned_labels), drop the "
            "stale reviewed rows, then re-review those paragraphs (make_review_batches "
            "leaves out every key that still has a reviewed row). First problems:\n  " + "\n  ".join(stale[:20])
        )

    read = {index[key]: row for key, (row, _) in merged.items()}
    merged.update(propagated_labels(merged, index, [hashes[i] for i in index.values()]))

    # The build is sorted by key, so sorting the indices keeps the build's row order.
    chosen = sorted((index[key], row) for key, (row, _) in merged.items())
    sub = table.take(pa.array([i for i, _ in chosen], type=pa.int64()))
    labels_col = [row["label"] for _, row in chosen]
    methods_col = [row["method"] for _, row in chosen]
    all_doc_ids = [
        doc_id(c, p, e)
        for c, p, e in zip(table["corpus"].to_pylist(), table["page_id"].to_pylist(), table["extractor"].to_pylist(), strict=True)
    ]
    doc_ids = [all_doc_ids[i] for i, _ in chosen]
    arrays = {
        "doc_id": pa.array(doc_ids, type=pa.string()),
        "label": pa.array(labels_col, type=pa.string()),
        "method": pa.array(methods_col, type=pa.string()),
    }
    out_table = pa.Table.from_arrays(
        [arrays[f.name] if f.name in arrays else sub[f.name].combine_chunks().cast(f.type) for f in LABELLED_SCHEMA],
        schema=LABELLED_SCHEMA,
    )
    out = Path(out_path)
    _write_parquet(out_table, out)

    # Context decides labels: training.parquet holds every paragraph of each document
    # that has a label, unlabelled ones with an empty label, as neighbours to read but
    # not to learn from.
    # Every document with a reviewed label, and a seeded sample of documents labelled
    # by alignment alone (hundreds of thousands of clean reporting paragraphs would
    # only slow training down).
    reviewed_docs = {doc for doc, method in zip(doc_ids, methods_col, strict=True) if method == "reviewed"}
    aligned_only = sorted({all_doc_ids[i] for i in read} - reviewed_docs)
    rng = random.Random(seed)
    training_docs = reviewed_docs | set(rng.sample(aligned_only, min(aligned_only_documents, len(aligned_only))))
    # Propagated labels judge the model, they do not train it: the held-out part also
    # holds every labelled precision extraction of the held-out sites, with them: the
    # residue that trafilatura and readability let through (a model trained on them
    # too did worse on the held-out sites, those extractions included).
    precision_docs = {doc for doc, (_, row) in zip(doc_ids, chosen, strict=True) if row["extractor"] in PROPAGATED_TO}
    domains = table["domain"].to_pylist()
    heldout_site = {doc: is_heldout_domain(domain) for doc, domain in zip(all_doc_ids, domains, strict=True)}

    def frame(docs: set[str], labels: dict[int, dict]) -> pa.Table:
        rows = [i for i, doc in enumerate(all_doc_ids) if doc in docs]
        context = table.take(pa.array(rows, type=pa.int64()))
        columns = {
            "doc_id": pa.array([all_doc_ids[i] for i in rows], type=pa.string()),
            "label": pa.array([labels[i]["label"] if i in labels else None for i in rows], type=pa.string()),
            "method": pa.array([labels[i]["method"] if i in labels else None for i in rows], type=pa.string()),
        }
        return pa.Table.from_arrays(
            [columns[f.name] if f.name in columns else context[f.name].combine_chunks().cast(f.type) for f in LABELLED_SCHEMA],
            schema=LABELLED_SCHEMA,
        )

    training = frame(training_docs, read)
    build_counts = Counter(all_doc_ids)
    complete = {doc for doc, count in Counter(doc_ids).items() if count == build_counts[doc]}
    training_path = out.with_name("training.parquet")
    _write_parquet(training, training_path)
    # A fixed held-out part by site: a domain's pages are all in train or all in test.
    _write_parquet(frame({doc for doc in training_docs if not heldout_site[doc]}, read), out.with_name("train.parquet"))
    heldout_docs = {doc for doc in training_docs | precision_docs if heldout_site[doc]}
    _write_parquet(frame(heldout_docs, dict(chosen)), out.with_name("heldout.parquet"))
    return JoinStats(
        labelled_path=out,
        rows=out_table.num_rows,
        by_label=dict(sorted(Counter(labels_col).items())),
        by_method=dict(sorted(Counter(methods_col).items())),
        training_path=training_path,
        training_rows=training.num_rows,
        complete_documents=len(complete),
        training_documents=len(training_docs),
    )

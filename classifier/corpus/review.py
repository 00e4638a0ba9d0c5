"""Review batches: the paragraphs that alignment cannot label, laid out for reading.

Alignment only trusts `reporting` (see align.py). Everything else needs a person (or a
reader following ../shared/LABELLING.md) to pick one of the three labels. The batches
are Markdown files in a git-ignored build folder because they show publishers' text;
only the answers, turned into label rows by `ingest_review`, are committed.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from classifier.errors import DataError, InputError

from .align import NON_REPORTING, REPORTING, UNCERTAIN, tokens
from .build import LABEL_FIELDS, LABELS, Key, _key, load_labels, read_label_rows, write_label_rows

logger = logging.getLogger(__name__)

# Aligned `reporting` paragraphs shorter than this are often bylines, dates, captions or
# sub-headings that happen to match the truth, so they are read too.
SHORT_REPORTING_WORDS = 12
NEIGHBOURS = 2
APPEAL_EXTRACTOR = "fulltext"

# Words that appeals tend to use, in the corpora's main languages. Deliberately broad:
# this only chooses what to read, it labels nothing. Matched on casefolded text.
APPEAL_RE = re.compile(
    r"donat|donac|donaz|doação|spende|subscri|suscri|abonn|\babos?\b|\babo-|newsletter"
    r"|\bmember|mitglied|unterstütz|support (?:us|our|independent)|\bcontribut(?:e\b|ions?\b)"
    r"|\blog ?in\b|\blog-in|\bsign ?up|\bsign-up|\bsign ?in\b|\bregist(?:er|rier|rat|rar)|paywall|premium"
    r"|soutenir|soutien|faire un don|inscri|iscriv|apoie|free trial|probeabo|testabo|patreon|paypal"
    r"|create (?:a |an )?(?:free )?account|konto erstellen|freischalten|weiterlesen mit"
)

ALIASES = {
    "r": "reporting",
    "d": "donation_appeal",
    "a": "donation_appeal",
    "u": "ui_residue",
    **{label: label for label in LABELS},
}


class ReviewAnswerError(DataError):
    """An answers file does not fit its batch keys (unknown id, bad label, conflict)."""


@dataclass(frozen=True)
class ReviewStats:
    items: int
    batches: int
    pages: int
    by_reason: dict[str, int]
    batch_files: tuple[Path, ...]


@dataclass(frozen=True)
class IngestStats:
    answered: int
    unanswered: int
    written: int
    changed: int
    out_file: Path


def needs_reading(decision: str, text: str) -> str | None:
    """Why a paragraph of the reviewed extractor needs reading, or None."""
    if decision == UNCERTAIN:
        return "uncertain"
    if decision == NON_REPORTING:
        return "non_reporting"
    if decision == REPORTING and len(tokens(text)) < SHORT_REPORTING_WORDS:
        return "short_reporting"
    return None


def _docs(table) -> dict[tuple[str, str, str], list[dict]]:
    docs: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in table.to_pylist():
        docs[(row["corpus"], row["page_id"], row["extractor"])].append(row)
    for rows in docs.values():
        rows.sort(key=lambda r: r["position"])
    return docs


def select_for_review(
    paragraphs_parquet: str | Path,
    labels_dir: str | Path,
    *,
    extractor: str = "trafilatura_recall",
) -> tuple[dict[tuple[str, str, str], list[dict]], dict[Key, str]]:
    """(docs, selected key -> reason) for the paragraphs that still need reading."""
    if not Path(paragraphs_parquet).is_file():
        raise InputError(f"{paragraphs_parquet}: no such build; run 'newsclean data build' first")
    reviewed = set(load_labels(labels_dir)["reviewed"])
    wanted = {extractor, APPEAL_EXTRACTOR}
    table = pq.read_table(paragraphs_parquet)
    table = table.filter(pc.is_in(table["extractor"], value_set=pa.array(sorted(wanted))))
    docs = _docs(table)
    selected: dict[Key, str] = {}
    for (corpus, page_id, doc_extractor), rows in docs.items():
        if doc_extractor == extractor:
            for row in rows:
                reason = needs_reading(row["align_decision"], row["text"])
                if reason:
                    selected.setdefault((corpus, page_id, doc_extractor, row["position"]), reason)
        if doc_extractor == APPEAL_EXTRACTOR:
            hits = [i for i, row in enumerate(rows) if APPEAL_RE.search(row["text"].casefold())]
            for i in hits:
                selected.setdefault((corpus, page_id, doc_extractor, rows[i]["position"]), "appeal_word")
                for j in range(max(0, i - NEIGHBOURS), min(len(rows), i + NEIGHBOURS + 1)):
                    row = rows[j]
                    # Long paragraphs the truth covers are reporting by alignment already;
                    # they are still shown as context.
                    if j != i and needs_reading(row["align_decision"], row["text"]) is not None:
                        selected.setdefault((corpus, page_id, doc_extractor, row["position"]), "appeal_neighbour")
    for key in reviewed:
        selected.pop(key, None)
    return docs, selected


def _window_lines(rows: Sequence[dict], ids: dict[int, str], decisions: bool = True) -> list[str]:
    """Items with their neighbours; runs of unshown paragraphs collapse to one line."""
    shown: set[int] = set()
    index_of = {row["position"]: i for i, row in enumerate(rows)}
    for position in ids:
        i = index_of[position]
        shown.update(range(max(0, i - NEIGHBOURS), min(len(rows), i + NEIGHBOURS + 1)))
    lines: list[str] = []
    previous = -1
    for i in sorted(shown):
        if i > previous + 1:
            lines.append(f"- ⋯ {i - previous - 1} paragraph(s) not shown")
        row = rows[i]
        short_id = ids.get(row["position"])
        if short_id:
            hint = f" _(align: {row['align_decision']})_" if decisions else ""
            lines.append(f"- ¶{row['position']} **[{short_id}]**{hint} {row['text']}")
        else:
            lines.append(f"- ¶{row['position']} ctx · {row['text']}")
        previous = i
    if previous < len(rows) - 1:
        lines.append(f"- ⋯ {len(rows) - previous - 1} paragraph(s) not shown")
    return lines


_HEADER = """# Review batch {batch:03d}: {items} paragraphs on {pages} pages

Label every **[id]** line with one of `reporting`, `donation_appeal`, `ui_residue`
(see ../shared/LABELLING.md; shorthands r / d / u). `ctx` lines are neighbours shown
for context only. Decide from the paragraph and its neighbours, a page at a time.

Answers: one line per id, `<id><TAB><label>`, in a text file; then
`newsclean data ingest batch_{batch:03d}.keys.jsonl ANSWERS -o datasets/labels/reviewed_NNN.jsonl`.
"""


def make_review_batches(
    paragraphs_parquet: str | Path,
    labels_dir: str | Path,
    out_dir: str | Path,
    *,
    batch_size: int = 400,
    extractor: str = "trafilatura_recall",
    seed: int = 0,
) -> ReviewStats:
    """Write `batch_NNN.md` + `batch_NNN.keys.jsonl` for everything that needs reading.

    Selected: `extractor`'s paragraphs that alignment left non_reporting or uncertain
    (all of them on pages without ground truth) or called reporting with fewer than 12
    words; plus `fulltext` paragraphs containing appeal words, with their 2 neighbours,
    so that appeals the extractors drop get labelled too. Paragraphs that already have
    a reviewed label are skipped. Pages are shuffled with `seed` so batches mix corpora;
    a page stays in one batch unless it alone has more than `batch_size` items.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    earlier = sorted(Path(out_dir).glob("batch_*.keys.jsonl")) if Path(out_dir).is_dir() else []
    if earlier:
        # New batches would reuse the ids of the old ones for other paragraphs, and
        # answers written for an old batch would go in against the new keys.
        raise InputError(
            f"{out_dir} already holds review batches ({earlier[0].name} ...): ingest their answers, then write the "
            "next round to another folder (--output) or remove this one"
        )
    if not Path(labels_dir).is_dir():
        raise InputError(f"{labels_dir}: no such label folder (give the committed labels with --labels)")
    docs, selected = select_for_review(paragraphs_parquet, labels_dir, extractor=extractor)

    by_page: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for key in sorted(selected, key=lambda k: (k[0], k[1], k[2] != extractor, k[2], k[3])):
        by_page[(key[0], key[1])].append(key)
    pages = sorted(by_page)
    order = np.random.default_rng(seed).permutation(len(pages))
    units: list[tuple[tuple[str, str], list[Key]]] = []
    for i in order:
        page = pages[int(i)]
        keys = by_page[page]
        for start in range(0, len(keys), batch_size):
            units.append((page, keys[start : start + batch_size]))

    batches: list[list[tuple[tuple[str, str], list[Key]]]] = []
    current: list[tuple[tuple[str, str], list[Key]]] = []
    size = 0
    for unit in units:
        if current and size + len(unit[1]) > batch_size:
            batches.append(current)
            current, size = [], 0
        current.append(unit)
        size += len(unit[1])
    if current:
        batches.append(current)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    width = max(3, len(str(batch_size)))
    written: list[Path] = []
    for number, batch in enumerate(batches, start=1):
        key_rows: list[dict] = []
        body: list[str] = []
        counter = 0
        for page_number, ((corpus, page_id), keys) in enumerate(batch, start=1):
            by_doc: dict[str, list[Key]] = defaultdict(list)
            for key in keys:
                by_doc[key[2]].append(key)
            first = docs[(corpus, page_id, keys[0][2])][0]
            body.append(
                f"\n## Page {page_number}/{len(batch)}: {corpus} · {page_id} · "
                f"{first['domain'] or '?'} · {first['page_type']} · {first['language']}\n"
            )
            for doc_extractor, doc_keys in by_doc.items():
                rows = docs[(corpus, page_id, doc_extractor)]
                by_position = {row["position"]: row for row in rows}
                ids: dict[int, str] = {}
                for key in doc_keys:
                    counter += 1
                    short_id = f"{number:03d}-{counter:0{width}d}"
                    ids[key[3]] = short_id
                    row = by_position[key[3]]
                    key_rows.append(
                        {
                            "id": short_id,
                            "corpus": corpus,
                            "page_id": page_id,
                            "extractor": doc_extractor,
                            "position": key[3],
                            "text_hash": row["text_hash"],
                            "reason": selected[key],
                        }
                    )
                body.append(f"### {doc_extractor}: {len(rows)} paragraphs, {len(doc_keys)} to label\n")
                body.extend(_window_lines(rows, ids))
                body.append("")
        pages_in_batch = len({unit[0] for unit in batch})
        md = _HEADER.format(batch=number, items=len(key_rows), pages=pages_in_batch) + "\n".join(body)
        md_path = out / f"batch_{number:03d}.md"
        md_path.write_text(md, encoding="utf-8")
        keys_path = out / f"batch_{number:03d}.keys.jsonl"
        keys_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in key_rows), encoding="utf-8")
        written.append(md_path)

    reasons: dict[str, int] = defaultdict(int)
    for reason in selected.values():
        reasons[reason] += 1
    return ReviewStats(
        items=len(selected),
        batches=len(batches),
        pages=len(pages),
        by_reason=dict(sorted(reasons.items())),
        batch_files=tuple(written),
    )


def _read_keys(batch_keys: str | Path | Iterable[str | Path]) -> dict[str, dict]:
    paths = [batch_keys] if isinstance(batch_keys, str | Path) else list(batch_keys)
    keys: dict[str, dict] = {}
    needed = ("id", "corpus", "page_id", "extractor", "position", "text_hash")
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ReviewAnswerError(f"{path}: cannot be read as a keys file ({error})") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ReviewAnswerError(f"{path}, line {number}: not valid JSON ({error.msg})") from None
            missing = [name for name in needed if not isinstance(row, dict) or name not in row]
            if missing:
                raise ReviewAnswerError(
                    f"{path}, line {number}: a key row needs {', '.join(needed)} (missing {', '.join(missing)}): "
                    "give the batch's .keys.jsonl file"
                )
            keys[row["id"]] = row
    return keys


def ingest_review(
    batch_keys: str | Path | Iterable[str | Path],
    answers_file: str | Path,
    out_labels_file: str | Path,
) -> IngestStats:
    """Turn "<short_id>\\t<label>" answers into reviewed label rows in `out_labels_file`.

    Rows already in `out_labels_file` are kept; an answer for a key that is already
    there replaces it (a correction). Raises ReviewAnswerError for unknown ids, unknown
    labels or one id answered with two labels. Blank lines and '#' comments are skipped.
    """
    keys = _read_keys(batch_keys)
    return _merge_answers(keys, _read_answers(answers_file, keys), Path(out_labels_file))


def _read_answers(answers_file: str | Path, keys: dict[str, dict]) -> dict[str, str]:
    """id -> label of every answer, each checked against ``keys`` and the labels;
    every problem named by the file's own line."""
    answers: dict[str, str] = {}
    problems: list[str] = []
    try:
        answer_lines = Path(answers_file).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ReviewAnswerError(f"{answers_file}: cannot be read as answers ({error})") from None
    for number, line in enumerate(answer_lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            problems.append(f"line {number}: expected '<id>\\t<label>', got {line!r}")
            continue
        short_id, raw = parts[0].strip("[]"), parts[1].strip().lower()
        label = ALIASES.get(raw)
        if short_id not in keys:
            problems.append(f"line {number}: unknown id {short_id!r} (not in the batch keys)")
        elif label is None:
            problems.append(f"line {number}: unknown label {raw!r}; use one of {LABELS}")
        elif answers.get(short_id, label) != label:
            problems.append(f"line {number}: {short_id} answered {answers[short_id]!r} and {label!r}")
        else:
            answers[short_id] = label
    if problems:
        raise ReviewAnswerError(
            f"{len(problems)} problem(s) in {answers_file}; fix them and ingest again:\n  " + "\n  ".join(problems[:20])
        )
    if not answers:
        raise ReviewAnswerError(f"{answers_file} holds no answers: write one '<id><TAB><label>' line per paragraph")

    return answers


def _merge_answers(keys: dict[str, dict], answers: dict[str, str], out: Path) -> IngestStats:
    if out.is_dir():
        raise ReviewAnswerError(f"{out} is a folder: name the label file to write, such as {out}/reviewed_NNN.jsonl")
    if not out.name.endswith(".jsonl"):
        # The join reads *.jsonl and *.jsonl.gz only, and .gz files hold aligned labels.
        raise ReviewAnswerError(f"{out}: name the label file .jsonl (such as reviewed_NNN.jsonl): the join reads no other")
    existing: dict[Key, dict] = {}
    if out.exists():
        for number, row in read_label_rows(out):
            missing = [name for name in LABEL_FIELDS if name not in row]
            if missing:
                raise ReviewAnswerError(
                    f"{out}, row {number}: not a label row (missing {', '.join(missing)}): "
                    "ingest into a reviewed_NNN.jsonl file of its own"
                )
            if row["method"] != "reviewed":
                # Aligned labels are written again by the export: reviewed ones put there would go.
                raise ReviewAnswerError(
                    f"{out}, row {number}: not a reviewed label row (method {row['method']!r}): "
                    "ingest into a reviewed_NNN.jsonl file of its own"
                )
            existing[_key(row)] = row
    changed = 0
    for short_id, label in answers.items():
        k = keys[short_id]
        key = _key(k)
        old = existing.get(key)
        if old is not None and old["label"] != label:
            changed += 1
            logger.info("review of %s changes %s -> %s", key, old["label"], label)
        existing[key] = {
            "corpus": key[0],
            "page_id": key[1],
            "extractor": key[2],
            "position": key[3],
            "text_hash": k["text_hash"],
            "label": label,
            "method": "reviewed",
        }
    written = write_label_rows(existing.values(), out)
    return IngestStats(
        answered=len(answers),
        # Ids of the batch that the file holds no label for (an earlier ingest may have).
        unanswered=sum(_key(k) not in existing for k in keys.values()),
        written=written,
        changed=changed,
        out_file=out,
    )


def apply_recheck(batch_keys: str | Path, answers_file: str | Path, labels_dir: str | Path) -> dict[str, IngestStats]:
    """Apply a recheck round's answers to the reviewed label files that hold its keys.

    A recheck re-reads paragraphs that were already reviewed (after a new ruling, say);
    each answer replaces the label in the file where that key lives, so no key ends up
    in two files. Raises ReviewAnswerError for a key no reviewed file holds.
    """
    keys = _read_keys(batch_keys)
    home: dict[Key, Path] = {}
    for path in sorted(Path(labels_dir).glob("reviewed_*.jsonl")):
        for _, row in read_label_rows(path):
            home[_key(row)] = path
    # Every answer checked before any file is written: a bad one must not leave the
    # files before it rewritten and those after it not.
    answers = _read_answers(answers_file, keys)
    by_file: dict[Path, dict[str, str]] = defaultdict(dict)
    orphans = []
    for short_id, label in answers.items():
        path = home.get(_key(keys[short_id]))
        if path is None:
            orphans.append(short_id)
        else:
            by_file[path][short_id] = label
    if orphans:
        raise ReviewAnswerError(f"{len(orphans)} answer(s) name no reviewed key (not in any reviewed file), e.g. {orphans[:5]}")
    return {path.name: _merge_answers(keys, part, path) for path, part in sorted(by_file.items())}

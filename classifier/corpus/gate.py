"""The quality gate: the shipped model's figures on a fixed evaluation split, pinned.

The split is the held-out sites' pages (a fixed list, kept in the gate file), as
trafilatura with ``favor_recall`` and a full-text scrape give them: the two outputs
whose residue was read and labelled. It is rebuilt from the corpora and the committed
labels, and its hash is pinned beside the floors, so a changed split (new labels, a
new extractor version) fails the gate until someone re-pins it on purpose; floors are
never lowered without ``allow_lower``.

A gate may name other extractions of the same pages: ``tests/precision_gate.json``
holds ``trafilatura`` and ``readability``, the residue that precision extractors let
through, labelled by propagation from the two read extractions
(``classifier.corpus.build.propagated_labels``).

A gate can also hold a labelled file as its split (``file_split``): the genre gate,
``tests/genre_gate.json``, pins the shipped model's figures on news documents we wrote
to test and never train on (``datasets/evaluation/``), and needs no corpora.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed

from classifier.corpus.build import (
    PROPAGATED_FROM,
    PROPAGATED_TO,
    _process_page,
    doc_id,
    is_heldout_domain,
    load_labels,
    merge_methods,
    propagated_labels,
)
from classifier.corpus.sources import PageRef, list_pages, load_page
from classifier.errors import NewscleanError
from classifier.labels import LABELS

GATE_FORMAT = 1
GATE_EXTRACTORS = ("trafilatura_recall", "fulltext")
# The figures the gate holds, and how far below the pinned value a floor sits: room for
# float noise across numpy versions and nothing more.
GATED_FIGURES = {
    "macro_f1": 0.005,
    **{f"{label}_f1": 0.005 for label in LABELS},
    "reporting_chars_kept": 0.001,
    "non_reporting_chars_removed": 0.005,
}


class GateError(NewscleanError):
    """The gate failed: a figure under its floor, or a changed split."""


@dataclass(frozen=True)
class GateSplit:
    table: pd.DataFrame
    pages: tuple[str, ...]
    hash: str
    #: The labelled file the split is (``file_split``), or None for corpus pages.
    file: str | None = None
    #: The extractions of the pages that the split holds (corpus pages only).
    extractors: tuple[str, ...] = GATE_EXTRACTORS


def file_split(path: str | Path) -> GateSplit:
    """A labelled file (CSV, JSONL or Parquet) as a gate's split."""
    from classifier.data import read_labelled

    table = read_labelled([path])
    return GateSplit(table=table, pages=(), hash=split_hash(table), file=str(Path(path).resolve()))


def split_file_of(gate_path: str | Path, gate: dict) -> Path | None:
    """The labelled file a gate's split is, or None for a gate on corpus pages. The
    gate records it relative to the gate file's folder, so it holds from any folder
    and on any machine."""
    recorded = gate["split"].get("file")
    return None if recorded is None else Path(gate_path).resolve().parent / recorded


def heldout_pages(corpora_dir: str | Path | None = None) -> list[str]:
    """``corpus/page_id`` of every page whose site is held out of training."""
    pages = []
    for ref in list_pages(corpora_dir):
        domain = ref.domain or load_page(ref).domain
        if is_heldout_domain(domain):
            pages.append(f"{ref.corpus}/{ref.page_id}")
    return pages


def split_hash(table: pd.DataFrame) -> str:
    """sha256 of what the figures depend on: documents, positions, texts and labels."""
    digest = hashlib.sha256()
    for row in table[["doc_id", "position", "text", "label"]].itertuples(index=False):
        digest.update(f"{row.doc_id}\x1f{row.position}\x1f{row.text}\x1f{row.label or ''}\x1e".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def build_split(
    pages: Sequence[str],
    *,
    corpora_dir: str | Path | None = None,
    labels_dir: str | Path = "datasets/labels",
    jobs: int = 1,
    extractors: Sequence[str] = GATE_EXTRACTORS,
) -> GateSplit:
    """Extract the gate's pages and join the committed labels (and, for ``trafilatura``
    and ``readability``, the labels propagated to them, for which the pages are also
    extracted the two ways that readers read).

    Every paragraph of each labelled document is kept (unlabelled ones as context, with
    an empty label), in (doc_id, position) order.
    """
    extractors = tuple(extractors)
    unknown = set(extractors) - set(PROPAGATED_FROM) - set(PROPAGATED_TO)
    if unknown or not extractors:
        raise GateError(f"a gate's extractors are among {PROPAGATED_FROM + PROPAGATED_TO}, got {list(extractors)}")
    extracted = extractors
    if set(extractors) & set(PROPAGATED_TO):
        extracted = tuple(dict.fromkeys((*extractors, *PROPAGATED_FROM)))
    wanted = set(pages)
    refs: list[PageRef] = [ref for ref in list_pages(corpora_dir) if f"{ref.corpus}/{ref.page_id}" in wanted]
    missing = wanted - {f"{ref.corpus}/{ref.page_id}" for ref in refs}
    if missing:
        raise GateError(f"{len(missing)} gate page(s) are not in the corpora, e.g. {sorted(missing)[:3]}: re-pin the gate.")
    results = Parallel(n_jobs=jobs, batch_size=4)(delayed(_process_page)(ref, extracted) for ref in refs)
    merged = merge_methods(load_labels(labels_dir))
    if extracted != extractors:
        rows = [row for result in results for row in result.rows]
        merged.update(propagated_labels(merged, [tuple(row[:2]) + tuple(row[5:7]) for row in rows], [row[8] for row in rows]))

    records = []
    stale = []
    for result in results:
        for corpus, page_id, domain, language, page_type, extractor, position, text, hash_, *_ in result.rows:
            if extractor not in extractors:
                continue
            found = merged.get((corpus, page_id, extractor, position))
            label = None
            if found is not None:
                if found[0]["text_hash"] != hash_:
                    stale.append(f"{found[1]}: {(corpus, page_id, extractor, position)}")
                label = found[0]["label"]
            records.append(
                {
                    "doc_id": doc_id(corpus, page_id, extractor),
                    "position": position,
                    "text": text,
                    "label": label,
                    "corpus": corpus,
                    "domain": domain,
                    "language": language,
                    "extractor": extractor,
                    "page_type": page_type,
                }
            )
    if stale:
        raise GateError(f"{len(stale)} label row(s) no longer match their paragraph text, e.g. {stale[:3]}")
    table = pd.DataFrame.from_records(records)
    labelled_docs = set(table.loc[table["label"].notna(), "doc_id"])
    table = table[table["doc_id"].isin(labelled_docs)].sort_values(["doc_id", "position"]).reset_index(drop=True)
    return GateSplit(table=table, pages=tuple(sorted(wanted)), hash=split_hash(table), extractors=extractors)


def measure(split: GateSplit, model=None) -> dict[str, float]:
    """The gated figures of ``model`` (default: the shipped one) on the split."""
    from classifier.api import load_model
    from classifier.evaluation import evaluate

    # Pinned with the site repeats of the split's pages, as a corpus run reads them.
    summary = evaluate(model if model is not None else load_model(), split.table, site_repeats=True).summary()
    return {name: summary[name] for name in GATED_FIGURES}


def check(gate: dict, split_hash_now: str, figures: dict[str, float], *, repin: str = "newsclean data gate --pin") -> list[str]:
    """Every way the measured state fails the pinned gate (empty: passes); ``repin``
    is the command that re-pins this gate."""
    problems = []
    if gate["split"]["hash"] != split_hash_now:
        what = "labels" if gate["split"].get("file") else "labels, corpora or extractor output"
        problems.append(f"the evaluation split changed ({what}): check the new figures and re-pin on purpose with `{repin}`")
    for name, floor in gate["floors"].items():
        if figures[name] < floor:
            problems.append(f"{name} {figures[name]:.4f} is below its floor {floor:.4f}")
    return problems


def pinned(path: str | Path) -> dict:
    if Path(path).is_dir():
        raise GateError(f"{path} is a folder: give the gate's JSON file with --file")
    try:
        gate = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise GateError(f"{path} cannot be read as a gate file ({error}): give a gate pinned with --pin") from None
    if not isinstance(gate, dict) or not isinstance(gate.get("split", {}), dict):
        raise GateError(f"{path} is not a gate file: give a gate pinned with --pin")
    if gate.get("format") != GATE_FORMAT:
        raise GateError(f"{path}: gate format {gate.get('format')!r}, this release reads {GATE_FORMAT}")
    split = gate.get("split", {})
    if "floors" not in gate or "hash" not in split or not (split.get("file") or "pages" in split):
        raise GateError(
            f"{path}: not a complete gate file (no floors, or a split without a hash, a file or pages): "
            "remove it and pin a new one with --pin"
        )
    return gate


def pin(
    path: str | Path,
    split: GateSplit,
    figures: dict[str, float],
    *,
    model_checksum: str,
    allow_lower: bool = False,
) -> dict:
    """Write the gate file: split, figures and floors. Refuses to lower an existing floor."""
    floors = {name: round(figures[name] - margin, 4) for name, margin in GATED_FIGURES.items()}
    target = Path(path)
    if target.exists() and not allow_lower:
        old = pinned(target)["floors"]
        lowered = {name: (old[name], floors[name]) for name in floors if name in old and floors[name] < old[name]}
        if lowered:
            raise GateError(
                "pinning would lower floor(s) "
                + ", ".join(f"{name} {before:.4f} -> {after:.4f}" for name, (before, after) in lowered.items())
                + "; pass allow_lower (--allow-lower) to do it on purpose"
            )
    counts = {"rows": len(split.table), "labelled_rows": int(split.table["label"].notna().sum()), "hash": split.hash}
    recorded = None if split.file is None else Path(os.path.relpath(split.file, target.resolve().parent)).as_posix()
    gate = {
        "format": GATE_FORMAT,
        "split": {"file": recorded, **counts}
        if recorded is not None
        else {"extractors": list(split.extractors), **counts, "pages": list(split.pages)},
        "model_checksum": model_checksum,
        "figures": figures,
        "floors": floors,
    }
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(gate, indent=1) + "\n", encoding="utf-8")
    tmp.replace(target)
    return gate

"""Corpus build: determinism, aligned-label export/join, and refusal of bad labels.

These tests read the real benchmark corpora (../shared/corpora or NEWSCLEAN_CORPORA)
and build only the first 3 pages of each corpus, so they stay fast.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from classifier.corpus.sources import CORPORA, default_corpora_dir
from classifier.errors import InputError

CORPORA_DIR = default_corpora_dir()
if not all((CORPORA_DIR / name).is_dir() for name in CORPORA):
    pytest.skip(
        f"no benchmark corpora in {CORPORA_DIR}: these tests need them (set NEWSCLEAN_CORPORA)",
        allow_module_level=True,
    )

from classifier.corpus.build import (  # noqa: E402 - only importable work after the skip
    LabelConflictError,
    LabelJoinError,
    StaleLabelError,
    build_corpus,
    export_aligned_labels,
    join_labels,
    table_hash,
)
from classifier.corpus.extract import EXTRACTOR_NAMES  # noqa: E402
from classifier.corpus.review import ingest_review, make_review_batches  # noqa: E402

LIMIT = 3


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("corpus")
    stats = build_corpus(CORPORA_DIR, out, jobs=1, limit=LIMIT)
    return stats


def _read_jsonl_gz(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_build_is_deterministic(built, tmp_path: Path) -> None:
    # A second build, in parallel this time, must give the same table and the same bytes.
    again = build_corpus(CORPORA_DIR, tmp_path, jobs=2, limit=LIMIT)
    assert again.table_hash == built.table_hash
    assert again.paragraphs_path.read_bytes() == built.paragraphs_path.read_bytes()
    assert table_hash(pq.read_table(again.paragraphs_path)) == built.table_hash


def test_build_covers_every_corpus_and_extractor(built) -> None:
    table = pq.read_table(built.paragraphs_path)
    assert built.pages == dict.fromkeys(CORPORA, LIMIT)
    seen = set(zip(table["corpus"].to_pylist(), table["extractor"].to_pylist(), strict=True))
    assert seen == {(c, e) for c in CORPORA for e in EXTRACTOR_NAMES}
    rows = table.to_pylist()
    # Sorted by (corpus, page_id, extractor, position) and positions 0..n-1 per doc.
    keys = [(r["corpus"], r["page_id"], r["extractor"], r["position"]) for r in rows]
    assert keys == sorted(keys)
    assert all(r["text"] == " ".join(r["text"].split()) and r["text"] for r in rows)
    assert {r["align_decision"] for r in rows} <= {"reporting", "non_reporting", "uncertain"}
    assert built.extraction_failures == []


def test_aligned_labels_export_and_join(built, tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    exported = export_aligned_labels(built.paragraphs_path, labels / "aligned.jsonl.gz")
    rows = _read_jsonl_gz(labels / "aligned.jsonl.gz")
    assert exported == len(rows) > 0
    # Committed label rows carry keys, hashes and labels, never the text.
    assert all(set(r) == {"corpus", "page_id", "extractor", "position", "text_hash", "label", "method"} for r in rows)
    assert {r["label"] for r in rows} == {"reporting"} and {r["method"] for r in rows} == {"aligned"}

    stats = join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")
    labelled = pq.read_table(stats.labelled_path)
    assert stats.rows == labelled.num_rows == len(rows)
    assert labelled.column_names == [
        "doc_id",
        "position",
        "text",
        "label",
        "method",
        "corpus",
        "page_id",
        "domain",
        "language",
        "page_type",
        "extractor",
    ]
    first = labelled.slice(0, 1).to_pylist()[0]
    assert first["doc_id"] == f"{first['corpus']}:{first['page_id']}:{first['extractor']}"


def test_changed_text_hash_is_refused(built, tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    export_aligned_labels(built.paragraphs_path, labels / "aligned.jsonl.gz")
    row = dict(_read_jsonl_gz(labels / "aligned.jsonl.gz")[0], method="reviewed", label="ui_residue")
    row["text_hash"] = "0" * 16
    _write_jsonl(labels / "reviewed.jsonl", [row])
    with pytest.raises(StaleLabelError, match="text_hash"):
        join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")


def test_unknown_key_is_refused(built, tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    row = {
        "corpus": "wcxb-dev",
        "page_id": "no-such-page",
        "extractor": "fulltext",
        "position": 0,
        "text_hash": "0" * 16,
        "label": "ui_residue",
        "method": "reviewed",
    }
    _write_jsonl(labels / "reviewed.jsonl", [row])
    with pytest.raises(StaleLabelError, match="not in the build"):
        join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")


def test_conflicting_duplicate_labels_are_refused(built, tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    export_aligned_labels(built.paragraphs_path, labels / "aligned.jsonl.gz")
    row = dict(_read_jsonl_gz(labels / "aligned.jsonl.gz")[0], method="reviewed")
    _write_jsonl(labels / "reviewed_a.jsonl", [dict(row, label="ui_residue")])
    _write_jsonl(labels / "reviewed_b.jsonl", [dict(row, label="donation_appeal")])
    with pytest.raises(LabelConflictError, match="differ in label or in the text"):
        join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")
    # One label for two texts: named as what it is, not as two labels.
    _write_jsonl(labels / "reviewed_b.jsonl", [dict(row, label="ui_residue", text_hash="0" * 16)])
    with pytest.raises(LabelConflictError, match="'ui_residue' both, for different texts"):
        join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")
    # The same label twice is a harmless duplicate, and a reviewed row overrides aligned.
    _write_jsonl(labels / "reviewed_b.jsonl", [dict(row, label="ui_residue")])
    stats = join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")
    assert stats.by_method.get("reviewed") == 1
    assert stats.by_label.get("ui_residue") == 1


def test_review_batches_round_trip(built, tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    export_aligned_labels(built.paragraphs_path, labels / "aligned.jsonl.gz")
    review = tmp_path / "review"
    stats = make_review_batches(built.paragraphs_path, labels, review, batch_size=50)
    assert stats.items > 0 and stats.batches == len(stats.batch_files) >= 1
    keys = [json.loads(line) for line in (review / "batch_001.keys.jsonl").read_text().splitlines()]
    md = (review / "batch_001.md").read_text()
    assert all(f"**[{k['id']}]**" in md for k in keys)

    answers = tmp_path / "answers.tsv"
    answers.write_text("".join(f"{k['id']}\tui_residue\n" for k in keys[:5]))
    ingested = ingest_review(review / "batch_001.keys.jsonl", answers, labels / "reviewed.jsonl")
    assert ingested.answered == ingested.written == min(5, len(keys))
    joined = join_labels(built.paragraphs_path, labels, tmp_path / "labelled.parquet")
    assert joined.by_method["reviewed"] == ingested.written
    # Reviewed paragraphs are not offered again; the next round goes to a folder of its
    # own, since its ids would name other paragraphs than the first round's.
    with pytest.raises(InputError, match="already holds review batches"):
        make_review_batches(built.paragraphs_path, labels, review, batch_size=50)
    again = make_review_batches(built.paragraphs_path, labels, tmp_path / "review2", batch_size=50)
    assert again.items == stats.items - ingested.written
    with pytest.raises(InputError, match="no such label folder"):
        make_review_batches(built.paragraphs_path, tmp_path / "nosuch", tmp_path / "review3", batch_size=50)
    with pytest.raises(LabelJoinError, match="no such folder"):
        join_labels(built.paragraphs_path, tmp_path / "nosuch", tmp_path / "labelled.parquet")


def test_propagated_labels_judge_the_model_but_do_not_train_it(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier.corpus import build
    from classifier.corpus.build import PROPAGATED, is_heldout_domain

    labels = tmp_path / "labels"
    export_aligned_labels(built.paragraphs_path, labels / "aligned.jsonl.gz")
    rows = pq.read_table(built.paragraphs_path).to_pylist()
    in_precision = {(r["corpus"], r["page_id"], r["text_hash"]) for r in rows if r["extractor"] == "trafilatura"}
    read = [
        r
        for r in rows
        if r["extractor"] == "trafilatura_recall"
        and r["align_decision"] != "reporting"
        and (r["corpus"], r["page_id"], r["text_hash"]) in in_precision
    ]
    # One page of a held-out site and one of a trained one, where both exist.
    chosen = {is_heldout_domain(r["domain"]): r for r in read}
    fields = ("corpus", "page_id", "extractor", "position", "text_hash")
    reviewed = [{f: r[f] for f in fields} | {"label": "ui_residue", "method": "reviewed"} for r in chosen.values()]
    _write_jsonl(labels / "reviewed.jsonl", reviewed)
    stats = join_labels(built.paragraphs_path, labels, tmp_path / "with" / "labelled.parquet")
    labelled = pq.read_table(stats.labelled_path).to_pylist()
    carried = {(r["corpus"], r["page_id"]) for r in labelled if r["method"] == PROPAGATED}
    assert carried == {(r["corpus"], r["page_id"]) for r in chosen.values()}

    # Without propagation, training.parquet and train.parquet come out the same.
    monkeypatch.setattr(build, "propagated_labels", lambda *arguments: {})
    join_labels(built.paragraphs_path, labels, tmp_path / "without" / "labelled.parquet")
    for name in ("training.parquet", "train.parquet"):
        assert pq.read_table(tmp_path / "with" / name).equals(pq.read_table(tmp_path / "without" / name)), name
    # The held-out part holds every labelled precision extraction of a held-out site.
    heldout = pq.read_table(tmp_path / "with" / "heldout.parquet").to_pylist()
    precision = {r["doc_id"] for r in labelled if r["extractor"] in ("trafilatura", "readability")}
    expected = {r["doc_id"] for r in labelled if r["doc_id"] in precision and is_heldout_domain(r["domain"])}
    assert {r["doc_id"] for r in heldout if r["doc_id"] in precision} == expected
    assert any(r["method"] == PROPAGATED for r in heldout) == (True in chosen)
    assert all(is_heldout_domain(r["domain"]) for r in heldout)

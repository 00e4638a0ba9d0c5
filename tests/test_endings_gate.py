"""The endings gate: does the shipped model keep a story's last, short sentence when an
appeal block or page furniture follows it?

In real pages the short line just before an appeal is nearly always the block's own
heading, so a model learns "short line, then an appeal: appeal", and a story that
ends "The hearing resumes on Thursday." loses that sentence. ``story_endings.jsonl``
(48 documents in eight languages, written to test and never to train on, by a writer
who saw no training example on the theme) ends each story with such a line: before a
drive, a paywall, a newsletter box or residue, after a box in the middle of the story,
and in stories *about* fundraising with nothing after them. Its figures are pinned in
``endings_gate.json`` with the file's hash; no corpora needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from classifier.corpus import gate
from tests.conftest import AUTHORED, file_gate_problems

ENDINGS_GATE = Path(__file__).with_name("endings_gate.json")


def test_shipped_model_holds_the_endings_gate() -> None:
    assert file_gate_problems(ENDINGS_GATE) == []


def test_endings_set_holds_what_it_tests() -> None:
    rows = [
        json.loads(line) for line in gate.split_file_of(ENDINGS_GATE, gate.pinned(ENDINGS_GATE)).read_text("utf-8").splitlines()
    ]
    by_document: dict[str, list[dict]] = {}
    for row in rows:
        by_document.setdefault(row["doc_id"], []).append(row)
    followed = 0
    for document in by_document.values():
        labels = [row["label"] for row in document]
        last = max(index for index, label in enumerate(labels) if label == "reporting")
        assert len(document[last]["text"].split()) <= 12, document[last]["text"]
        followed += last < len(labels) - 1
    assert len(by_document) == 48 and followed == 32  # 16 end the page: 8 after a box, 8 about fundraising


def test_endings_set_is_not_training_data() -> None:
    endings = gate.split_file_of(ENDINGS_GATE, gate.pinned(ENDINGS_GATE))
    assert endings.resolve() not in {path.resolve() for path in AUTHORED}
    candidates = sorted((ENDINGS_GATE.parents[1] / "datasets" / "candidates").glob("*.jsonl"))
    trained = {json.loads(line)["text"] for path in [*AUTHORED, *candidates] for line in path.read_text("utf-8").splitlines()}
    tested = [json.loads(line) for line in endings.read_text(encoding="utf-8").splitlines()]
    # A paywall's formula ("This content is for subscribers only.") recurs across
    # sites, as in real pages; no sentence of a story may.
    sentences = [row["text"] for row in tested if row["label"] == "reporting" and len(row["text"]) > 40]
    assert sentences and not [text for text in sentences if text in trained]

"""Measured label quality: a second, blind reading of a random sample of reviewed
paragraphs, and Cohen's kappa between the two readings."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from classifier.labels import LABELS

from .build import load_labels
from .review import ALIASES, _window_lines


def make_agreement_sample(
    paragraphs_parquet: str | Path, labels_dir: str | Path, out_dir: str | Path, *, size: int = 300, seed: int = 0
) -> Path:
    """A blind batch: ``size`` reviewed paragraphs drawn at random, shown with neighbours, no labels."""
    reviewed = load_labels(labels_dir)["reviewed"]
    keys = sorted(reviewed)
    rng = np.random.default_rng(seed)
    chosen = sorted(keys[i] for i in rng.choice(len(keys), size=min(size, len(keys)), replace=False))
    table = pq.read_table(paragraphs_parquet).to_pylist()
    docs: dict[tuple[str, str, str], list[dict]] = {}
    for row in table:
        docs.setdefault((row["corpus"], row["page_id"], row["extractor"]), []).append(row)
    by_doc: dict[tuple[str, str, str], dict[int, str]] = {}
    key_rows = []
    for number, key in enumerate(chosen, start=1):
        short_id = f"k{number:03d}"
        by_doc.setdefault(key[:3], {})[key[3]] = short_id
        key_rows.append({"id": short_id, "corpus": key[0], "page_id": key[1], "extractor": key[2], "position": key[3]})
    lines = [
        f"# Agreement sample: {len(chosen)} paragraphs",
        "",
        "Label every **[id]** line with reporting, donation_appeal or ui_residue by ../shared/LABELLING.md;",
        "`ctx` lines are neighbours for context only. Answers: `<id><TAB><label>` lines.",
        "",
    ]
    for doc, ids in sorted(by_doc.items()):
        rows = docs[doc]
        first = rows[0]
        lines.append(f"## {doc[0]} · {doc[1]} · {first['domain']} · {first['page_type']} · {first['language']} · {doc[2]}")
        lines.append("")
        lines.extend(_window_lines(rows, ids, decisions=False))
        lines.append("")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "agreement.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(out / "agreement.keys.jsonl", "w", encoding="utf-8") as handle:
        for row in key_rows:
            handle.write(json.dumps(row) + "\n")
    return out / "agreement.md"


def cohen_kappa(first: list[str], second: list[str]) -> float:
    """Cohen's kappa of two readings of the same items."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    first_counts, second_counts = Counter(first), Counter(second)
    expected = sum(first_counts[label] * second_counts[label] for label in LABELS) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


@dataclass(frozen=True)
class Agreement:
    items: int
    observed: float
    kappa: float
    confusion: dict[str, dict[str, int]]
    disagreements: list[dict]


def measure_agreement(keys_file: str | Path, answers_file: str | Path, labels_dir: str | Path) -> Agreement:
    """Compare the blind answers with the committed reviewed labels."""
    keys = {row["id"]: row for row in map(json.loads, Path(keys_file).read_text(encoding="utf-8").splitlines())}
    reviewed = load_labels(labels_dir)["reviewed"]
    first: list[str] = []
    second: list[str] = []
    disagreements = []
    confusion = {a: dict.fromkeys(LABELS, 0) for a in LABELS}
    for line in Path(answers_file).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        short_id, raw = line.split(None, 1)
        row = keys[short_id.strip("[]")]
        key = (row["corpus"], row["page_id"], row["extractor"], int(row["position"]))
        a = reviewed[key][0]["label"]
        b = ALIASES[raw.strip().lower()]
        first.append(a)
        second.append(b)
        confusion[a][b] += 1
        if a != b:
            disagreements.append({"id": row["id"], "key": list(key), "first": a, "second": b})
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / len(first)
    return Agreement(len(first), observed, cohen_kappa(first, second), confusion, disagreements)

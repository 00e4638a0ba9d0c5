"""The dataset card's figures, computed from the joined labels and the authored files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from classifier.labels import LABELS


def _table(frame: pd.DataFrame, rows: str) -> str:
    counts = frame.pivot_table(index=rows, columns="label", values="text", aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=list(LABELS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.sort_values("total", ascending=False)
    columns = [*LABELS, "total"]
    header = f"| {rows} | {' | '.join(columns)} |\n|---|{'---:|' * len(columns)}\n"
    body = "".join(f"| {name} | {' | '.join(f'{row[column]:,}' for column in columns)} |\n" for name, row in counts.iterrows())
    return header + body


def dataset_card(labelled_parquet: str | Path, authored_files: list[Path]) -> str:
    """Markdown tables: labels by corpus, extractor, language, page type and method."""
    from classifier.data import read_labelled

    real = pd.read_parquet(labelled_parquet)
    # Read as training reads them: the labels it learns from, and only those.
    authored = read_labelled(authored_files) if authored_files else pd.DataFrame({"text": [], "label": [], "language": []})
    authored = authored[authored["label"].notna()].copy()
    authored["method"] = "authored"
    parts = [
        f"Labelled paragraphs: {len(real) + len(authored):,} "
        f"({len(real):,} real, of which {int((real.method == 'reviewed').sum()):,} reviewed and "
        f"{int((real.method == 'propagated').sum()):,} propagated; {len(authored):,} authored).",
        "",
        "### By method\n",
        _table(pd.concat([real, authored], ignore_index=True), "method"),
        "### Real paragraphs by corpus\n",
        _table(real, "corpus"),
        "### Real paragraphs by extractor\n",
        _table(real, "extractor"),
        "### Real paragraphs by page type\n",
        _table(real, "page_type"),
        "### Reviewed paragraphs by language (top 15)\n",
        "\n".join(_table(real[real.method == "reviewed"], "language").splitlines()[:17]) + "\n",
        "### Authored paragraphs by language\n",
        _table(authored, "language"),
    ]
    return "\n".join(parts)

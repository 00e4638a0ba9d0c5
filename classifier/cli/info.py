"""``newsclean info``: what a model is, what it was trained on, how well it did."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from classifier.cli._common import ModelOption, handle_errors, load
from classifier.labels import LABELS


@handle_errors
def info_command(
    model: Path | None = ModelOption,
    as_json: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
) -> None:
    """Show a model's manifest: labels, training data, configuration and figures.

    Example: newsclean info
    """
    from classifier.api import default_model_path

    loaded = load(model)
    manifest = loaded.manifest
    if as_json:
        typer.echo(json.dumps(manifest, indent=2, ensure_ascii=False))
        return
    data = manifest.get("training_data", {})
    typer.echo(f"model: {model or default_model_path()}")
    typer.echo(f"format version: {manifest.get('format_version')}, trained with newsclean {manifest.get('newsclean_version')}")
    typer.echo(f"labels: {', '.join(loaded.labels)}")
    typer.echo(f"vocabulary: {len(loaded.vocabulary)} tokens; default min_confidence {loaded.default_min_confidence:.6g}")
    labelled = ""
    if data.get("labelled_rows") is not None:
        labelled = f", {_count(data['labelled_rows'])} of them labelled"
        if isinstance(data.get("label_counts"), dict):
            labelled += f" ({_counts(data['label_counts'])})"
    typer.echo(f"training data: {_count(data.get('rows'))} paragraphs in {_count(data.get('documents'))} documents{labelled}")
    for name, figures in manifest.get("metrics", {}).items():
        typer.echo(f"{name}: " + ", ".join(f"{key} {value}" for key, value in figures.items()))
    adapted = manifest.get("adapted")
    if isinstance(adapted, dict):
        labels = adapted.get("training_data", {})
        typer.echo(
            f"adapted to {_count(labels.get('labelled_rows'))} labelled paragraphs in {_count(labels.get('documents'))} "
            f"documents ({_counts(labels.get('label_counts'))}), strength {adapted.get('strength')} "
            f"({adapted.get('chosen_by')}); the figures above are the base model's"
        )
        earlier = adapted.get("earlier")
        while isinstance(earlier, dict):
            data = earlier.get("training_data", {})
            rows, strength = data.get("labelled_rows"), earlier.get("strength")
            typer.echo(f"  adapted before that to {_count(rows)} labelled paragraphs, strength {strength}")
            earlier = earlier.get("earlier")
        for name, figures in adapted.get("cross_validated", {}).items():
            typer.echo(f"  {name} on those labels, out of fold: " + ", ".join(f"{key} {value}" for key, value in figures.items()))


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _counts(counts: object) -> str:
    """``{"reporting": 3, ...}`` as "reporting 3, ...", in the labels' order where it can."""
    if not isinstance(counts, dict):
        return str(counts)
    order = {label: index for index, label in enumerate(LABELS)}
    ordered = sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))
    return ", ".join(f"{label} {_count(count)}" for label, count in ordered)

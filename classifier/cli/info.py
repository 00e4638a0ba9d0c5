"""``newsclean info``: what a model is, what it was trained on, how well it did."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from classifier.cli._common import ModelOption, handle_errors, load


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
    typer.echo(f"training data: {data.get('rows')} paragraphs in {data.get('documents')} documents, {data.get('label_counts')}")
    for name, figures in manifest.get("metrics", {}).items():
        typer.echo(f"{name}: " + ", ".join(f"{key} {value}" for key, value in figures.items()))
    adapted = manifest.get("adapted")
    if isinstance(adapted, dict):
        labels = adapted.get("training_data", {})
        typer.echo(
            f"adapted to {labels.get('labelled_rows')} labelled paragraphs in {labels.get('documents')} documents "
            f"{labels.get('label_counts')}, strength {adapted.get('strength')} ({adapted.get('chosen_by')}); "
            "the figures above are the base model's"
        )
        earlier = adapted.get("earlier")
        while isinstance(earlier, dict):
            data = earlier.get("training_data", {})
            rows, strength = data.get("labelled_rows"), earlier.get("strength")
            typer.echo(f"  adapted before that to {rows} labelled paragraphs, strength {strength}")
            earlier = earlier.get("earlier")
        for name, figures in adapted.get("cross_validated", {}).items():
            typer.echo(f"  {name} on those labels, out of fold: " + ", ".join(f"{key} {value}" for key, value in figures.items()))

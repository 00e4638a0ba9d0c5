"""``newsclean train``: fit a model on labelled paragraphs and save it."""

from __future__ import annotations

from pathlib import Path

import typer

from classifier.cli._common import handle_errors
from classifier.errors import InputError


@handle_errors
def train_command(
    data: list[Path] = typer.Argument(..., help="Labelled CSV, JSONL or Parquet files (doc_id, position, text, label)."),
    output: Path = typer.Option(..., "--output", "-o", help="Model folder to write."),
    folds: int = typer.Option(5, "--folds", min=2, help="Folds (grouped by site) for stacking and calibration."),
    hidden: int = typer.Option(48, "--hidden", min=0, help="Hidden units of the second stage; 0 for a linear one."),
    groups_column: str = typer.Option("domain", "--groups", help="Column whose values are kept within one fold."),
    seed: int = typer.Option(
        0, "--seed", min=0, max=2**32 - 1, help="Random seed: the same data, options and seed give the same model file."
    ),
) -> None:
    """Train a model and write it to a folder.

    Example: newsclean train datasets/authored/*.jsonl --output models/my-model
    """
    from classifier.cli._common import check_model_folder
    from classifier.data import read_labelled
    from classifier.model import save_model
    from classifier.training import TrainingConfig, smaller_than_shipped, train

    check_model_folder(output)  # before the work, which may take minutes
    frame = read_labelled(data)
    if groups_column not in frame.columns:
        raise InputError(f"no column {groups_column!r} for --groups: name one of {', '.join(map(str, frame.columns))}")
    groups = frame[groups_column].nunique()
    if groups < 2 and frame["doc_id"].nunique() > 1:
        # One site's labels: the folds can still keep each document whole.
        raise InputError(
            f"every row has the same {groups_column} ({frame[groups_column].iloc[0]}), and the folds need two or more "
            "groups: add --groups doc_id to keep each document within one fold"
        )
    if 2 <= groups < folds:
        typer.echo(f"{folds} folds asked for, but there are only {groups} groups: using {groups}", err=True)
        folds = groups
    config = TrainingConfig(folds=folds, hidden_layers=(hidden,) if hidden else (), random_state=seed)
    model, _ = train(frame, config=config, groups_column=groups_column)
    save_model(model, output)
    figures = model.manifest["metrics"]["grouped_out_of_fold"]
    typer.echo(
        f"trained on {len(frame)} paragraphs; grouped out-of-fold macro-F1 {figures['macro_f1']:.3f}, "
        f"reporting kept {figures['reporting_chars_kept']:.2%}; saved to {output}",
        err=True,
    )
    note = smaller_than_shipped(model.manifest)
    if note is not None:
        typer.echo(f"Warning: {note}", err=True)

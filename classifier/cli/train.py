"""``newsclean train``: fit a model on labelled paragraphs and save it."""

from __future__ import annotations

from pathlib import Path

import typer

from classifier.cli._common import handle_errors, model_folder
from classifier.errors import InputError


@handle_errors
def train_command(
    data: list[Path] = typer.Argument(..., help="Labelled CSV, JSONL or Parquet files (doc_id, position, text, label)."),
    output: Path = typer.Option(..., "--output", "-o", help="Model folder to write."),
    folds: int | None = typer.Option(
        None, "--folds", min=2, help="Folds (grouped by --groups) for stacking and calibration [default: 5; --adapt: 3]."
    ),
    hidden: int | None = typer.Option(
        None, "--hidden", min=0, help="Hidden units of the second stage; 0 for a linear one [default: 48]."
    ),
    groups_column: str | None = typer.Option(
        None, "--groups", help="Column whose values are kept within one fold [default: domain; --adapt: doc_id]."
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        min=0,
        max=2**32 - 1,
        help="Random seed: the same data, options and seed give the same model file [default: 0].",
    ),
    adapt: bool = typer.Option(
        False,
        "--adapt",
        help="Adapt a trained model (--base; default the shipped one) to these labels rather than train from them "
        "alone: for a team's own sites, a few hundred labels, no corpora needed.",
    ),
    base: Path | None = typer.Option(
        None, "--base", parser=model_folder, metavar="DIR", help="With --adapt: the model to adapt [default: the shipped one]."
    ),
    strength: float | None = typer.Option(
        None,
        "--strength",
        min=1e-6,
        max=1e6,
        help="With --adapt: how hard the base model's word weights hold (higher: closer to the base) "
        "[default: chosen by cross-validation over your documents].",
    ),
) -> None:
    """Train a model and write it to a folder, or adapt a trained one to your labels.

    Example: newsclean train datasets/authored/*.jsonl --output my-model

    Example: newsclean train my-site-labels.jsonl --adapt --output my-site
    """
    from classifier.cli._common import check_model_folder
    from classifier.data import read_labelled
    from classifier.model import save_model

    if not adapt:
        given = {"--base": base, "--strength": strength}
        if any(value is not None for value in given.values()):
            names = ", ".join(name for name, value in given.items() if value is not None)
            raise InputError(f"{names} applies to --adapt: add --adapt to adapt a trained model to these labels")
    elif hidden is not None or seed is not None:
        raise InputError("--hidden and --seed shape a model trained from scratch: --adapt keeps the base model's passes")
    elif strength is not None and (folds is not None or groups_column is not None):
        raise InputError("--folds and --groups choose the strength by cross-validation: leave them out with --strength")
    check_model_folder(output)  # before the work, which may take minutes
    frame = read_labelled(data)
    groups_column = groups_column or ("doc_id" if adapt else "domain")
    if groups_column not in frame.columns:
        raise InputError(f"no column {groups_column!r} for --groups: name one of {', '.join(map(str, frame.columns))}")
    if adapt:
        _adapt(frame, output, base=base, strength=strength, groups_column=groups_column, folds=folds or 3)
        return
    from classifier.training import TrainingConfig, smaller_than_shipped, train

    folds = folds or 5
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
    hidden = 48 if hidden is None else hidden
    config = TrainingConfig(folds=folds, hidden_layers=(hidden,) if hidden else (), random_state=seed or 0)
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


def _adapt(frame: object, output: Path, *, base: Path | None, strength: float | None, groups_column: str, folds: int) -> None:
    from classifier.adaptation import adapt
    from classifier.api import load_model
    from classifier.model import save_model

    model, found = adapt(load_model(base), frame, strength=strength, groups_column=groups_column, folds=folds)  # type: ignore[arg-type]
    save_model(model, output)
    source = base or "the shipped model"
    labelled = model.manifest["adapted"]["training_data"]["labelled_rows"]
    if found.base is not None and found.adapted is not None:
        before, after = found.base, found.adapted
        typer.echo(
            f"adapted {source} to {labelled:,} labelled paragraphs; strength {found.strength:g}, chosen by "
            f"{found.folds}-fold cross-validation over {groups_column}. On your paragraphs, out of fold: macro-F1 "
            f"{before.macro_f1:.3f} -> {after.macro_f1:.3f}, reporting kept {before.reporting_chars_kept:.2%} -> "
            f"{after.reporting_chars_kept:.2%}, the rest removed {before.non_reporting_chars_removed:.1%} -> "
            f"{after.non_reporting_chars_removed:.1%}; saved to {output}",
            err=True,
        )
        if after.reporting_chars_kept < before.reporting_chars_kept:
            typer.echo(
                "Warning: the adapted model keeps less of your reporting than its base out of fold: keep the base, "
                "or label more pages",
                err=True,
            )
        elif after.macro_f1 < before.macro_f1:
            typer.echo("Warning: the adapted model did worse than its base on your labels out of fold: keep the base", err=True)
    else:
        typer.echo(
            f"adapted {source} to {labelled:,} labelled paragraphs at strength {found.strength:g}; saved to {output}", err=True
        )

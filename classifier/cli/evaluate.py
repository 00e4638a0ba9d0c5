"""``newsclean evaluate``: a model's figures on labelled paragraphs, or honest
cross-validated figures of the training recipe."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import typer

from classifier.cli._common import ModelOption, check_writable, fail, handle_errors, load, write_output
from classifier.files import same_file


@handle_errors
def evaluate_command(
    data: list[Path] = typer.Argument(..., help="Labelled CSV, JSONL or Parquet files (doc_id, position, text, label)."),
    model: Path | None = ModelOption,
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Threshold for clean (default: the model's)."
    ),
    json_output: Path | None = typer.Option(
        None, "--json", help="Also write the full report as JSON here (- prints it, the tables going to stderr)."
    ),
    fail_under: float | None = typer.Option(None, "--fail-under", min=0.0, max=1.0, help="Exit 1 when macro-F1 is below this."),
    cross_validate: bool = typer.Option(
        False, "--cross-validate", help="Train and score fold by fold, folds grouped by --groups (no --model)."
    ),
    cross_corpus: bool = typer.Option(
        False, "--cross-corpus", help="For each corpus: train on the others, score it (no --model)."
    ),
    folds: int | None = typer.Option(None, "--folds", min=2, help="Folds for --cross-validate [default: 5]."),
    groups: str | None = typer.Option(
        None, "--groups", help="With --cross-validate or --cross-corpus: the column kept within one fold [default: domain]."
    ),
    score_authored: bool = typer.Option(
        False, "--score-authored", help="With --cross-validate: also score rows we wrote (corpus 'authored')."
    ),
    site_repeats: bool = typer.Option(
        False,
        "--site-repeats",
        help="Give the model how many pages of each site in these files hold each paragraph, "
        "as clean --site-repeats does over a corpus (default: each page read alone, as plain clean reads it).",
    ),
    encipher: bool = typer.Option(
        False,
        "--encipher",
        help="Score the text with its letters enciphered, one substitution per site: "
        "how the model fares on a language it does not know.",
    ),
) -> None:
    """Per-label precision, recall and F1, the confusion matrix, and what clean keeps.

    Example: newsclean evaluate heldout.jsonl --fail-under 0.9
    """
    from classifier.data import read_labelled

    trains = cross_corpus or cross_validate
    if cross_corpus and cross_validate:
        raise fail("choose one of --cross-validate and --cross-corpus")
    if trains and (model is not None or min_confidence is not None):
        raise fail("--model and --min-confidence score a trained model: --cross-validate and --cross-corpus train their own")
    if score_authored and not cross_validate:
        raise fail("--score-authored applies to --cross-validate: a plain evaluate scores every row it is given")
    if folds is not None and not cross_validate:
        raise fail("--folds applies to --cross-validate")
    if groups is not None and not trains:
        raise fail("--groups applies to --cross-validate and --cross-corpus: a plain evaluate trains nothing")
    folds = folds or 5
    groups = groups or "domain"
    to_stdout = json_output is not None and str(json_output) == "-"
    if json_output is not None and not to_stdout:
        if any(same_file(json_output, path) for path in data):
            raise fail(f"--json {json_output} is one of the labelled files: write the report to another file")
        check_writable(json_output)  # before the work, which may take minutes
    table = read_labelled(data)
    if groups not in table.columns:
        raise fail(f"no column {groups!r} for --groups: name one of {', '.join(map(str, table.columns))}")
    if cross_validate and table[groups].nunique() < 2:
        raise fail(
            f"every row has the same {groups} ({table[groups].iloc[0]}), and the folds need two or more groups: "
            "add --groups doc_id to keep each document within one fold"
        )
    # With --json -, the JSON is the output and the tables go to standard error.
    echo = functools.partial(typer.echo, err=to_stdout)
    if site_repeats:
        echo("pages read with their site's repeats in these files, as clean --site-repeats reads a corpus")
    if encipher:
        if cross_corpus or cross_validate:
            raise fail("--encipher scores a trained model: leave out --cross-validate and --cross-corpus")
        from classifier.data import encipher as encipher_table

        table = encipher_table(table)
    results: dict[str, object] = {}
    if cross_corpus:
        from classifier.validation import cross_corpus as run_cross_corpus

        reports = run_cross_corpus(table, groups_column=groups, site_repeats=site_repeats)
        for corpus, report in reports.items():
            echo(f"== trained without {corpus}, scored on {corpus}")
            echo(report.render() + "\n")
            results[corpus] = report.to_dict()
        macro = min(report.macro_f1 for report in reports.values())
    else:
        if cross_validate:
            from classifier.validation import cross_validate as run_cross_validation

            report = run_cross_validation(
                table, groups_column=groups, folds=folds, score_authored=score_authored, site_repeats=site_repeats
            ).report
            used = min(folds, table[groups].nunique())
            fewer = f" (asked for {folds}; there are only {used} groups)" if used < folds else ""
            echo(f"== {used}-fold cross-validation grouped by {groups}{fewer}")
        else:
            from classifier.evaluation import evaluate

            loaded = load(model)
            if _learnt_from(loaded.manifest, table):
                echo(
                    "warning: the model learnt from these very labels, so its figures here flatter it: "
                    "score it on labelled pages it has not seen"
                )
            report = evaluate(loaded, table, min_confidence=min_confidence, site_repeats=site_repeats)
        echo(report.render())
        results = report.to_dict()
        macro = report.macro_f1
    if to_stdout:
        typer.echo(json.dumps(results, indent=2))
    elif json_output is not None:
        write_output(json.dumps(results, indent=2) + "\n", json_output)
    if fail_under is not None and macro < fail_under:
        raise fail(f"macro-F1 {macro:.4f} is below --fail-under {fail_under}")


def _learnt_from(manifest: dict, table: object) -> bool:
    """Whether ``table`` is the labelled data the model was trained or adapted on."""
    from classifier.data import fingerprint

    adapted = manifest.get("adapted") or {}
    learnt = {(manifest.get("training_data") or {}).get("sha256"), (adapted.get("training_data") or {}).get("sha256")}
    return fingerprint(table)["sha256"] in learnt - {None}

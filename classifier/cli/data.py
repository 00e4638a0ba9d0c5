"""``newsclean data``: build the labelled corpus from the benchmark pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from classifier.cli._common import ModelOption, fail, handle_errors, load

app = typer.Typer(
    help="Build the labelled dataset (extract and align the corpus pages, make review batches, join labels), "
    "write a labelling sheet of your own pages, print the dataset card, check the quality gates.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

BUILD = Path("build/corpus")
LABELS = Path("datasets/labels")


@app.command("build")
@handle_errors
def build_command(
    corpora: Path | None = typer.Option(
        None, "--corpora", help="Corpora folder (default: $NEWSCLEAN_CORPORA or ../shared/corpora)."
    ),
    output: Path = typer.Option(BUILD, "--output", "-o", help="Folder for paragraphs.parquet (git-ignored)."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Pages extracted in parallel."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N pages of each corpus (for a quick look)."),
    labels: Path = typer.Option(LABELS, "--labels", help="Committed label folder to join with the build."),
) -> None:
    """Extract every page with each extractor, align with the ground truth, join the committed labels.

    Example: newsclean data build --jobs 2
    """
    from classifier.corpus import build_corpus, join_labels

    if output.exists() and not output.is_dir():
        raise fail(f"{output} is a file: give a folder for the build (--output)")
    if limit is not None and (output / "paragraphs.parquet").exists():
        # A part of the pages would replace the whole build, and the files joined
        # from it would no longer match.
        raise fail(f"{output} holds a build: give --output a folder of its own for a --limit build")
    stats = build_corpus(corpora, output, jobs=jobs, limit=limit)
    typer.echo(f"built {stats.rows} paragraphs from {sum(stats.pages.values())} pages into {output}", err=True)
    if limit is not None:
        typer.echo("labels not joined: a --limit build holds only some pages (build without it to join)", err=True)
    else:
        joined = join_labels(output / "paragraphs.parquet", labels, output / "labelled.parquet")
        typer.echo(_joined(joined), err=True)


@app.command("join")
@handle_errors
def join_command(
    build: Path = typer.Option(BUILD, "--build", help="Folder holding paragraphs.parquet."),
    labels: Path = typer.Option(LABELS, "--labels", help="Committed label folder."),
) -> None:
    """Join the committed labels with a build: labelled.parquet and training.parquet.

    Example: newsclean data join
    """
    from classifier.corpus import join_labels

    joined = join_labels(build / "paragraphs.parquet", labels, build / "labelled.parquet")
    typer.echo(_joined(joined))


def _joined(joined: object) -> str:
    """The join in words."""
    stats: Any = joined
    labels = ", ".join(f"{count:,} {label}" for label, count in stats.by_label.items())
    methods = ", ".join(f"{count:,} {method}" for method, count in stats.by_method.items())
    return (
        f"joined {stats.rows:,} labelled paragraphs ({labels}; {methods}); {stats.training_documents:,} documents "
        f"({stats.training_rows:,} paragraphs) in {stats.training_path}; {stats.complete_documents:,} documents of the "
        "build have every paragraph labelled"
    )


@app.command("review")
@handle_errors
def review_command(
    build: Path = typer.Option(BUILD, "--build", help="Folder holding paragraphs.parquet."),
    labels: Path = typer.Option(LABELS, "--labels", help="Committed label folder (reviewed paragraphs are left out)."),
    output: Path = typer.Option(Path("build/review"), "--output", "-o", help="Folder for the batches."),
    batch_size: int = typer.Option(400, "--batch-size", min=1, help="Paragraphs per batch."),
) -> None:
    """Write reading batches for the paragraphs that alignment cannot label.

    Example: newsclean data review --batch-size 400
    """
    from classifier.corpus import make_review_batches

    stats = make_review_batches(build / "paragraphs.parquet", labels, output, batch_size=batch_size)
    if not stats.items:
        typer.echo("nothing left to review: every paragraph that needs reading has a reviewed label")
        return
    reasons = ", ".join(f"{count:,} {reason}" for reason, count in sorted(stats.by_reason.items()))
    typer.echo(
        f"{stats.items:,} paragraphs on {stats.pages:,} pages in {stats.batches} batch"
        f"{'' if stats.batches == 1 else 'es'} in {output} ({reasons}); label each batch_NNN.md, then "
        f"newsclean data ingest {output}/batch_NNN.keys.jsonl ANSWERS -o {labels}/reviewed_NNN.jsonl"
    )


@app.command("ingest")
@handle_errors
def ingest_command(
    keys: Path = typer.Argument(..., help="A batch's keys file (batch_NNN.keys.jsonl)."),
    answers: Path = typer.Argument(..., help="Answers: one '<id><TAB><label>' line per id."),
    output: Path = typer.Option(..., "--output", "-o", help="Label file to write or merge into (datasets/labels/...)."),
) -> None:
    """Turn a reader's answers for a batch into committed label rows (no text).

    Example: newsclean data ingest build/review/batch_001.keys.jsonl answers.tsv -o datasets/labels/reviewed_001.jsonl
    """
    from classifier.corpus import ingest_review

    stats = ingest_review(keys, answers, output)
    typer.echo(
        f"{stats.answered:,} answer{'' if stats.answered == 1 else 's'} ingested into {stats.out_file} "
        f"({stats.written:,} rows written, "
        f"{stats.changed:,} changed); {stats.unanswered:,} ids of the batch left unanswered"
    )


@app.command("sheet")
@handle_errors
def sheet_command(
    corpus: Path = typer.Argument(..., help="Your pages: a .jsonl(.gz/.zst), .csv or .parquet file, or a folder of .txt files."),
    output: Path = typer.Option(..., "--output", "-o", help="The sheet to write: .csv (for a spreadsheet), .jsonl or .parquet."),
    documents: int | None = typer.Option(
        None, "--documents", "-n", min=1, help="Draw this many documents at random [default: all]."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed of the draw."),
    text_column: str = typer.Option("text", "--text-column", help="The field or column holding the text."),
    html: bool = typer.Option(
        False,
        "--html",
        help="The text field holds each page's HTML: label the paragraphs trafilatura extracts, as clean --html sees them.",
    ),
    model: Path | None = ModelOption,
) -> None:
    """Write a labelling sheet of your own pages: one paragraph a row, the model's guess beside an empty label.

    Fill the label column (reporting, donation_appeal, ui_residue; a row left empty is
    context), then adapt the model to it: newsclean train sheet.csv --adapt -o my-site

    Example: newsclean data sheet my-pages.jsonl --documents 30 -o sheet.csv
    """
    import io

    from classifier.files import check_writable, same_file, write_file
    from classifier.sheet import labelling_sheet

    suffix = "".join(output.suffixes[-1:]).lower()
    if suffix not in (".csv", ".jsonl", ".parquet"):
        raise fail(f"{output}: name the sheet .csv, .jsonl or .parquet")
    if same_file(output, corpus):
        raise fail(f"the sheet {output} is the corpus: write it to another file")
    if output.exists():
        # A sheet already made may hold hours of labels.
        raise fail(f"{output} exists (it may hold labels already): remove it or name another sheet")
    check_writable(output)
    sheet = labelling_sheet(corpus, model=load(model), text_column=text_column, documents=documents, seed=seed, html=html)
    if suffix == ".csv":
        # With a byte-order mark: spreadsheets then read the file as UTF-8 (accents
        # and other scripts intact); newsclean reads it either way.
        from classifier.data import guard_formulas

        data: str | bytes = "\ufeff" + sheet.assign(text=guard_formulas(sheet["text"])).to_csv(index=False)
    elif suffix == ".jsonl":
        data = sheet.to_json(orient="records", lines=True, force_ascii=False)
    else:
        buffer = io.BytesIO()
        sheet.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    write_file(data, output)
    typer.echo(
        f"{_many(len(sheet), 'paragraph')} of {_many(sheet['doc_id'].nunique(), 'document')} in {output}"
        + (_without_text(sheet.attrs["documents_without_text"]) if sheet.attrs.get("documents_without_text") else "")
        + ": fill the label column "
        f"(an empty label is context), then: newsclean train {output} --adapt -o my-site",
        err=True,
    )


@app.command("card")
@handle_errors
def card_command(
    build: Path = typer.Option(BUILD, "--build", help="Folder holding labelled.parquet (run 'newsclean data join' first)."),
    authored: Path = typer.Option(Path("datasets/authored"), "--authored", help="Folder of authored JSONL files."),
) -> None:
    """Print the dataset card's count tables as Markdown.

    Example: newsclean data card
    """
    from classifier.corpus.card import dataset_card

    labelled = build / "labelled.parquet"
    if not labelled.is_file():
        raise fail(f"{labelled}: no such file; run 'newsclean data join' (or 'data build') first")
    if not authored.is_dir():
        raise fail(f"{authored}: no such folder of authored JSONL files (give it with --authored)")
    typer.echo(dataset_card(labelled, sorted(authored.glob("*.jsonl"))))


@app.command("gate")
@handle_errors
def gate_command(
    gate_file: Path = typer.Option(Path("tests/quality_gate.json"), "--file", help="The pinned gate (JSON)."),
    corpora: Path | None = typer.Option(
        None, "--corpora", help="Corpora folder (default: $NEWSCLEAN_CORPORA or ../shared/corpora)."
    ),
    labels: Path = typer.Option(LABELS, "--labels", help="Committed label folder."),
    model: Path | None = ModelOption,
    pin: bool = typer.Option(False, "--pin", help="Measure and write the gate file (split hash, figures, floors)."),
    allow_lower: bool = typer.Option(False, "--allow-lower", help="With --pin: allow floors to go down."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Pages extracted in parallel."),
    split_file: Path | None = typer.Option(
        None,
        "--split-file",
        help="Gate on this labelled file instead of the held-out pages (no corpora needed); "
        "a gate file that holds one uses it by default.",
    ),
    extractors: str | None = typer.Option(
        None,
        "--extractors",
        help="With --pin on a new gate file: the pages' extractions to hold, comma-separated "
        "[default: trafilatura_recall,fulltext; a pinned gate keeps its own].",
    ),
) -> None:
    """Check the model against the pinned quality floors on the fixed held-out split, or re-pin them.

    Example: newsclean data gate            (exit 1 when a figure is under its floor)

    Example: newsclean data gate --file tests/genre_gate.json

    Example: newsclean data gate --file tests/precision_gate.json
    """
    from classifier.corpus import gate

    pinned = gate.pinned(gate_file) if gate_file.exists() else None
    if pinned is None and not pin:
        raise fail(f"{gate_file}: no such gate file; measure and write one with --pin")
    pinned_file = None if pinned is None else gate.split_file_of(gate_file, pinned)
    if split_file is not None and pinned is not None and pinned_file is None:
        raise fail(
            f"{gate_file} is a gate on the held-out corpus pages, not on a file: give another --file for a gate on this file"
        )
    split_file = split_file or pinned_file
    if split_file is not None and extractors is not None:
        raise fail("--extractors chooses the corpus pages' extractions: a gate on a file (--split-file) holds its own rows")
    if split_file is not None:
        split = gate.file_split(split_file)
        source = str(split_file)
    else:
        pages = pinned["split"]["pages"] if pinned is not None else gate.heldout_pages(corpora)
        if pinned is not None:
            if extractors is not None:
                held = ", ".join(pinned["split"]["extractors"])
                raise fail(f"{gate_file} holds its own extractors ({held}): drop --extractors")
            chosen = tuple(pinned["split"]["extractors"])
        else:
            chosen = tuple(name.strip() for name in extractors.split(",")) if extractors else gate.GATE_EXTRACTORS
        split = gate.build_split(pages, corpora_dir=corpora, labels_dir=labels, jobs=jobs, extractors=chosen)
        source = f"{len(pages)} pages"
    loaded = load(model)
    figures = gate.measure(split, loaded)
    typer.echo(f"{len(split.table)} paragraphs ({int(split.table['label'].notna().sum())} labelled) from {source}")
    for name, value in figures.items():
        typer.echo(f"  {name:<28}{value:.4f}")
    if pin:
        gate.pin(gate_file, split, figures, model_checksum=loaded.manifest["checksum"], allow_lower=allow_lower)
        typer.echo(f"pinned {gate_file}")
        return
    problems = gate.check(pinned, split.hash, figures, repin=f"newsclean data gate --file {gate_file} --pin")
    if problems:
        raise fail("quality gate failed:\n  " + "\n  ".join(problems))
    typer.echo("quality gate passed")


def _many(count: int, noun: str) -> str:
    """The count and the noun, plural unless the count is one."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _without_text(count: int) -> str:
    return f" ({_many(count, 'drawn document')} had no text and {'is' if count == 1 else 'are'} not in it)"

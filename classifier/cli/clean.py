"""``newsclean clean``: the text without the paragraphs that are not reporting."""

from __future__ import annotations

from pathlib import Path

import typer

from classifier.cli._common import ModelOption, handle_errors, load, read_text, write_output
from classifier.labels import LABELS, REPORTING


@handle_errors
def clean_command(
    source: str = typer.Argument("-", help="Text file of one article, one paragraph a line; - reads stdin."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    keep: list[str] = typer.Option([REPORTING], "--keep", "-k", help=f"Labels to keep ({', '.join(LABELS)})."),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Drop only at this confidence or more (default: the model's)."
    ),
    model: Path | None = ModelOption,
) -> None:
    """Print the article without donation appeals and interface residue.

    A paragraph goes only when the model is confident that it is not a kept label;
    the rest comes back unchanged and in order.

    Example: newsclean clean seeds/000_5fc31cc41396119c.txt
    """
    from classifier.api import clean

    text = read_text(source)
    write_output(clean(text, keep=tuple(keep), min_confidence=min_confidence, model=load(model)), output)

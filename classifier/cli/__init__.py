"""The ``newsclean`` command: one module per command, each a thin wrapper over the API."""

from __future__ import annotations

import typer

from classifier import __version__
from classifier.cli.classify import classify_command
from classifier.cli.clean import clean_command
from classifier.cli.data import app as data_app
from classifier.cli.evaluate import evaluate_command
from classifier.cli.info import info_command
from classifier.cli.train import train_command

app = typer.Typer(
    name="newsclean",
    help="Label the paragraphs of scraped news (reporting, donation_appeal, ui_residue) and clean out what is not reporting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"newsclean {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """newsclean: clean scraped news of appeals and interface residue."""


app.command("clean")(clean_command)
app.command("classify")(classify_command)
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("info")(info_command)
app.add_typer(data_app, name="data")


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """Warnings at the command line as one line, like errors, without Python's source line."""
    typer.echo(f"Warning: {message}", err=True)


def main() -> None:
    import warnings

    warnings.showwarning = _one_line_warning
    try:
        app(prog_name="newsclean")
    except OSError as error:
        # Help or the version printed into a full disk or a closed pipe: the commands
        # handle their own output; this is what is left.
        import sys

        print(f"Error: cannot write the output: {error.strerror or error}", file=sys.stderr)
        raise SystemExit(1) from None

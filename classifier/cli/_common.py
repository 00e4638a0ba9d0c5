"""What every command shares: reading input, writing output, turning errors into messages."""

from __future__ import annotations

import csv
import functools
import io
import itertools
import os
import re
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import typer

from classifier.bulk.names import source_name
from classifier.errors import InputError, NewscleanError
from classifier.files import check_folder_takes_files, check_writable, same_file, write_file

F = TypeVar("F", bound=Callable[..., Any])


class OnError(str, Enum):
    fail = "fail"
    skip = "skip"


class InputFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


# Corpus options shared by clean and classify.
InputFormatOption = typer.Option(
    None,
    "--input-format",
    help="Standard input (-): one article's text [default], or a corpus as JSON Lines (jsonl), cleaned like a "
    ".jsonl file and written to --output or standard output.",
)


def _text_column(value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("the column name is empty: name the field or column holding the text (default: text)")
    return value


def _output_path(value: str) -> Path | None:
    # "-" reads standard input as the source; as the output it is standard output.
    if value == "-":
        return None
    if not value.strip():
        raise typer.BadParameter("the file name is empty: give one, or - for standard output")
    return Path(value)


def side_file(value: str) -> Path:
    if value == "-":
        raise typer.BadParameter("give a file name (- is not standard output here)")
    if not value.strip():
        raise typer.BadParameter("the file name is empty: give one")
    return Path(value)


TextColumnOption = typer.Option(
    None,
    "--text-column",
    parser=_text_column,
    metavar="NAME",
    help="Corpus: the field or column holding the text [default: text].",
)
OutputOption = typer.Option(
    None,
    "--output",
    "-o",
    parser=_output_path,
    metavar="PATH",
    help="Write here instead of stdout (- is stdout; a corpus: a file of the input's format, or a folder).",
)
ResumeOption = typer.Option(False, "--resume", help="Corpus: continue an interrupted run into the same --output.")
OnErrorOption = typer.Option(
    OnError.fail,
    "--on-error",
    help="Corpus: on a bad row, fail (naming file and line) or skip (pass it through unchanged, counted).",
)
JobsOption = typer.Option(None, "--jobs", "-j", min=1, help="Corpus: processes to use [default: every core].")
ChunkRowsOption = typer.Option(None, "--chunk-rows", min=1, hidden=True)
SiteRepeatsOption = typer.Option(
    False,
    "--site-repeats",
    help="Corpora: first count how many pages of each site (domain or url field) repeat each paragraph, and let the "
    "model use it (a line on many pages of one site is almost always residue).",
)


def model_folder(value: str) -> Path:
    # A Path type would read "" as the current folder, and report a missing model there.
    if not value.strip():
        raise typer.BadParameter("the model folder is empty: name a folder, or leave the option out for the shipped model")
    return Path(value)


ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    parser=model_folder,
    metavar="DIR",
    help="Model folder (default: the model shipped with newsclean).",
    show_default=False,
)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


#: The optional group (``pip install 'newsclean[GROUP]'``) that brings each package
#: a command may need beyond cleaning.
_EXTRA_OF = {
    "trafilatura": "corpus",
    "readability": "corpus",
    "regex": "corpus",
    "lxml_html_clean": "corpus",
    "scipy": "train",
    "threadpoolctl": "train",
    "zstandard": "zstd",
    "dask": "dask",
    "distributed": "dask",
    "nbclient": "notebook",
    "matplotlib": "notebook",
}


def missing_package(error: ImportError) -> str:
    """What to install when a command's import failed."""
    name = (error.name or "").split(".")[0]
    extra = _EXTRA_OF.get(name)
    if extra is None:
        return f"a package this command needs is missing ({error}): install it, or pip install 'newsclean[test]' for all of them"
    return f"this command needs {name}, which is not installed: pip install 'newsclean[{extra}]'"


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, sys.stdout.fileno())
        os.close(sink)
    except (OSError, ValueError):  # no file descriptor behind stdout (in process, under a test runner)
        pass


def handle_errors(function: F) -> F:
    """Turn the errors a user can fix into one line on stderr and a non-zero exit."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except NewscleanError as error:
            raise fail(str(error), error.exit_code) from None
        except ImportError as error:
            raise fail(missing_package(error)) from None
        except BrokenPipeError:
            # The reader of our output stopped reading (``| head``): end quietly with
            # the status a process stopped by SIGPIPE has, as Unix tools do.
            _discard_stdout()
            raise typer.Exit(141) from None
        except (OSError, UnicodeError, ValueError) as error:
            raise fail(str(error) or type(error).__name__) from None
        except RuntimeError as error:
            # Path.resolve on a loop of symbolic links (Python before 3.13).
            if "Symlink loop" not in str(error):
                raise
            raise fail(f"{error}: the link leads back to itself; give a real file") from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except MemoryError:
            raise fail(
                "out of memory: reading a paragraph takes the model about 2 KB, training takes more; "
                "split very long documents, or give the command less at once"
            ) from None

    return wrapper  # type: ignore[return-value]


def read_text(source: str) -> str:
    """The UTF-8 text of a file, or of stdin for ``-``."""
    if source == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed: give a file, or pipe the text in")
        data = sys.stdin.buffer.read()
        name = "standard input"
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"{source}: no such file")
        if path.is_dir():
            raise InputError(f"{source} is a folder: give a text file, or - for standard input")
        data = path.read_bytes()
        name = source
    from classifier.bulk.names import compressed_by

    compression = compressed_by(data[:4])
    if compression is not None:
        tool = {"gzip": "gunzip", "zstd": "zstd -d"}[compression]
        raise InputError(f"{name} is compressed: decompress it first ({tool})")
    try:
        # A byte order mark stays: it is the first paragraph's, so that the kept text
        # and the removed spans rebuild the file exactly (a JSONL row keeps it too).
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{name} is not UTF-8 text (byte {error.start}): convert it first, for example with 'iconv -f LATIN1 -t UTF-8'"
        ) from None


def check_model_folder(destination: Path) -> None:
    """Refuse, before training, a model destination that is a file or a folder of
    other things (a model folder is replaced; an empty or new one is fine)."""
    if destination.exists() and not destination.is_dir():
        raise InputError(f"{destination} is a file: give a folder for the model")
    from classifier.api import default_model_path
    from classifier.files import same_file

    if same_file(destination, default_model_path()):
        # It is every command's model when none is named, and an adaptation's base.
        raise InputError(f"{destination} is the shipped model: write the new model to a folder of its own")
    if destination.is_dir() and any(destination.iterdir()) and not (destination / "manifest.json").is_file():
        raise InputError(f"{destination} holds other files: give a new or empty folder, or a model folder to replace")
    # The model is staged beside its folder, then renamed into place: the folder
    # above must take new files.
    check_folder_takes_files(destination, destination.parent)


def write_output(text: str, destination: Path | None) -> None:
    """Write to stdout, or to ``destination`` whole (``classifier.files``)."""
    if destination is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    check_writable(destination)
    write_file(text, destination)


#: Names that say "structured data" or "compressed": read as one article's text they
#: would be cleaned line by line as prose, JSON syntax and all, so they are refused.
_NOT_AN_ARTICLE = {
    ".json": "JSON Lines corpora are read when named .jsonl or .ndjson (one JSON object a line): rename it",
    ".tsv": "tab-separated files are not read as corpora: convert it to CSV or JSONL",
    ".tab": "tab-separated files are not read as corpora: convert it to CSV or JSONL",
    ".gz": "compressed corpora are read as .jsonl.gz or .csv.gz: decompress one article first (gunzip)",
    ".zst": "compressed corpora are read as .jsonl.zst or .csv.zst: decompress one article first (zstd -d)",
    ".bz2": "bzip2 is not read: decompress it (bunzip2), or recompress a corpus as .jsonl.gz",
    ".xz": "xz is not read: decompress it (unxz), or recompress a corpus as .jsonl.gz",
    ".pq": "Parquet corpora are read when named .parquet: rename it",
}


def check_article_paths(source: str, *destinations: Path | None) -> None:
    """Refuse a single-article input named like data that is not one article's text,
    and an output that would overwrite the input."""
    if source == "-":
        source = os.devnull  # no file to protect; the outputs must still differ
    suffix = Path(source).suffix.lower()
    if suffix in _NOT_AN_ARTICLE:
        raise InputError(f"{source} is not read as one article's text: {_NOT_AN_ARTICLE[suffix]}")
    given = [destination for destination in destinations if destination is not None]
    for number, destination in enumerate(given):
        if same_file(destination, source):
            raise InputError(f"the output {destination} is the input: write to another file")
        if any(same_file(destination, other) for other in given[:number]):
            raise InputError(f"{destination} is named for two outputs: give each its own file")


def corpus_source(source: str, input_format: InputFormat | None) -> bool:
    """Whether ``source`` is read as a corpus: by its name, or standard input with
    ``--input-format jsonl``."""
    from classifier.bulk.names import is_corpus

    if input_format is not None and source != "-" and not (input_format is InputFormat.text and not is_corpus(source)):
        raise InputError(
            "--input-format applies to standard input (-): a file's format comes from its name "
            "(.jsonl, .csv, .parquet or a folder are corpora; any other file is one article)"
        )
    return input_format is InputFormat.jsonl or is_corpus(source)


def read_article(source: str, *, html: bool, input_format: InputFormat | None = None) -> str:
    """One article's text: the file or stdin, through trafilatura first with ``html``.
    JSON Lines are refused unless ``input_format`` says the input is text."""
    text = read_text(source)
    bare = text.removeprefix("\ufeff")
    if html:
        from classifier.html import extract_text

        extracted = extract_text(bare)
        if bare.strip() and not extracted:
            # An empty result would read as "nothing to keep", and the text is lost.
            name = source_name(source)
            raise InputError(
                f"trafilatura found no article text in {name}: is it an HTML page? Without --html the text is cleaned as it is"
            )
        return extracted
    if input_format is not InputFormat.text:
        _refuse_html(bare, source)
        _refuse_json_lines(bare, source)
        _refuse_csv(bare, source)
    return text


_PAGE_TAG = re.compile(r"<(?:html|head|body)\b", re.IGNORECASE)
_MARKUP_START = re.compile(r"\s*<(?:!doctype\s+html|html|head|body|div|article|section|main|p)\b", re.IGNORECASE)


def _refuse_html(text: str, source: str) -> None:
    """Refuse a page read as text without ``--html``: its markup would be cleaned
    line by line, and tags torn out of it."""
    named = Path(source).suffix.lower() in (".html", ".htm")
    # A saved page may open with a comment or an XML declaration before its <html>.
    declared = text.lstrip()[:2] in ("<!", "<?") and _PAGE_TAG.search(text, 0, 4096) is not None
    if not (named or declared or _MARKUP_START.match(text)):
        return
    where = source_name(source)
    raise InputError(
        f"{where} is an HTML page: add --html to extract its text with trafilatura first "
        "(--input-format text to clean it as plain text, markup and all)"
    )


#: Column names that hold the text in the corpora people export (lower case).
_TEXT_COLUMN_NAMES = frozenset({"text", "body", "content", "article", "html", "maintext", "raw_content", "full_text"})
_COLUMN_NAME = re.compile(r"[^\W\d][\w .-]{0,39}")


def _refuse_csv(text: str, source: str) -> None:
    """Refuse a CSV table read as one article: each line would be a paragraph, so
    cleaning would drop rows and cut others apart."""
    start = text.lstrip("\ufeff\r\n")
    first = start.split("\n", 1)[0].strip()
    if "," not in first:
        return
    try:
        # Rows, not lines: a quoted field may hold line breaks.
        rows = list(itertools.islice(csv.reader(io.StringIO(start[:65536])), 2))
    except csv.Error:
        return
    names = [name.strip() for name in rows[0]]
    # A header (column names only, one of them a text column's) and a row of as many
    # fields under it. A headline with commas ("Mind, Body, Soul") has a paragraph
    # under it, not a row.
    if len(names) < 2 or not all(_COLUMN_NAME.fullmatch(name) for name in names):
        return
    if not _TEXT_COLUMN_NAMES & {name.lower() for name in names} or len(rows) < 2 or len(rows[1]) != len(names):
        return
    where = source_name(source)
    fix = "save it to a .csv file and name that" if source == "-" else "name it .csv"
    raise InputError(
        f"{where} starts with a CSV header ({first[:60]}), not one article's text: {fix} to clean it as a "
        "corpus, row by row (--input-format text if it is an article)"
    )


def _refuse_json_lines(text: str, source: str) -> None:
    """Refuse JSON Lines read as one article: each row would be one paragraph, and
    cleaning would drop whole rows."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Half the lines or more are objects, one of the first few whole: a file cut short
    # at either end, or a header line, must not let the rest through as an article.
    objects = [line for line in lines if line.startswith("{") and line.endswith("}")]
    if not objects or 2 * len(objects) < len(lines):
        return
    import json

    def is_object(line: str) -> bool:
        try:
            return isinstance(json.loads(line), dict)
        except ValueError:
            return False

    if not any(is_object(line) for line in objects[:3]):
        return
    if source == "-":
        raise InputError(
            "standard input holds JSON Lines (one JSON object a line), not one article's text: "
            "add --input-format jsonl to clean it as a corpus (--input-format text if it is an article)"
        )
    raise InputError(
        f"{source} holds JSON Lines (one JSON object a line), not one article's text: "
        "name it .jsonl to clean it as a corpus (--input-format text if it is an article)"
    )


def write_article_report(
    text: str, source: str, destination: Path, *, mode: str, keep: tuple[str, ...], min_confidence: float | None, model: Any
) -> None:
    """The corpus report of a single article, as JSON."""
    import json

    from classifier.bulk.command import single_report

    document = single_report([text], mode, keep, min_confidence, model).to_dict()
    document["input"] = source
    write_output(json.dumps(document, ensure_ascii=False, indent=2) + "\n", destination)


def load(model_path: Path | None) -> Any:
    from classifier.api import load_model

    return load_model(model_path)

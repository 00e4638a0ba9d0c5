"""Which inputs are corpora, by name: imported by the CLI for every article, so it is
kept to the standard library and cheap to import."""

from __future__ import annotations

import os
from pathlib import Path

#: File name endings read as a corpus (anything else, or standard input, is one article).
CORPUS_SUFFIXES: tuple[str, ...] = (
    ".jsonl",
    ".jsonl.gz",
    ".jsonl.zst",
    ".ndjson",
    ".ndjson.gz",
    ".ndjson.zst",
    ".csv",
    ".csv.gz",
    ".csv.zst",
    ".parquet",
)
_FORMAT_OF_BASE = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def _lower_name(path: str | os.PathLike[str]) -> str:
    return Path(path).name.lower()


def compression_of(path: str | os.PathLike[str]) -> str:
    """``"gz"``, ``"zst"`` or ``""`` from the name's last suffix."""
    name = _lower_name(path)
    if name.endswith(".gz"):
        return "gz"
    if name.endswith(".zst"):
        return "zst"
    return ""


def corpus_format(path: str | os.PathLike[str]) -> str | None:
    """``"jsonl"``, ``"csv"``, ``"parquet"`` or ``"folder"``; None for one article."""
    if str(path) == "-":
        return None
    if Path(path).is_dir():
        return "folder"
    name = _lower_name(path)
    for suffix in CORPUS_SUFFIXES:
        if name.endswith(suffix):
            base = suffix.split(".")[1]
            return _FORMAT_OF_BASE["." + base]
    return None


def is_corpus(path: str | os.PathLike[str]) -> bool:
    """True for a folder or a file named like a corpus (see ``CORPUS_SUFFIXES``)."""
    return corpus_format(path) is not None


#: The first bytes of a compressed stream, and the tool that unpacks it.
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"))


def compressed_by(head: bytes) -> str | None:
    """``"gzip"`` or ``"zstd"`` when ``head`` (the first bytes of a stream) starts one."""
    return next((tool for magic, tool in _MAGIC if head.startswith(magic)), None)


def reads_stdin(source: str | os.PathLike[str]) -> bool:
    return str(source) == "-"


def source_name(source: str | os.PathLike[str]) -> str:
    """The input as messages name it."""
    return "standard input" if reads_stdin(source) else str(source)

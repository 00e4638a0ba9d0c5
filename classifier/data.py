"""Labelled data: reading, validating and fingerprinting paragraph tables.

A labelled table has one paragraph a row with ``doc_id``, ``position``, ``text`` and
``label``; documents matter because context decides labels. A row whose label is
empty is context: the model reads it as a neighbour but neither learns from it nor
is scored on it. Extra columns (domain, language, extractor, corpus, ...) are kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.bulk.names import corpus_format
from classifier.errors import DataError, UnknownLabelError
from classifier.labels import LABELS

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("doc_id", "position", "text", "label")


def _read_one(path: Path) -> pd.DataFrame:
    import pandas as pd

    name = path.name.lower()
    if path.is_dir():
        raise DataError(f"{path} is a folder: give a CSV, JSONL or Parquet file of labelled paragraphs")
    if not path.is_file():
        raise DataError(f"{path}: no such file; give a CSV, JSONL or Parquet file of labelled paragraphs")
    # The names a corpus job reads (classifier.bulk.names), compressed ones too.
    fmt = corpus_format(path)
    separator = ","
    try:
        if fmt == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8-sig")
        elif fmt == "csv":
            separator = _csv_separator(path)
            frame = pd.read_csv(
                path,
                sep=separator,
                dtype={"doc_id": str, "text": str, "label": str},
                keep_default_na=False,
                encoding="utf-8-sig",
            )
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"{path}: unknown file type; use .csv, .jsonl or .parquet (.gz or .zst for the first two)")
    except DataError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as error:
        where = _first_bad_json_line(path) if name.endswith((".jsonl", ".ndjson")) else None
        if where is not None:
            raise DataError(f"{path}, line {where[0]}: not valid JSON ({where[1]}): fix the line") from None
        # One line: pandas' messages may hold line breaks.
        reason = " ".join(str(error).split())
        if isinstance(error, UnicodeDecodeError) or "codec can't decode" in reason:
            hint = "save it as UTF-8 (in a spreadsheet: CSV UTF-8)"
        elif fmt == "parquet":
            hint = "check that it is a whole Parquet file"
        else:
            hint = f"check that it is valid UTF-8 {path.suffix}"
        raise DataError(f"{path}: cannot be read as a table ({reason}); {hint}") from None
    if fmt == "csv" and {"text", "suggested_label"} <= set(frame.columns):
        # A sheet ``data sheet`` wrote (it has the suggestions): its guarded texts.
        frame["text"] = _unguard_formulas(frame["text"])
    frame["source_file"] = path.name
    # Line numbers that a person can find in the file (pandas skips blank lines, and a
    # quoted CSV field may hold line breaks); by count where the file reads otherwise.
    lines = _row_lines(path, fmt, sep=separator)
    if lines is not None and len(lines) == len(frame):
        frame["source_row"] = lines
    else:
        frame["source_row"] = range(2, len(frame) + 2) if fmt == "csv" else range(1, len(frame) + 1)
    # Rows with nothing in them (a spreadsheet saves its empty rows as ",,,,"): no data.
    present = [column for column in REQUIRED_COLUMNS if column in frame.columns]
    if present:
        blank = np.ones(len(frame), dtype=bool)
        for column in present:
            values = frame[column]
            blank &= (values.isna() | values.astype(str).str.strip().eq("")).to_numpy()
        frame = frame[~blank]
    return frame


#: A spreadsheet reads a cell that starts with one of these as a formula, and saves its
#: result (often ``#NAME?``) in place of the text; a quote before it keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@")


def guard_formulas(texts: pd.Series) -> pd.Series:
    """Texts for a CSV sheet: a quote before each that a spreadsheet would read as a
    formula (``read_labelled`` takes it off again), and before each that starts with
    a quote and such a character already, so that taking one off gives it back whole."""
    return texts.map(lambda text: "'" + text if isinstance(text, str) and _guarded(text.lstrip("'")) else text)


def _guarded(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def _unguard_formulas(texts: pd.Series) -> pd.Series:
    return texts.map(lambda text: text[1:] if isinstance(text, str) and text[:1] == "'" and _guarded(text.lstrip("'")) else text)


def plain_value(value: object) -> object:
    """A numpy scalar as the Python value it holds, for messages: -1, not np.int64(-1)."""
    return value.item() if isinstance(value, np.generic) else value


def _row_lines(path: Path, fmt: str | None, *, sep: str) -> list[int] | None:
    """The line each row of a JSONL or CSV file starts on, as pandas reads its rows."""
    import csv
    import io

    from classifier.bulk.formats import open_binary, record_lines

    if fmt not in ("jsonl", "csv"):
        return None
    try:
        stream, _ = open_binary(path)
        with stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            if fmt == "jsonl":
                return [number for number, line in enumerate(text, start=1) if line.strip()]
            # Lines counted as the corpus reader counts them (``record_lines``).
            starts: list[int] = []
            line = 1
            for number, row in enumerate(csv.reader(text, delimiter=sep)):
                if number and row:  # the header, and blank lines, are no rows
                    starts.append(line)
                line += record_lines(row)
            return starts
    except (OSError, UnicodeDecodeError, csv.Error, EOFError):
        return None


def _csv_separator(path: Path) -> str:
    """The separator of a CSV file's header: a comma, or the semicolon or tab that
    spreadsheets set to other languages write."""
    from classifier.bulk.formats import open_binary

    stream, _ = open_binary(path)
    with stream:
        header = stream.readline(1 << 16).decode("utf-8", "replace")
    return max((",", ";", "\t"), key=header.count)


def _first_bad_json_line(path: Path) -> tuple[int, str] | None:
    """(line number, reason) of the first line of a JSONL file that is not a JSON object."""
    import json

    try:
        with open(path, encoding="utf-8-sig") as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as error:
                    return number, error.msg
                if not isinstance(value, dict):
                    return number, f"a {type(value).__name__}, not an object"
    except (OSError, UnicodeDecodeError):
        return None
    return None


def is_context_label(label: object) -> bool:
    """An empty label marks a context row (None, NaN, pandas' NA or "")."""
    import pandas as pd

    if label is None or label is pd.NA:
        return True
    return (isinstance(label, str) and label == "") or (isinstance(label, float) and label != label)


def labelled_mask(frame: pd.DataFrame) -> np.ndarray:
    """Which rows carry a label (the others are context)."""
    return frame["label"].isin(LABELS).to_numpy()


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a labelled table; raise ``DataError`` naming the first bad row."""
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"labelled data lacks the column(s) {', '.join(missing)}: every row needs {', '.join(REQUIRED_COLUMNS)}")

    def where(row: int) -> str:
        if "source_file" in frame.columns:
            return f"in {frame['source_file'].iloc[row]} row {frame['source_row'].iloc[row]}"
        return f"in row {row + 1}"

    for row, label in enumerate(frame["label"].tolist()):
        if not is_context_label(label) and label not in LABELS:
            raise UnknownLabelError(label, where=where(row))
    for row, text in enumerate(frame["text"].tolist()):
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"empty or missing text {where(row)}: every labelled paragraph needs its text")
    for row, doc_id in enumerate(frame["doc_id"].tolist()):
        if doc_id is None or (isinstance(doc_id, float)) or str(doc_id) == "":
            raise DataError(f"missing doc_id {where(row)}: paragraphs need the id of their document")
    import pandas as pd

    positions = pd.to_numeric(frame["position"], errors="coerce")
    bad_positions = positions.isna() | (positions % 1 != 0) | (positions < 0)
    if bad_positions.any():
        row = int(bad_positions.to_numpy().argmax())
        raise DataError(f"position {plain_value(frame['position'].iloc[row])!r} {where(row)} is not a whole number >= 0")
    duplicated = frame.duplicated(["doc_id", "position"], keep=False)
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        doc_id, position = frame["doc_id"].iloc[row], frame["position"].iloc[row]
        same = (frame["doc_id"] == doc_id).to_numpy() & duplicated.to_numpy()
        second = int(np.flatnonzero(same & (positions == positions.iloc[row]).to_numpy())[1])
        hint = ""
        if "source_file" in frame.columns and frame["source_file"].iloc[row] != frame["source_file"].iloc[second]:
            hint = " (two files that number their documents alike: give each file's doc_ids a prefix of their own)"
        raise DataError(
            f"doc_id {doc_id!r} position {plain_value(position)!r} appears twice ({where(row)} and {where(second)}): "
            f"each paragraph of a document needs its own position{hint}"
        )
    return frame


def check_table(data: object, *, function: str) -> None:
    """Refuse what ``train`` or ``evaluate`` cannot use, saying what they take."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        hint = ": read files with classifier.data.read_labelled" if isinstance(data, (str, os.PathLike)) else ""
        raise TypeError(f"{function} takes a pandas DataFrame of labelled paragraphs, not {type(data).__name__}{hint}")
    validate(data)
    if not labelled_mask(data).any():
        raise DataError(f"{function}: the table has no labelled row: give rows labelled " + ", ".join(LABELS))


def read_labelled(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Read and validate labelled files (CSV, JSONL or Parquet); documents in order."""
    import pandas as pd

    frames = [_read_one(Path(path)) for path in paths]
    if not frames:
        raise DataError("no labelled data given: name at least one CSV, JSONL or Parquet file")
    frame = pd.concat(frames, ignore_index=True)
    if "doc_id" in frame.columns:  # validate names the column when it is missing
        frame["doc_id"] = frame["doc_id"].astype(str)
    if "label" in frame.columns:
        # Labels typed by hand in a spreadsheet: "Reporting ", "UI_RESIDUE".
        frame["label"] = [label.strip().lower() if isinstance(label, str) else label for label in frame["label"]]
    validate(frame)
    frame["label"] = frame["label"].where(frame["label"].isin(LABELS), None)
    if not labelled_mask(frame).any():
        raise DataError("the labelled data has no labelled row: give rows labelled " + ", ".join(LABELS))
    # Read as numbers first: a spreadsheet may have saved 3 as "3.0".
    positions = pd.to_numeric(frame["position"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(positions) & (positions == np.round(positions))).all():
        raise DataError("a position is not a whole number: give each row's place in its document as 0, 1, 2, ...")
    frame["position"] = positions.astype(int)
    if "domain" not in frame.columns:
        frame["domain"] = frame["doc_id"]
    frame["domain"] = frame["domain"].fillna(frame["doc_id"]).astype(str)
    return frame.sort_values(["doc_id", "position"], kind="stable").reset_index(drop=True)


def fingerprint(frame: pd.DataFrame) -> dict[str, object]:
    """What identifies a training set: files, rows, label counts and a content hash."""
    digest = hashlib.sha256()
    for doc_id, position, text, label in frame[["doc_id", "position", "text", "label"]].itertuples(index=False):
        label = label or ""
        digest.update(f"{doc_id}\x1f{position}\x1f{text}\x1f{label}\x1e".encode())
    files = sorted(frame["source_file"].unique().tolist()) if "source_file" in frame.columns else []
    counts = frame["label"].value_counts()
    return {
        "files": files,
        "rows": len(frame),
        "labelled_rows": int(labelled_mask(frame).sum()),
        "documents": int(frame["doc_id"].nunique()),
        "label_counts": {label: int(counts.get(label, 0)) for label in LABELS},
        "sha256": digest.hexdigest(),
    }


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its texts in the plain form the model reads
    (``classifier.text.plain_paragraph``); the frame itself when none needs it."""
    from classifier.text import plain_paragraphs

    texts = frame["text"].tolist()
    plain = plain_paragraphs(texts)
    return frame if plain is texts else frame.assign(text=list(plain))


def documents(frame: pd.DataFrame) -> list[tuple[str, list[int]]]:
    """Row indexes of each document, in document order (frame sorted by read_labelled)."""
    grouped: dict[str, list[int]] = {}
    for row, doc_id in enumerate(frame["doc_id"].tolist()):
        grouped.setdefault(doc_id, []).append(row)
    return list(grouped.items())


_CIPHER_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: Scripts whose letters ``encipher`` replaces (by Unicode character name).
CIPHER_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
# Left as they are: a page in any language keeps its links, addresses and marks.
_KEPT_AS_IS = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|\([cC]\)")


def enciphered_letter(character: str) -> bool:
    """Whether ``encipher`` replaces ``character``: a letter of ``CIPHER_SCRIPTS``."""
    return character.isalpha() and unicodedata.name(character, "").startswith(CIPHER_SCRIPTS)


class _Cipher(dict):
    """A letter substitution fixed by a key, for ``str.translate``: the plain Latin
    letters shuffled among themselves, every other letter of ``CIPHER_SCRIPTS`` to a
    plain Latin letter drawn from the key and the letter, case kept; anything else
    as it is. Letters are looked up as they are met."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
        shuffled = np.random.default_rng(seed).permutation(list(_CIPHER_LETTERS))
        for plain, target in zip(_CIPHER_LETTERS, shuffled, strict=True):
            self[ord(plain)] = str(target)
            self[ord(plain.upper())] = str(target).upper()

    def __missing__(self, code: int) -> str:
        character = chr(code)
        if not enciphered_letter(character):
            raise LookupError(code)  # str.translate then keeps the character
        digest = hashlib.sha256(f"{self.key}:{character.lower()}".encode("utf-8", "surrogatepass")).digest()
        target = _CIPHER_LETTERS[digest[0] % len(_CIPHER_LETTERS)]
        self[code] = target.upper() if character.isupper() else target
        return self[code]

    def apply(self, text: str) -> str:
        kept = list(_KEPT_AS_IS.finditer(text))
        if not kept:
            return text.translate(self)
        pieces, last = [], 0
        for match in kept:
            pieces += [text[last : match.start()].translate(self), match.group()]
            last = match.end()
        pieces.append(text[last:].translate(self))
        return "".join(pieces)


def encipher(frame: pd.DataFrame, *, key: str = "0") -> pd.DataFrame:
    """A copy of ``frame`` with every letter of the Latin, Greek and Cyrillic scripts
    replaced by a plain Latin letter, one substitution per site (``domain``, else
    per document) drawn from ``key``: a language no vocabulary holds, with the same
    digits, punctuation, spacing, length, place and labels; links, addresses and
    "(c)" are kept, and so are letters of other scripts (``enciphered_letter``). A
    site's repeated lines stay repeated and a story's words stay shared. (How a
    model fares on a language it does not know: ``newsclean evaluate --encipher``;
    training copies: ``classifier.training.ciphered_copies``.)"""
    copies = frame.copy()
    sites = copies["domain"].astype(str) if "domain" in copies.columns else copies["doc_id"].astype(str)
    ciphers: dict[str, _Cipher] = {}
    texts = []
    for site, text in zip(sites, copies["text"], strict=True):
        if site not in ciphers:
            ciphers[site] = _Cipher(f"{key}:{site}")
        texts.append(ciphers[site].apply(text))
    copies["text"] = texts
    return copies

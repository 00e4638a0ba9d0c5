"""The model artifact: numpy-only prediction, save, load and verification.

A model folder holds three files and nothing that can run code:
- ``manifest.json``: format version, labels, training facts, metrics, the sha256 of
  the other files, and a checksum of the manifest itself;
- ``vocabulary.json``: the token list, in weight-row order;
- ``weights.npz``: plain float arrays, read with ``allow_pickle=False``.

Prediction needs numpy alone, so a model loads whatever scikit-learn is installed
(or none), and a file changed by a single byte is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import ModelError, ModelFormatError, ModelIntegrityError
from classifier.features import (
    SHAPE_FEATURES,
    TokenTable,
    block_features,
    context_features,
    feature_names,
    paragraph_features,
    story_support,
    vocabulary_coverage,
)
from classifier.labels import REPORTING
from classifier.text import plain_paragraph, plain_paragraphs

#: The newest format this release writes and reads; a reader refuses folders from a
#: newer one. Format 2 adds the vocabulary-coverage columns and the block pass, which a
#: release that reads only format 1 would silently misread; a model with neither is
#: still written as format 1, readable by every release. Format 3 adds the block
#: pass's last-line columns (``block_at_end``); a model without them is written as 2.
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
VOCABULARY = "vocabulary.json"
WEIGHTS = "weights.npz"
ARTIFACT_FILES = (VOCABULARY, WEIGHTS)


#: Rows of stage two computed at a time (see ``Model._stage2_scores``).
STAGE2_ROWS = 16_384


class _OneBlasThread:
    """A context in which BLAS runs on one thread, for every thread inside it at once.

    Stage two multiplies a document's paragraphs by its first layer: a product big
    enough for OpenBLAS to share among threads, too small to gain from it. On a busy
    machine (a scraping job beside its crawler) the waiting threads cost more than the
    product: ``clean`` of one article at a time ran 2.3 times slower with two threads
    beside two busy processes on 2 cores. One thread also gives the same figures in every process,
    as corpus workers already run on one. The limit is process-wide, so it is taken
    by the first thread to enter and given back by the last to leave.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._limiter: Any = None
        self._controller: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._limiter = self._limit()
            self._inside += 1

    def __exit__(self, *exception: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._limiter is not None:
                self._free_control()
                self._limiter.restore_original_limits()
                self._free_control()
                self._limiter = None

    def _free_control(self) -> None:
        # threadpoolctl (3.8 on) lets only the thread that set OpenBLAS's limit change
        # it again, and others do nothing, silently; the last thread out may not be
        # the first in. Under the lock, no other thread here is setting it.
        for library in self._controller.lib_controllers:
            clear = getattr(library, "clear_controlling_thread", None)
            if clear is not None:
                clear(force=True)

    def _limit(self) -> Any:
        if self._controller is None:
            try:  # comes with scikit-learn; without it, BLAS keeps its threads
                from threadpoolctl import ThreadpoolController

                self._controller = ThreadpoolController()
            except Exception:  # any failure here costs only speed
                self._controller = False
        if self._controller is False:
            return None
        self._free_control()
        limiter = self._controller.limit(limits=1, user_api="blas")
        self._free_control()
        return limiter


_ONE_BLAS_THREAD = _OneBlasThread()


class ModelVersionWarning(UserWarning):
    """The model was trained by another release of newsclean."""


@dataclass(frozen=True, eq=False)
class Model:
    """A trained classifier, ready to predict with numpy alone.

    Stage one scores each paragraph from its words and shape (a linear model);
    stage two reads those first-pass probabilities across the document with the
    paragraph's place and shape (a small neural network, or a linear layer); the
    block pass, where there is one, reads stage two's probabilities across the
    document once more (a linear layer); and a temperature calibrates the result.
    """

    labels: tuple[str, ...]
    vocabulary: dict[str, int]
    token_coef: np.ndarray
    shape_coef: np.ndarray
    shape_mean: np.ndarray
    shape_scale: np.ndarray
    stage1_intercept: np.ndarray
    context_mean: np.ndarray
    context_scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    temperature: float
    n_buckets: int
    #: How stage-one scores become probabilities: "softmax" (multinomial) or "ovr"
    #: (one sigmoid per label, normalised, as scikit-learn's SGD classifier does).
    stage1_link: str = "softmax"
    #: How text becomes tokens (see ``classifier.features.TOKENIZERS``); models saved
    #: before CJK text was split into characters used "words".
    tokenizer: str = "words"
    #: Whether stage two reads how many pages of the site hold each paragraph.
    site_repeats: bool = False
    #: Added to the tempered scores, per label: moves the probabilities from the
    #: weighted training mix to real pages' label shares (None: no shift).
    class_bias: np.ndarray | None = None
    #: Whether stage two reads how much of each paragraph's vocabulary the rest of its
    #: document shares (``classifier.features.story_support``).
    story_support: bool = False
    #: Whether stage two reads how much of each paragraph's words the vocabulary
    #: knows (``classifier.features.vocabulary_coverage``).
    vocabulary_coverage: bool = False
    #: The block pass (``classifier.features.block_features``): a linear layer
    #: (features × labels weights, and a bias) over stage two's probabilities across
    #: the document, with the mean and scale of its features; None: no block pass.
    block_layer: tuple[np.ndarray, np.ndarray] | None = None
    block_mean: np.ndarray | None = None
    block_scale: np.ndarray | None = None
    #: Whether the block pass reads a document's last line apart (``block_features``'
    #: ``at_end``; format 3).
    block_at_end: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        # The generated repr would print every weight: megabytes in a notebook cell.
        return (
            f"Model(labels={self.labels}, vocabulary={len(self.vocabulary):,} tokens, "
            f"stage two {len(self.layers)} layers, block pass {'yes' if self.block_layer is not None else 'no'}, "
            f"default_min_confidence={self.default_min_confidence:.4g})"
        )

    @property
    def default_min_confidence(self) -> float:
        return float(self.manifest.get("default_min_confidence", 0.5))

    @cached_property
    def token_table(self) -> TokenTable:
        """The vocabulary prepared for lookups, built on first use."""
        return TokenTable.from_vocabulary(self.vocabulary)

    @cached_property
    def _token_columns(self) -> np.ndarray:
        """``token_coef`` a label per row: each label's weights lie together in memory."""
        return np.ascontiguousarray(self.token_coef.T)

    # -- prediction -------------------------------------------------------------

    def first_pass(
        self, texts: Sequence[str], *, content: list | None = None, coverage: list | None = None, plain: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage-one probabilities and the shape rows of paragraphs (any documents).

        A list given as ``content`` receives the paragraphs' content words (owners,
        keys); one given as ``coverage``, their ``vocabulary_coverage``.
        """
        features = paragraph_features(
            texts, self.token_table, self.n_buckets, tokenizer=self.tokenizer, content_words=content is not None, plain=plain
        )
        ids, owners, shapes = features[:3]
        if content is not None:
            content.extend(features[3:])
        if coverage is not None:
            coverage.append(vocabulary_coverage(ids, owners, shapes, self.token_table.n_words))
        n = len(texts)
        counts = np.bincount(owners, minlength=n)
        # Term counts scaled by 1/sqrt(tokens), as in training.
        norm = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1)), 0.0)
        # float64 even when no token is known (bincount of empty weights gives ints).
        scores = np.column_stack(
            [np.bincount(owners, weights=column.take(ids), minlength=n) for column in self._token_columns]
        ).astype(np.float64)
        scores *= norm[:, None]
        scores += ((shapes - self.shape_mean) / self.shape_scale) @ self.shape_coef
        scores += self.stage1_intercept
        return link(scores, self.stage1_link), shapes

    @cached_property
    def _single_precision_layers(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """Stage two's weights in single precision: the network was trained so, and it
        runs twice as fast (scores move by about 1e-5)."""
        return tuple((weights.astype(np.float32), bias.astype(np.float32)) for weights, bias in self.layers)

    def second_pass(self, context: np.ndarray, *, lengths: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities from the context features of paragraphs (rows in
        document order, ``lengths`` paragraphs per document; default one document)."""
        sizes = [len(context)] if lengths is None else lengths
        if int(np.sum(sizes)) != len(context):
            raise ValueError(f"lengths add up to {int(np.sum(sizes))} paragraphs, but there are {len(context)} rows")
        scores = self._stage2_scores(context)
        if self.block_layer is not None:
            blocks = block_features(softmax(scores), sizes, at_end=self.block_at_end)
            weights, bias = self.block_layer
            scores = ((blocks - self.block_mean) / self.block_scale) @ weights + bias
        scores = scores / self.temperature
        if self.class_bias is not None:
            scores = scores + self.class_bias
        return softmax(scores)

    def _stage2_scores(self, context: np.ndarray) -> np.ndarray:
        # A slice of rows at a time: each row's scores depend on that row alone, and
        # the hidden layer (several times the width of the context) would otherwise
        # be held for every paragraph of a large batch at once.
        scores = np.empty((len(context), len(self.labels)))
        for start in range(0, len(context), STAGE2_ROWS):
            scores[start : start + STAGE2_ROWS] = self._stage2_slice(context[start : start + STAGE2_ROWS])
        return scores

    def _stage2_slice(self, context: np.ndarray) -> np.ndarray:
        layers = self._single_precision_layers
        hidden = ((context - self.context_mean) / self.context_scale).astype(np.float32)
        for weights, bias in layers[:-1]:
            # In place: the hidden layer is the largest array here.
            hidden = hidden @ weights
            hidden += bias
            np.maximum(hidden, 0.0, out=hidden)
        weights, bias = layers[-1]
        return hidden @ weights + bias

    def predict_proba_documents(
        self,
        documents: Sequence[Sequence[str]],
        *,
        site_repeats: Sequence[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Probabilities (paragraphs × labels) for each document's paragraphs.

        ``site_repeats``: per document, pages of its site that hold each paragraph
        (``classifier.repeats``); unknown counts read as 1 (seen on this page only).
        """
        with _ONE_BLAS_THREAD:
            return self._predict_proba_documents(documents, site_repeats)

    def _predict_proba_documents(
        self, documents: Sequence[Sequence[str]], site_repeats: Sequence[np.ndarray] | None
    ) -> list[np.ndarray]:
        flat = [text for document in documents for text in document]
        if not flat:
            return [np.zeros((0, len(self.labels))) for _ in documents]
        # Once, in the form the training text has, for every pass that reads the text.
        flat = plain_paragraphs(flat)
        content: list | None = [] if self.story_support else None
        coverage: list | None = [] if self.vocabulary_coverage else None
        first, shapes = self.first_pass(flat, content=content, coverage=coverage, plain=True)
        lengths = np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))
        story = None
        if content is not None:
            document_of = np.repeat(np.arange(len(documents)), lengths)
            story = story_support(content[0], content[1], document_of, first[:, self.labels.index(REPORTING)])
        repeats = None
        if self.site_repeats:
            repeats = (
                np.concatenate([np.asarray(counts, dtype=np.float64) for counts in site_repeats])
                if site_repeats is not None
                else np.ones(len(flat))
            )
        context = context_features(
            first,
            shapes,
            flat,
            lengths=lengths,
            site_repeats=repeats,
            story=story,
            coverage=coverage[0] if coverage else None,
        )
        probabilities = self.second_pass(context, lengths=lengths)
        if not np.isfinite(probabilities).all():
            # Finite weights can still overflow: only a model edited by hand gets here,
            # and NaN would read as "keep" everywhere without a word.
            raise ModelIntegrityError(
                "the model gave probabilities that are not numbers: its weights were changed; retrain or reinstall it"
            )
        return np.split(probabilities, np.cumsum(lengths)[:-1])

    def predict_proba(self, paragraphs: Sequence[str]) -> np.ndarray:
        """Probabilities (paragraphs × labels) for the paragraphs of one document."""
        return self.predict_proba_documents([paragraphs])[0]

    def explain(self, text: str, label: str, *, top: int = 5) -> list[tuple[str, float]]:
        """The tokens and shape features of ``text`` that push hardest toward ``label``
        (those that push toward it at all, at most ``top``).

        This reads stage one only: what the paragraph's own words and shape say. Only
        features the paragraph has count: a shape feature at zero (no price, no
        digits) moves the score too, against the average paragraph, but naming it as
        a reason would read as if the paragraph had it.
        """
        column = self.labels.index(label)
        ids, _, shapes = paragraph_features([text], self.token_table, self.n_buckets, tokenizer=self.tokenizer)
        # Named from the text as the model reads it (see ``paragraph_features``).
        names = feature_names(plain_paragraph(text), self.vocabulary, self.n_buckets, tokenizer=self.tokenizer)
        count = len(ids)
        contributions: list[tuple[str, float]] = []
        for index in sorted(set(ids.tolist())):
            row = self.token_coef[index]
            share = (row[column] - row.mean()) / math.sqrt(count)
            contributions.append((names.get(int(index), f"#{int(index)}"), float(share)))
        scaled = (shapes[0] - self.shape_mean) / self.shape_scale
        for name, raw, value, row in zip(SHAPE_FEATURES, shapes[0], scaled, self.shape_coef, strict=True):
            if raw != 0:
                contributions.append((f"[{name}]", float(value * (row[column] - row.mean()))))
        # Reasons for the label push toward it; the rest would only pad the list.
        contributions = sorted((item for item in contributions if item[1] > 0), key=lambda item: -item[1])
        return contributions[:top]


def link(scores: np.ndarray, kind: str) -> np.ndarray:
    """Probabilities from linear scores."""
    if kind == "ovr":
        # One sigmoid per label, normalised; in log space, so that a row of scores far
        # below zero (sigmoids that underflow to 0) still gives their true ratios.
        return softmax(-np.logaddexp(0.0, -scores))
    return softmax(scores)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


# -- files ---------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise ModelError(f"cannot read {path}: {error.strerror or error}; check that this user may read it") from None
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ModelError(f"cannot read {path}: {error.strerror or error}; check that this user may read it") from None


def _canonical(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _manifest_checksum(manifest: dict[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def _format_of(model: Model) -> int:
    """The oldest format that holds ``model``: older releases read format 1 (and
    format 2; a release that reads 2 and not 3 would compute a block pass of the
    wrong width)."""
    if model.block_at_end:
        return 3
    return 2 if model.vocabulary_coverage or model.block_layer is not None else 1


def save_model(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to the folder ``path`` (created; existing model files replaced).

    Files are written to a temporary folder beside it first and moved into place
    when complete, so an interrupted save never leaves a half-written model.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".newsclean-", dir=target.parent))
    try:
        tokens = [""] * len(model.vocabulary)
        for token, index in model.vocabulary.items():
            tokens[index] = token
        (staging / VOCABULARY).write_text(json.dumps(tokens, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        arrays: dict[str, np.ndarray] = {
            "token_coef": model.token_coef,
            "shape_coef": model.shape_coef,
            "shape_mean": model.shape_mean,
            "shape_scale": model.shape_scale,
            "stage1_intercept": model.stage1_intercept,
            "context_mean": model.context_mean,
            "context_scale": model.context_scale,
            "temperature": np.asarray([model.temperature]),
        }
        if model.class_bias is not None:
            arrays["class_bias"] = np.asarray(model.class_bias, dtype=np.float64)
        for number, (weights, bias) in enumerate(model.layers):
            arrays[f"layer{number}_weights"] = weights
            arrays[f"layer{number}_bias"] = bias
        if model.block_layer is not None:
            arrays["block_weights"], arrays["block_bias"] = model.block_layer
            arrays["block_mean"], arrays["block_scale"] = model.block_mean, model.block_scale
        with open(staging / WEIGHTS, "wb") as handle:
            # Uncompressed: loads in a few milliseconds, where inflating costs more
            # than the rest of a cold start.
            np.savez(handle, **{k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()})
        manifest = {key: value for key, value in model.manifest.items() if key != "checksum"}
        manifest["format_version"] = _format_of(model)
        manifest["labels"] = list(model.labels)
        manifest["n_layers"] = len(model.layers)
        manifest["n_buckets"] = model.n_buckets
        manifest["stage1_link"] = model.stage1_link
        manifest["tokenizer"] = model.tokenizer
        manifest["site_repeats"] = model.site_repeats
        manifest["story_support"] = model.story_support
        manifest["vocabulary_coverage"] = model.vocabulary_coverage
        manifest["block_at_end"] = model.block_at_end
        manifest["temperature"] = model.temperature
        manifest["files"] = {name: _sha256(staging / name) for name in ARTIFACT_FILES}
        manifest["checksum"] = _manifest_checksum(manifest)
        (staging / MANIFEST).write_text(_canonical(manifest), encoding="utf-8")
        target.mkdir(exist_ok=True)
        for name in (*ARTIFACT_FILES, MANIFEST):
            os.replace(staging / name, target / name)
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    return target


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The verified manifest of the model folder ``path``."""
    folder = Path(path)
    manifest_path = folder / MANIFEST
    if folder.is_file():
        raise ModelError(
            f"{folder} is a file: a model is a folder holding {MANIFEST} (as 'newsclean train DATA --output FOLDER' "
            "writes); name no model folder to use the shipped model"
        )
    if not manifest_path.is_file() and folder.is_dir() and any(folder.iterdir()):
        # Training into it would be refused (it holds other files): no advice to.
        raise ModelError(
            f"{folder} is not a model folder (it holds no {MANIFEST}): name a folder that 'newsclean train' wrote, "
            "or no model folder to use the shipped model"
        )
    if not manifest_path.is_file():
        raise ModelError(
            f"no model at {folder}: expected {MANIFEST} there. Train one with "
            f"'newsclean train DATA --output {folder}', or name no model folder to use the shipped model"
        )
    raw = _read(manifest_path).decode("utf-8", errors="replace")
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ModelIntegrityError(
            f"{manifest_path} is not valid JSON ({error.msg}): the model folder is damaged; retrain or reinstall it"
        ) from None
    except RecursionError:
        raise ModelIntegrityError(f"{manifest_path} is not a model manifest (nested too deep): retrain or reinstall it") from None
    except ValueError as error:  # a number too long for int(), say
        raise ModelIntegrityError(f"{manifest_path} is not a model manifest ({error}): retrain or reinstall it") from None
    if not isinstance(manifest, dict):
        raise ModelIntegrityError(f"{manifest_path} is not a model manifest: retrain or reinstall it")
    version = manifest.get("format_version")
    if version is None:
        raise ModelFormatError(f"{manifest_path} has no format_version: it was not written by newsclean")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelIntegrityError(
            f"{manifest_path} gives format_version {version!r}, not a whole number: the manifest was damaged or not "
            "written by newsclean; retrain or reinstall the model"
        )
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            f"{folder} uses model format {version}, newer than this newsclean reads "
            f"(up to {FORMAT_VERSION}): upgrade with 'pip install -U newsclean'"
        )
    if raw != _canonical(manifest) or manifest.get("checksum") != _manifest_checksum(manifest):
        raise ModelIntegrityError(f"{manifest_path} was changed after the model was saved: retrain or reinstall the model")
    return manifest


def load_model_folder(path: str | os.PathLike[str]) -> Model:
    """Load and verify the model folder ``path``. Runs no code from the folder."""
    folder = Path(path)
    manifest = read_manifest(folder)
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise ModelIntegrityError(f"{folder / MANIFEST} does not list the model's files: retrain or reinstall it")
    # Each file is read once and parsed from the bytes that were checked: reading it
    # again could read a file changed in between.
    contents: dict[str, bytes] = {}
    for name in ARTIFACT_FILES:
        file_path = folder / name
        if not file_path.is_file():
            raise ModelIntegrityError(
                f"{file_path} is missing (or not a plain file): the model folder is incomplete; retrain or reinstall it"
            )
        contents[name] = _read(file_path)
        if hashlib.sha256(contents[name]).hexdigest() != files.get(name):
            raise ModelIntegrityError(
                f"{file_path} does not match the checksum in {MANIFEST}: the file was changed "
                "or damaged; retrain or reinstall the model"
            )
    from classifier.labels import LABELS

    if tuple(manifest.get("labels", ())) != LABELS:
        raise ModelFormatError(
            f"{folder} predicts the labels {manifest.get('labels')}, this newsclean uses "
            f"{list(LABELS)}: retrain the model with this release"
        )
    loader = _LOADERS.get(manifest["format_version"])
    if loader is None:
        raise ModelFormatError(f"{folder} has model format {manifest['format_version']}, which no newsclean wrote: retrain it")
    _warn_on_version_mismatch(manifest, folder)
    try:
        model = loader(manifest, contents)
    except (
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        RecursionError,
        RuntimeError,  # an archive member flagged as encrypted
        NotImplementedError,  # an archive member in an unknown compression
        zipfile.BadZipFile,
        EOFError,
        MemoryError,
    ) as error:
        # A manifest or array that passed its checksum yet lacks a part: written by hand.
        raise ModelIntegrityError(f"{folder} lacks a part a model needs ({error}): retrain or reinstall it") from None
    problem = structure_problem(model)
    if problem is not None:
        # Checksums prove only that the files are the ones the manifest names; a
        # folder written by hand can be consistent and still not be a model.
        raise ModelIntegrityError(f"{folder} is not a working model ({problem}): retrain or reinstall it")
    return model


def structure_problem(model: Model) -> str | None:
    """What makes ``model`` unable to predict as trained, or None: every array of a
    real floating type, finite, of the shape the others and the features imply."""
    from classifier.features import N_SHAPE, TOKENIZERS, FeatureSpace

    manifest = model.manifest
    k = len(model.labels)
    for name in ("site_repeats", "story_support", "vocabulary_coverage", "block_at_end"):
        if name in manifest and not isinstance(manifest[name], bool):
            return f"{name} is {manifest[name]!r}, not true or false"
    if model.stage1_link not in ("softmax", "ovr"):
        return f"stage1_link {model.stage1_link!r} is neither softmax nor ovr"
    if model.block_at_end and model.block_layer is None:
        return "block_at_end is set, but the model has no block pass"
    # Recorded twice (``save_model`` writes both): one of the two edited by hand.
    if "temperature" in manifest and manifest["temperature"] != model.temperature:
        return f"the temperature {model.temperature} is not the {manifest['temperature']!r} its manifest records"
    if model.tokenizer not in TOKENIZERS:
        return f"tokenizer {model.tokenizer!r} is not one of {', '.join(TOKENIZERS)}"
    buckets = manifest.get("n_buckets")
    if not isinstance(buckets, int) or isinstance(buckets, bool) or not 1 <= buckets <= 1 << 30:
        return f"n_buckets {buckets!r} is not a whole number from 1 to 2**30"
    threshold = manifest.get("default_min_confidence", 0.5)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.0 <= threshold <= 1.0:
        return f"default_min_confidence {threshold!r} is not a number from 0 to 1"
    empty = np.zeros(0, dtype=np.int64)
    width = context_features(
        np.zeros((0, k)),
        np.zeros((0, N_SHAPE)),
        [],
        lengths=empty,
        site_repeats=np.zeros(0) if model.site_repeats else None,
        story=story_support(empty, empty, empty, np.zeros(0)) if model.story_support else None,
        coverage=vocabulary_coverage(empty, empty, np.zeros((0, N_SHAPE)), 1) if model.vocabulary_coverage else None,
    ).shape[1]
    expected: dict[str, tuple[int, ...]] = {
        "token_coef": (FeatureSpace(len(model.vocabulary), buckets).size, k),
        "shape_coef": (N_SHAPE, k),
        "shape_mean": (N_SHAPE,),
        "shape_scale": (N_SHAPE,),
        "stage1_intercept": (k,),
        "context_mean": (width,),
        "context_scale": (width,),
    }
    arrays: dict[str, np.ndarray] = {name: getattr(model, name) for name in expected}
    if not model.layers:
        return "stage two has no layer"
    inputs = width
    for number, (weights, bias) in enumerate(model.layers):
        outputs = weights.shape[1] if weights.ndim == 2 else -1
        expected[f"layer{number}_weights"], expected[f"layer{number}_bias"] = (inputs, outputs), (outputs,)
        arrays[f"layer{number}_weights"], arrays[f"layer{number}_bias"] = weights, bias
        inputs = outputs
    if inputs != k:
        return f"stage two ends in {inputs} outputs, not one per label ({k})"
    if model.class_bias is not None:
        expected["class_bias"], arrays["class_bias"] = (k,), np.asarray(model.class_bias)
    if model.block_layer is not None:
        if model.block_mean is None or model.block_scale is None:
            return "the block pass lacks the mean or scale of its features"
        blocks = block_features(np.zeros((0, k)), empty, at_end=model.block_at_end).shape[1]
        expected.update(block_weights=(blocks, k), block_bias=(k,), block_mean=(blocks,), block_scale=(blocks,))
        arrays.update(
            block_weights=model.block_layer[0],
            block_bias=model.block_layer[1],
            block_mean=model.block_mean,
            block_scale=model.block_scale,
        )
    for name, shape in expected.items():
        array = arrays[name]
        if array.dtype.kind != "f":
            return f"{name} holds {array.dtype} values, not floating-point numbers"
        if array.shape != shape:
            return f"{name} has shape {array.shape}, where this model needs {shape}"
        if not np.isfinite(array).all():
            return f"{name} holds values that are not finite"
    # Stage two computes in single precision: a weight beyond its range is infinite there.
    largest = max(float(np.abs(weights).max(initial=0.0)) for pair in model.layers for weights in pair)
    if largest > float(np.finfo(np.float32).max):
        return f"stage two holds a weight of {largest:.3g}, beyond single precision"
    for name in ("shape_scale", "context_scale", "block_scale"):
        if name in arrays and (arrays[name] <= 0).any():
            return f"{name} holds values that are not above 0"
    if not (np.isfinite(model.temperature) and model.temperature > 0):
        return f"the temperature {model.temperature} is not a positive number"
    return None


def _warn_on_version_mismatch(manifest: dict[str, Any], folder: Path) -> None:
    from classifier import __version__

    trained_with = str(manifest.get("newsclean_version", ""))
    if trained_with.split(".")[:2] != __version__.split(".")[:2]:
        advice = (
            "upgrade newsclean (pip install -U newsclean) to use it as it was meant"
            if _release(trained_with) > _release(__version__)
            else "retrain it to use this release's improvements"
        )
        warnings.warn(
            f"model {folder} was trained with newsclean {trained_with or 'unknown'}, this is "
            f"{__version__}: it loads, but {advice}",
            ModelVersionWarning,
            stacklevel=3,
        )


def _release(version: str) -> tuple[int, ...]:
    """(major, minor) of a version string; () when it has none."""
    numbers = []
    for part in version.split(".")[:2]:
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


def _load_v1(manifest: dict[str, Any], contents: dict[str, bytes]) -> Model:
    tokens = json.loads(contents[VOCABULARY].decode("utf-8"))
    # map(type) runs in C: a check per word would cost a cold start 20 ms.
    if not isinstance(tokens, list) or set(map(type, tokens)) - {str}:
        raise ValueError("the vocabulary is not a list of words")
    if not isinstance(manifest["n_layers"], int) or isinstance(manifest["n_layers"], bool):
        raise ValueError(f"n_layers {manifest['n_layers']!r} is not a whole number")
    if not contents[WEIGHTS].startswith(b"PK\x03\x04"):
        # np.load would read a bare array or refuse a pickle with advice to load it unsafely.
        raise ValueError(f"{WEIGHTS} is not an .npz archive of arrays")
    with np.load(io.BytesIO(contents[WEIGHTS]), allow_pickle=False) as arrays:
        data = {name: arrays[name] for name in arrays.files}
    if data["temperature"].dtype.kind != "f":
        raise ValueError(f"the temperature holds {data['temperature'].dtype} values, not floating-point numbers")
    layers = tuple((data[f"layer{number}_weights"], data[f"layer{number}_bias"]) for number in range(int(manifest["n_layers"])))
    vocabulary = dict(zip(tokens, range(len(tokens)), strict=True))
    if len(vocabulary) != len(tokens):
        raise ValueError("the vocabulary names a word twice")
    return Model(
        labels=tuple(manifest["labels"]),
        vocabulary=vocabulary,
        token_coef=data["token_coef"],
        shape_coef=data["shape_coef"],
        shape_mean=data["shape_mean"],
        shape_scale=data["shape_scale"],
        stage1_intercept=data["stage1_intercept"],
        context_mean=data["context_mean"],
        context_scale=data["context_scale"],
        layers=layers,
        temperature=float(data["temperature"].reshape(-1)[0]) if data["temperature"].size == 1 else float("nan"),
        class_bias=data.get("class_bias"),
        block_layer=(data["block_weights"], data["block_bias"]) if "block_weights" in data else None,
        block_mean=data.get("block_mean"),
        block_scale=data.get("block_scale"),
        n_buckets=int(manifest["n_buckets"]),
        stage1_link=str(manifest.get("stage1_link", "softmax")),
        tokenizer=str(manifest.get("tokenizer", "words")),
        site_repeats=bool(manifest.get("site_repeats", False)),
        story_support=bool(manifest.get("story_support", False)),
        vocabulary_coverage=bool(manifest.get("vocabulary_coverage", False)),
        block_at_end=bool(manifest.get("block_at_end", False)),
        manifest=manifest,
    )


# One reader per format version; old formats stay readable.
# Formats 2 and 3 are format 1 with optional arrays and flags, which ``_load_v1``
# reads when present (3: ``block_at_end``).
_LOADERS = {1: _load_v1, 2: _load_v1, 3: _load_v1}

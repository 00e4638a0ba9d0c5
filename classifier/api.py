"""The public API: classify, clean and load_model."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from classifier.errors import ModelError
from classifier.evaluation import drop_mask, min_confidence_of
from classifier.labels import LABELS, REPORTING, as_labels
from classifier.model import Model, load_model_folder
from classifier.text import Paragraph, remove_paragraphs, split_paragraphs

DEFAULT_MODEL_NAME = "default"


@dataclass(frozen=True, slots=True)
class Prediction:
    """One paragraph's label, the label's probability and every label's probability."""

    index: int
    text: str
    label: str
    probability: float
    probabilities: dict[str, float]


def default_model_path() -> Path:
    """Where the shipped model lies inside the installed package."""
    try:
        return Path(str(resources.files("classifier.models").joinpath(DEFAULT_MODEL_NAME)))
    except ModuleNotFoundError:
        # Imported from a source checkout that shadows the installed package: the
        # model is in the models/ folder beside it.
        return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL_NAME


# Threads that ask for a model at once wait for one load rather than make one each.
_LOADING = threading.Lock()


@lru_cache(maxsize=8)
def _load_cached(path: str, stamp: tuple[tuple[str, int, int], ...] | None = None) -> Model:
    # ``stamp``: each file's name, modification time and size, so that a folder
    # retrained in place, or a file changed after a first load, is read (and checked)
    # again.
    return load_model_folder(path)


@lru_cache(maxsize=1)
def _default_model() -> Model:
    with _LOADING:
        return _load_cached(str(default_model_path().resolve()))


def _stamp(folder: Path) -> tuple[tuple[str, int, int], ...] | None:
    try:
        with os.scandir(folder) as entries:
            found = [(entry.name, entry.stat()) for entry in entries if entry.is_file()]
    except OSError:
        return None  # no folder: loading says so
    return tuple(sorted((name, status.st_mtime_ns, status.st_size) for name, status in found))


def load_model(path: str | os.PathLike[str] | None = None) -> Model:
    """Load a model folder; the shipped model when ``path`` is None. Cached per path."""
    if path is None:
        # The common case, once per article in a scraping loop: no path lookups.
        return _default_model()
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_model expects a model folder's path or None, not {type(path).__name__}")
    if not str(path).strip():
        raise ModelError("the model path is empty: name a model folder, or give None for the shipped model")
    folder = Path(path).resolve()
    stamp = _stamp(folder)
    with _LOADING:
        return _load_cached(str(folder), stamp)


def resolve_model(model: Model | str | os.PathLike[str] | None) -> Model:
    """A model given as itself, as a folder's path, or None for the shipped one."""
    if model is None:
        return load_model()
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model (classifier.load_model) or a model folder's path, not {type(model).__name__}")
    return model


def _as_paragraph_texts(text_or_paragraphs: str | Sequence[str]) -> list[str]:
    if isinstance(text_or_paragraphs, str):
        return [paragraph.text for paragraph in split_paragraphs(text_or_paragraphs)]
    if text_or_paragraphs is None:
        raise TypeError("classify expects str or a list of paragraph strings, got None")
    if isinstance(text_or_paragraphs, (bytes, bytearray, memoryview)):
        name = type(text_or_paragraphs).__name__
        raise TypeError(f"classify expects str, got {name}: decode the text first (bytes(data).decode('utf-8'))")
    if isinstance(text_or_paragraphs, (Set, Mapping)) or not isinstance(text_or_paragraphs, Iterable):
        # A mapping would be read as its keys; a set has no order, and the model reads
        # each paragraph's neighbours.
        raise TypeError(
            f"classify expects str or a list of paragraph strings in document order, got {type(text_or_paragraphs).__name__}"
        )
    texts = list(text_or_paragraphs)
    for number, item in enumerate(texts):
        if not isinstance(item, str):
            raise TypeError(f"paragraph {number} is {type(item).__name__}, not str")
    return texts


def _predictions(texts: Sequence[str], probabilities: np.ndarray) -> list[Prediction]:
    best = probabilities.argmax(axis=1)
    return [
        Prediction(
            index=index,
            text=text,
            label=LABELS[best[index]],
            probability=float(probabilities[index, best[index]]),
            probabilities={label: float(p) for label, p in zip(LABELS, probabilities[index], strict=True)},
        )
        for index, text in enumerate(texts)
    ]


def classify(text_or_paragraphs: str | Sequence[str], *, model: Model | str | os.PathLike[str] | None = None) -> list[Prediction]:
    """Label each paragraph of one document.

    Give the document's text (split into paragraphs, one non-empty line each) or its
    paragraphs as a list. The model reads the whole document: a paragraph's
    neighbours help decide its label.
    """
    texts = _as_paragraph_texts(text_or_paragraphs)
    model = resolve_model(model)
    return _predictions(texts, model.predict_proba(texts))


@dataclass(frozen=True, slots=True)
class CleanedDocument:
    """A cleaned text with what was taken out of it, enough to rebuild the original."""

    text: str
    paragraphs: list[Paragraph]
    probabilities: np.ndarray
    dropped: np.ndarray

    def removed(self, original: str) -> list[tuple[Paragraph, str]]:
        """Each dropped paragraph with the exact span of ``original`` that went with it."""
        return [
            (paragraph, original[paragraph.start : paragraph.end])
            for paragraph in self.paragraphs
            if self.dropped[paragraph.index]
        ]


def clean_document(
    text: str,
    *,
    keep: Sequence[str] = (REPORTING,),
    min_confidence: float | None = None,
    model: Model | str | os.PathLike[str] | None = None,
    probabilities: np.ndarray | None = None,
) -> CleanedDocument:
    """``clean`` with its working shown: the paragraphs, probabilities and drops."""
    if not isinstance(text, str):
        hint = ": decode the text first (bytes(data).decode('utf-8'))" if isinstance(text, (bytes, bytearray, memoryview)) else ""
        raise TypeError(f"clean expects str, got {type(text).__name__}{hint}")
    keep = as_labels(keep)
    model = resolve_model(model)
    threshold = min_confidence_of(min_confidence, default=model.default_min_confidence)
    paragraphs = split_paragraphs(text)
    if probabilities is None:
        probabilities = model.predict_proba([paragraph.text for paragraph in paragraphs])
    else:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        expected = (len(paragraphs), len(model.labels))
        if probabilities.shape != expected:
            raise ValueError(
                f"probabilities has shape {probabilities.shape}, but the text has {expected[0]} paragraphs "
                f"and the model {expected[1]} labels: give one row per paragraph, one column per label"
            )
        # NaN compares false, so a row of them would keep its paragraph without a word.
        if not (np.isfinite(probabilities).all() and (probabilities >= 0).all()) or not np.allclose(
            probabilities.sum(axis=1), 1.0, atol=1e-6
        ):
            raise ValueError(
                "probabilities must be finite, from 0 to 1, and sum to 1 in each row: pass what "
                "classify or Model.predict_proba returns"
            )
    dropped = drop_mask(probabilities, keep=keep, min_confidence=threshold)
    cleaned = remove_paragraphs(text, paragraphs, np.flatnonzero(dropped).tolist())
    return CleanedDocument(cleaned, paragraphs, probabilities, dropped)


def clean(
    text: str,
    *,
    keep: Sequence[str] = (REPORTING,),
    min_confidence: float | None = None,
    model: Model | str | os.PathLike[str] | None = None,
) -> str:
    """``text`` without the paragraphs that are confidently not of a kept label.

    A paragraph is dropped only when its most probable label is not in ``keep`` and
    the probability of the labels not kept reaches ``min_confidence`` (by default
    the model's, chosen on validation data to keep 99.5% of reporting). Everything
    else comes back unchanged and in order, line breaks included.
    """
    return clean_document(text, keep=keep, min_confidence=min_confidence, model=model).text

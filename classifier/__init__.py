"""newsclean: label each paragraph of scraped news as reporting, donation appeal or
interface residue, and clean the text of what is not reporting."""

from __future__ import annotations

__version__ = "0.1.0"

from classifier.api import CleanedDocument, Prediction, classify, clean, clean_document, default_model_path, load_model
from classifier.errors import (
    DataError,
    InputError,
    ModelError,
    ModelFormatError,
    ModelIntegrityError,
    NewscleanError,
    UnknownLabelError,
)
from classifier.labels import DONATION_APPEAL, LABELS, REPORTING, UI_RESIDUE
from classifier.model import Model, ModelVersionWarning, save_model
from classifier.text import Paragraph, split_paragraphs

__all__ = [
    "DONATION_APPEAL",
    "LABELS",
    "REPORTING",
    "UI_RESIDUE",
    "CleanedDocument",
    "DataError",
    "InputError",
    "Model",
    "ModelError",
    "ModelFormatError",
    "ModelIntegrityError",
    "ModelVersionWarning",
    "NewscleanError",
    "Paragraph",
    "Prediction",
    "UnknownLabelError",
    "__version__",
    "adapt",
    "classify",
    "clean",
    "clean_document",
    "default_model_path",
    "evaluate",
    "load_model",
    "save_model",
    "split_paragraphs",
    "train",
]


# Imported on first use: training needs scikit-learn and the corpus tools pandas,
# pyarrow, dask or trafilatura, while cleaning one article needs numpy alone.
_LAZY = {
    "adapt": "classifier.adaptation",
    "train": "classifier.training",
    "evaluate": "classifier.evaluation",
    "clean_html": "classifier.html",
    "classify_html": "classifier.html",
    "classify_frame": "classifier.frames",
    "clean_frame": "classifier.frames",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'classifier' has no attribute {name!r}")


__all__ += ["classify_frame", "classify_html", "clean_frame", "clean_html"]

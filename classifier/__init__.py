"""newsclean: label each paragraph of scraped news as reporting, donation appeal or
interface residue, and clean the text of what is not reporting."""

from __future__ import annotations

__version__ = "0.1.0"

from classifier.api import Prediction, classify, clean, clean_document, default_model_path, load_model
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


def train(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Fit a model on a labelled table (see ``classifier.training.train``).

    Imported on call: training needs scikit-learn, cleaning does not.
    """
    from classifier.training import train as _train

    return _train(*args, **kwargs)


def evaluate(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Evaluate a model on a labelled table (see ``classifier.evaluation.evaluate``)."""
    from classifier.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = [
    "DONATION_APPEAL",
    "LABELS",
    "REPORTING",
    "UI_RESIDUE",
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


# Corpus tools, imported on call: cleaning one article imports none of pandas,
# pyarrow, dask or trafilatura.


def clean_html(*args, **kwargs):  # type: ignore[no-untyped-def]
    """The cleaned text of a web page: trafilatura's extraction, then ``clean``
    (see ``classifier.html.clean_html``). Needs trafilatura."""
    from classifier.html import clean_html as _clean_html

    return _clean_html(*args, **kwargs)


def classify_frame(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Every paragraph of a pandas text column with its label (see ``classifier.frames``)."""
    from classifier.frames import classify_frame as _classify_frame

    return _classify_frame(*args, **kwargs)


def clean_frame(*args, **kwargs):  # type: ignore[no-untyped-def]
    """A pandas frame with its text column cleaned (see ``classifier.frames``)."""
    from classifier.frames import clean_frame as _clean_frame

    return _clean_frame(*args, **kwargs)


__all__ += ["classify_frame", "clean_frame", "clean_html"]

"""Named exceptions. Each message says what went wrong and what to do about it.

The library raises these; the CLI turns them into one line on stderr and an exit code.
"""

from __future__ import annotations


class NewscleanError(Exception):
    """Base class of every error that newsclean raises on purpose."""

    exit_code = 1


class UnknownLabelError(NewscleanError, ValueError):
    def __init__(self, label: object, *, where: str = "") -> None:
        from classifier.labels import LABELS

        place = f" {where}" if where else ""
        super().__init__(f"unknown label {label!r}{place}: use one of {', '.join(LABELS)}")


class DataError(NewscleanError, ValueError):
    """Labelled data or corpus input that cannot be used as it is."""


class InputError(NewscleanError, ValueError):
    """A file or stream given to a command cannot be read."""


class ModelError(NewscleanError):
    """A model folder is missing, damaged or of an unsupported format."""


class ModelIntegrityError(ModelError):
    """A model file does not match the checksum recorded when it was saved."""


class ModelFormatError(ModelError):
    """A model folder written by a format this version cannot read."""

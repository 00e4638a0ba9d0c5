"""The one definition of the labels (see LABELLING.md in the project's shared guide)."""

from __future__ import annotations

from collections.abc import Sequence

REPORTING = "reporting"
DONATION_APPEAL = "donation_appeal"
UI_RESIDUE = "ui_residue"

#: Label order: the columns of every probability array, everywhere in the project.
LABELS: tuple[str, ...] = (REPORTING, DONATION_APPEAL, UI_RESIDUE)

LABEL_DESCRIPTIONS: dict[str, str] = {
    REPORTING: "the article's own editorial content, bylines, datelines and captions included",
    DONATION_APPEAL: "an ask for the reader's money, subscription, registration or sign-up",
    UI_RESIDUE: "page furniture: buttons, navigation, teasers, notices, comments, footers",
}


def label_index(label: str) -> int:
    """Column of ``label`` in probability arrays; raises ``UnknownLabelError``."""
    from classifier.errors import UnknownLabelError

    try:
        return LABELS.index(label)
    except ValueError:
        raise UnknownLabelError(label) from None


def as_labels(keep: str | Sequence[str]) -> tuple[str, ...]:
    """Labels to keep as a checked tuple; one label may be given as a plain string
    (``keep="reporting"``), which would otherwise be read letter by letter."""
    from classifier.errors import InputError

    try:
        labels = (keep,) if isinstance(keep, str) else tuple(keep)
    except TypeError:
        raise TypeError(f"keep must be a label or a sequence of labels, such as 'reporting'; got {keep!r}") from None
    if not labels:
        # Every paragraph's label would be one not kept: the whole text would go.
        raise InputError(f"keep names no label, so every paragraph would be removed: keep one or more of {', '.join(LABELS)}")
    for label in labels:
        label_index(label)
    return labels

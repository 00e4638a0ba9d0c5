"""The report notebook runs from top to bottom and draws its three plots.

With the benchmark corpora it scores the held-out split (the same one the quality
gate uses); without them it falls back to the authored examples, so it runs anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient", reason="install the test extra: pip install -e '.[test]'")
nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "model_report.ipynb"


def test_report_notebook_executes_and_draws_its_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSCLEAN_FIGURES", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    for name in ("confusion_matrix.png", "precision_recall.png", "reliability.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "macro" in printed and "expected calibration error" in printed

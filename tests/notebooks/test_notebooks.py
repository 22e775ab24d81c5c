"""The analysts' notebooks run top to bottom on small data, in a real Jupyter kernel, without an
error, and draw their charts (EARLYWARN_NOTEBOOK_SMALL=1 shrinks the data each one uses)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.config import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def test_the_analysts_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS} >= {"error_analysis", "threshold_choice", "drift_review"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.setenv("EARLYWARN_NOTEBOOK_SMALL", "1")
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), f"{path.name} is committed with outputs: clear them"
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [o for o in outputs if "image/png" in o.get("data", {})]
    assert charts, f"{path.name} drew no chart"

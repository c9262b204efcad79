"""Every notebook in notebooks/ runs top to bottom (code cells in one namespace, Agg backend), at
the small size ``NEUROSIM_NOTEBOOK_SIZE=small`` selects (by hand, without it, at full size), and
is kept in git with its outputs stripped.

No Jupyter needed: the cells are plain Python; a failing cell fails the test with its index."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(path.parent)
    monkeypatch.setenv("NEUROSIM_NOTEBOOK_SIZE", "small")
    nb = json.loads(path.read_text())
    namespace: dict = {"__name__": "__main__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        try:
            exec(compile(src, f"{path.name}[cell {i}]", "exec"), namespace)
        except Exception as e:  # noqa: BLE001 - report which cell failed
            pytest.fail(f"{path.name}: cell {i} failed: {type(e).__name__}: {e}")
    plt.close("all")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, f"{path.name} cell {i}"

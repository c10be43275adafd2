import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "notebooks")


# What each notebook prints when its last step worked.
EXPECTED = {
    "01_quickstart.ipynb": "continued to step",
    "02_export_and_serve.ipynb": "server predictions (2, 16, 16, 3)",
}


def test_every_notebook_is_checked():
    assert sorted(n for n in os.listdir(NOTEBOOKS) if n.endswith(".ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_notebooks_show_their_outputs(name):
    # Executed with their real settings (make_notebooks.py --execute): pictures and text
    # a reader sees on the repository page, and no error.
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert all(cell.get("execution_count") for cell in notebook.cells
               if cell.cell_type == "code")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GENART_NOTEBOOK_QUICK", "1")  # tiny settings; the kernel inherits it
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert EXPECTED[name] in text

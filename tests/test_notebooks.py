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
def test_notebook_runs(name, tmp_path):
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert EXPECTED[name] in text

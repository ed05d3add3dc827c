"""Every notebook in notebooks/ runs top to bottom in fast mode (BNN_MOGP_FAST=1: small sizes).

The kernel is started from this interpreter (``sys.executable -m ipykernel_launcher``) through a
private kernel spec, so the notebooks see the same environment as the tests whatever kernel specs
the machine has installed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (after the skips)
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: seconds one cell may run
CELL_TIMEOUT = 300
#: seconds a whole notebook may run (kernel start included)
NOTEBOOK_TIMEOUT = 600
KERNEL_NAME = "python3"
#: colour codes of IPython tracebacks
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _kernel_manager(spec_dir: Path) -> KernelManager:
    """A kernel manager whose ``python3`` kernel is this interpreter running ipykernel."""
    kernel = spec_dir / KERNEL_NAME
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.executable})",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(spec_dir)], ensure_native_kernel=False)
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def _check_interpreter_cell():
    """A cell appended to the notebook: the kernel must run the test suite's interpreter."""
    return nbformat.v4.new_code_cell(
        f"import sys as _sys\nassert _sys.executable == {sys.executable!r}, _sys.executable\n"
    )


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("BNN_MOGP_FAST", "1")  # the kernel inherits os.environ
    monkeypatch.delenv("MPLBACKEND", raising=False)  # ipykernel then picks its inline backend
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # committed notebooks carry no outputs
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: commit the notebook with cleared outputs"
    nb.cells.append(_check_interpreter_cell())
    client = nbclient.NotebookClient(
        nb,
        km=_kernel_manager(tmp_path / "kernels"),
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},  # cwd of the kernel
    )
    try:
        client.execute()
    except CellExecutionError as err:  # its message holds the failing cell's source and traceback
        failure = ANSI_ESCAPE.sub("", str(err))
    else:
        return
    finally:  # a kernel manager passed in is not ours to keep: stop its kernel (memory, sockets)
        if client.km is not None and client.km.has_kernel:
            client.km.shutdown_kernel(now=True)
    pytest.fail(f"{path.name} failed in fast mode:\n{failure}", pytrace=False)

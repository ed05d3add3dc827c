"""Test configuration: float64 everywhere (closed forms are checked to 1e-6 or better)."""

import gc
import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one XLA thread per xdist worker (set before JAX starts its CPU backend): the workers, not
    # XLA's thread pool, keep the cores busy, and two workers do not fight over two cores
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

# one persistent compilation cache for the whole run (set before JAX starts; the xdist workers,
# notebook kernels and CLI subprocesses inherit it): the same programs are compiled by many
# tests, in several processes and again after the per-module cache clearing below
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(
        Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax_compilation_cache"
    )
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module: a full run compiles thousands of
    them (every network shape and sampler), and keeping them all grows the process for nothing."""
    yield
    jax.clear_caches()
    gc.collect()


def pytest_collection_modifyitems(config, items):
    """Modules with the most tests marked ``slow`` first (each module kept together, so that
    its module-scoped fixtures are made once): the two xdist workers then end on short tests
    together instead of one waiting for a notebook handed out last.
    """
    slow: dict = {}
    for item in items:
        slow[item.module] = slow.get(item.module, 0) + bool(item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow[item.module])

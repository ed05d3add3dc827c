"""Test configuration: float64 everywhere (closed forms are checked to 1e-6 or better)."""

import gc

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module: a full run compiles thousands of
    them (every network shape and sampler), and keeping them all grows the process for nothing."""
    yield
    jax.clear_caches()
    gc.collect()

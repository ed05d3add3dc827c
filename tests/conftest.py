"""Test configuration: float64 everywhere (closed forms are checked to 1e-6 or better)."""

import gc
import math

import jax
import pytest

jax.config.update("jax_enable_x64", True)


def hoeffding_eps(num: int, delta: float, value_range: float = 1.0) -> float:
    """ε with P(|mean − E| ≥ ε) ≤ δ for the mean of ``num`` iid variables in an interval."""
    return value_range * math.sqrt(math.log(2.0 / delta) / (2.0 * num))


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module: a full run compiles thousands of
    them (every network shape and sampler), and keeping them all grows the process for nothing."""
    yield
    jax.clear_caches()
    gc.collect()

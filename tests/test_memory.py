"""Compiled programs are let go before they exhaust the process's memory mappings (issue 12: a
Student-t fit until converged crashed after 15 rounds with "LLVM compilation error: Cannot
allocate memory", each fit having left ~1000 mappings of compiled code behind)."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from bnn_mogp._memory import release_compiled_programs


def mappings() -> int:
    return len(Path("/proc/self/maps").read_text().splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/maps")
def test_compiled_programs_are_released_above_the_share_of_the_mapping_limit():
    before = mappings()
    for n in range(2, 40):  # a new shape, a new program each time
        jax.jit(lambda x: jnp.sin(x) @ x.T)(jnp.ones((n, 3))).block_until_ready()
    grown = mappings()
    assert grown > before
    assert release_compiled_programs(share=1.0) is False  # far below the limit: kept
    assert release_compiled_programs(share=0.0) is True
    assert mappings() < grown

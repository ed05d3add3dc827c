"""The command line's persistent compilation cache (bnn_mogp.cli.compile_cache)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bnn_mogp.cli.compile_cache import ENV, cache_dir

SPEC = """
name = "tiny"
[network]
widths = [4]
[prior]
family = "horseshoe"
[prior_check]
widths = [3]
num_draws = 20
num_inputs = 3
"""


def test_the_environment_chooses_the_folder():
    assert cache_dir({ENV: "off"}) is None and cache_dir({ENV: "0"}) is None
    assert cache_dir({ENV: "/x/jit"}) == Path("/x/jit")
    assert cache_dir({"JAX_COMPILATION_CACHE_DIR": "/y"}) is None  # JAX's own setting stays
    assert cache_dir({ENV: "/x", "JAX_COMPILATION_CACHE_DIR": "/y"}) == Path("/x")
    default = cache_dir({})
    assert default is not None and default.parts[-2:] == ("bnn_mogp", "jax")


def _prior_run(tmp_path, folder, *options):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update({ENV: str(folder), "JAX_PLATFORMS": "cpu"})
    proc = subprocess.run(
        [sys.executable, "-m", "bnn_mogp", *options, "prior", "tiny.toml", "--out", "o"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return set(folder.iterdir()) if folder.exists() else set()


@pytest.mark.slow
def test_a_second_run_loads_every_program_from_the_cache(tmp_path):
    (tmp_path / "tiny.toml").write_text(SPEC)
    folder = tmp_path / "cache"
    first = _prior_run(tmp_path, folder)
    assert len(first) > 10, "the first run caches its programs (eager primitives included)"
    assert _prior_run(tmp_path, folder) == first, "the second run compiles nothing new"
    assert _prior_run(tmp_path, tmp_path / "unused", "--no-compile-cache") == set()

"""Float64 where it matters: kernels, Cholesky factors, samplers and what derives from a fit."""

from __future__ import annotations

import functools

import jax

__all__ = ["float64"]


def float64(fn):
    """Run ``fn`` with JAX's 64-bit mode on (``jax.enable_x64``), whatever the global setting."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper

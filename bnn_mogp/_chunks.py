"""Batched functions over many PRNG keys or posterior draws, a chunk at a time (bounded memory)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._progress import progress_bar

__all__ = ["map_key_chunks", "map_draw_chunks", "DRAW_CHUNK"]

#: posterior draws per vectorised evaluation (predictive, log-likelihood, network functions)
DRAW_CHUNK = 256


def map_key_chunks(
    fn: Callable, keys: jax.Array, chunk_size: int, *, progress: str | None = None
) -> tuple[np.ndarray, ...]:
    """Apply ``fn(keys_chunk) -> tuple of arrays with a leading chunk axis`` to ``keys`` in chunks
    of ``chunk_size`` and concatenate the results on the host as NumPy arrays.

    The last chunk is padded with repeated keys (and the padding dropped), so that one compiled
    ``fn`` serves every chunk. ``progress`` is the description of a progress bar, or None for
    none.
    """
    num = keys.shape[0]
    bar = None
    if progress is not None:
        bar = progress_bar(num, progress, unit="draw")
    parts = []
    for start in range(0, num, chunk_size):
        chunk = keys[start : start + chunk_size]
        keep = chunk.shape[0]
        if keep < chunk_size:
            chunk = jnp.concatenate([chunk, keys[: chunk_size - keep]])
        parts.append([np.asarray(out)[:keep] for out in fn(chunk)])
        if bar is not None:
            bar.update(keep)
    if bar is not None:
        bar.close()
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def map_draw_chunks(fn: Callable, draws: dict, chunk_size: int = DRAW_CHUNK) -> dict:
    """``fn(draws_chunk) -> dict`` over draws (a dict of arrays sharing a leading draw axis) in
    chunks of ``chunk_size``, joined on the host as NumPy arrays.

    ``fn`` runs compiled (``jax.jit``): one program per chunk shape. Run op by op, a NumPyro
    ``Predictive`` compiles and caches hundreds of small programs per new shape, which JAX
    keeps for the life of the process: a loop of fits then runs out of memory mappings.
    """
    num = next(iter(draws.values())).shape[0]
    compiled = jax.jit(fn)
    parts = [
        compiled({k: jnp.asarray(v[i : i + chunk_size]) for k, v in draws.items()})
        for i in range(0, num, chunk_size)
    ]
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}

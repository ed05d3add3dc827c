"""Batched functions over many PRNG keys or posterior draws, a chunk at a time (bounded memory)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._progress import progress_bar

__all__ = ["map_key_chunks", "map_draw_chunks", "map_row_chunks", "row_chunk", "DRAW_CHUNK"]

#: posterior draws per vectorised evaluation (predictive, log-likelihood, network functions)
DRAW_CHUNK = 256
#: floats of one vectorised evaluation's widest activation (draws × rows × width): 128 MiB
CHUNK_FLOATS = 1 << 24


def row_chunk(num_rows: int, num_draws: int, width: int) -> int:
    """Rows per evaluation so that ``num_draws`` × rows × ``width`` ≤ :data:`CHUNK_FLOATS`."""
    return max(1, min(num_rows, CHUNK_FLOATS // max(1, num_draws * width)))


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


def map_row_chunks(
    fn: Callable, draws: dict, rows: tuple, width: int, row_outputs: tuple[str, ...]
) -> dict:
    """``fn(draws_chunk, *rows_chunk, index) -> dict`` over draws and over the rows of the arrays
    in ``rows`` (sharing their first axis), with at most :data:`CHUNK_FLOATS` activations of a
    layer of ``width`` per call: memory independent of the number of rows.

    Outputs named in ``row_outputs`` have the rows on axis 1 and are joined along it; the others
    do not depend on the rows and are taken from the first row chunk. ``index`` numbers the
    row chunks (fold it into PRNG keys, so that chunks do not repeat their noise). The last row
    chunk is padded with repeated rows so that one compiled ``fn`` serves all.
    """
    num_draws = next(iter(draws.values())).shape[0]
    num_rows = rows[0].shape[0]
    draw_chunk = min(DRAW_CHUNK, num_draws)
    size = row_chunk(num_rows, draw_chunk, width)
    compiled = jax.jit(fn)
    parts: list[dict] = []
    for index, start in enumerate(range(0, num_rows, size)):
        keep = min(size, num_rows - start)
        chunk = [np.asarray(a[start : start + size]) for a in rows]
        if keep < size:
            chunk = [np.concatenate([c, np.repeat(c[:1], size - keep, 0)]) for c in chunk]
        out = [
            compiled(
                {k: jnp.asarray(v[i : i + draw_chunk]) for k, v in draws.items()},
                *chunk,
                index,
            )
            for i in range(0, num_draws, draw_chunk)
        ]
        joined = {k: np.concatenate([np.asarray(o[k]) for o in out]) for k in out[0]}
        parts.append({k: v[:, :keep] if k in row_outputs else v for k, v in joined.items()})
    return {
        k: np.concatenate([p[k] for p in parts], 1) if k in row_outputs else parts[0][k]
        for k in parts[0]
    }

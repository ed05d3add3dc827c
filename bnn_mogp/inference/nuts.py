"""NUTS in chunks: one compiled chunk function, progress per chunk, optional checkpoints.

NumPyro's ``MCMC.run`` recompiles its sampling loop on every call, so a run split into chunks by
calling it repeatedly pays the compilation each time. Here a chunk of at most ``chunk_size``
NUTS transitions is one jitted ``fori_loop`` with a dynamic trip count, compiled once per run and
reused for warmup and sampling chunks and for every chain. The transitions are NumPyro's own
(``NUTS.sample``, with its windowed step-size and mass-matrix adaptation during the first
``num_warmup`` iterations), so the draws are exactly those of ``MCMC`` given the same initial
state.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import NUTS

from bnn_mogp._progress import progress_bar
from bnn_mogp.inference.checkpoint import Checkpoint
from bnn_mogp.inference.config import CHAIN_METHODS

__all__ = ["run_nuts", "NutsResult"]

#: per-transition statistics recorded: name in sample_stats ← HMCState field
_STATS = {
    "diverging": lambda s: s.diverging,
    "n_steps": lambda s: s.num_steps,
    "acceptance_rate": lambda s: s.accept_prob,
    "energy": lambda s: s.energy,
    "step_size": lambda s: s.adapt_state.step_size,
    "lp": lambda s: -s.potential_energy,
}


class NutsResult(NamedTuple):
    """Draws after warmup: ``samples`` (latent sites, constrained) and ``stats`` (the ``_STATS``
    names), each array shaped (chain, draw, …); ``elapsed``: seconds spent in warmup and
    sampling (the first chunk includes compiling it), summed over resumed sessions.
    """

    samples: dict
    stats: dict
    elapsed: float


def run_nuts(
    model,
    model_args: tuple,
    model_kwargs: dict,
    *,
    rng_key,
    num_warmup: int,
    num_samples: int,
    num_chains: int = 1,
    chain_method: str = "sequential",
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    dense_mass: bool = False,
    chunk_size: int = 50,
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
) -> NutsResult:
    """Run ``num_chains`` NUTS chains of ``num_warmup`` + ``num_samples`` transitions.

    The chains advance chunk by chunk; after each chunk the state (and the chunk's draws) go to
    ``checkpoint`` when given, and a run whose checkpoint exists continues from it.
    ``chain_method``: ``"sequential"`` (one chain after the other through the same compiled
    chunk), ``"vectorized"`` (``vmap`` over chains) or ``"parallel"`` (``pmap``; needs
    ``num_chains`` devices).
    """
    if chain_method not in CHAIN_METHODS:
        raise ValueError(
            f"chain_method must be one of {', '.join(CHAIN_METHODS)}, got {chain_method!r}"
        )
    if chain_method == "parallel" and jax.local_device_count() < num_chains:
        raise ValueError(
            f"chain_method='parallel' needs num_chains = {num_chains} devices, found "
            f"{jax.local_device_count()}; use 'sequential' or 'vectorized', or set XLA_FLAGS="
            f"--xla_force_host_platform_device_count={num_chains} before JAX is imported"
        )
    kernel = NUTS(
        model,
        target_accept_prob=target_accept,
        max_tree_depth=max_tree_depth,
        dense_mass=dense_mass,
    )
    keys = jax.random.split(rng_key, num_chains)
    per_chain = chain_method == "sequential"  # a list of per-chain states, else one stacked
    # compiled as one program: run op by op, NumPyro's search for a valid initial point
    # compiles every primitive of the model and its gradient separately (seconds per fit)
    init = jax.jit(
        lambda k: kernel.init(k, num_warmup, model_args=model_args, model_kwargs=model_kwargs)
    )
    if chain_method == "vectorized":  # a vmapped kernel
        state = init(keys)
    else:  # an unbatched kernel, one state per chain (stacked for pmap)
        state = [init(k) for k in keys]
        if not per_chain:
            state = _host_stack(state)
    iteration, chunks, elapsed = 0, [], 0.0
    if checkpoint is not None:
        saved = checkpoint.load(_host_stack(state) if per_chain else state)
        if saved is not None:
            state, iteration, chunks, elapsed = saved
            if per_chain:
                state = [jax.tree.map(lambda x, c=c: x[c], state) for c in range(num_chains)]
    latent = list((state[0] if per_chain else state).z)
    postprocess = kernel.postprocess_fn(model_args, model_kwargs)

    def record(s):
        z = (jax.vmap(postprocess) if chain_method == "vectorized" else postprocess)(s.z)
        return {"z": {k: z[k] for k in latent}, **{k: f(s) for k, f in _STATS.items()}}

    def advance(s, n):
        buffer = jax.tree.map(lambda v: jnp.zeros((chunk_size,) + v.shape, v.dtype), record(s))

        def body(i, carry):
            s, buf = carry
            s = kernel.sample(s, model_args, model_kwargs)
            return s, jax.tree.map(lambda b, v: b.at[i].set(v), buf, record(s))

        return jax.lax.fori_loop(0, n, body, (s, buffer))

    if chain_method == "vectorized":
        jstep = jax.jit(advance)
        step = lambda s, n: _host(jstep(s, n), chain_axis=1)  # noqa: E731
    elif chain_method == "parallel":
        pstep = jax.pmap(advance, in_axes=(0, None))
        step = lambda s, n: _host(pstep(s, n), chain_axis=0)  # noqa: E731
    else:
        jstep = jax.jit(advance)
        step = lambda s, n: _sequential(jstep, s, n)  # noqa: E731

    total = num_warmup + num_samples
    bar = _progress_bar(total, iteration, num_warmup) if progress else None
    divergences = sum(int(np.sum(c["diverging"])) for c in chunks)
    start = time.perf_counter()
    while iteration < total:
        n = min(chunk_size, (num_warmup if iteration < num_warmup else total) - iteration)
        state, buffer = step(state, n)
        sampling = iteration >= num_warmup
        iteration += n
        chunk = None
        if sampling:  # buffers are (chain, chunk_size, …): keep n draws, name the arrays
            buffer = jax.tree.map(lambda b, n=n: b[:, :n], buffer)
            chunk = {
                **{f"z/{k}": v for k, v in buffer["z"].items()},
                **{k: buffer[k] for k in _STATS},
            }
            chunks.append(chunk)
            divergences += int(chunk["diverging"].sum())
        now = time.perf_counter()
        if checkpoint is not None:
            checkpoint.save(
                _host_stack(state) if per_chain else state, iteration, chunk, elapsed + now - start
            )
        if bar is not None:
            bar.set_description("NUTS sampling" if iteration >= num_warmup else "NUTS warmup")
            sizes = [s.adapt_state.step_size for s in (state if per_chain else [state])]
            step_size = float(np.mean([np.mean(np.asarray(x)) for x in sizes]))
            bar.set_postfix(divergences=divergences, step_size=f"{step_size:.2g}")
            bar.update(n)
    if bar is not None:
        bar.close()
    elapsed += time.perf_counter() - start
    joined = {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}
    samples = {k[2:]: v for k, v in joined.items() if k.startswith("z/")}
    return NutsResult(samples, {k: joined[k] for k in _STATS}, elapsed)


def _host_stack(trees):
    """Per-chain trees → one tree of NumPy arrays with a leading chain axis."""
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def _host(out, chain_axis: int):
    """(state, buffer) of a batched step → buffer on the host with the chain axis first."""
    state, buffer = out
    return state, jax.tree.map(lambda b: np.moveaxis(np.asarray(b), chain_axis, 0), buffer)


def _sequential(jstep, states, n):
    """Advance each chain in turn through the same compiled chunk."""
    outs = [jstep(s, n) for s in states]
    return [s for s, _ in outs], _host_stack([b for _, b in outs])


def _progress_bar(total: int, done: int, num_warmup: int):
    desc = "NUTS sampling" if done >= num_warmup else "NUTS warmup"
    return progress_bar(total, desc, unit="it", initial=done)

"""SVI in chunks: Adam steps in one compiled chunk function, progress per chunk, checkpoints.

The step size decays from ``learning_rate`` tenfold over the run,
η_i = learning_rate · 0.1^(i / num_steps), so that the final iterate sits close to the optimum
rather than in the stochastic-gradient noise around it. The optimiser's step counter is part of
the state, so a resumed run continues the same schedule and reproduces an uninterrupted run.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.infer import SVI, Trace_ELBO, autoguide

from bnn_mogp._progress import progress_bar
from bnn_mogp.inference.checkpoint import Checkpoint
from bnn_mogp.inference.config import GUIDES

__all__ = ["run_svi", "SviResult"]

#: SVI guides by name
_GUIDE_CLASSES = {
    "normal": autoguide.AutoNormal,
    "lowrank": autoguide.AutoLowRankMultivariateNormal,
    "delta": autoguide.AutoDelta,
}


class SviResult(NamedTuple):
    """``guide`` (the fitted autoguide), ``params`` (its parameters), ``losses`` (the ELBO loss
    of every step, shape (num_steps,)), ``elapsed`` (seconds, summed over resumed sessions).
    """

    guide: object
    params: dict
    losses: np.ndarray
    elapsed: float


def run_svi(
    model,
    model_args: tuple,
    model_kwargs: dict,
    *,
    rng_key,
    guide: str = "normal",
    num_steps: int = 5000,
    learning_rate: float = 1e-2,
    num_particles: int = 1,
    chunk_size: int = 500,
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
) -> SviResult:
    """Maximise the ELBO of ``guide`` (one of :data:`~bnn_mogp.inference.config.GUIDES`) for
    ``model`` with Adam.
    """
    if guide not in GUIDES:
        raise ValueError(f"guide must be one of {', '.join(GUIDES)}, got {guide!r}")
    svi_guide = _GUIDE_CLASSES[guide](model)
    schedule = lambda i: learning_rate * 0.1 ** (i / num_steps)  # noqa: E731
    svi = SVI(
        model, svi_guide, numpyro.optim.Adam(schedule), Trace_ELBO(num_particles=num_particles)
    )
    state = svi.init(rng_key, *model_args, **model_kwargs)
    iteration, chunks, elapsed = 0, [], 0.0
    if checkpoint is not None:
        saved = checkpoint.load(state)
        if saved is not None:
            state, iteration, chunks, elapsed = saved

    @jax.jit
    def advance(state, n):
        def body(i, carry):
            s, losses = carry
            s, loss = svi.update(s, *model_args, **model_kwargs)
            return s, losses.at[i].set(loss)

        return jax.lax.fori_loop(0, n, body, (state, jnp.zeros(chunk_size)))

    bar = None
    if progress:
        bar = progress_bar(num_steps, "SVI", unit="step", initial=iteration)
    start = time.perf_counter()
    while iteration < num_steps:
        n = min(chunk_size, num_steps - iteration)
        state, losses = advance(state, n)
        losses = np.asarray(losses)[:n]
        chunks.append({"loss": losses})
        iteration += n
        if checkpoint is not None:
            checkpoint.save(state, iteration, chunks[-1], elapsed + time.perf_counter() - start)
        if bar is not None:
            bar.set_postfix(loss=f"{np.mean(losses):.4g}")
            bar.update(n)
    if bar is not None:
        bar.close()
    elapsed += time.perf_counter() - start
    losses = np.concatenate([c["loss"] for c in chunks])
    return SviResult(svi_guide, svi.get_params(state), losses, elapsed)

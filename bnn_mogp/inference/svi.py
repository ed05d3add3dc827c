"""SVI in chunks: Adam steps in one compiled chunk function, progress per chunk, checkpoints.

The step size decays from ``learning_rate`` tenfold over the run,
η_i = learning_rate · 0.1^(i / num_steps), so that the final iterate sits close to the optimum
rather than in the stochastic-gradient noise around it. The optimiser's step counter is part of
the state, so a resumed run continues the same schedule and reproduces an uninterrupted run.

With ``batch_size`` each step sees B rows of the data, taken in order from a fresh permutation per
epoch (:func:`bnn_mogp.inference.minibatch.epoch_batches`), with the model's log-likelihood
scaled by N / B (``num_data``): the ELBO and its gradient are then unbiased estimates of the
full-data ones.
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
from bnn_mogp.inference.minibatch import STEP_BYTES, epoch_batches

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
    batch_size: int | None = None,
    chunk_size: int = 500,
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
) -> SviResult:
    """Maximise the ELBO of ``guide`` (one of :data:`~bnn_mogp.inference.config.GUIDES`) for
    ``model`` with Adam; ``model_args`` are (net, X, y), in mini-batches of ``batch_size`` rows
    when it is given (the module docstring).
    """
    if guide not in GUIDES:
        raise ValueError(f"guide must be one of {', '.join(GUIDES)}, got {guide!r}")
    svi_guide = _GUIDE_CLASSES[guide](model)
    schedule = lambda i: learning_rate * 0.1 ** (i / num_steps)  # noqa: E731
    svi = SVI(
        model, svi_guide, numpyro.optim.Adam(schedule), Trace_ELBO(num_particles=num_particles)
    )
    net, X, y = model_args
    num_data = X.shape[0]
    if batch_size is not None:
        if not 1 <= batch_size <= num_data:
            raise ValueError(f"batch_size must be in [1, N = {num_data}], got {batch_size}")
        model_kwargs = dict(model_kwargs, num_data=num_data)
        row_bytes = X[:1].nbytes + y[:1].nbytes
        chunk_size = max(1, min(chunk_size, STEP_BYTES // (batch_size * row_bytes)))
    rows = num_data if batch_size is None else batch_size
    state = svi.init(rng_key, net, X[:rows], y[:rows], **model_kwargs)
    iteration, chunks, elapsed = 0, [], 0.0
    if checkpoint is not None:
        saved = checkpoint.load(state)
        if saved is not None:
            state, iteration, chunks, elapsed = saved

    @jax.jit
    def advance(state, n, Xs, ys):
        def body(i, carry):  # step i sees batch i (full data: the one batch)
            s, losses = carry
            j = i % Xs.shape[0]
            s, loss = svi.update(s, net, Xs[j], ys[j], **model_kwargs)
            return s, losses.at[i].set(loss)

        return jax.lax.fori_loop(0, n, body, (state, jnp.zeros(chunk_size)))

    k_batches = jax.random.fold_in(rng_key, 1)
    epochs: dict[int, np.ndarray] = {}

    def batches(first: int, n: int):
        """The data of steps first … first + n − 1 (padded to ``chunk_size`` steps)."""
        if batch_size is None:
            return X[None], y[None]
        steps = num_data // batch_size
        idx = []
        for t in range(first, first + n):
            epoch, pos = divmod(t, steps)
            if epoch not in epochs:
                epochs.clear()
                epochs[epoch] = epoch_batches(k_batches, epoch, num_data, batch_size)
            idx.append(epochs[epoch][pos])
        rows = np.stack(idx + [idx[0]] * (chunk_size - n))
        return X[rows], y[rows]

    bar = None
    if progress:
        bar = progress_bar(num_steps, "SVI", unit="step", initial=iteration)
    start = time.perf_counter()
    while iteration < num_steps:
        n = min(chunk_size, num_steps - iteration)
        state, losses = advance(state, n, *batches(iteration, n))
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

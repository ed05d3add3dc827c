r"""Mini-batch runs: epochs over (X, y) in batches, one compiled step loop, checkpoints per epoch.

Every mini-batch method (SGHMC, SGLD, MAP; :mod:`bnn_mogp.inference.sgmcmc`) works on the same
NumPyro model as NUTS, in its unconstrained parameters z (log λ, raw weights, …, as NUTS sees
them), through :func:`log_density_terms`: the log prior of z (log-Jacobians of the transforms
included) and the log-likelihood of a batch of B rows scaled by N / B
(``bnn_model(..., num_data=N)``). Over a uniformly random batch that estimate and its gradient
are unbiased for the full-data ones; over the ⌊N/B⌋ batches of one epoch's permutation (when B
divides N) their mean *is* the full-data gradient.

The data stay in host memory as NumPy arrays. Each epoch draws a permutation from the run's key
and the epoch number (so a resumed run sees exactly the same batches); the batches of up to
``steps_per_call`` steps are gathered on the host, moved to the device and consumed by one
compiled ``fori_loop`` (padded to a fixed shape, so it compiles once): memory per step is
O(batch × width), independent of N. A :class:`MinibatchKernel` says what one step does; its
state after each epoch (and the draws kept in it) go to the checkpoint, from which an
interrupted run continues to exactly the draws of an uninterrupted one.

Learned hyper-parameters (sites marked ``infer={"hyperparameter": m}`` by their prior, m the
number of variances whose law they set, e.g. α_l of a layer of m nodes) are moved in the
coordinate u = √m z. Their conditional posterior is that of a parameter of m iid draws, so its
curvature in z grows like m while the weights' stays O(1): with one step size for every
coordinate (SGHMC, SGLD) a step that suits the weights overshoots α by a factor of about √m
(at width 2000 on digits, draws of α spread over (0.07, 1) about a conditional posterior of
0.48 ± 0.003). The linear change of variables has a constant Jacobian, so the target law is
the same; it is SGHMC with mass m on those coordinates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import optax
from numpyro.distributions.transforms import biject_to
from numpyro.distributions.util import sum_rightmost
from numpyro.infer.util import constrain_fn, log_density, unconstrain_fn

from bnn_mogp._progress import progress_bar
from bnn_mogp.inference.checkpoint import Checkpoint
from bnn_mogp.likelihoods import is_regression

__all__ = [
    "MinibatchKernel",
    "MinibatchResult",
    "LogDensityTerms",
    "log_density_terms",
    "schedule",
    "run_minibatch",
    "epoch_batches",
    "STEP_BYTES",
]

#: bytes of batch data moved to the device per call of the compiled step loop (at most)
STEP_BYTES = 1 << 25


class LogDensityTerms(NamedTuple):
    """``log_prior``: log p(z) with the log-Jacobians (unconstrained z); ``log_lik``: the
    batch's log-likelihood scaled by N / B; ``metric``: the batch's accuracy (classification)
    or squared error per row (regression), for progress bars.
    """

    log_prior: jax.Array
    log_lik: jax.Array
    metric: jax.Array


def log_density_terms(model, model_args: tuple, model_kwargs: dict, z: dict) -> LogDensityTerms:
    """The terms of log p(z | batch) for the model's unconstrained latent values ``z``.

    The same substitution as NumPyro's ``potential_energy`` (each site's value is
    ``biject_to(support)(z)`` and the log-Jacobian is a factor), with the likelihood site
    ``y`` split off so that methods can weigh prior and likelihood (MAP's ``prior_weight``).
    """

    def substitute_fn(site):
        name = site["name"]
        if site["type"] != "sample" or name not in z:
            return None
        transform = biject_to(site["fn"].support)
        value = transform(z[name])
        log_det = transform.log_abs_det_jacobian(z[name], value)
        event_dims = jnp.ndim(log_det) - jnp.ndim(value) + len(site["fn"].event_shape)
        numpyro.factor(f"_{name}_log_det", sum_rightmost(log_det, event_dims))
        return value

    substituted = numpyro.handlers.substitute(model, substitute_fn=substitute_fn)
    log_joint, trace = log_density(substituted, model_args, model_kwargs, {})
    site = trace["y"]
    fn, value = site["fn"], site["value"]
    scale = 1.0 if site["scale"] is None else site["scale"]
    log_lik = scale * jnp.sum(fn.log_prob(value))
    if hasattr(fn, "logits"):  # categorical (K logits) or Bernoulli (one logit)
        logits = fn.logits
        guess = jnp.argmax(logits, -1) if logits.ndim == value.ndim + 1 else logits > 0
        metric = jnp.mean(guess == value)
    else:  # Normal or StudentT around f
        metric = jnp.mean(jnp.sum((fn.loc - value) ** 2, -1))
    return LogDensityTerms(log_joint - log_lik, log_lik, metric)


def schedule(config, num_steps: int) -> Callable:
    """The learning rate η_t of step t (an optax schedule): ``"constant"``, or ``"cosine"``:
    η_t = η (f + (1 − f)(1 + cos(π t / T)) / 2) over T = ``num_steps``, f =
    ``final_learning_rate``.
    """
    if config.schedule == "constant":
        return optax.constant_schedule(config.learning_rate)
    return optax.cosine_decay_schedule(
        config.learning_rate, max(num_steps, 1), alpha=config.final_learning_rate
    )


class MinibatchKernel(NamedTuple):
    """One method of mini-batch inference, as pure functions.

    ``init(z) -> state`` (z: unconstrained initial values); ``step(state, key, grad, eta) ->
    state`` with ``grad`` the gradient of the method's objective at the state's position
    (:attr:`objective`), ``eta`` the learning rate of the step; ``position(state) -> z``;
    ``objective(terms) -> scalar`` the function of :class:`LogDensityTerms` whose gradient the
    step takes (e.g. w log p(z) + log-lik for MAP).
    """

    init: Callable
    step: Callable
    position: Callable
    objective: Callable


class MinibatchResult(NamedTuple):
    """``samples``: the kept draws (constrained latent sites), each (chain, draw, …);
    ``history``: per chain and epoch the mean loss per data point −objective / N (prior
    included), the negative log-likelihood per data point ``nll``, the batch metric, the last
    learning rate and the wall time of the epoch (``seconds``; the first includes compiling),
    each (chain, epoch); ``elapsed``: seconds, summed over resumed sessions.
    """

    samples: dict
    history: dict
    elapsed: float


def epoch_batches(rng_key, epoch: int, num_data: int, batch_size: int) -> np.ndarray:
    """The row indices of the ⌊N/B⌋ batches of ``epoch``, shape (steps, B): a permutation drawn
    from ``rng_key`` folded with the epoch (the incomplete last batch is dropped; with B = N the
    one batch is every row, in order).
    """
    if batch_size == num_data:
        return np.arange(num_data)[None]
    steps = num_data // batch_size
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(rng_key, epoch), num_data))
    return perm[: steps * batch_size].reshape(steps, batch_size)


def run_minibatch(
    model,
    net,
    X: np.ndarray,
    y: np.ndarray,
    model_kwargs: dict,
    kernel: MinibatchKernel,
    *,
    rng_key,
    batch_size: int,
    epochs: int,
    learning_rate: Callable,
    num_chains: int = 1,
    burn_in: int = 0,
    thinning: int | None = None,
    keep: str = "draws",
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
    desc: str = "",
) -> MinibatchResult:
    """Run ``kernel`` for ``epochs`` epochs per chain on mini-batches of (X, y).

    Args:
        model: the NumPyro model, called as ``model(net, X_batch, y_batch, num_data=N,
            **model_kwargs)``.
        kernel: the method (:class:`MinibatchKernel`).
        rng_key: the run's key; chain c uses the c-th of its splits (initial values drawn from
            the prior, batch orders, the steps' noise).
        learning_rate: t ↦ η_t (:func:`schedule`), t counting steps from 0 in each chain.
        burn_in: epochs whose states are not kept (``keep="draws"``).
        thinning: steps between kept draws after the burn-in (default: steps per epoch).
        keep: ``"draws"`` (every ``thinning`` steps after the burn-in) or ``"last"`` (the final
            state only, e.g. MAP).
    """
    num_data = X.shape[0]
    if not 1 <= batch_size <= num_data:
        raise ValueError(f"batch_size must be in [1, N = {num_data}], got {batch_size}")
    steps_per_epoch = num_data // batch_size
    total = epochs * steps_per_epoch
    thinning = steps_per_epoch if thinning is None else thinning
    start_draws = burn_in * steps_per_epoch
    kwargs = dict(model_kwargs, num_data=num_data)

    mass = _hyperparameter_sizes(model, (net, X[:1], y[:1]), kwargs)

    def to_z(u):
        return {k: v / math.sqrt(mass[k]) if k in mass else v for k, v in u.items()}

    def to_u(z):
        return {k: v * math.sqrt(mass[k]) if k in mass else v for k, v in z.items()}

    def constrain(u):
        z = to_z(u)
        return constrain_fn(model, (net, X[:1], y[:1]), kwargs, z, return_deterministic=False)

    def value_and_grad(u, Xb, yb):
        def objective(u):
            t = log_density_terms(model, (net, Xb, yb), kwargs, to_z(u))
            return kernel.objective(t), jnp.stack([t.log_lik, t.metric])

        return jax.value_and_grad(objective, has_aux=True)(u)

    def kept(t):
        """Whether the state after t steps of a chain is kept."""
        if keep == "last":
            return t == total
        return (t > start_draws) & ((t - start_draws) % thinning == 0)

    @jax.jit
    def advance(state, Xs, ys, n, first_step, step_key):
        def body(i, carry):
            state, sums, buffer, count = carry
            t = first_step + i
            (value, aux), grad = value_and_grad(kernel.position(state), Xs[i], ys[i])
            state = kernel.step(state, jax.random.fold_in(step_key, t), grad, learning_rate(t))
            buffer, count = jax.lax.cond(
                kept(t + 1),
                lambda: (
                    jax.tree.map(
                        lambda b, v: b.at[count].set(v), buffer, constrain(kernel.position(state))
                    ),
                    count + 1,
                ),
                lambda: (buffer, count),
            )
            return state, sums + jnp.concatenate([value[None], aux]), buffer, count

        draw = constrain(kernel.position(state))
        slots = -(-steps_per_call // thinning) + 1
        buffer = jax.tree.map(lambda v: jnp.zeros((slots,) + v.shape, v.dtype), draw)
        sums = jnp.zeros(3)  # objective, log-likelihood, metric
        return jax.lax.fori_loop(0, n, body, (state, sums, buffer, jnp.zeros((), int)))

    chain_keys = jax.random.split(rng_key, num_chains)

    def hyper_median(site):
        """Learned hyper-parameters start at their prior's median (a random α near 0 makes
        the first steps diverge); everything else at a prior draw.
        """
        if site["type"] == "sample" and site["infer"].get("hyperparameter"):
            draws = site["fn"].sample(jax.random.PRNGKey(0), (101,))
            return jnp.median(draws, axis=0)
        return None

    @jax.jit
    def prior_draw(key, Xb, yb):
        """Unconstrained latent values of one prior draw (NumPyro's init_to_sample), learned
        hyper-parameters at their prior medians.
        """
        seeded = numpyro.handlers.seed(
            numpyro.handlers.substitute(model, substitute_fn=hyper_median), key
        )
        trace = numpyro.handlers.trace(seeded).get_trace(net, Xb, yb, **kwargs)
        values = {
            name: site["value"]
            for name, site in trace.items()
            if site["type"] == "sample" and not site["is_observed"]
        }
        return unconstrain_fn(model, (net, Xb, yb), kwargs, values)

    def initial(c):
        k_init = jax.random.split(chain_keys[c], 3)[0]
        return kernel.init(to_u(prior_draw(k_init, X[:batch_size], y[:batch_size])))

    state = initial(0)  # also the template of a saved state
    # a call moves at most STEP_BYTES of batches and keeps at most STEP_BYTES of draws
    row_bytes = X[:1].nbytes + y[:1].nbytes
    draw_bytes = sum(np.asarray(v).nbytes for v in jax.tree.leaves(kernel.position(state)))
    steps_per_call = max(
        1,
        min(
            steps_per_epoch,
            STEP_BYTES // max(1, batch_size * row_bytes),
            thinning * max(1, STEP_BYTES // draw_bytes - 1),
        ),
    )
    done, chunks, elapsed = 0, [], 0.0  # done: epochs finished, over all chains
    if checkpoint is not None:
        saved = checkpoint.load(state)
        if saved is not None:
            state, done, chunks, elapsed = saved
    bar = progress_bar(num_chains * epochs, desc, unit="epoch", initial=done) if progress else None
    start = time.perf_counter()
    while done < num_chains * epochs:
        chain, epoch = divmod(done, epochs)
        if epoch == 0 and chain:
            state = initial(chain)
        _, k_batches, k_steps = jax.random.split(chain_keys[chain], 3)
        batches = epoch_batches(k_batches, epoch, num_data, batch_size)
        draws: list[dict] = []
        sums = np.zeros(3)
        epoch_start = time.perf_counter()
        step = epoch * steps_per_epoch
        end = step + steps_per_epoch
        while step < end:
            n = min(steps_per_call, end - step)
            rows = batches[step - epoch * steps_per_epoch :][:n]
            rows = np.concatenate([rows, np.repeat(rows[:1], steps_per_call - n, 0)])
            state, call_sums, buffer, count = advance(state, X[rows], y[rows], n, step, k_steps)
            sums += np.asarray(call_sums)
            if int(count):
                draws.append(jax.tree.map(lambda b, c=int(count): np.asarray(b[:c]), buffer))
            step += n
        eta = float(learning_rate(end - 1))
        chunk: dict[str, Any] = {
            "chain": chain,
            "loss": -sums[0] / steps_per_epoch / num_data,
            "nll": -sums[1] / steps_per_epoch / num_data,
            "metric": sums[2] / steps_per_epoch,
            "learning_rate": eta,
            "seconds": time.perf_counter() - epoch_start,
        }
        if draws:
            chunk.update({f"z/{k}": np.concatenate([d[k] for d in draws]) for k in draws[0]})
        if not np.isfinite(chunk["loss"]):
            raise ValueError(
                f"{desc or 'the run'} diverged in epoch {epoch + 1} of chain {chain + 1} (loss "
                f"{chunk['loss']}); use a smaller learning_rate (this epoch's ended at {eta:.3g})"
            )
        chunks.append(chunk)
        done += 1
        if checkpoint is not None:
            checkpoint.save(state, done, chunk, elapsed + time.perf_counter() - start)
        if bar is not None:
            regression = is_regression(model_kwargs.get("likelihood", "gaussian"))
            metric_name = "sq_err" if regression else "accuracy"
            bar.set_postfix(
                **{
                    "chain": chain + 1,
                    "nll": f"{chunk['nll']:.4g}",
                    metric_name: f"{chunk['metric']:.3g}",
                    "lr": f"{eta:.2g}",
                }
            )
            bar.update(1)
    if bar is not None:
        bar.close()
    elapsed += time.perf_counter() - start
    return MinibatchResult(*_collect(chunks, num_chains, epochs), elapsed)


def _hyperparameter_sizes(model, model_args: tuple, model_kwargs: dict) -> dict[str, int]:
    """m of each site marked ``infer={"hyperparameter": m}`` (a learned hyper-parameter that
    sets the law of m variances).
    """
    trace = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(
        *model_args, **model_kwargs
    )
    return {
        name: int(site["infer"]["hyperparameter"])
        for name, site in trace.items()
        if site["type"] == "sample" and site["infer"].get("hyperparameter")
    }


def _collect(chunks: list[dict], num_chains: int, epochs: int) -> tuple[dict, dict]:
    """Per-epoch chunks → draws (chain, draw, …) and the history (chain, epoch)."""
    history = {
        k: np.array([c[k] for c in chunks], dtype=float).reshape(num_chains, epochs)
        for k in ("loss", "nll", "metric", "learning_rate", "seconds")
    }
    names = sorted({k for c in chunks for k in c if k.startswith("z/")})
    samples = {}
    for name in names:
        per_chain = [
            np.concatenate([np.asarray(c[name]) for c in chunks if name in c and c["chain"] == i])
            for i in range(num_chains)
        ]
        samples[name[2:]] = np.stack(per_chain)
    return samples, history

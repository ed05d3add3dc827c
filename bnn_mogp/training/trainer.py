r"""Training a node-scaled network by gradient descent, with its diagnostics logged (DESIGN §13).

:func:`train` runs full-batch gradient descent (``optimizer="gd"``), mini-batch SGD (``"sgd"``
with ``batch_size``) or Adam (``"adam"``) through optax on the trained weights w only (u and λ
frozen). The loss is the MSE averaged over the N·K entries of the targets (the reference code's
``nn.MSELoss``, no factor ½), or the cross-entropy averaged over the N inputs. ``log_every``
steps run inside one jitted ``lax.scan`` (one compiled program per chunk length), then the
history gets one row at that step:

- ``step``, ``train_risk``, ``test_risk`` (the training loss function on each split),
  ``train_accuracy``, ``test_accuracy`` (classification: argmax of f against the label, or
  against the argmax of one-hot targets under MSE; NaN for a single regression output);
- ``max_dw`` = max_j ‖w_j(t) − w_j(0)‖ (feature movement; w_j the incoming weights of node j);
- ``ntk_change`` = ‖Θ_t − Θ_0‖₂ (spectral norm) and ``ntk_min_eig`` = λ_min(Θ_t), for the
  empirical NTK of output 0 on ``ntk_points`` training inputs chosen once from the ``rng_key``
  (:func:`~bnn_mogp.training.network.empirical_ntk`);
- ``wall_time`` (seconds since the start, compile time included).

With ``checkpoint_dir`` the state (w, the optimiser's state, the PRNG key) and the history are
saved atomically after every logged chunk (:class:`~bnn_mogp.inference.checkpoint.Checkpoint`);
a rerun with the same arguments continues from there, and the history equals that of an
uninterrupted run (wall times aside). A rerun with more ``steps`` and otherwise the same
arguments continues a finished run further.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bnn_mogp._progress import progress_bar
from bnn_mogp._validation import check_choice, check_integer, check_real
from bnn_mogp.inference.checkpoint import Checkpoint, fingerprint, raw_key
from bnn_mogp.training.losses import LOSSES, check_data, loss_and_accuracy
from bnn_mogp.training.network import (
    NodeScaledNet,
    NodeScaledParams,
    empirical_ntk,
    init_params,
    predict,
)
from bnn_mogp.training.scalings import NodeScaling

__all__ = ["TrainConfig", "TrainState", "TrainResult", "train", "LOSSES", "OPTIMIZERS", "HISTORY"]

OPTIMIZERS = ("gd", "sgd", "adam")
#: the columns of the history, in order
HISTORY = (
    "step",
    "train_risk",
    "test_risk",
    "train_accuracy",
    "test_accuracy",
    "max_dw",
    "ntk_change",
    "ntk_min_eig",
    "wall_time",
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train` (the defaults are the reference's synthetic run, shortened).

    Args:
        loss: ``"mse"`` (averaged over the N·K target entries) or ``"cross_entropy"``.
        optimizer: ``"gd"`` (full batch), ``"sgd"`` (mini-batches of ``batch_size``) or
            ``"adam"`` (full batch unless ``batch_size``).
        learning_rate: step size (> 0).
        steps: number of optimiser steps.
        log_every: steps between two rows of the history (and two checkpoints).
        batch_size: mini-batch size (None: the whole training set).
        ntk_points: number P of training inputs on which the NTK is logged (0: not logged).
        dtype: ``"float32"`` or ``"float64"``.
    """

    loss: str = "mse"
    optimizer: str = "gd"
    learning_rate: float = 1.0
    steps: int = 1000
    log_every: int = 100
    batch_size: int | None = None
    ntk_points: int = 100
    dtype: str = "float32"

    def __post_init__(self):
        check_choice("loss", self.loss, LOSSES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_real("learning_rate", self.learning_rate, low=0.0)
        check_integer("steps", self.steps, 1)
        check_integer("log_every", self.log_every, 1)
        check_integer("ntk_points", self.ntk_points, 0)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        if self.batch_size is not None:
            check_integer("batch_size", self.batch_size, 1)
        elif self.optimizer == "sgd":
            raise ValueError("optimizer 'sgd' needs a batch_size (full-batch descent is 'gd')")
        if self.optimizer == "gd" and self.batch_size is not None:
            raise ValueError("optimizer 'gd' is full-batch: use 'sgd' for mini-batches")


class TrainState(NamedTuple):
    """What changes during training: the trained weights, the optimiser's state, the PRNG key."""

    w: jax.Array
    opt_state: Any
    key: jax.Array


@dataclasses.dataclass
class TrainResult:
    """The trained network and its logged history (one array per :data:`HISTORY` column)."""

    net: NodeScaledNet
    scaling: NodeScaling
    config: TrainConfig
    params: NodeScaledParams
    initial_w: np.ndarray
    history: dict[str, np.ndarray]
    ntk_inputs: np.ndarray

    @property
    def wall_time(self) -> float:
        """Seconds of training (the last row's wall time)."""
        return float(self.history["wall_time"][-1])


def _optimizer(config: TrainConfig) -> optax.GradientTransformation:
    if config.optimizer == "adam":
        return optax.adam(config.learning_rate)
    return optax.sgd(config.learning_rate)


def train(
    rng_key,
    net: NodeScaledNet,
    scaling: NodeScaling,
    X,
    Y,
    X_test=None,
    Y_test=None,
    *,
    config: TrainConfig | None = None,
    checkpoint_dir=None,
    progress: bool = True,
) -> TrainResult:
    """Train ``net`` with node scalings ``scaling`` on (X, Y); see the module docstring.

    Args:
        rng_key: PRNG key: initial weights, scalings (if random), NTK inputs, mini-batches.
        net: the architecture.
        scaling: the frozen node scalings.
        X: training inputs (N, d).
        Y: targets: (N,) or (N, K) reals for ``"mse"``, labels (N,) for ``"cross_entropy"``.
        X_test: test inputs (optional; test columns are NaN without them).
        Y_test: test targets.
        config: :class:`TrainConfig` (None: the defaults).
        checkpoint_dir: folder for checkpoints (resumed from when it holds this run's).
        progress: show a progress bar with the current training loss.
    """
    config = TrainConfig() if config is None else config
    X, Y = check_data(net, config.loss, X, Y, "training")
    has_test = X_test is not None
    if has_test:
        X_test, Y_test = check_data(net, config.loss, X_test, Y_test, "test")
    n_obs = X.shape[0]
    if config.batch_size is not None and config.batch_size > n_obs:
        raise ValueError(f"batch_size {config.batch_size} exceeds the {n_obs} training inputs")
    dtype = jnp.float64 if config.dtype == "float64" else jnp.float32
    with jax.enable_x64(config.dtype == "float64"):
        return _train(
            rng_key, net, scaling, X, Y, X_test, Y_test, has_test, config, dtype,
            checkpoint_dir, progress,
        )  # fmt: skip


class _Frozen(NamedTuple):
    """What a run reads but never changes: arguments (not constants) of its compiled programs,
    so that settings of equal shapes share one program.
    """

    X: jax.Array
    Y: jax.Array
    X_test: jax.Array  # 0 rows without test data
    Y_test: jax.Array
    X_ntk: jax.Array  # 0 rows when the NTK is not logged
    u: jax.Array
    lam: jax.Array
    w0: jax.Array
    theta0: jax.Array


@functools.partial(jax.jit, static_argnames=("net", "config", "length"))
def _run_chunk(state: TrainState, data: _Frozen, net, config: TrainConfig, length: int):
    """``length`` optimiser steps in one ``lax.scan``."""
    optimizer = _optimizer(config)

    def loss_fn(w, xb, yb):
        f = predict(net, NodeScaledParams(w, data.u, data.lam), xb)
        return loss_and_accuracy(config.loss, f, yb)[0]

    def step(state: TrainState, _):
        key, sub = jax.random.split(state.key)
        if config.batch_size is None:
            xb, yb = data.X, data.Y
        else:
            idx = jax.random.choice(sub, data.X.shape[0], (config.batch_size,), replace=False)
            xb, yb = data.X[idx], data.Y[idx]
        grads = jax.grad(loss_fn)(state.w, xb, yb)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.w)
        return TrainState(optax.apply_updates(state.w, updates), opt_state, key), None

    return jax.lax.scan(step, state, None, length=length)[0]


@functools.partial(jax.jit, static_argnames=("net", "loss"))
def _metrics(w, data: _Frozen, net, loss: str):
    """The logged values of one row of the history (all but step and wall time)."""
    p = NodeScaledParams(w, data.u, data.lam)
    nan = jnp.full((), jnp.nan, w.dtype)
    train_risk, train_acc = loss_and_accuracy(loss, predict(net, p, data.X), data.Y)
    test_risk = test_acc = nan
    if data.X_test.shape[0]:
        test_risk, test_acc = loss_and_accuracy(loss, predict(net, p, data.X_test), data.Y_test)
    max_dw = jnp.sqrt(jnp.max(jnp.sum((w - data.w0) ** 2, axis=0)))
    change = min_eig = nan
    if data.X_ntk.shape[0]:
        theta = empirical_ntk(net, p, data.X_ntk)
        change = jnp.max(jnp.abs(jnp.linalg.eigvalsh(theta - data.theta0)))
        min_eig = jnp.linalg.eigvalsh(theta)[0]
    return jnp.stack([train_risk, test_risk, train_acc, test_acc, max_dw, change, min_eig])


def _train(
    rng_key, net, scaling, X, Y, X_test, Y_test, has_test, config, dtype, checkpoint_dir, progress
):
    rng_key = raw_key(rng_key)  # the state saved in checkpoints holds plain arrays
    k_init, k_ntk, k_train = jax.random.split(rng_key, 3)
    p0 = init_params(k_init, net, scaling, dtype)
    n_obs = X.shape[0]
    P = min(config.ntk_points, n_obs)
    ntk_idx = np.sort(np.asarray(jax.random.permutation(k_ntk, n_obs))[:P])
    Xj, Yj = jnp.asarray(X, dtype), jnp.asarray(Y, jnp.int32 if Y.dtype == np.int32 else dtype)
    X_ntk = Xj[ntk_idx]
    data = _Frozen(
        X=Xj,
        Y=Yj,
        X_test=jnp.asarray(X_test, dtype) if has_test else Xj[:0],
        Y_test=jnp.asarray(Y_test, Yj.dtype) if has_test else Yj[:0],
        X_ntk=X_ntk,
        u=p0.u,
        lam=p0.lam,
        w0=p0.w,
        theta0=empirical_ntk(net, p0, X_ntk),
    )
    # one program per shape: the static parts are the network and the optimiser's settings
    step_config = dataclasses.replace(config, steps=1, log_every=1, ntk_points=0)
    state = TrainState(p0.w, _optimizer(config).init(p0.w), k_train)

    checkpoint = None
    rows: list[np.ndarray] = []
    done, elapsed0 = 0, 0.0
    if checkpoint_dir is not None:
        checkpoint = Checkpoint(
            checkpoint_dir,
            fingerprint(
                rng_key=rng_key,
                net=net,
                scaling=scaling,
                config=dataclasses.replace(config, steps=1),
                steps=config.steps,
                X=X,
                Y=Y,
                X_test=X_test if has_test else None,
                Y_test=Y_test if has_test else None,
            ),
            extendable=("steps",),
        )
        saved = checkpoint.load(state)
        if saved is not None:
            state, done, chunks, elapsed0 = saved
            rows = [c["rows"] for c in chunks]
    start = time.perf_counter() - elapsed0

    def log(step_count, w):
        values = np.asarray(_metrics(w, data, net, config.loss), dtype=np.float64)
        row = np.concatenate([[step_count], values, [time.perf_counter() - start]])[None, :]
        rows.append(row)
        return row

    bar = progress_bar(config.steps, "training", unit="step", initial=done) if progress else None
    try:
        if done == 0 and not rows:
            log(0, state.w)
            if checkpoint is not None:
                checkpoint.save(state, 0, {"rows": rows[-1]}, time.perf_counter() - start)
        while done < config.steps:
            n = min(config.log_every, config.steps - done)
            state = _run_chunk(state, data, net, step_config, n)
            done += n
            row = log(done, state.w)
            if checkpoint is not None:
                checkpoint.save(state, done, {"rows": row}, time.perf_counter() - start)
            if bar is not None:
                bar.update(n)
                bar.set_postfix(loss=f"{row[0, 1]:.4g}")
    finally:
        if bar is not None:
            bar.close()
    table = np.concatenate(rows)
    history = {name: table[:, i] for i, name in enumerate(HISTORY)}
    history["step"] = history["step"].astype(np.int64)
    return TrainResult(
        net=net,
        scaling=scaling,
        config=config,
        params=NodeScaledParams(state.w, p0.u, p0.lam),
        initial_w=np.asarray(p0.w),
        history=history,
        ntk_inputs=np.asarray(X[ntk_idx]),
    )

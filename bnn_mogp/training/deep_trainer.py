"""SGD of a deep abc-parameterised MLP with per-layer learning rates (DESIGN §14).

:func:`train_deep` runs ``steps`` SGD steps on mini-batches of ``batch_size`` training points
(the whole set when None), the learning rate of layer l being ``learning_rate`` · m^{−c_l}
(:func:`~bnn_mogp.training.deep.learning_rates`); a parameterisation with warmup exponents
(``ip_llr``) takes its first steps with those, at base rates calibrated on the first batch
(:func:`~bnn_mogp.training.deep.calibrated_warmup_rates`) or at ``learning_rate``. Every
``log_every`` steps the history gets a row: ``step``, ``train_loss``, ``test_loss``,
``train_accuracy``, ``test_accuracy`` (on the whole splits; NaN for one regression output) and
``movement_l`` for every layer: the root mean square of h^l(t) − h^l(0) on the first
``probe_points`` training inputs (the last one is the output f). A loss that overflows stops the
run and is reported in ``diverged`` (the step), not hidden.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._progress import progress_bar
from bnn_mogp._validation import check_choice, check_integer, check_real
from bnn_mogp.training.deep import (
    DeepNet,
    DeepParams,
    calibrated_warmup_rates,
    deep_loss,
    deep_preactivations,
    init_deep,
    learning_rates,
    rms,
    sgd_step,
)
from bnn_mogp.training.losses import LOSSES, check_data

__all__ = ["DeepTrainConfig", "DeepTrainResult", "train_deep"]


@dataclasses.dataclass(frozen=True)
class DeepTrainConfig:
    """Settings of :func:`train_deep`.

    Args:
        loss: ``"mse"`` or ``"cross_entropy"`` (:mod:`~bnn_mogp.training.losses`).
        learning_rate: base rate η (> 0); layer l uses η m^{−c_l}.
        steps: number of SGD steps.
        batch_size: mini-batch size (None: full batch).
        log_every: steps between two history rows.
        calibrate: calibrate the warmup steps' base rates (parameterisations with warmup).
        probe_points: training inputs on which the feature movement is measured.
        dtype: ``"float32"`` or ``"float64"``.
    """

    loss: str = "mse"
    learning_rate: float = 0.1
    steps: int = 100
    batch_size: int | None = None
    log_every: int = 10
    calibrate: bool = True
    probe_points: int = 64
    dtype: str = "float32"

    def __post_init__(self):
        check_choice("loss", self.loss, LOSSES)
        check_real("learning_rate", self.learning_rate, low=0.0)
        check_integer("steps", self.steps, 0)
        check_integer("log_every", self.log_every, 1)
        check_integer("probe_points", self.probe_points, 1)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        if self.batch_size is not None:
            check_integer("batch_size", self.batch_size, 1)


@dataclasses.dataclass
class DeepTrainResult:
    """The trained network, its initial weights, the logged history and the warmup rates."""

    net: DeepNet
    config: DeepTrainConfig
    params: DeepParams
    initial: DeepParams
    history: dict[str, np.ndarray]
    warmup_rates: np.ndarray | None
    diverged: int | None

    @property
    def final_loss(self) -> float:
        """The last logged training loss."""
        return float(self.history["train_loss"][-1])


def _evaluate(net, loss, p, X, Y):
    value, accuracy = deep_loss(net, loss, p.w, p.lam, X, Y)
    return float(value), float(accuracy)


def train_deep(
    rng_key, net: DeepNet, X, Y, config: DeepTrainConfig = DeepTrainConfig(), *,
    X_test=None, Y_test=None, progress: bool = False,
) -> DeepTrainResult:  # fmt: skip
    """Train ``net`` from its initialisation under ``rng_key`` (module docstring)."""
    X, Y = check_data(net, config.loss, X, Y, "training")
    if X_test is not None:
        X_test, Y_test = check_data(net, config.loss, X_test, Y_test, "test")
    dtype = jnp.float64 if config.dtype == "float64" else jnp.float32
    with jax.enable_x64(config.dtype == "float64"):
        k_init, k_batch = jax.random.split(rng_key)
        p = init_deep(k_init, net, dtype)
        initial = p
        y_dtype = dtype if config.loss == "mse" else jnp.int32  # labels stay integers
        Xj, Yj = jnp.asarray(X, dtype), jnp.asarray(Y, y_dtype)
        Xt = None if X_test is None else jnp.asarray(X_test, dtype)
        Yt = None if Y_test is None else jnp.asarray(Y_test, y_dtype)
        probe = Xj[: config.probe_points]
        h0 = deep_preactivations(net, p, probe)
        n, batch = len(X), config.batch_size or len(X)

        def batch_at(step):
            if batch >= n:
                return Xj, Yj
            idx = jax.random.choice(jax.random.fold_in(k_batch, step), n, (batch,), False)
            return Xj[idx], Yj[idx]

        warmup = net.param.warmup_steps
        warmup_rates = None
        if warmup:
            base: float | np.ndarray = config.learning_rate
            if config.calibrate:
                base = calibrated_warmup_rates(net, config.loss, p, *batch_at(0))
            warmup_rates = learning_rates(net, base, warmup=True)
        rates = jnp.asarray(learning_rates(net, config.learning_rate), dtype)

        columns = ["step", "train_loss", "test_loss", "train_accuracy", "test_accuracy"]
        columns += [f"movement_{l + 1}" for l in range(net.depth + 1)]
        history: dict[str, list] = {c: [] for c in columns}

        def log(step):
            train = _evaluate(net, config.loss, p, Xj, Yj)
            test = (np.nan, np.nan) if Xt is None else _evaluate(net, config.loss, p, Xt, Yt)
            moved = [
                rms(a - b) for a, b in zip(deep_preactivations(net, p, probe), h0, strict=True)
            ]
            for key, value in zip(columns, [step, *train, *test, *moved], strict=True):
                history[key].append(value)
            return train[0]

        log(0)
        diverged = None
        bar = progress_bar(config.steps, "training", unit="step") if progress else None
        for step in range(config.steps):
            r = rates if step >= warmup else jnp.asarray(warmup_rates, dtype)
            p, value, _ = sgd_step(net, config.loss, p, r, *batch_at(step))
            if bar is not None:
                bar.update(1)
            if not np.isfinite(float(value)):
                diverged = step
                break
            if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
                if not np.isfinite(log(step + 1)):
                    diverged = step + 1
                    break
        if bar is not None:
            bar.close()
    return DeepTrainResult(
        net=net,
        config=config,
        params=p,
        initial=initial,
        history={k: np.asarray(v, float) for k, v in history.items()},
        warmup_rates=warmup_rates,
        diverged=diverged,
    )

r"""Symmetries in the training of wide two-layer ReLU networks without bias (DESIGN §14; Hajjar
& Chizat, *Symmetries in the dynamics of wide two-layer neural networks*, 2023).

The network is the mean-field (integrable) two-layer MLP, :class:`~bnn_mogp.training.deep.DeepNet`
with ``depth = 1`` and ``parameterisation = "ip"``:

.. math:: f(x) = \frac1m \sum_{j=1}^m a_j\, \mathrm{relu}(b_j^\top x),

b_j(0) uniform on the unit sphere of R^d, a_j(0) uniform on {−1, +1} (the reference code's
initialisation; invariant under (a, b) → (−a, −b) and b → T b for every orthogonal T). It is
trained by online SGD on fresh inputs x ~ N(0, I_d / d) at learning rate η m for both layers
(the IP rates of depth 1), on the package's MSE (no factor ½: the paper's time t is 2ηk after
k steps).

- **Odd target** f*(−x) = −f*(x): with ``paired=True`` the neurons come in pairs (a, b),
  (−a, −b), so that, as relu(z) − relu(−z) = z, f(x) = ⟨w, x⟩ with w = (1/2m) Σ_j a_j b_j — a
  linear predictor — and every batch holds each input and its mirror image, so that the pairs
  stay pairs: f stays odd and linear along training, exactly (:func:`odd_part_error`). The
  theory says w(t) tends to the least-squares linear predictor w* = E[x xᵀ]⁻¹ E[f*(x) x]: the
  non-linear part of f* is never learned (:func:`cubic_target`: w* = sqrt(6d/5) ẑ and the best
  loss is 2 − 6/5 = 0.8 in the package's MSE). Independent neurons break the symmetry by
  O(m^(−1/2)) at initialisation; on mirrored batches (``mirror=True``) the even part stays of
  that order, on plain batches the batches' noise drives it to a width-independent size.
- **Target of a k-dimensional projection** f*(x) = g(P_H x): the neurons align with H. The
  alignment is the mass-weighted fraction of each neuron's squared norm inside H,

  .. math:: A = \frac{\sum_j |a_j|\,\|b_j\|\ \|P_H b_j\|^2 / \|b_j\|^2}{\sum_j |a_j|\,\|b_j\|},

  k/d in expectation at initialisation (‖P_H b‖² of a uniform unit vector is
  Beta(k/2, (d − k)/2)); it is also reported for the neurons with a_j > 0 and a_j < 0
  (the first move into H, the second lose their mass).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._progress import progress_bar
from bnn_mogp._validation import check_integer, check_real
from bnn_mogp.training.deep import (
    DeepNet,
    DeepParams,
    deep_preactivations,
    learning_rates,
    sgd_step,
)

__all__ = [
    "two_layer_net",
    "sphere_init",
    "cubic_target",
    "norm_target",
    "alignment",
    "odd_part_error",
    "linear_weights",
    "SymmetryRun",
    "train_online",
]


def two_layer_net(in_dim: int, width: int) -> DeepNet:
    """The mean-field two-layer ReLU network without bias (module docstring)."""
    return DeepNet(in_dim, width, 1, activation="relu", parameterisation="ip")


def sphere_init(rng_key, net: DeepNet, *, paired: bool = False, dtype=jnp.float32) -> DeepParams:
    """b_j uniform on the sphere, a_j uniform on {−1, +1}; ``paired``: neuron m/2 + j is
    (−a_j, −b_j) (``net.width`` even).
    """
    if net.depth != 1:
        raise ValueError(f"sphere_init is for two-layer networks (depth 1), got depth {net.depth}")
    m = net.width
    if paired and m % 2:
        raise ValueError(f"paired neurons need an even width, got {m}")
    half = m // 2 if paired else m
    k_b, k_a = jax.random.split(rng_key)
    b = jax.random.normal(k_b, (net.in_dim, half), dtype)
    b = b / jnp.linalg.norm(b, axis=0, keepdims=True)
    a = jax.random.rademacher(k_a, (half, 1), dtype)
    if paired:
        b, a = jnp.concatenate([b, -b], 1), jnp.concatenate([a, -a], 0)
    return DeepParams((b, a), (jnp.ones(m, dtype),))


def cubic_target(rng_key, in_dim: int) -> tuple[Callable, np.ndarray]:
    """The odd target f*(x) = C Σ_k z_k x_k³ of the reference experiment (z ~ N(0, I/d),
    C = sqrt(2d³/15)/‖z‖ so that E f*² = 2 for x ~ N(0, I/d)) and its least-squares linear
    predictor w* = sqrt(6d/5) ẑ.
    """
    z = np.asarray(jax.random.normal(rng_key, (in_dim,)), float) / np.sqrt(in_dim)
    scale = np.sqrt(2 * in_dim**3 / 15) / np.linalg.norm(z)
    z_j = jnp.asarray(z)

    def target(X):
        return scale * (X**3) @ z_j.astype(X.dtype)

    return target, np.sqrt(6 * in_dim / 5) * z / np.linalg.norm(z)


def norm_target(k: int) -> Callable:
    """f*(x) = sqrt(d) ‖P_H x‖ with H the span of the first k coordinates (sqrt(d): O(1) on
    x ~ N(0, I/d)).
    """

    def target(X):
        return jnp.sqrt(X.shape[1] * jnp.sum(X[:, :k] ** 2, axis=1))

    return target


def alignment(p: DeepParams, k: int) -> dict[str, float]:
    """Mass-weighted fraction of the neurons' squared norms inside the first k coordinates:
    ``all``, ``positive`` (a_j > 0) and ``negative`` (a_j < 0) (module docstring).
    """
    b, a = np.asarray(p.w[0], float), np.asarray(p.w[1][:, 0], float)
    norm2 = np.sum(b**2, axis=0)
    inside = np.sum(b[:k] ** 2, axis=0) / np.maximum(norm2, 1e-300)
    mass = np.abs(a) * np.sqrt(norm2)
    out = {}
    for name, keep in (("all", a == a), ("positive", a > 0), ("negative", a < 0)):
        w = mass[keep]
        out[name] = float(np.sum(w * inside[keep]) / np.sum(w)) if w.sum() > 0 else np.nan
    return out


def linear_weights(net: DeepNet, p: DeepParams) -> jax.Array:
    """w = (1/2m) Σ_j a_j b_j: the linear predictor a paired network equals."""
    return (p.w[0] @ p.w[1][:, 0]) / (2 * net.width)


def odd_part_error(net: DeepNet, p: DeepParams, X) -> tuple[float, float]:
    """(max |f(x) + f(−x)|, max |f(x) − ⟨w, x⟩|) over the rows of X, w = (1/2m) Σ_j a_j b_j:
    both zero for an odd, linear predictor.
    """
    f = deep_preactivations(net, p, X)[-1][:, 0]
    f_mirror = deep_preactivations(net, p, -X)[-1][:, 0]
    w = linear_weights(net, p)
    return float(jnp.max(jnp.abs(f + f_mirror))), float(jnp.max(jnp.abs(f - X @ w)))


@dataclasses.dataclass
class SymmetryRun:
    """A run of :func:`train_online`: the final parameters and the logged history (``step``,
    ``loss`` on the validation inputs, ``alignment_all/positive/negative`` when ``k`` is given,
    ``odd_error``, ``linear_error`` and ``w_error`` = ‖w − w*‖/‖w*‖ when ``w_star`` is given).
    """

    net: DeepNet
    params: DeepParams
    history: dict[str, np.ndarray]


def train_online(
    rng_key, net: DeepNet, target: Callable, *, steps: int = 2000, batch_size: int = 256,
    learning_rate: float = 0.05, paired: bool = False, mirror: bool | None = None,
    k: int | None = None,
    w_star=None, log_every: int = 100, num_validation: int = 4096, dtype: str = "float32",
    progress: bool = False,
) -> SymmetryRun:  # fmt: skip
    """Online SGD of the two-layer network on fresh inputs x ~ N(0, I/d) (module docstring).

    Args:
        rng_key: seeds the initialisation, the batches and the validation inputs.
        net: :func:`two_layer_net`.
        target: f* on a batch (N, d) → (N,).
        steps, batch_size, learning_rate: SGD settings (base rate η; the layers use η m).
        paired: paired neurons, (a, b) and (−a, −b).
        mirror: batches of inputs with their mirror images (default: ``paired``); with
            independent neurons it separates the symmetry the batches break from the one
            the finite width breaks.
        k: log the alignment with the first k coordinates.
        w_star: log ‖w − w*‖/‖w*‖ and the distance to a linear predictor (odd targets).
        log_every: steps between two history rows.
        num_validation: validation inputs of the logged loss.
        dtype: ``"float32"`` or ``"float64"``.
    """
    check_integer("steps", steps, 1)
    mirror = paired if mirror is None else mirror
    check_integer("batch_size", batch_size, 2 if mirror else 1)
    check_real("learning_rate", learning_rate, low=0.0)
    check_integer("log_every", log_every, 1)
    d = net.in_dim
    with jax.enable_x64(dtype == "float64"):
        jdtype = jnp.float64 if dtype == "float64" else jnp.float32
        k_init, k_data, k_val = jax.random.split(rng_key, 3)
        p = sphere_init(k_init, net, paired=paired, dtype=jdtype)
        rates = jnp.asarray(learning_rates(net, learning_rate), jdtype)
        X_val = jax.random.normal(k_val, (num_validation, d), jdtype) / np.sqrt(d)
        Y_val = target(X_val)[:, None]
        history: dict[str, list] = {}

        def log(step):
            f = deep_preactivations(net, p, X_val)[-1]
            row = {"step": step, "loss": float(jnp.mean((f - Y_val) ** 2))}
            if k is not None:
                row.update({f"alignment_{n}": v for n, v in alignment(p, k).items()})
            if w_star is not None:
                row["odd_error"], row["linear_error"] = odd_part_error(net, p, X_val)
                w = np.asarray(linear_weights(net, p), float)
                row["w_error"] = float(np.linalg.norm(w - w_star) / np.linalg.norm(w_star))
            for key, value in row.items():
                history.setdefault(key, []).append(value)

        log(0)
        half = batch_size // 2 if mirror else batch_size
        bar = progress_bar(steps, "training", unit="step") if progress else None
        for step in range(steps):
            X = jax.random.normal(jax.random.fold_in(k_data, step), (half, d), jdtype) / np.sqrt(d)
            if mirror:
                X = jnp.concatenate([X, -X])
            p, _, _ = sgd_step(net, "mse", p, rates, X, target(X)[:, None])
            if bar is not None:
                bar.update(1)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                log(step + 1)
        if bar is not None:
            bar.close()
    return SymmetryRun(net, p, {key: np.asarray(v, float) for key, v in history.items()})

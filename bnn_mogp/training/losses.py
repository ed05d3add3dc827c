"""Losses of node-scaled networks and the checks of their data (DESIGN §13).

``"mse"``: the mean of (f − Y)² over the N·K target entries (the reference code's
``nn.MSELoss``, no factor ½); accuracy, for K > 1, compares argmax f with argmax Y (one-hot
targets). ``"cross_entropy"``: the mean over the N inputs of −log softmax(f)[label]; accuracy
compares argmax f with the label.
"""

from __future__ import annotations

from typing import Protocol

import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["LOSSES", "check_data", "loss_and_accuracy"]

LOSSES = ("mse", "cross_entropy")


class Shaped(Protocol):
    """A network with an input dimension d and K outputs."""

    @property
    def in_dim(self) -> int: ...  # noqa: D102

    @property
    def out_dim(self) -> int: ...  # noqa: D102


def check_data(net: Shaped, loss: str, X, Y, name: str):
    """(X, Y) as float64 inputs (N, d) and targets: labels (N,) int32 for ``"cross_entropy"``,
    reals (N, K) for ``"mse"``; one-line errors naming ``name`` and what is wrong.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != net.in_dim:
        raise ValueError(f"{name} inputs must have shape (N, {net.in_dim}), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} inputs contain NaN or infinite values")
    Y = np.asarray(Y)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"{name}: {X.shape[0]} inputs but {Y.shape[0]} targets")
    if loss == "cross_entropy":
        if Y.ndim != 1 or not np.all(np.equal(np.mod(Y, 1), 0)):
            raise ValueError(f"{name} targets must be integer class labels (N,) for cross_entropy")
        if Y.size and (Y.min() < 0 or Y.max() >= net.out_dim):
            raise ValueError(
                f"{name} labels must be in 0..{net.out_dim - 1} (out_dim = {net.out_dim}), "
                f"got {int(Y.min())}..{int(Y.max())}"
            )
        return X, Y.astype(np.int32)
    Y = Y.astype(np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    if Y.ndim != 2 or Y.shape[1] != net.out_dim:
        raise ValueError(f"{name} targets must have shape (N, {net.out_dim}), got {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{name} targets contain NaN or infinite values")
    return X, Y


def loss_and_accuracy(loss: str, f, Y):
    """(loss, accuracy) of outputs f (N, K) against Y; accuracy is NaN for one MSE output."""
    if loss == "cross_entropy":
        value = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(f, Y))
        return value, jnp.mean(jnp.argmax(f, 1) == Y)
    value = jnp.mean((f - Y) ** 2)
    if f.shape[1] == 1:
        return value, jnp.nan
    return value, jnp.mean(jnp.argmax(f, 1) == jnp.argmax(Y, 1))

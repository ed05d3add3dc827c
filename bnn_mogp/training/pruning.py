"""Pruning a trained node-scaled network without retraining (DESIGN §13).

Nodes are removed in increasing order of their scaling λ_j (ties in index order, so uniform
scalings are pruned from the first node on) by setting λ_j = 0; the remaining scalings are not
renormalised. At every fraction of removed nodes (by default 0 %, 5 %, …, 95 %) the training
loss and accuracy of :mod:`~bnn_mogp.training.trainer` are evaluated on the given data.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp.training.losses import check_data, loss_and_accuracy
from bnn_mogp.training.network import predict
from bnn_mogp.training.trainer import TrainResult

__all__ = ["prune_curve", "PRUNE_FRACTIONS"]

#: default fractions of removed nodes: every 5 %
PRUNE_FRACTIONS = tuple(np.round(np.arange(0.0, 1.0, 0.05), 2))


def prune_curve(result: TrainResult, X, Y, fractions=PRUNE_FRACTIONS) -> dict[str, np.ndarray]:
    """Loss and accuracy of ``result``'s network on (X, Y) with the smallest-λ nodes removed.

    Returns ``{"fraction", "nodes_removed", "risk", "accuracy"}`` (one entry per fraction;
    accuracy is NaN for a single regression output). ``fractions`` must lie in [0, 1].
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or not np.all((fractions >= 0) & (fractions <= 1)):
        raise ValueError(f"fractions must be a 1-D sequence in [0, 1], got {fractions!r}")
    net, loss = result.net, result.config.loss
    X, Y = check_data(net, loss, X, Y, "pruning")
    p = result.params
    dtype = p.w.dtype
    order = np.argsort(np.asarray(p.lam), kind="stable")
    removed = np.floor(fractions * net.width + 1e-9).astype(int)
    masks = np.ones((len(removed), net.width))
    for i, k in enumerate(removed):
        masks[i, order[:k]] = 0.0
    with jax.enable_x64(result.config.dtype == "float64"):
        Xj = jnp.asarray(X, dtype)
        Yj = jnp.asarray(Y, jnp.int32 if Y.dtype == np.int32 else dtype)

        @jax.jit
        def evaluate(mask):
            f = predict(net, p._replace(lam=p.lam * mask), Xj)
            return jnp.stack(loss_and_accuracy(loss, f, Yj))

        values = np.asarray(jax.lax.map(evaluate, jnp.asarray(masks, dtype)), dtype=np.float64)
    return {
        "fraction": fractions,
        "nodes_removed": removed,
        "risk": values[:, 0],
        "accuracy": values[:, 1],
    }

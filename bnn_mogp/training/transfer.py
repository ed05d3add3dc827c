r"""Transfer of learned features to a new split (DESIGN §13).

The features of node j are its scaled activations sqrt(λ_j) φ(w_jᵀx/√d). The D nodes with the
largest λ (D = 10, 20, 50, 100 by default) feed two read-outs trained on a disjoint training
split and evaluated on its test split:

- ``probe``: the features standardised (training-split mean and sd), then ridge regression
  with its penalty chosen by leave-one-out cross-validation over 10⁻⁶…10⁶ (regression; plain
  least squares interpolates once D reaches the number of transfer-training rows) or
  multinomial logistic regression with scikit-learn's default L2 penalty (classification);
- ``mlp``: the reference code's read-out, a ReLU MLP with two hidden layers (64-64 and
  learning rate 0.1 for 5000 steps in regression; 128-128, learning rate 1.0, 10 000 steps in
  classification) trained by full-batch gradient descent on the MSE to the targets (one-hot
  for classes), initialised like PyTorch's ``nn.Linear`` (uniform on ±1/sqrt(fan_in)), on the
  raw features as in the reference, in the training run's dtype.

Classification is recognised from the training loss (``cross_entropy``) or from MSE with
K > 1 outputs (one-hot targets, as in the reference's MNIST runs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.preprocessing import StandardScaler

from bnn_mogp.nn import features
from bnn_mogp.training.losses import check_data
from bnn_mogp.training.network import to_params
from bnn_mogp.training.trainer import TrainResult

__all__ = [
    "transfer_curve",
    "node_features",
    "TRANSFER_DIMS",
    "READOUT_SETTINGS",
    "RIDGE_PENALTIES",
]

#: default numbers D of transferred features
TRANSFER_DIMS = (10, 20, 50, 100)
#: the ridge probe's candidate penalties (leave-one-out cross-validation picks one)
RIDGE_PENALTIES = np.logspace(-6, 6, 25)
#: the reference's MLP read-outs: (hidden sizes, learning rate, steps)
READOUT_SETTINGS = {"regression": ((64, 64), 0.1, 5000), "classification": ((128, 128), 1.0, 10000)}


def node_features(result: TrainResult, X) -> np.ndarray:
    """sqrt(λ_j) φ(w_jᵀx/√d) for every node (N, m), float64."""
    net, p = result.net, result.params
    with jax.enable_x64(result.config.dtype == "float64"):
        H = features(net.mlp, to_params(net, p), jnp.asarray(X, p.w.dtype))
        return np.asarray(H * jnp.sqrt(p.lam), dtype=np.float64)


def _classes(result: TrainResult, Y) -> np.ndarray | None:
    """Class labels (N,) for a classification problem, None for regression."""
    if result.config.loss == "cross_entropy":
        return np.asarray(Y)
    return np.argmax(Y, axis=1) if Y.shape[1] > 1 else None


def _mlp_readout(key, H, T, H_test, hidden, learning_rate, steps):
    """Train the read-out MLP on (H, T) by full-batch GD on the MSE; its outputs on H_test."""
    sizes = (H.shape[1], *hidden, T.shape[1])
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        key, k_w, k_b = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)
        params.append(
            (
                jax.random.uniform(k_w, (fan_in, fan_out), H.dtype, -bound, bound),
                jax.random.uniform(k_b, (fan_out,), H.dtype, -bound, bound),
            )
        )

    def forward(params, x):
        for W, b in params[:-1]:
            x = jax.nn.relu(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    optimizer = optax.sgd(learning_rate)

    def step(state, _):
        params, opt_state = state
        grads = jax.grad(lambda q: jnp.mean((forward(q, H) - T) ** 2))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    (params, _), _ = jax.jit(lambda s: jax.lax.scan(step, s, None, length=steps))(
        (params, optimizer.init(params))
    )
    return np.asarray(forward(params, H), np.float64), np.asarray(
        forward(params, H_test), np.float64
    )


def transfer_curve(
    result: TrainResult,
    X,
    Y,
    X_test,
    Y_test,
    dims=TRANSFER_DIMS,
    *,
    rng_key=None,
    mlp_steps: int | None = None,
) -> dict[str, np.ndarray]:
    """Read-outs of the top-D features on a transfer split (module docstring).

    Args:
        result: a trained network (:func:`~bnn_mogp.training.train`).
        X: transfer-training inputs; Y: their targets (as for the training loss).
        X_test: transfer-test inputs; Y_test: their targets.
        dims: the numbers D of features (each at most the width).
        rng_key: PRNG key of the MLP read-outs' initialisation (default PRNGKey(0)).
        mlp_steps: steps of the MLP read-out (default: the reference's).

    Returns:
        ``{"dim", "probe_train", "probe_test", "mlp_train", "mlp_test"}``: accuracy for
        classification, MSE for regression, one entry per D; ``"metric"`` names which.
    """
    net, loss = result.net, result.config.loss
    dims = np.asarray(dims, dtype=int)
    if dims.ndim != 1 or dims.size == 0 or dims.min() < 1 or dims.max() > net.width:
        raise ValueError(f"dims must be integers in 1..{net.width} (the width), got {dims!r}")
    X, Y = check_data(net, loss, X, Y, "transfer-training")
    X_test, Y_test = check_data(net, loss, X_test, Y_test, "transfer-test")
    labels, labels_test = _classes(result, Y), _classes(result, Y_test)
    classify = labels is not None
    if classify:
        K = net.out_dim
        T, T_test = np.eye(K)[labels], np.eye(K)[labels_test]
    else:
        T, T_test = Y, Y_test
    hidden, learning_rate, steps = READOUT_SETTINGS["classification" if classify else "regression"]
    steps = steps if mlp_steps is None else int(mlp_steps)
    order = np.argsort(-np.asarray(result.params.lam), kind="stable")
    F_all, F_all_test = node_features(result, X), node_features(result, X_test)
    key = jax.random.PRNGKey(0) if rng_key is None else rng_key

    def score(pred, target, truth):
        if classify:
            return float(np.mean(np.argmax(pred, axis=1) == truth))
        return float(np.mean((pred - target) ** 2))

    out: dict[str, list] = {k: [] for k in ("probe_train", "probe_test", "mlp_train", "mlp_test")}
    for D in dims:
        cols = order[:D]
        scaler = StandardScaler().fit(F_all[:, cols])
        H, H_test = scaler.transform(F_all[:, cols]), scaler.transform(F_all_test[:, cols])
        if classify:
            probe = LogisticRegression(max_iter=2000).fit(H, labels)
            out["probe_train"].append(float(np.mean(probe.predict(H) == labels)))
            out["probe_test"].append(float(np.mean(probe.predict(H_test) == labels_test)))
        else:
            probe = RidgeCV(alphas=RIDGE_PENALTIES).fit(H, T)
            fit, pred = (probe.predict(Z).reshape(-1, T.shape[1]) for Z in (H, H_test))
            out["probe_train"].append(float(np.mean((fit - T) ** 2)))
            out["probe_test"].append(float(np.mean((pred - T_test) ** 2)))
        with jax.enable_x64(result.config.dtype == "float64"):
            dtype = jnp.float64 if result.config.dtype == "float64" else jnp.float32
            fit, pred = _mlp_readout(
                jax.random.fold_in(key, int(D)),
                jnp.asarray(F_all[:, cols], dtype),
                jnp.asarray(T, dtype),
                jnp.asarray(F_all_test[:, cols], dtype),
                hidden,
                learning_rate,
                steps,
            )
        out["mlp_train"].append(score(fit, T, labels))
        out["mlp_test"].append(score(pred, T_test, labels_test))
    result_dict = {"dim": dims} | {k: np.asarray(v) for k, v in out.items()}
    result_dict["metric"] = np.asarray("accuracy" if classify else "mse")
    return result_dict

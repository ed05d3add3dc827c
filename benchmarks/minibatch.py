"""Mini-batch inference: SGHMC against a plain optax SGD loop, and memory and time against N.

Prints one JSON object (DESIGN §16, issue 16), float64 throughout, on ``builtin:teacher``-style
data (:func:`bnn_mogp.data.teacher_data`: d = 64, 10 classes):

- ``throughput``: one hidden ReLU layer of ``--width`` nodes (StableLike(0.5) prior), batches
  of 100 and of 500. SGHMC is :func:`bnn_mogp.inference.run_minibatch` with the SGHMC kernel
  (the code path of ``fit(method="sghmc")``: the NumPyro model's log density with its
  Jacobians, BlackJAX's update, a draw kept every epoch), timed by its own per-epoch wall
  times. The baseline is the plainest loop over the same network (:func:`bnn_mogp.nn.apply`),
  the same batches and the same host → device transfers: optax SGD on the mean cross-entropy,
  one ``fori_loop`` per call. Each is timed over ``--epochs`` epochs after a warm-up
  (compiling) epoch; ``overhead`` = SGHMC time / SGD time (target ≤ 1.3). Two costs SGD does
  not have set it: the model's log density (the prior's terms, the scalings of the raw
  weights) and SGHMC's Gaussian noise, one float64 normal per parameter per step, which on a
  CPU costs about as much as the gradient of a batch of 100; with larger batches the gradient
  dominates.
- ``memory``: a fresh process per N ∈ {10⁴, 10⁵} runs three SGHMC epochs and reports its peak
  resident memory, the bytes of the data it holds, and the seconds per epoch; at a fixed batch
  size the peak beyond the data should not grow with N (``extra_peak_ratio`` ≈ 1) and the time
  per epoch should grow linearly (``time_ratio`` ≈ N₂ / N₁ = 10).

Usage: python benchmarks/minibatch.py [--quick] [--width W] [--epochs E]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

BATCH = 100


def _setup(num: int, width: int):
    import jax

    jax.config.update("jax_enable_x64", True)
    import bnn_mogp as bm
    from bnn_mogp.data import teacher_data

    X, y = teacher_data(num, seed=0)
    net = bm.MLP(
        in_dim=X.shape[1], widths=(width,), out_dim=10, node_prior=bm.priors.StableLike(0.5)
    )
    return X, y, net


def _sghmc(X, y, net, epochs: int, batch: int = BATCH) -> float:
    """Seconds of ``epochs`` SGHMC epochs after a first (compiling) one: the sum of the epochs'
    own wall times (``history["seconds"]``)."""
    import jax

    from bnn_mogp.inference import SghmcConfig, run_minibatch
    from bnn_mogp.inference.minibatch import schedule
    from bnn_mogp.inference.sgmcmc import kernel_of
    from bnn_mogp.model import bnn_model

    total = 1 + epochs
    config = SghmcConfig(batch_size=batch, epochs=total, burn_in=0, learning_rate=0.1)
    result = run_minibatch(
        bnn_model,
        net,
        X,
        y,
        {"likelihood": "categorical"},
        kernel_of(config, X.shape[0]),
        rng_key=jax.random.PRNGKey(0),
        batch_size=batch,
        epochs=total,
        learning_rate=schedule(config, total * (X.shape[0] // batch)),
    )
    return float(result.history["seconds"][0, 1:].sum())


def _sgd(X, y, net, epochs: int, batch: int = BATCH) -> float:
    """Seconds of ``epochs`` epochs of optax SGD on the mean cross-entropy, the same batches and
    transfers as the mini-batch runner (after one warm-up epoch)."""
    import jax
    import jax.numpy as jnp
    import optax

    from bnn_mogp.inference.minibatch import STEP_BYTES, epoch_batches
    from bnn_mogp.nn import Params, apply, sample_params

    drawn = sample_params(jax.random.PRNGKey(0), net)  # weights and biases trained, λ fixed
    params = (drawn.weights, drawn.biases)
    optimizer = optax.sgd(1e-2)
    steps = X.shape[0] // batch
    per_call = max(1, min(steps, STEP_BYTES // (batch * (X[:1].nbytes + y[:1].nbytes))))

    def loss(p, Xb, yb):
        logits = apply(net, Params(*p, drawn.lams), Xb)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))

    @jax.jit
    def advance(p, opt, Xs, ys, n):
        def body(i, carry):
            p, opt, total = carry
            value, g = jax.value_and_grad(loss)(p, Xs[i], ys[i])
            updates, opt = optimizer.update(g, opt, p)
            return optax.apply_updates(p, updates), opt, total + value

        return jax.lax.fori_loop(0, n, body, (p, opt, jnp.zeros(())))

    state = (params, optimizer.init(params))
    key = jax.random.PRNGKey(1)

    def epoch(e, state):
        batches = epoch_batches(key, e, X.shape[0], batch)
        for first in range(0, steps, per_call):
            rows = batches[first : first + per_call]
            n = rows.shape[0]
            rows = np.concatenate([rows, np.repeat(rows[:1], per_call - n, 0)])
            p, opt, total = advance(*state, X[rows], y[rows], n)
            float(total)  # as the runner does: the loss of every call comes back to the host
            state = (p, opt)
        return state

    state = epoch(0, state)
    start = time.perf_counter()
    for e in range(1, 1 + epochs):
        state = epoch(e, state)
    return time.perf_counter() - start


def _child(num: int, width: int) -> None:
    X, y, net = _setup(num, width)
    seconds = _sghmc(X, y, net, 2) / 2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({"N": num, "peak_bytes": peak, "data_bytes": X.nbytes + y.nbytes,
                      "seconds_per_epoch": seconds}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="width 200, 2 epochs")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, epochs = (200, 2) if args.quick else (args.width, args.epochs)
    if args.child:
        _child(args.child, width)
        return
    import jax

    X, y, net = _setup(10_000, width)
    throughput = []
    for batch in (BATCH, 5 * BATCH):
        sghmc, sgd = _sghmc(X, y, net, epochs, batch), _sgd(X, y, net, epochs, batch)
        rows = epochs * (X.shape[0] // batch) * batch
        throughput.append(
            {
                "batch_size": batch,
                "sghmc_rows_per_s": rows / sghmc,
                "sgd_rows_per_s": rows / sgd,
                "overhead": sghmc / sgd,
            }
        )
    memory = []
    for num in (10_000, 100_000):
        cmd = [sys.executable, __file__, "--child", str(num), "--width", str(width)]
        if args.quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        memory.append(json.loads(out.strip().splitlines()[-1]))
    extra = [m["peak_bytes"] - m["data_bytes"] for m in memory]
    print(
        json.dumps(
            {
                "jax": jax.__version__,
                "width": width,
                "throughput": {
                    "N": X.shape[0],
                    "epochs": epochs,
                    "by_batch_size": throughput,
                    "target_overhead": 1.3,
                },
                "memory": {
                    "runs": memory,
                    "extra_peak_ratio": extra[1] / extra[0],
                    "time_ratio": memory[1]["seconds_per_epoch"] / memory[0]["seconds_per_epoch"],
                    "N_ratio": memory[1]["N"] / memory[0]["N"],
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

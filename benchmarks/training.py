"""Gradient descent on node-scaled networks: loop overhead and the paper-scale synthetic run.

Prints one JSON object (progress goes to stderr); float32, like the reference code.

1. ``overhead``: the synthetic problem of DESIGN §13 (d = 50, 100 training inputs on the sphere),
   width m = 2000, full-batch gradient descent. Seconds per step of ``bnn_mogp.training.train``'s
   compiled chunk (``log_every`` steps in one ``lax.scan``, timed on a second chunk so that
   compiling is excluded) against the bare jitted gradient of the same loss called in a Python
   loop (each call waited for) and chained inside one jitted ``fori_loop``; target ≤ 1.3× (the
   per-call baseline).
2. ``synthetic``: the reference settings (uniform; Zipf α = .7, γ = .5; α = .5, γ = .2;
   α = .4, γ = 0), m = 2000, learning rate 1, 5·10⁴ steps (``--steps``), NTK on the 100 training
   inputs logged every 1000 steps: final train / test risk, max_j ‖w_j(t) − w_j(0)‖ and
   λ_min(Θ_t), next to the figures read off the reference code's plots (DESIGN §13, mean of 5
   runs there, one seed here), and the wall time of each setting.

Usage: python benchmarks/training.py [--quick] [--steps S] [--seed K]
(``--quick``: 2000 steps; full: about 6 minutes on 2 CPU cores.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

REFERENCE = {  # DESIGN §13, read off the reference code's plots at 5·10⁴ steps
    "uniform": {"test_risk": 0.038, "max_dw": 0.9, "ntk_min_eig": 0.0038},
    "zipf(α=0.7, γ=0.5)": {"test_risk": 0.042, "max_dw": 7.4, "ntk_min_eig": 0.0031},
    "zipf(α=0.5, γ=0.2)": {"test_risk": 0.043, "max_dw": 11.5, "ntk_min_eig": 0.0015},
    "zipf(α=0.4, γ=0)": {"test_risk": 0.048, "max_dw": 24.0, "ntk_min_eig": 0.0002},
}
WIDTH, LOG_EVERY = 2000, 1000


def log(msg):
    print(f"[training] {msg}", file=sys.stderr, flush=True)


def overhead(X, y, calls):
    import jax
    import jax.numpy as jnp
    import optax

    from bnn_mogp.training import NodeScaledNet, NodeScaledParams, Uniform, init_params, predict

    net = NodeScaledNet(in_dim=X.shape[1], width=WIDTH)
    p = init_params(jax.random.PRNGKey(0), net, Uniform(), jnp.float32)
    Xj, Yj = jnp.asarray(X, jnp.float32), jnp.asarray(y[:, None], jnp.float32)

    def loss(w):
        return jnp.mean((predict(net, NodeScaledParams(w, p.u, p.lam), Xj) - Yj) ** 2)

    grad = jax.jit(jax.grad(loss))
    jax.block_until_ready(grad(p.w))
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        jax.block_until_ready(grad(p.w))
        times.append(time.perf_counter() - t0)
    per_call = float(np.median(times))

    looped = jax.jit(
        lambda w: jax.lax.fori_loop(0, calls, lambda i, v: v - 1e-9 * jax.grad(loss)(v), w)
    )
    jax.block_until_ready(looped(p.w))
    t0 = time.perf_counter()
    jax.block_until_ready(looped(p.w))
    per_loop = (time.perf_counter() - t0) / calls

    optimizer = optax.sgd(1.0)

    def step(state, _):
        w, s = state
        updates, s = optimizer.update(jax.grad(loss)(w), s, w)
        return (optax.apply_updates(w, updates), s), None

    chunk = jax.jit(lambda st: jax.lax.scan(step, st, None, length=calls)[0])
    state = jax.block_until_ready(chunk((p.w, optimizer.init(p.w))))
    t0 = time.perf_counter()
    jax.block_until_ready(chunk(state))
    per_step = (time.perf_counter() - t0) / calls
    return {
        "width": WIDTH,
        "steps_timed": calls,
        "per_step_scan_us": round(per_step * 1e6, 2),
        "per_gradient_call_us": round(per_call * 1e6, 2),
        "per_gradient_in_loop_us": round(per_loop * 1e6, 2),
        "ratio_vs_call": round(per_step / per_call, 3),
        "ratio_vs_in_loop": round(per_step / per_loop, 3),
        "meets_target_le_1.3": bool(per_step / per_call <= 1.3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2000 steps per setting")
    parser.add_argument("--steps", type=int, default=None, help="steps per setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    steps = args.steps or (2000 if args.quick else 50_000)

    import jax

    from bnn_mogp.data import sphere_sine
    from bnn_mogp.training import NodeScaledNet, TrainConfig, Uniform, Zipf, train

    X, y, X_test, y_test = sphere_sine(seed=args.seed)
    log("overhead")
    over = overhead(X, y, calls=500)
    settings = [Uniform(), Zipf(0.7, 0.5), Zipf(0.5, 0.2), Zipf(0.4, 0.0)]
    net = NodeScaledNet(in_dim=X.shape[1], width=WIDTH)
    config = TrainConfig(steps=steps, log_every=LOG_EVERY, learning_rate=1.0, ntk_points=100)
    rows = {}
    for scaling in settings:
        label = scaling.describe()
        log(f"{label}: {steps} steps")
        t0 = time.perf_counter()
        result = train(
            jax.random.PRNGKey(args.seed), net, scaling, X, y, X_test, y_test,
            config=config, progress=False,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        h = result.history
        rows[label] = {
            "train_risk": float(f"{h['train_risk'][-1]:.4g}"),
            "test_risk": float(f"{h['test_risk'][-1]:.4g}"),
            "max_dw": float(f"{h['max_dw'][-1]:.4g}"),
            "ntk_change": float(f"{h['ntk_change'][-1]:.4g}"),
            "ntk_min_eig": float(f"{h['ntk_min_eig'][-1]:.4g}"),
            "wall_s": round(wall, 1),
            "reference": REFERENCE.get(label) if steps == 50_000 else None,
        }
        log(f"{label}: {rows[label]}")
    print(
        json.dumps(
            {
                "benchmark": "training",
                "problem": "sphere_sine (DESIGN §13): d=50, 100 train / 100 test, noise 0.1",
                "network": f"node-scaled ReLU, m={WIDTH}, sigma_v=sqrt(2), u = ±1, float32",
                "optimizer": f"full-batch GD, lr 1, {steps} steps, seed {args.seed}",
                "versions": {"jax": jax.__version__},
                "cpu_count": os.cpu_count(),
                "overhead": over,
                "synthetic": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

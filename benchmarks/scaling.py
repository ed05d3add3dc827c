"""How NUTS fit time grows with the data size N and the width n (DESIGN §11).

Prints one JSON object (progress goes to stderr); float64. The problem is ``tanh3d_L1`` of
``nuts_efficiency.py`` (inputs uniform on [−2, 2]³, y = sin(1.5 x₁) + 0.5 x₂ cos(x₃) + N(0, 0.1²),
a tanh network with one hidden layer, ``Horseshoe(scale=1)`` nodes, σ_w = σ_b = 1,
σ ~ HalfNormal(1)) fitted with the model ``bm.fit`` uses by default (the collapsed likelihood:
output layer integrated out), one chain, the same NUTS settings as ``nuts_efficiency.py``:

- against N ∈ {100, 300, 1000} at width 50 (``--quick``: {100, 300}; ``--n-grid`` for others:
  N = 3000 alone takes about 17 minutes, N = 1000 about 5);
- against the width n ∈ {8, 32, 128, 512} at N = 200 (``--quick``: {8, 32}; ``--width-grid``).

Per point: seconds of sampling (compile time subtracted), the smallest bulk ESS over σ, the three
largest λ and f at 5 monitor inputs (``nuts_efficiency.monitored``), **seconds per effective
draw** (sampling seconds / smallest bulk ESS) and its two factors: seconds per gradient (one jitted
gradient of the potential, chained in a ``fori_loop``) and gradients per effective draw (leapfrog
steps of the sampling phase / smallest bulk ESS). The gradient of the explicit model (output
weights sampled) is timed at every point as well, for the cost comparison of the two models.

For each axis the least-squares slope of log(seconds per effective draw) against log(N) or
log(n) is reported with the slopes of its two factors, next to the expected slope of the
gradient cost:

- collapsed likelihood (:class:`~bnn_mogp.low_rank_gaussian.LowRankGaussian`, m = n + 1
  columns): O(N m² + m³) in Woodbury form when m < N, O(N² m + N³) directly when m ≥ N — slope 1
  in N at fixed m < N; slope 2 in n while m ≪ N, falling to 1 once m ≥ N (at N = 200 the width
  grid crosses m = N between 128 and 512, so the fitted slope lies between);
- explicit model: O(N n d + N n) — slope 1 in N and in n (fixed costs flatten both at small sizes).

Gradients per effective draw have no closed-form rate for these posteriors: for a posterior
that concentrates at the same rate in every direction and a well-adapted mass matrix it would be
flat in N, and NUTS on a d-dimensional iid-like target needs O(d^{1/4}) steps, i.e. slope 1/4 in
n. The measured slopes say how far the network posterior is from that.

ESS from one chain of 150 draws has a relative standard error of roughly 1/sqrt(ESS) (10-25 %
here), so each point is noisy; the slopes over 1.5 to 2 decades are the quantity to read.

Usage: python benchmarks/scaling.py [--quick] [--n-grid N,…] [--width-grid n,…] [--num-warmup W]
[--num-samples S] (full: about 20 minutes on 2 CPU cores; each point is logged to stderr as it
finishes.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nuts_efficiency as ne  # noqa: E402

N_GRID, N_GRID_QUICK = (100, 300, 1000), (100, 300)
WIDTH_GRID, WIDTH_GRID_QUICK = (8, 32, 128, 512), (8, 32)
FIXED_N, FIXED_WIDTH = 200, 50
GRAD_CALLS = 300


def slope(x, y):
    """Least-squares slope of log y against log x."""
    return round(float(np.polyfit(np.log(x), np.log(y), 1)[0]), 3)


def point(n_obs, width, key, num_warmup, num_samples):
    import bnn_mogp as bm
    from bnn_mogp.inference import monitor_inputs

    X, y, X_test = ne.tanh3d_data(n_obs)
    Xm = monitor_inputs(X, X_test)
    net = bm.MLP(
        in_dim=3,
        widths=(width,),
        activation="tanh",
        node_prior=bm.priors.Horseshoe(scale=ne.SCALE),
        sigma_w=ne.SIGMA_W,
        sigma_b=ne.SIGMA_B,
    )
    ne.log(f"N={n_obs}, width={width}")
    res = ne.run_model(
        "collapsed", net, X, y, Xm, key, num_warmup, num_samples, GRAD_CALLS, num_chains=1
    )
    _, explicit_grad = ne.gradient_alone(
        ne.models()["package"], (net, X, y), {"X_monitor": Xm}, key, GRAD_CALLS
    )
    ess = res["min_bulk_ess"]
    steps = res["overhead"]["leapfrog_steps_sampling"]
    out = {
        "N": n_obs,
        "width": width,
        "sampling_s": res["seconds"]["sampling"],
        "warmup_s": res["seconds"]["warmup"],
        "min_bulk_ess": ess,
        "slowest_quantity": res["slowest_quantity"],
        "s_per_effective_draw": res["seconds"]["sampling"] / ess,
        "gradient_collapsed_us": res["overhead"]["per_gradient_in_loop_us"],
        "gradient_explicit_us": round(explicit_grad * 1e6, 3),
        "gradients_per_effective_draw": round(steps / ess, 1),
        "step_size": res["step_size_per_chain"][0],
        "mean_leapfrog_steps": res["mean_leapfrog_steps"],
        "divergence_rate": res["divergence_rate"],
    }
    ne.log(json.dumps(out))
    return out


def axis(points, var):
    x = [p[var] for p in points]
    return {
        "s_per_effective_draw": slope(x, [p["s_per_effective_draw"] for p in points]),
        "gradient_collapsed": slope(x, [p["gradient_collapsed_us"] for p in points]),
        "gradient_explicit": slope(x, [p["gradient_explicit_us"] for p in points]),
        "gradients_per_effective_draw": slope(
            x, [p["gradients_per_effective_draw"] for p in points]
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grids")
    parser.add_argument("--n-grid", default=None, help="comma-separated data sizes")
    parser.add_argument("--width-grid", default=None, help="comma-separated widths")
    parser.add_argument("--num-warmup", type=int, default=150, help="warmup (one chain)")
    parser.add_argument("--num-samples", type=int, default=150, help="draws (one chain)")
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    jax.monitoring.register_event_duration_secs_listener(ne._on_event)
    import numpyro

    key = jax.random.PRNGKey(0)

    def grid(text, quick, full):
        return [int(v) for v in text.split(",")] if text else (quick if args.quick else full)

    n_grid = grid(args.n_grid, N_GRID_QUICK, N_GRID)
    width_grid = grid(args.width_grid, WIDTH_GRID_QUICK, WIDTH_GRID)
    load_start = os.getloadavg()
    by_n = [point(n, FIXED_WIDTH, key, args.num_warmup, args.num_samples) for n in n_grid]
    by_width = [point(FIXED_N, w, key, args.num_warmup, args.num_samples) for w in width_grid]
    for p in by_n + by_width:
        p["s_per_effective_draw"] = float(f"{p['s_per_effective_draw']:.4g}")
    print(
        json.dumps(
            {
                "benchmark": "scaling",
                "problem": "tanh3d_L1 of nuts_efficiency.py, collapsed model, 1 chain",
                "sampler": f"{args.num_warmup} warmup + {args.num_samples} draws, target_accept="
                f"{ne.TARGET_ACCEPT}, max_tree_depth={ne.MAX_TREE_DEPTH}, PRNGKey(0)",
                "versions": {"jax": jax.__version__, "numpyro": numpyro.__version__},
                "load_average_1min_start_end": [
                    round(load_start[0], 2),
                    round(os.getloadavg()[0], 2),
                ],
                "expected_gradient_slopes": {
                    "N": {"collapsed": 1.0, "explicit": 1.0},
                    "width": {
                        "collapsed": "2 while n + 1 << N, 1 once n + 1 >= N",
                        "explicit": 1.0,
                    },
                },
                "by_N": {"width": FIXED_WIDTH, "points": by_n, "slopes": axis(by_n, "N")},
                "by_width": {
                    "N": FIXED_N,
                    "points": by_width,
                    "slopes": axis(by_width, "width"),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

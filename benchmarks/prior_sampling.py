"""Prior sampling cost: linear in width and in draws, memory independent of the number of draws.

Prints one JSON object. Times are compared within the run: ``time_ratio`` is each setting's
wall time over the smallest setting's, and ``loglog_slope`` the fitted exponent (1 = linear).
Peak memory is measured in fresh subprocesses (resident set size, MiB) for a small and a 16×
larger number of draws at a width where the parameters dominate the (S, N, K) output.

Usage: python benchmarks/prior_sampling.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CHILD = """
import resource, sys, jax, numpy as np, bnn_mogp as bm
width, draws = int(sys.argv[1]), int(sys.argv[2])
net = bm.MLP(in_dim=1, widths=(width, width), node_prior=bm.priors.Horseshoe())
bm.sample_prior_functions(jax.random.PRNGKey(0), net, np.linspace(-1, 1, 8)[:, None], draws)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def timed(net, X, draws, repeats=3):
    import jax

    import bnn_mogp as bm

    bm.sample_prior_functions(jax.random.PRNGKey(0), net, X, draws)  # compile
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        bm.sample_prior_functions(jax.random.PRNGKey(r + 1), net, X, draws)
        best = min(best, time.perf_counter() - t0)
    return best


def scaling(values, times):
    slope = float(np.polyfit(np.log(values), np.log(times), 1)[0])
    return {
        "values": list(values),
        "seconds": [round(t, 4) for t in times],
        "time_ratio": [round(t / times[0], 3) for t in times],
        "loglog_slope": round(slope, 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    args = parser.parse_args()
    import bnn_mogp as bm

    X = np.linspace(-3, 3, 64)[:, None]
    prior = bm.priors.Horseshoe()
    widths = [128, 256, 512, 1024] if args.quick else [256, 512, 1024, 2048]
    draws = [250, 500, 1000, 2000] if args.quick else [500, 1000, 2000, 4000]
    base = bm.MLP(in_dim=1, widths=(256,), node_prior=prior)
    width_times = [timed(base.with_width(n), X, draws[1]) for n in widths]
    draw_times = [timed(base.with_width(widths[1]), X, s) for s in draws]

    def peak(draws_):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, "512", str(draws_)],
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout.strip().splitlines()[-1])

    small, large = (200, 3200)
    mem = {"draws": [small, large], "peak_rss_mib": [round(peak(small), 1), round(peak(large), 1)]}
    mem["ratio"] = round(mem["peak_rss_mib"][1] / mem["peak_rss_mib"][0], 3)
    print(
        json.dumps(
            {
                "benchmark": "prior_sampling",
                "network": "1 hidden ReLU layer, horseshoe nodes, 64 inputs (width sweep at "
                f"{draws[1]} draws; draw sweep at width {widths[1]})",
                "width_scaling": scaling(widths, width_times),
                "draw_scaling": scaling(draws, draw_times),
                "memory_two_layers_width_512": mem,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

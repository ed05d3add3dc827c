"""NNGP and NTK kernel cost (float64), and agreement with neural-tangents where it is installed.

Prints one JSON object. For N random inputs in d = 10, depth L hidden layers, activations relu,
erf and gelu (Deterministic node priors, σ_w = √2, σ_b = 0.1) it times ``nngp_kernel(net, X)`` and
``ntk_kernel(net, X)``: best of ``--repeats`` calls after a warm-up call (which compiles).
Within the run it reports NTK/NNGP time ratios and the N-scaling ratio time(N₂)/time(N₁), whose
ideal value is (N₂/N₁)² (16 for N = 1000 → 4000). Every activation here has closed-form
NNGP and NTK expectations (gelu's E[φ′φ′] by Price's theorem, ``bnn_mogp.nn.activations``); an
NTK without one (none of these) would cost a 2-D quadrature per kernel entry and layer: such
settings are skipped with the reason reported, and one is timed at N = 100 instead.

neural-tangents (DESIGN §11: agree to 1e-6 in float64 and be at least as fast) runs in a
subprocess of ``--nt-python`` (default: this interpreter): ``stax.serial(Dense(1, W_std=σ_w,
b_std=σ_b), φ, …, Dense(1, W_std=σ_w, b_std=σ_b))`` — the same network convention (first layer
W ~ N(0, σ_w²/d), hidden weights σ_w²/n ↔ Deterministic(c=1), NTK parameterisation), its
``kernel_fn`` jitted, in float64, best of the same repeats after a warm-up. The reported kernel
difference is the max |ours − NT| over the first min(N, 500) rows. If neural_tangents cannot be
imported there, the field reads "not installed".

Usage: python benchmarks/kernels.py [--quick] [--repeats R] [--nt-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

D = 10
SIGMA_W, SIGMA_B = float(np.sqrt(2.0)), 0.1
ACTIVATIONS = ("relu", "erf", "gelu")
COMPARE_ROWS = 500

NT_CHILD = """
import json, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import neural_tangents as nt
from neural_tangents import stax

spec = json.load(open(sys.argv[1]))
acts = {"relu": stax.Relu, "erf": stax.Erf, "gelu": lambda: stax.Gelu(approximate=False)}
out = {"jax": jax.__version__, "neural_tangents": nt.__version__, "runs": []}
for run in spec["runs"]:
    X = jax.numpy.asarray(np.load(run["X"]), dtype=jax.numpy.float64)
    layers = [stax.Dense(1, W_std=spec["sigma_w"], b_std=spec["sigma_b"])]
    for _ in range(run["depth"]):
        layers += [acts[run["activation"]](),
                   stax.Dense(1, W_std=spec["sigma_w"], b_std=spec["sigma_b"])]
    kernel_fn = jax.jit(stax.serial(*layers)[2], static_argnames="get")
    res = {}
    for kind in ("nngp", "ntk"):
        K = np.asarray(kernel_fn(X, None, kind).block_until_ready())  # warm-up (compile)
        best = np.inf
        for _ in range(spec["repeats"]):
            t0 = time.perf_counter()
            kernel_fn(X, None, kind).block_until_ready()
            best = min(best, time.perf_counter() - t0)
        np.save(run["prefix"] + kind + ".npy", K[: spec["rows"]])
        res[kind + "_s"] = best
    out["runs"].append(res)
print(json.dumps(out))
"""


def make_net(activation, depth):
    import bnn_mogp as bm

    return bm.MLP(
        in_dim=D,
        widths=(512,) * depth,
        activation=activation,
        node_prior=bm.priors.Deterministic(),
        sigma_w=SIGMA_W,
        sigma_b=SIGMA_B,
    )


def best_time(fn, repeats):
    out = fn()  # warm-up (compiles)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ntk_feasible(net, N):
    return net.phi.deriv_closed_form is not None


def run_nt(nt_python, inputs, runs, repeats, workdir):
    """Time neural-tangents kernels in a subprocess; None if it cannot import neural_tangents."""
    probe = subprocess.run(
        [nt_python, "-c", "import neural_tangents"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return None
    spec = {
        "sigma_w": SIGMA_W,
        "sigma_b": SIGMA_B,
        "repeats": repeats,
        "rows": COMPARE_ROWS,
        "runs": [],
    }
    for i, (activation, depth, N) in enumerate(runs):
        spec["runs"].append(
            {
                "X": inputs[N],
                "activation": activation,
                "depth": depth,
                "prefix": os.path.join(workdir, f"nt{i}_"),
            }
        )
    spec_path = os.path.join(workdir, "spec.json")
    with open(spec_path, "w") as fh:
        json.dump(spec, fh)
    out = subprocess.run(
        [nt_python, "-c", NT_CHILD, spec_path], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1]), spec["runs"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the warm-up")
    parser.add_argument(
        "--nt-python",
        default=sys.executable,
        help="interpreter that has neural_tangents (default: this one)",
    )
    args = parser.parse_args()
    from bnn_mogp.theory import nngp_kernel, ntk_kernel

    sizes = (500, 1000) if args.quick else (1000, 4000)
    depths = (1, 3) if args.quick else (1, 2, 3, 4, 5)
    rng = np.random.default_rng(0)
    inputs = {N: rng.normal(size=(N, D)) for N in sizes}
    ideal = (sizes[1] / sizes[0]) ** 2

    results, ours, skipped = {}, {}, []
    for activation in ACTIVATIONS:
        results[activation] = {}
        for depth in depths:
            net = make_net(activation, depth)
            entry = {}
            for N in sizes:
                X = inputs[N]
                cell = {}
                t, K = best_time(lambda net=net, X=X: nngp_kernel(net, X), args.repeats)
                cell["nngp_s"] = round(t, 4)
                cell["nngp_Mentries_per_s"] = round(N * N / t / 1e6, 2)
                ours[activation, depth, N, "nngp"] = (t, K[:COMPARE_ROWS])
                if ntk_feasible(net, N):
                    t, K = best_time(lambda net=net, X=X: ntk_kernel(net, X), args.repeats)
                    cell["ntk_s"] = round(t, 4)
                    cell["ntk_Mentries_per_s"] = round(N * N / t / 1e6, 2)
                    cell["ntk_over_nngp"] = round(t / cell["nngp_s"], 3)
                    ours[activation, depth, N, "ntk"] = (t, K[:COMPARE_ROWS])
                else:
                    cell["ntk_s"] = None
                    skipped.append(
                        f"{activation} NTK, L={depth}, N={N}: E[φ′φ′] by 2-D "
                        "quadrature per entry (see quadrature_probe)"
                    )
                entry[f"N={N}"] = cell
            first, last = entry[f"N={sizes[0]}"], entry[f"N={sizes[1]}"]
            entry["N_ratio"] = {
                kind: (
                    round(last[f"{kind}_s"] / first[f"{kind}_s"], 2)
                    if last.get(f"{kind}_s") and first.get(f"{kind}_s")
                    else None
                )
                for kind in ("nngp", "ntk")
            }
            results[activation][f"L={depth}"] = entry

    def collect(key):
        return [e[key] for a in results.values() for e in a.values() if e.get(key) is not None]

    ntk_ratios = [
        c["ntk_over_nngp"]
        for a in results.values()
        for e in a.values()
        for n, c in e.items()
        if n.startswith("N=") and "ntk_over_nngp" in c
    ]
    n_ratios = [r for d in collect("N_ratio") for r in d.values() if r is not None]
    summary = {
        "ntk_over_nngp_median": round(float(np.median(ntk_ratios)), 3),
        "ntk_over_nngp_range": [min(ntk_ratios), max(ntk_ratios)],
        "N_ratio_ideal": ideal,
        "N_ratio_median": round(float(np.median(n_ratios)), 2),
        "N_ratio_range": [min(n_ratios), max(n_ratios)],
    }

    probe_net = make_net("gelu", 2)
    if probe_net.phi.deriv_closed_form is None:
        X = inputs[sizes[0]][:100]
        t, _ = best_time(lambda: ntk_kernel(probe_net, X), args.repeats)
        quadrature_probe = {
            "activation": "gelu",
            "depth": 2,
            "N": 100,
            "ntk_s": round(t, 4),
            "ntk_Mentries_per_s": round(1e4 / t / 1e6, 4),
        }
    else:
        quadrature_probe = "gelu NTK has a closed form"

    nt_report = "not installed"
    with tempfile.TemporaryDirectory() as workdir:
        paths = {}
        for N, X in inputs.items():
            paths[N] = os.path.join(workdir, f"X{N}.npy")
            np.save(paths[N], X)
        runs = [(a, L, N) for a in ACTIVATIONS for L in depths for N in sizes]
        nt = run_nt(args.nt_python, paths, runs, args.repeats, workdir)
        if nt is not None:
            nt_out, specs = nt
            per, diffs, ratios = {}, [], []
            for (activation, depth, N), res, spec in zip(runs, nt_out["runs"], specs, strict=True):
                cell = {}
                for kind in ("nngp", "ntk"):
                    if (activation, depth, N, kind) not in ours:
                        cell[kind] = "skipped (ours)"
                        continue
                    t_ours, K_ours = ours[activation, depth, N, kind]
                    K_nt = np.load(spec["prefix"] + kind + ".npy")
                    diff = float(np.max(np.abs(K_ours - K_nt)))
                    diffs.append(diff)
                    ratios.append(t_ours / res[kind + "_s"])
                    cell[kind] = {
                        "max_abs_diff": float(f"{diff:.3g}"),
                        "nt_s": round(res[kind + "_s"], 4),
                        "ours_over_nt_time": round(t_ours / res[kind + "_s"], 3),
                    }
                per.setdefault(activation, {}).setdefault(f"L={depth}", {})[f"N={N}"] = cell
            nt_report = {
                "interpreter": args.nt_python,
                "jax": nt_out["jax"],
                "neural_tangents": nt_out["neural_tangents"],
                "compared_rows": f"first min(N, {COMPARE_ROWS}) rows, all columns",
                "max_abs_diff": float(f"{max(diffs):.3g}"),
                "agree_to_1e-6": max(diffs) <= 1e-6,
                "ours_over_nt_time_median": round(float(np.median(ratios)), 3),
                "ours_over_nt_time_range": [round(min(ratios), 3), round(max(ratios), 3)],
                "per_setting": per,
            }

    import jax

    print(
        json.dumps(
            {
                "benchmark": "kernels",
                "setting": f"N random inputs in d={D}, Deterministic priors, sigma_w=sqrt(2), "
                f"sigma_b={SIGMA_B}, float64; best of {args.repeats} after a warm-up call",
                "jax": jax.__version__,
                "sizes": list(sizes),
                "depths": list(depths),
                "summary": summary,
                "results": results,
                "skipped": skipped,
                "quadrature_ntk_probe": quadrature_probe,
                "neural_tangents": nt_report,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

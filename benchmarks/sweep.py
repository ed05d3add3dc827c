"""Sweeps on Dask: the same CPU-bound fit tasks run one by one and on a 2-worker LocalCluster.

Prints one JSON object (issue 17, DESIGN §17). The tasks: NUTS fits of a ReLU network of width
``--width`` on diabetes (2 chains × 300 draws after 300 warmup, the collapsed model), horseshoe
and stable-like priors × four seeds = 8 tasks. Each mode starts with an empty persistent
compilation cache of its own (``BNN_MOGP_COMPILE_CACHE``), as on a fresh machine: a program
compiled once is loaded by the later tasks, in the serial process and across the workers.

- ``serial``: the tasks one after another in one fresh process with JAX's default threading
  (what a user does without the sweep command: the commands in a loop), through the same
  :func:`bnn_mogp.cli.sweep_task.run_task` the workers run.
- ``cluster``: ``bnn-mogp sweep`` 's runner on a LocalCluster of 2 single-threaded worker
  processes; ``startup_s`` is the cluster's start, ``run_s`` the tasks from the first
  submission to the last result.
- ``speedup`` = serial seconds / cluster run seconds (target ≥ 1.7 on 2 cores);
  ``overhead_per_task_s`` = (workers × run seconds − Σ the tasks' own seconds in the workers)
  / tasks: what a task costs beyond its command (scheduling, transfers, idle workers at the
  end); ``noop_roundtrip_ms``: the mean time from submission to result of 40 tasks that do
  nothing (the scheduler's own latency).

Usage: python benchmarks/sweep.py [--quick] [--width W] [--draws D]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = """
name = "bench"
[network]
widths = [{width}]
sigma_b = 1.0
[prior]
family = "horseshoe"
[data]
source = "builtin:diabetes"
[inference]
num_warmup = {draws}
num_samples = {draws}
num_chains = 2
num_prior_draws = 20
"""
SWEEP = """
[sweep]
job = "fit"
base = "base.toml"
[grid]
prior = [{ family = "horseshoe" }, { family = "stable", alpha = 0.5 }]
"inference.seed" = [0, 1, 2, 3]
"""
SERIAL = """
import sys, time
from bnn_mogp.cli.sweep_spec import load_sweep
from bnn_mogp.cli.sweep_task import run_task
start = time.perf_counter()
for task in load_sweep(sys.argv[1]).tasks:
    run_task(task.payload(), sys.argv[2])
print(time.perf_counter() - start)
"""


def _noop(i: int) -> int:
    return i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="width 8, 50 + 50 draws")
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument("--draws", type=int, default=300, help="warmup and draws per chain")
    args = parser.parse_args()
    width, draws = (8, 50) if args.quick else (args.width, args.draws)

    from distributed import Client, LocalCluster

    from bnn_mogp.cli.compile_cache import ENV
    from bnn_mogp.cli.sweep import WORKER_ENV, run_sweep
    from bnn_mogp.cli.sweep_spec import load_sweep

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "base.toml").write_text(BASE.format(width=width, draws=draws))
        (folder / "sweep.toml").write_text(SWEEP)
        sweep = load_sweep(folder / "sweep.toml")

        print("serial …", file=sys.stderr)
        os.environ[ENV] = str(folder / "cache_serial")  # inherited by the child processes
        out = subprocess.run(
            [sys.executable, "-c", SERIAL, str(folder / "sweep.toml"), str(folder / "serial")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        serial_s = float(out.strip().splitlines()[-1])

        print("cluster …", file=sys.stderr)
        os.environ[ENV] = str(folder / "cache_cluster")
        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                env=WORKER_ENV,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            startup_s = time.perf_counter() - start
            start = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                records, errors = run_sweep(
                    sweep, folder / "cluster", scheduler=cluster.scheduler_address, progress=False
                )
            run_s = time.perf_counter() - start
            assert not errors, errors
            start = time.perf_counter()
            client.gather([client.submit(_noop, i, pure=False) for i in range(40)])
            noop_ms = (time.perf_counter() - start) / 40 * 1e3
    task_s = sum(r["seconds"] for r in records.values())
    print(
        json.dumps(
            {
                "tasks": len(sweep.tasks),
                "width": width,
                "draws": draws,
                "serial_s": serial_s,
                "cluster": {"workers": 2, "startup_s": startup_s, "run_s": run_s},
                "speedup": serial_s / run_s,
                "target_speedup": 1.7,
                "sum_task_s_in_workers": task_s,
                "overhead_per_task_s": (2 * run_s - task_s) / len(sweep.tasks),
                "noop_roundtrip_ms": noop_ms,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

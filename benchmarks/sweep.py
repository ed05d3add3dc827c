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
- ``two_processes``: no Dask: two plain processes started together, each with the workers'
  single-threaded environment, each running every other task one by one — the most any
  scheduler can get from this machine's two cores (``ceiling_speedup`` = serial seconds / the
  later one's seconds; two vCPUs of a shared host need not double the throughput).
- ``speedup`` = serial seconds / cluster run seconds (target ≥ 1.7 on 2 cores);
  ``cluster_vs_ceiling`` = two-process seconds / cluster run seconds (1: Dask costs nothing);
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
for task in load_sweep(sys.argv[1]).tasks[int(sys.argv[3]) :: int(sys.argv[4])]:
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

        def serial(name: str, part: int = 0, parts: int = 1, env=None) -> subprocess.Popen:
            argv = [str(folder / "sweep.toml"), str(folder / name), str(part), str(parts)]
            return subprocess.Popen(
                [sys.executable, "-c", SERIAL, *argv],
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, ENV: str(folder / f"cache_{name}"), **(env or {})},
            )

        def seconds(proc: subprocess.Popen) -> float:
            out, _ = proc.communicate()
            if proc.returncode:
                raise SystemExit(f"a serial run failed (exit {proc.returncode})")
            return float(out.strip().splitlines()[-1])

        print("serial …", file=sys.stderr)
        serial_s = seconds(serial("serial"))
        print("two processes …", file=sys.stderr)
        halves = [serial("two", part, 2, WORKER_ENV) for part in (0, 1)]
        two_s = max(seconds(proc) for proc in halves)

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
                "two_processes_s": two_s,
                "ceiling_speedup": serial_s / two_s,
                "speedup": serial_s / run_s,
                "target_speedup": 1.7,
                "cluster_vs_ceiling": two_s / run_s,
                "sum_task_s_in_workers": task_s,
                "overhead_per_task_s": (2 * run_s - task_s) / len(sweep.tasks),
                "noop_roundtrip_ms": noop_ms,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

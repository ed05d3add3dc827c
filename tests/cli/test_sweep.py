"""``bnn-mogp sweep``: grids of runs on Dask distributed (issue 17, DESIGN §17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from bnn_mogp.cli.sweep_spec import load_sweep
from tests.helpers import run_cli, shipped_specs, write

BASE = """
name = "tiny"
[network]
widths = [3]
sigma_b = 1.0
[prior]
family = "horseshoe"
[data]
source = "builtin:synthetic"
[inference]
num_warmup = 15
num_samples = 15
num_chains = 1
num_prior_draws = 10
"""

SWEEP = """
[sweep]
job = "fit"
base = "base.toml"
[grid]
prior = [{family = "horseshoe"}, {family = "stable", alpha = 0.6}]
"inference.seed" = [0, 1]
"""

#: metrics of a fit that depend on the run's timing, not on its draws
TIMING = ("seconds", "time_s", "per_s")


def _sweep(tmp_path, text=SWEEP, base=BASE):
    write(tmp_path, base, "base.toml")
    return write(tmp_path, text, "sweep.toml")


def test_sweep_file_expands_the_grid_and_validates_every_task(tmp_path, capsys):
    path = _sweep(tmp_path)
    sweep = load_sweep(path)
    assert [t.name for t in sweep.tasks] == [
        "prior=horseshoe_inference.seed=0",
        "prior=horseshoe_inference.seed=1",
        "prior=stable_inference.seed=0",
        "prior=stable_inference.seed=1",
    ]
    stable = sweep.tasks[2].spec
    assert stable["prior"] == {"family": "stable", "alpha": 0.6}  # the table replaced whole
    assert stable["inference"]["num_warmup"] == 15 and stable["inference"]["seed"] == 0
    assert len({t.fingerprint for t in sweep.tasks}) == 4
    status, text, _ = run_cli(capsys, "sweep", path, "--out", tmp_path / "o", "--dry-run")
    assert status == 0 and text.count("[to do ]") == 4 and "prior = stable" in text
    assert not (tmp_path / "o" / "sweep.csv").exists()


@pytest.mark.parametrize("path", shipped_specs("sweep"), ids=lambda p: p.stem)
def test_shipped_sweep_files_expand_to_valid_tasks(path, tmp_path, capsys):
    """The shipped sweeps read and validate (every task's spec), with [set] applied."""
    name = path.stem
    sweep = load_sweep(path)
    assert len(sweep.tasks) in (9, 12) and len({t.fingerprint for t in sweep.tasks}) == len(
        sweep.tasks
    )
    if name == "sweep_widths":
        assert all(t.spec["compare"]["widths"] == [8, 32, 128, 512] for t in sweep.tasks)
    status, text, _ = run_cli(capsys, "sweep", path, "--out", tmp_path / "o", "--dry-run")
    assert status == 0 and text.count("[to do ]") == len(sweep.tasks)
    for command in ("fit", "train"):  # a sweep file given to another command names the right one
        status, _, err = run_cli(capsys, command, path)
        assert status != 0 and "sweep file" in err and "bnn-mogp sweep" in err


BAD = {
    "unknown field": ('job = "fit"', 'job = "fit"\nworkers = 3', "unknown field 'workers'"),
    "unknown job": ('job = "fit"', 'job = "sample"', "job = 'sample' is not one of"),
    "empty grid": ('"inference.seed" = [0, 1]', '"inference.seed" = []', "non-empty list"),
    "bad override": (
        'family = "stable", alpha = 0.6',
        'family = "stable", alpha = 1.6',
        "task prior=stable_inference.seed=0: [prior] alpha must be in (0, 1), got 1.6",
    ),
    "override into a field": (
        '"inference.seed"',
        '"inference.num_warmup.x"',
        "'inference.num_warmup.x': inference.num_warmup is a field, not a table",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_files_fail_with_one_line(tmp_path, capsys, case):
    old, new, expected = BAD[case]
    assert old in SWEEP
    status, _, err = run_cli(capsys, "sweep", _sweep(tmp_path, SWEEP.replace(old, new)))
    assert status == 2 and expected in err and err.count("\n") == 1, err


def test_unreachable_scheduler_fails_with_one_line(tmp_path, capsys):
    status, _, err = run_cli(
        capsys, "sweep", _sweep(tmp_path), "--out", tmp_path / "o", "--scheduler",
        "tcp://127.0.0.1:9",
    )  # fmt: skip
    assert status == 2 and "--scheduler tcp://127.0.0.1:9: cannot reach it" in err, err


def _metrics(table: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in table if c.startswith("metrics.") and not any(t in c for t in TIMING)]
    return table.set_index("task")[keep].sort_index()


def test_sweep_survives_a_killed_worker_skips_finished_tasks_and_matches_serial_runs(
    tmp_path, capsys
):
    """Four tiny NUTS fits on a 2-worker LocalCluster (reached through --scheduler); the
    workers are SIGKILLed while a task runs, and every task still finishes; the table has one
    row per task and equals the same tasks run one by one in this process; a re-run runs
    nothing (no log is rewritten)."""
    from distributed import Client, LocalCluster

    from bnn_mogp.cli.sweep import WORKER_ENV

    path, out = _sweep(tmp_path), tmp_path / "out"
    killed = []

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, env=WORKER_ENV,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip

        def kill_when_a_task_runs():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                if any(p.name.endswith(".tmp") for p in out.glob(".*")):
                    for pid in client.run(os.getpid).values():
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                time.sleep(0.2)

        killer = threading.Thread(target=kill_when_a_task_runs, daemon=True)
        killer.start()
        status, text, err = run_cli(
            capsys, "sweep", path, "--out", out, "--scheduler", cluster.scheduler_address,
            "--no-progress",
        )  # fmt: skip
        killer.join(timeout=1)
    assert status == 0, err
    assert len(killed) == 2, "no task was running when the workers were to be killed"
    assert "4 tasks: 0 done before, 4 to run" in text
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 4 and set(table["prior"]) == {"horseshoe", "stable"}
    assert (out / "sweep.png").stat().st_size > 5_000
    assert not [p for p in out.glob(".*") if p.name.endswith(".tmp")]  # no debris left

    # the same tasks one by one, in one fresh process as a user would run them (not in this
    # one, whose JAX has float64 switched on by the test suite)
    serial = tmp_path / "serial"
    script = (
        "import sys\nfrom bnn_mogp.cli.sweep_spec import load_sweep\n"
        "from bnn_mogp.cli.sweep_task import run_task\n"
        "for task in load_sweep(sys.argv[1]).tasks:\n"
        "    run_task(task.payload(), sys.argv[2])\n"
    )
    env = {**os.environ, **WORKER_ENV}
    subprocess.run([sys.executable, "-c", script, str(path), str(serial)], env=env, check=True)
    one_by_one = pd.DataFrame(
        [{"task": p.parent.name, **json.loads(p.read_text())["metrics"]}
         for p in serial.glob("*/task.json")]
    )  # fmt: skip
    a, b = _metrics(table), _metrics(one_by_one)
    assert list(a.columns) == [c for c in b.columns if c in a.columns] and len(a.columns) > 10
    numeric = a.select_dtypes("number").columns
    for column in numeric:
        np.testing.assert_allclose(
            a[column], b[column].astype(float), rtol=1e-9, atol=1e-12, err_msg=column
        )

    logs = {p: p.stat().st_mtime_ns for p in out.glob("*/log.txt")}
    assert len(logs) == 4
    status, text, err = run_cli(capsys, "sweep", path, "--out", out, "--workers", "1")
    assert status == 0, err
    assert "4 tasks: 4 done before, 0 to run" in text
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/log.txt")} == logs


def test_failing_task_is_retried_then_reported_while_the_others_finish(tmp_path, capsys):
    """A task that fails when it runs (the collapsed likelihood on a classification data set)
    is run 1 + --retries times, then reported with its error and its log; the other task
    finishes and the sweep exits 1."""
    base = BASE.replace("[data]", "[likelihood]\ncollapsed = true\n[data]")
    text = """
[sweep]
job = "fit"
base = "base.toml"
[grid]
"data.source" = ["builtin:synthetic", "builtin:wine"]
"""
    path, out = _sweep(tmp_path, text, base), tmp_path / "out"
    status, text, err = run_cli(
        capsys, "sweep", path, "--out", out, "--workers", "2", "--retries", "2", "--no-progress"
    )
    assert status == 1
    failed = out / "data.source=builtin-wine.failed"
    assert "FAILED data.source=builtin-wine: " in text and "collapsed = true needs" in text
    assert json.loads((failed / "attempts.json").read_text())["attempts"] == 3
    assert "1 of 2 tasks failed" in err
    assert len(pd.read_csv(out / "sweep.csv")) == 1
    assert (out / "data.source=builtin-synthetic" / "task.json").exists()

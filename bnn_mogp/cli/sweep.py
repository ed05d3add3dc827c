"""``bnn-mogp sweep SWEEP.toml``: a grid of runs on Dask distributed (DESIGN §17).

The sweep file (:mod:`~bnn_mogp.cli.sweep_spec`) names a base spec, a grid of overrides and a
job kind; each task runs on a Dask worker (:func:`~bnn_mogp.cli.sweep_task.run_task`) into its
own folder ``OUT/<task name>``. By default the tasks run on a ``LocalCluster`` of ``--workers``
processes with one thread each and XLA's thread pool capped at one thread, so that the workers,
not the threads of one of them, keep the cores busy; ``--scheduler ADDRESS`` sends them to a
running Dask cluster instead (its workers need this package and the data; the folder ``--out``
must be one that they all see, e.g. a shared file system).

Nothing is lost and nothing is done twice: a task folder appears only when its task has
finished (with ``task.json``: its fingerprint and metrics); a re-run of the sweep skips tasks
whose folder holds the same fingerprint; a task that fails is retried ``--retries`` times, then
reported, and the sweep finishes the others and exits with status 1; a task whose worker dies
is run again on another worker (Dask's scheduler does that). At the end every finished task's
metrics are gathered into ``sweep.csv`` (and ``sweep.parquet`` when pyarrow is installed) and
one metric is drawn against the width per prior in ``sweep.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bnn_mogp._io import atomic_open
from bnn_mogp._progress import progress_bar
from bnn_mogp.cli.common import UsageError, int_at_least, output_folder, save_png
from bnn_mogp.cli.sweep_spec import Sweep, Task, load_sweep
from bnn_mogp.cli.sweep_task import TASK_FILE, read_record, run_task

__all__ = ["add_parser", "command", "run_sweep", "sweep_table", "WORKER_ENV", "DEFAULT_METRIC"]

#: environment of the LocalCluster's worker processes (set before JAX starts in them)
WORKER_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "JAX_PLATFORMS": "cpu",
}
#: job → the metric drawn in sweep.png unless the command line names another
DEFAULT_METRIC = {
    "prior": "prior_summary.<largest width>.ks_mean",
    "fit": "metrics.test.mean_log_predictive_density",
    "compare": "compare.limits.nuts.rmse_mean",
    "prune": "pruning.0.accuracy",
    "train": "metrics.test_risk",
}


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "sweep",
        help="run a grid of prior / fit / compare / prune / train jobs on Dask",
        description="Run every task of a sweep file (a base spec, a [grid] of overrides and a "
        "job kind) on Dask distributed: a LocalCluster of --workers processes by default, "
        "or the cluster at --scheduler. Each task writes OUT/<task>/ when it has finished; a "
        "re-run skips finished tasks. Writes sweep.csv (every task's metrics) and sweep.png.",
    )
    p.add_argument("sweep", type=Path, metavar="SWEEP.toml", help="the sweep file")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: runs/<sweep name>)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786); default: a "
        "LocalCluster on this machine",
    )
    p.add_argument(
        "--workers",
        type=int_at_least(1),
        metavar="N",
        help="worker processes of the LocalCluster (default: the number of CPU cores)",
    )
    p.add_argument(
        "--retries",
        type=int_at_least(0),
        default=1,
        metavar="K",
        help="times a failed task is run again before it is reported (default 1)",
    )
    p.add_argument(
        "--metric",
        metavar="NAME",
        help="the column of sweep.csv drawn in sweep.png (default: one per job kind)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the tasks and their state; run nothing"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=command)


def _state(task: Task, out: Path) -> str:
    record = read_record(out / task.name)
    if record is None:
        return "failed" if (out / f"{task.name}.failed").exists() else "to do"
    return "done" if record.get("fingerprint") == task.fingerprint else "stale"


def _client(scheduler: str | None, workers: int | None):
    """A Dask client of the cluster at ``scheduler``, or of a new LocalCluster (closed with the
    client).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise UsageError(f"--scheduler {scheduler}: cannot reach it ({e})") from None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        env=WORKER_ENV,
        dashboard_address=":0",
    )
    client = Client(cluster)
    client._bnn_mogp_cluster = cluster  # type: ignore[attr-defined]
    return client


def run_sweep(sweep: Sweep, out: Path, *, scheduler=None, workers=None, retries=1, progress=True):
    """Run the sweep's unfinished tasks; returns (records of finished tasks, {name: error})."""
    from distributed import as_completed

    out.mkdir(parents=True, exist_ok=True)
    todo = [t for t in sweep.tasks if _state(t, out) != "done"]
    records = {t.name: read_record(out / t.name) for t in sweep.tasks if t not in todo}
    errors: dict[str, str] = {}
    print(f"  {len(sweep.tasks)} tasks: {len(records)} done before, {len(todo)} to run")
    if not todo:
        return records, errors
    client = _client(scheduler, workers)
    try:
        link = client.dashboard_link
        where = scheduler or f"a LocalCluster of {len(client.scheduler_info()['workers'])} workers"
        print(f"  running on {where}" + (f"; dashboard: {link}" if link else ""))
        futures = {
            client.submit(
                run_task, t.payload(), str(out), key=f"{t.name}-{t.fingerprint}", retries=retries
            ): t
            for t in todo
        }
        bar = progress_bar(len(todo), "sweep", unit="task") if progress else None
        for future in as_completed(futures):
            task = futures[future]
            if future.status == "finished":
                records[task.name] = future.result()
            else:
                error = future.exception()
                errors[task.name] = " ".join(str(error).split()) or type(error).__name__
            if bar is not None:
                bar.set_postfix(failed=len(errors))
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        cluster = getattr(client, "_bnn_mogp_cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    for debris in out.glob(".*.tmp"):  # folders of attempts whose worker was killed
        shutil.rmtree(debris, ignore_errors=True)
    return records, errors


def sweep_table(sweep: Sweep, records: dict):
    """One row per finished task: its overrides (one column per grid axis), its seconds and
    every metric of its job.
    """
    rows = []
    for task in sweep.tasks:
        record = records.get(task.name)
        if record is None:
            continue
        rows.append(
            {"task": task.name, **task.labels(), "seconds": record["seconds"], **record["metrics"]}
        )
    return pd.DataFrame(rows)


def _width_axis(sweep: Sweep) -> str | None:
    return next((k for k in sweep.axes if k.split(".")[-1] == "widths"), None)


def _prior_axis(sweep: Sweep) -> str | None:
    return next((k for k in sweep.axes if k.split(".")[0] == "prior"), None)


def plot_sweep(sweep: Sweep, table, metric: str):
    """``metric`` against the width (the first width of the ``widths`` axis, log scale) per
    prior (the ``prior…`` axis), mean over the other axes with ±1 sd bars; against the task
    when the sweep has no widths axis.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    x_axis, group_axis = _width_axis(sweep), _prior_axis(sweep)
    values = table[metric].astype(float)
    if x_axis is None:
        ax.plot(np.arange(len(table)), values, "o")
        ax.set_xticks(np.arange(len(table)), table["task"], rotation=60, ha="right", fontsize=7)
    else:
        x = table[x_axis].map(lambda s: float(str(s).split("x")[0]))
        groups = table.groupby(table[group_axis]) if group_axis else [("all", table)]
        for label, sub in groups:
            stats = values[sub.index].groupby(x[sub.index]).agg(["mean", "std", "count"])
            ax.errorbar(
                stats.index,
                stats["mean"],
                yerr=stats["std"].fillna(0),
                marker="o",
                capsize=3,
                label=str(label),
            )
        ticks = np.unique(x)
        ax.set(xscale="log", xlabel=f"{x_axis} (first hidden layer)")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.legend(fontsize=8, title=group_axis)
    others = [k for k in sweep.axes if k not in (x_axis, group_axis)]
    bars = f"; bars: ±1 sd over {', '.join(others)}" if others else ""
    ax.set(ylabel=metric, title=f"{sweep.name}{bars}")
    ax.title.set_fontsize(9)
    return fig


def command(args) -> int:
    """Run ``bnn-mogp sweep``; 0 when every task has finished, 1 when some failed."""
    sweep = load_sweep(args.sweep)
    out = output_folder(args.out if args.out is not None else Path("runs") / sweep.name)
    print(f"{sweep.name}: {sweep.job} jobs on {sweep.base.name}, {len(sweep.tasks)} tasks")
    if args.dry_run:
        for i, task in enumerate(sweep.tasks, 1):
            overrides = ", ".join(f"{k} = {v}" for k, v in task.labels().items())
            print(f"  {i:4d}  [{_state(task, out):6s}]  {overrides}")
        return 0
    metric = args.metric or DEFAULT_METRIC[sweep.job]
    records, errors = run_sweep(
        sweep,
        out,
        scheduler=args.scheduler,
        workers=args.workers,
        retries=args.retries,
        progress=not args.no_progress,
    )
    table = sweep_table(sweep, records)
    if len(table):
        with atomic_open(out / "sweep.csv") as fh:
            table.to_csv(fh, index=False)
        try:
            table.to_parquet(out / "sweep.parquet", index=False)
        except ImportError:
            pass
        if metric.startswith("prior_summary.<largest width>."):
            widths = [
                int(c.split(".")[1])
                for c in table
                if re.fullmatch(r"prior_summary\.\d+\.ks_mean", c)
            ]
            metric = f"prior_summary.{max(widths)}.ks_mean" if widths else metric
        if metric in table and table[metric].notna().any():
            save_png(plot_sweep(sweep, table, metric), out / "sweep.png")
        else:
            print(f"  no figure: sweep.csv has no column {metric!r} (choose one with --metric)")
        print(f"  wrote {out / 'sweep.csv'} ({len(table)} tasks)")
    for name, error in errors.items():
        print(f"  FAILED {name}: {error} (log: {out / (name + '.failed') / 'log.txt'})")
    if errors:
        print(
            f"bnn-mogp: {len(errors)} of {len(sweep.tasks)} tasks failed; run the sweep again to "
            f"retry them (finished tasks are kept, each with its {TASK_FILE})",
            file=sys.stderr,
        )
        return 1
    return 0

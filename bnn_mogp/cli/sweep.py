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

import contextlib
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bnn_mogp._io import atomic_open, atomic_path
from bnn_mogp._progress import progress_bar
from bnn_mogp.cli.common import (
    UsageError,
    add_progress_option,
    int_at_least,
    output_folder,
    save_png,
)
from bnn_mogp.cli.sweep_spec import Sweep, Task, load_sweep
from bnn_mogp.cli.sweep_task import TASK_FILE, read_record, run_task

__all__ = ["add_parser", "command", "run_sweep", "sweep_table", "WORKER_ENV", "DEFAULT_METRIC"]

#: environment of the LocalCluster's worker processes (set before JAX starts in them)
WORKER_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "JAX_PLATFORMS": "cpu",
}
#: job → the column drawn in sweep.png unless --metric names another, and the column of the
#: task's own rows on the x axis (None: the grid's widths axis)
DEFAULT_METRIC = {
    "prior": ("ks_mean", "width"),
    "fit": ("metrics.test.mean_log_predictive_density", None),
    "compare": ("w1", "width"),
    "prune": ("lpd_change", "fraction"),
    "train": ("metrics.wall_time_s", None),
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
    add_progress_option(p)
    p.set_defaults(func=command)


def _state(task: Task, out: Path) -> str:
    record = read_record(out / task.name)
    if record is None:
        return "failed" if (out / f"{task.name}.failed").exists() else "to do"
    return "done" if record.get("fingerprint") == task.fingerprint else "stale"


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None):
    """A Dask client of the cluster at ``scheduler``, or of a new LocalCluster of ``workers``
    single-threaded processes (closed on exit).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise UsageError(f"--scheduler {scheduler}: cannot reach it ({e})") from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            env=WORKER_ENV,
            dashboard_address=":0",
            silence_logs=logging.ERROR,  # not the workers' shutdown chatter
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


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
    with _client(scheduler, workers) as client:
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
    for debris in out.glob(".*.tmp"):  # folders of attempts whose worker was killed
        shutil.rmtree(debris, ignore_errors=True)
    return records, errors


def sweep_table(sweep: Sweep, records: dict) -> pd.DataFrame:
    """The finished tasks: their overrides (one column per grid axis), seconds and the job's
    metrics; one row per task, or one per row of the job's own table (per width of a compare
    or prior job, per fraction of a prune job) with the task's metrics repeated.
    """
    rows = []
    for task in sweep.tasks:
        record = records.get(task.name)
        if record is None:
            continue
        head = {"task": task.name, **task.labels(), "seconds": record["seconds"]}
        for row in record.get("rows") or [{}]:
            rows.append({**head, **row, **record["metrics"]})
    return pd.DataFrame(rows)


def _width_axis(sweep: Sweep) -> str | None:
    return next((k for k in sweep.axes if k.split(".")[-1] == "widths"), None)


def _prior_axis(sweep: Sweep) -> str | None:
    return next((k for k in sweep.axes if k.split(".")[0] == "prior"), None)


def plot_sweep(sweep: Sweep, table: pd.DataFrame, metric: str, x: str | None):
    """``metric`` against ``x`` (a column of the tasks' rows, e.g. the width; None: the first
    width of the grid's ``widths`` axis), one line per prior (the grid's ``prior…`` axis), the
    mean over the other axes with ±1 sd bars; against the task when there is no x.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    x = x if x is not None and x in table else _width_axis(sweep)
    group_axis = _prior_axis(sweep)
    data = table.assign(_y=pd.to_numeric(table[metric], errors="coerce"))
    if x is None:
        ax.plot(np.arange(len(data)), data["_y"], "o")
        ax.set_xticks(np.arange(len(data)), data["task"], rotation=60, ha="right", fontsize=7)
        others = []
    else:
        first = data[x].map(lambda s: str(s).split("x")[0])
        data = data.assign(_x=pd.to_numeric(first, errors="coerce")).dropna(subset=["_y"])
        references = data[data["_x"].isna()].groupby(x)["_y"].mean()  # e.g. compare's noise floor
        data = data.dropna(subset=["_x"])
        for (name, level), style in zip(references.items(), ("--", ":", "-."), strict=False):
            ax.axhline(level, color="grey", ls=style, lw=1, label=f"{name} (mean)")
        groups = data.groupby(group_axis) if group_axis else [("all", data)]
        for label, sub in groups:
            stats = sub.groupby("_x")["_y"].agg(["mean", "std"])
            ax.errorbar(
                stats.index,
                stats["mean"],
                yerr=stats["std"].fillna(0),
                marker="o",
                capsize=3,
                label=str(label),
            )
        ticks = np.unique(data["_x"])
        if x.split(".")[-1] in ("width", "widths") and ticks.min() > 0:
            ax.set_xscale("log")
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
        ax.set_xlabel(x)
        ax.legend(fontsize=8, title=group_axis)
        others = [k for k in sweep.axes if k not in (x, group_axis)]
    bars = f"; bars: ±1 sd over {', '.join(others)}" if others else ""
    ax.set(ylabel=metric, title=f"{sweep.name}{bars}")
    ax.title.set_fontsize(9)
    return fig


def command(args) -> int:
    """Run ``bnn-mogp sweep``; 0 when every task has finished, 1 when some failed."""
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers sizes the LocalCluster; a cluster at --scheduler has its own")
    sweep = load_sweep(args.sweep)
    out = output_folder(args.out if args.out is not None else Path("runs") / sweep.name)
    print(f"{sweep.name}: {sweep.job} jobs on {sweep.base.name}, {len(sweep.tasks)} tasks")
    if args.dry_run:
        for i, task in enumerate(sweep.tasks, 1):
            overrides = ", ".join(f"{k} = {v}" for k, v in task.labels().items())
            print(f"  {i:4d}  [{_state(task, out):6s}]  {overrides}")
        return 0
    metric, x = DEFAULT_METRIC[sweep.job]
    metric = args.metric or metric
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
            with atomic_path(out / "sweep.parquet") as tmp:
                table.to_parquet(tmp, index=False)
        except ImportError:  # pandas without pyarrow (or fastparquet): the CSV only
            pass
        print(f"  wrote {out / 'sweep.csv'} ({len(records)} tasks, {len(table)} rows)")
        if metric in table and table[metric].notna().any():
            save_png(plot_sweep(sweep, table, metric, x), out / "sweep.png")
            print(f"  wrote {out / 'sweep.png'} ({metric})")
        else:
            print(f"  no figure: sweep.csv has no column {metric!r} (choose one with --metric)")
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

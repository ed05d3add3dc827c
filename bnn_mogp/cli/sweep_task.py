"""One task of a sweep, as it runs on a Dask worker (DESIGN §17).

:func:`run_task` takes plain data (the task's job, name, spec as a dict, options and
fingerprint) and the sweep's output folder, so nothing compiled or device-bound crosses the
wire. It runs the job's ``bnn-mogp`` command in the worker's process into a hidden temporary
folder, its output in ``log.txt``, then writes ``task.json`` (fingerprint, overrides, seconds,
the job's metrics flattened) and renames the folder into place: a task folder with a
``task.json`` is always complete. A command that fails raises :class:`TaskFailed` with the
command's one-line error, and Dask retries it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import tomli_w

from bnn_mogp.cli import compare, fit, prior, prune, train
from bnn_mogp.cli.dispatch import dispatch

__all__ = ["TaskFailed", "run_task", "read_record", "RESULT_FILES", "TASK_FILE"]

#: the record of a finished task, inside its folder
TASK_FILE = "task.json"
#: job → the JSON file(s) of its command whose numbers become the task's metrics
RESULT_FILES = {
    "prior": ("prior_summary.csv",),
    "fit": ("metrics.json",),
    "compare": ("compare.json",),
    "prune": ("fit/metrics.json", "prune/pruning.json"),
    "train": ("metrics.json",),
}


#: the command modules a task runs
JOB_COMMANDS = (prior, fit, compare, prune, train)


class TaskFailed(RuntimeError):
    """A task's command exited non-zero; the message is its name and the command's error."""


def read_record(folder: Path) -> dict | None:
    """The ``task.json`` of a task folder, or None when the task has not finished."""
    try:
        return json.loads((folder / TASK_FILE).read_text())
    except (OSError, ValueError):
        return None


def flatten(data, prefix: str = "") -> dict[str, Any]:
    """Numbers, strings and booleans of a JSON document, keyed by dotted paths (lists by
    index).
    """
    out: dict[str, Any] = {}
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else None
    )
    if items is None:
        if isinstance(data, bool | int | float | str) or data is None:
            out[prefix] = data
        return out
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def read_metrics(path: Path) -> dict[str, Any]:
    """A result file's values, flattened under its stem: JSON by its paths, a CSV table by
    ``<first column's value>.<column>`` per row (e.g. ``prior_summary.100.ks_stat``).
    """
    if path.suffix == ".json":
        return flatten(json.loads(path.read_text()), path.stem)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, Any] = {}
    for row in rows:
        key, *columns = row
        for column in columns:
            out[f"{path.stem}.{row[key]}.{column}"] = _number(row[column])
    return out


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _attempts(failed: Path, fingerprint: str) -> int:
    """Failed attempts so far at a task with this fingerprint (``<name>.failed/attempts.json``)."""
    try:
        saved = json.loads((failed / "attempts.json").read_text())
    except (OSError, ValueError):
        return 0
    return int(saved["attempts"]) if saved.get("fingerprint") == fingerprint else 0


def _commands(job: str, spec: Path, out: Path, args: list[str]) -> list[list[str]]:
    quiet = ["--no-progress"]
    if job == "prune":
        fit = ["fit", str(spec), "--out", str(out / "fit"), *quiet, "--no-report"]
        return [fit, ["prune", str(out / "fit"), "--out", str(out / "prune"), *args]]
    extra = ["--no-report"] if job == "fit" and "--report" not in args else []
    return [[job, str(spec), "--out", str(out), *quiet, *extra, *args]]


def run_task(task: dict, out_root: str) -> dict:
    """Run one task (a dict: job, name, spec, args, overrides, labels, fingerprint) into
    ``out_root/<name>``; returns its record. A finished folder with the same fingerprint is
    returned as it is (status ``skipped``).
    """
    root = Path(out_root)
    final = root / task["name"]
    record = read_record(final)
    if record is not None and record.get("fingerprint") == task["fingerprint"]:
        return {**record, "status": "skipped"}
    tmp = root / f".{task['name']}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir(parents=True)
    try:
        spec_path = tmp / "spec.toml"
        spec_path.write_text(tomli_w.dumps(task["spec"]))
        start = time.perf_counter()
        with open(tmp / "log.txt", "w") as log:
            for argv in _commands(task["job"], spec_path, tmp, list(task["args"])):
                log.write(f"$ bnn-mogp {' '.join(argv)}\n")
                log.flush()
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    status = dispatch(argv, JOB_COMMANDS)
                if status != 0:
                    log.flush()
                    lines = (tmp / "log.txt").read_text().strip().splitlines()
                    error = next((s for s in reversed(lines) if "error" in s), lines[-1])
                    raise TaskFailed(f"{task['name']}: {argv[0]} exited {status}: {error}")
        metrics: dict[str, Any] = {}
        for name in RESULT_FILES[task["job"]]:
            metrics.update(read_metrics(tmp / name))
        record = {
            "name": task["name"],
            "job": task["job"],
            "fingerprint": task["fingerprint"],
            "overrides": task["labels"],
            "seconds": time.perf_counter() - start,
            "metrics": {
                k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))
            },
        }
        (tmp / TASK_FILE).write_text(json.dumps(record, indent=1, default=str))
        old = root / f".{task['name']}.{uuid.uuid4().hex[:8]}.old"
        if final.exists():  # a stale run (another fingerprint): moved aside, then removed
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except Exception as error:  # kept for the user to read: <name>.failed/log.txt
        with open(tmp / "log.txt", "a") as log:
            log.write(f"\n{type(error).__name__}: {error}\n")
        failed = root / f"{task['name']}.failed"
        attempts = 1 + _attempts(failed, task["fingerprint"])
        (tmp / "attempts.json").write_text(
            json.dumps({"fingerprint": task["fingerprint"], "attempts": attempts})
        )
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(tmp, failed)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(root / f"{task['name']}.failed", ignore_errors=True)
    return {**record, "status": "done"}

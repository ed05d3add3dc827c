"""One task of a sweep, as it runs on a Dask worker (DESIGN §17).

:func:`run_task` takes plain data (the task's job, name, spec as a dict, options and
fingerprint) and the sweep's output folder, so nothing compiled or device-bound crosses the
wire. It runs the job's ``bnn-mogp`` command in the worker's process into a hidden temporary
folder, its output in ``log.txt``, then writes ``task.json`` (fingerprint, overrides, seconds,
the job's metrics flattened, and the rows of its per-width or per-fraction table) and renames
the folder into place: a task folder with a ``task.json`` is always complete. A command that
fails raises :class:`TaskFailed` with the command's one-line error, and Dask retries it; the
failed attempt's folder is kept as ``<name>.failed`` (its log and the count of attempts).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import tomli_w

from bnn_mogp._io import write_json
from bnn_mogp.cli import compare, fit, prior, prune, train
from bnn_mogp.cli.dispatch import dispatch

__all__ = ["TaskFailed", "run_task", "read_record", "RESULT_FILES", "ROW_FILES", "TASK_FILE"]

#: the record of a finished task, inside its folder
TASK_FILE = "task.json"
#: job → the JSON file(s) of its command whose values become the task's metrics
RESULT_FILES = {
    "prior": (),
    "fit": ("metrics.json",),
    "compare": ("compare.json",),
    "prune": ("fit/metrics.json", "prune/pruning.json"),
    "train": ("metrics.json",),
}
#: job → the CSV table of its command with one row per width or fraction (the task's rows)
ROW_FILES = {"prior": "prior_summary.csv", "compare": "compare.csv", "prune": "prune/pruning.csv"}
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
    index); lists of tables (a result's rows, gathered from its CSV instead) are left out.
    """
    out: dict[str, Any] = {}
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        return out
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


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a result table (CSV), numbers as floats."""
    with open(path, newline="") as fh:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]


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
            metrics.update(flatten(json.loads((tmp / name).read_text()), Path(name).stem))
        rows = read_rows(tmp / ROW_FILES[task["job"]]) if task["job"] in ROW_FILES else []
        record = {
            "name": task["name"],
            "job": task["job"],
            "fingerprint": task["fingerprint"],
            "overrides": task["labels"],
            "seconds": time.perf_counter() - start,
            "metrics": metrics,
            "rows": rows,
        }
        write_json(tmp / TASK_FILE, record, default=str)
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
        write_json(
            tmp / "attempts.json", {"fingerprint": task["fingerprint"], "attempts": attempts}
        )
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(tmp, failed)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(root / f"{task['name']}.failed", ignore_errors=True)
    return {**record, "status": "done"}

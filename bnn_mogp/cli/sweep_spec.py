"""Sweep files for ``bnn-mogp sweep`` (DESIGN §17): a base spec, a grid of overrides, a job kind.

A sweep file::

    [sweep]
    name = "sweep_widths"          # default: the file's stem
    job = "compare"                # prior | fit | compare | prune | train
    base = "horseshoe.toml"        # the spec every task starts from (relative to this file)
    args = ["--limit", "nuts"]     # optional: extra options of the job's command

    [set]                          # optional: fields set in every task
    "compare.max_train" = 100

    [grid]                         # spec field (dotted path) → the values it takes
    "network.widths" = [[8], [32], [128], [512]]
    "compare.seed" = [0, 1, 2]
    prior = [{ family = "horseshoe" }, { family = "stable", alpha = 0.5 }]

``[set]`` is applied to the base spec first. The tasks are the Cartesian product of the grid's
axes, in the order written (the last axis varies fastest). A value replaces the field at its
path in the base spec; a table value (such as ``prior`` above) replaces the whole table, so a
prior family comes with its own hyper-parameters. Every task's spec is validated when the
sweep is read, so a bad override fails before anything runs. A task's folder name is made of
its overrides (``prior=stable_network.widths=8_…``) and its fingerprint is a hash of its job,
its full spec, its options and the package version: a finished task whose fingerprint
matches is not run again.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

from bnn_mogp._version import __version__
from bnn_mogp.cli.spec import SpecError, _Table, parse_spec, read_toml
from bnn_mogp.cli.train_spec import parse_train_spec

__all__ = ["JOBS", "Sweep", "Task", "load_sweep", "parse_sweep"]

#: job kind → the command it runs (``prune`` fits the spec, then prunes the run)
JOBS = ("prior", "fit", "compare", "prune", "train")
_SWEEP_FIELDS = ("name", "job", "base", "args")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]")


@dataclasses.dataclass(frozen=True)
class Task:
    """One run of a sweep: ``job`` on ``spec`` (the base spec with ``overrides`` applied)."""

    job: str
    name: str
    overrides: dict[str, Any]
    spec: dict[str, Any]
    args: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """sha256 of the job, the task's full spec, its options and the package version."""
        text = json.dumps(
            [self.job, self.spec, list(self.args), __version__], sort_keys=True, default=str
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def payload(self) -> dict:
        """What a worker receives (:func:`~bnn_mogp.cli.sweep_task.run_task`): plain data."""
        return {
            "job": self.job,
            "name": self.name,
            "spec": self.spec,
            "args": list(self.args),
            "labels": self.labels(),
            "fingerprint": self.fingerprint,
        }

    def labels(self) -> dict[str, str]:
        """Each override as a short label (a table by its ``family`` or ``name``, a list
        joined by ``x``): the columns of the sweep's table.
        """
        return {key: value_label(value) for key, value in self.overrides.items()}


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A sweep file: its name, job kind, base spec, grid axes (path → values) and tasks."""

    name: str
    job: str
    base: Path
    axes: dict[str, list]
    tasks: tuple[Task, ...]


def value_label(value) -> str:
    """A short label of an override value."""
    if isinstance(value, dict):
        for key in ("family", "name", "label"):
            if key in value:
                return str(value[key])
        return ",".join(f"{k}={value_label(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "x".join(value_label(v) for v in value)
    return str(value)


def _check_path(top: _Table, table: str, key: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise top.error(f"[{table}] {key!r} is not a dotted spec path such as 'network.widths'")


def _set_path(doc: dict, path: str, value, source: str, table: str) -> None:
    """Set the dotted ``path`` of ``doc`` to ``value`` (tables along the way are created)."""
    *parents, leaf = path.split(".")
    node = doc
    for i, key in enumerate(parents):
        child = node.setdefault(key, {})
        if isinstance(child, list) and child and all(isinstance(c, dict) for c in child):
            raise SpecError(
                f"{source}: [{table}] {path!r}: {'.'.join(parents[: i + 1])} is an array of "
                "tables; override it whole"
            )
        if not isinstance(child, dict):
            raise SpecError(
                f"{source}: [{table}] {path!r}: {'.'.join(parents[: i + 1])} is a field, not a "
                "table"
            )
        node = child
    node[leaf] = copy.deepcopy(value)


def _absolute_data(raw: dict, base: Path) -> None:
    """Relative data paths of the base spec, made absolute (task specs live elsewhere)."""
    data = raw.get("data")
    if isinstance(data, dict):
        source = data.get("source")
        if isinstance(source, str) and not source.startswith("builtin:"):
            path = Path(source)
            if not path.is_absolute():
                data["source"] = str((base / path).resolve())


def task_name(overrides: dict[str, Any]) -> str:
    """The task's folder name, from its overrides (``key=label`` joined by ``_``)."""
    parts = [f"{key}={value_label(value)}" for key, value in overrides.items()]
    name = _UNSAFE.sub("-", "_".join(parts)) or "base"
    if len(name) > 120:  # file systems cap a name at 255 bytes; keep it readable
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        name = f"{name[:100]}-{digest}"
    return name


def parse_sweep(raw: dict, source: str, default_name: str, folder: Path) -> Sweep:
    """Build a :class:`Sweep` from a parsed sweep file; ``folder`` is the file's folder."""
    top = _Table(source, "", raw)
    top.check_fields(("sweep", "set", "grid"), required=("sweep", "grid"))
    if not isinstance(raw["sweep"], dict):
        raise top.error("[sweep] must be a table")
    table = _Table(source, "[sweep]", raw["sweep"])
    table.check_fields(_SWEEP_FIELDS, required=("job", "base"))
    name = table.string("name", default_name)
    job = table.string("job", choices=JOBS)
    args = raw["sweep"].get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise table.error(f"args must be a list of strings (command-line options), got {args!r}")
    base = (folder / table.string("base")).resolve()
    base_raw, base_source, base_name = read_toml(base, "model")
    _absolute_data(base_raw, base.parent)
    base_raw.setdefault("name", base_name)

    fixed = raw.get("set", {})
    if not isinstance(fixed, dict):
        raise top.error("[set] must be a table of spec fields (dotted paths) and values")
    for key, value in fixed.items():
        _check_path(top, "set", key)
        _set_path(base_raw, key, value, source, "set")
    grid = raw["grid"]
    if not isinstance(grid, dict) or not grid:
        raise top.error("[grid] must be a table with at least one field: the values to sweep")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise top.error(f"[grid] {key!r} must be a non-empty list of values, got {values!r}")
        _check_path(top, "grid", key)
    tasks = []
    for combination in itertools.product(*grid.values()):
        overrides = dict(zip(grid, combination, strict=True))
        spec = copy.deepcopy(base_raw)
        for key, value in overrides.items():
            _set_path(spec, key, value, source, "grid")
        label = task_name(overrides)
        where = f"{source}: task {label}"
        if job == "train":
            parse_train_spec(spec, where, base=base.parent)
        else:
            parse_spec(spec, where, base=base.parent)
        tasks.append(Task(job, label, overrides, spec, tuple(args)))
    names = [t.name for t in tasks]
    if len(set(names)) < len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise top.error(f"two tasks have the same overrides ({duplicate}); remove the repeat")
    return Sweep(name, job, base, {k: list(v) for k, v in grid.items()}, tuple(tasks))


def load_sweep(path) -> Sweep:
    """Read and validate a sweep file (every task's spec included); one-line errors."""
    raw, source, default_name = read_toml(path, "sweep")
    return parse_sweep(raw, source, default_name, Path(path).resolve().parent)

"""What every ``bnn-mogp`` command shares: one-line user errors, option types, and the
load-spec / output-folder / progress / log boilerplate.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import jax

from bnn_mogp._io import atomic_path
from bnn_mogp.cli.spec import Spec, load_spec
from bnn_mogp.data import SPLITS

__all__ = [
    "UsageError",
    "add_spec_argument",
    "add_data_options",
    "add_out_option",
    "add_seed_option",
    "add_progress_option",
    "save_png",
    "Parser",
    "width_list",
    "int_at_least",
    "fraction_list",
    "open_spec",
    "show_progress",
    "log",
]


class UsageError(Exception):
    """A user error: reported as one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one-line :class:`UsageError` instead of usage + exit."""

    def error(self, message):
        """Raise the argparse error as a one-line :class:`UsageError`."""
        hint = f" (see '{self.prog} --help')"
        raise UsageError(f"{message}{hint}")


def width_list(text: str) -> tuple[int, ...]:
    """Option type: distinct integers >= 1, comma-separated (``10,100,1000``)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        widths = ()
    if not widths or any(n < 1 for n in widths):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers >= 1 (e.g. 10,100,1000)"
        )
    if len(set(widths)) != len(widths):
        raise argparse.ArgumentTypeError(f"{text!r} repeats a width")
    return widths


def int_at_least(low: int, high: int | None = None):
    """Option type: an integer in [low, high) (high None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value >= high):
            allowed = f"in [{low}, {high})" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer {allowed}")
        return value

    parse.__name__ = "integer"
    return parse


def fraction_list(text: str) -> tuple[float, ...]:
    """Option type: fractions in [0, 1), comma-separated; 0 is always included."""
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not 0.0 <= v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of fractions in [0, 1) (e.g. 0,0.5,0.9)"
        )
    return tuple(sorted(set(values) | {0.0}))


def add_spec_argument(p) -> None:
    """The positional SPEC.toml."""
    p.add_argument("spec", metavar="SPEC.toml", help="model specification file")


def add_data_options(p, what: str) -> None:
    """``--data SOURCE`` (``what``: the kind of data set) and ``--target COLUMN``."""
    p.add_argument(
        "--data",
        metavar="SOURCE",
        help=f"builtin:NAME, PATH.csv or PATH.npz: {what} (default: [data] source of the spec)",
    )
    p.add_argument("--target", metavar="COLUMN", help="target column of a CSV file")
    p.add_argument(
        "--features",
        type=lambda text: tuple(c.strip() for c in text.split(",") if c.strip()),
        metavar="A,B,…",
        help="input columns to use (default: [data] features, else every column but the target)",
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        help="random (seeded) or ordered (the last rows are the test set, for time series); "
        "default: [data] split",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        metavar="F",
        help="fraction of the rows in the test set, in (0, 1) (default: [data] test_fraction)",
    )
    p.add_argument(
        "--test-data",
        metavar="PATH",
        help="a .csv / .npz test set with the same columns, instead of a split of the data "
        "(default: [data] test_source)",
    )


def data_arguments(
    spec: Spec,
    data=None,
    target=None,
    features=None,
    split=None,
    test_fraction=None,
    test_data=None,
) -> dict:
    """The keyword arguments of :func:`bnn_mogp.data.load_data` for ``spec`` with the command
    line's overrides (``data`` replaces the spec's source, target, feature selection and test
    file).
    """
    own = data is None
    return dict(
        test_source=test_data if test_data else (spec.data.test_source if own else None),
        source=spec.data.source if own else data,
        target=spec.data.target if own else target,
        features=features if features else (spec.data.features if own else None),
        split=split or spec.data.split,
        test_fraction=test_fraction if test_fraction is not None else spec.data.test_fraction,
        seed=spec.data.seed,
    )


def add_out_option(p, command: str) -> None:
    """``--out DIR``, by default ``runs/<spec name>/<command>``."""
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder (default: runs/<spec name>/{command})",
    )


def output_folder(path, option: str = "--out") -> Path:
    """Check, before any work, that the output folder ``path`` exists or can be created (it is
    created by the job that writes into it); otherwise a one-line message naming ``option``.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a folder")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {existing} is not writable")
    return path


def output_file(path, option: str = "--out") -> Path:
    """Check the output file ``path``: not a folder, its folder created; or a one-line
    message naming ``option``.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    output_folder(path.parent, f"{option} {path}: its folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def add_seed_option(p, default: str) -> None:
    """``--seed S``; ``default`` says where the seed comes from otherwise."""
    p.add_argument(
        "--seed", type=int_at_least(0, 2**32), metavar="S", help=f"random seed (default: {default})"
    )


def add_progress_option(p) -> None:
    """``--no-progress``."""
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress on stderr (bars on a terminal, else a plain line every 30 s)",
    )


def save_png(fig, path, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically and release it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)


def open_spec(args, command: str) -> tuple[Spec, Path]:
    """Load ``args.spec``, check ``--target`` against ``--data`` (when the command has them),
    print the spec's name and description, and return it with the output folder (``--out``, or
    ``runs/<spec name>/<command>``), checked with :func:`output_folder`.
    """
    spec = load_spec(args.spec)
    if getattr(args, "target", None) is not None and getattr(args, "data", None) is None:
        raise UsageError("--target goes with --data (a spec's own CSV target is [data] target)")
    out = output_folder(args.out if args.out is not None else Path("runs") / spec.name / command)
    print(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    return spec, out


def show_progress(args) -> bool:
    """Progress unless ``--no-progress``: bars on a terminal, a plain line every 30 s when stderr
    is a file or a pipe (:func:`bnn_mogp._progress.progress_bar`).
    """
    return not getattr(args, "no_progress", False)


def log(line: str) -> None:
    """A progress message of a command, indented under its header."""
    print(f"  {line}")


def host_devices(n: int) -> None:
    """On a CPU, ``n`` host devices, so that ``chain_method = "parallel"`` runs n chains at
    once (one per core). JAX's CPU backend reads this when it starts, so it must come before
    anything touches a device; once started (or on an accelerator, whose devices are used as
    they are) it is left alone and :func:`bnn_mogp.inference.run_nuts` says what is missing.
    """
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # the backend has started
        pass

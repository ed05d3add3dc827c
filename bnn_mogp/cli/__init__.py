"""The ``bnn-mogp`` command line.

Commands::

    bnn-mogp prior SPEC.toml [--widths 10,100,1000] [--num-draws N] [--out DIR] [--seed S]
                             [--no-progress]
    bnn-mogp fit SPEC.toml [--data builtin:NAME|PATH.csv|PATH.npz] [--target COLUMN] [--out DIR]
                           [--num-warmup N] [--num-samples N] [--num-chains N] [--num-steps N]
                           [--seed S]
                           [--resume] [--no-progress] [--no-report]
    bnn-mogp predict RUN_DIR --data NEW.csv|NEW.npz [--out FILE]
    bnn-mogp report RUN_DIR [--out FILE]
    bnn-mogp prune RUN_DIR [RUN_DIR ...] [--out DIR] [--fractions 0,0.5,0.9]
    bnn-mogp compare SPEC.toml [--widths 8,32,128,512] [--data SOURCE] [--target COLUMN]
                               [--out DIR] [--limit auto|importance|nuts|both]
                               [--noise-std S] [--seed S] [--no-progress]
    bnn-mogp train TRAINING_SPEC.toml [--data SOURCE] [--target COLUMN] [--out DIR] [--steps N]
                                      [--seed S] [--resume] [--no-progress]
    bnn-mogp sweep SWEEP.toml [--out DIR] [--scheduler ADDRESS] [--workers N] [--retries K]
                              [--metric NAME] [--dry-run] [--no-progress]

Every command keeps its compiled programs in a persistent cache between runs
(:mod:`~bnn_mogp.cli.compile_cache`; ``bnn-mogp --no-compile-cache COMMAND …`` to switch it off).

Each command is a module of this package with ``add_parser(subparsers)`` and ``command(args) ->
int``; :mod:`~bnn_mogp.cli.dispatch` parses the command line and runs one,
:mod:`~bnn_mogp.cli.spec` parses spec files and :mod:`~bnn_mogp.cli.common` holds what the
commands share. Nothing in the library imports this package.
Any user error (a bad spec file, a bad option, a missing file) prints one line
``bnn-mogp: error: <message>`` on stderr and exits with status 2; there is never a traceback for
them. Set the environment variable ``BNN_MOGP_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

from bnn_mogp.cli import (
    compare,
    fit,
    predict,
    prior,
    prune,
    report,
    sweep,
    train,
)
from bnn_mogp.cli import dispatch as _dispatch
from bnn_mogp.cli.dispatch import EXIT_USAGE, PROG

__all__ = ["main", "build_parser", "PROG", "EXIT_USAGE"]

#: the commands, in the order of ``bnn-mogp --help``
COMMANDS = (prior, fit, predict, report, prune, compare, train, sweep)


def build_parser():
    """The argument parser with every subcommand."""
    return _dispatch.build_parser(COMMANDS)


def main(argv=None) -> int:
    """Run ``bnn-mogp`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    return _dispatch.dispatch(argv, COMMANDS)

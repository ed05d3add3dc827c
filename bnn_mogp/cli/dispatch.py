"""The ``bnn-mogp`` parser and dispatcher over a set of command modules.

Each command module has ``add_parser(subparsers)`` and ``command(args) -> int``.
:func:`dispatch` parses the command line, switches on the persistent compilation cache and
runs the command; a user error (a bad spec file, a bad option, a missing file) prints one line
``bnn-mogp: error: <message>`` on stderr and returns :data:`EXIT_USAGE`, never a traceback
(``BNN_MOGP_DEBUG=1`` shows it). :func:`bnn_mogp.cli.main` dispatches over every command; a
sweep's workers (:mod:`~bnn_mogp.cli.sweep_task`) over the commands a task can run.
"""

from __future__ import annotations

import argparse
import os
import sys

from bnn_mogp._version import __version__
from bnn_mogp.cli import compile_cache
from bnn_mogp.cli.common import Parser, UsageError
from bnn_mogp.cli.spec import SpecError

__all__ = ["PROG", "EXIT_USAGE", "build_parser", "dispatch"]

PROG = "bnn-mogp"
EXIT_USAGE = 2


def build_parser(commands) -> argparse.ArgumentParser:
    """The argument parser with the subcommands of the modules ``commands``, in that order."""
    parser = Parser(
        prog=PROG,
        description="Bayesian deep networks with random node variances and their "
        "mixture-of-Gaussian-process limits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not keep compiled programs in the user cache folder between runs (also "
        f"{compile_cache.ENV}=off; see bnn_mogp.cli.compile_cache)",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    for module in commands:
        module.add_parser(subparsers)
    return parser


def dispatch(argv, commands) -> int:
    """Run the command line ``argv`` over the modules ``commands``; returns the exit status."""
    try:
        args = build_parser(commands).parse_args(argv)
        compile_cache.enable(disabled=args.no_compile_cache)
        return args.func(args)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except (UsageError, SpecError, ValueError, OSError) as e:
        if os.environ.get("BNN_MOGP_DEBUG"):
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130

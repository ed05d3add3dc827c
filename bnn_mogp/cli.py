"""The ``bnn-mogp`` command line.

Commands::

    bnn-mogp prior SPEC.toml [--widths 10,100,1000] [--num-draws N] [--out DIR] [--seed S]
                             [--no-progress]
    bnn-mogp fit SPEC.toml [--data builtin:NAME|PATH.csv|PATH.npz] [--target COLUMN] [--out DIR]
                           [--num-warmup N] [--num-samples N] [--num-chains N] [--seed S]
                           [--resume] [--no-progress] [--no-report]
    bnn-mogp report RUN_DIR [--out FILE]
    bnn-mogp prune RUN_DIR [RUN_DIR ...] [--out DIR] [--fractions 0,0.5,0.9]
    bnn-mogp compare SPEC.toml [--widths 8,32,128,512] [--data SOURCE] [--target COLUMN]
                               [--out DIR] [--limit auto|importance|nuts|both]
                               [--noise-std S] [--seed S] [--no-progress]

Each command is a function ``_cmd_<name>(args) -> int`` registered by ``_add_<name>(subparsers)``.
Any user error (a bad spec file, a bad option, a missing file) prints one line
``bnn-mogp: error: <message>`` on stderr and exits with status 2; there is never a traceback for
them. Set the environment variable ``BNN_MOGP_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

PROG = "bnn-mogp"
EXIT_USAGE = 2


class UsageError(Exception):
    """A user error: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one-line :class:`UsageError` instead of usage + exit."""

    def error(self, message):  # noqa: D401 - argparse API
        hint = f" (see '{self.prog} --help')"
        raise UsageError(f"{message}{hint}")


# --------------------------------------------------------------------------------------------------
# option types


def _width_list(text: str) -> tuple[int, ...]:
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


def _int_at_least(low: int, high: int | None = None):
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


# --------------------------------------------------------------------------------------------------
# bnn-mogp prior


def _add_prior(subparsers) -> None:
    from bnn_mogp.spec import MIN_DRAWS

    p = subparsers.add_parser(
        "prior",
        help="prior-predictive check: function draws at several widths vs the infinite-width limit",
        description=(
            "Draw functions from the network prior of SPEC at several widths (every hidden layer "
            "gets the same width) and from its infinite-width (MoGP or NNGP) limit on the grid "
            "x = t·(1,…,1), t in [x_min, x_max]; report the distance of each width to the limit "
            "(KS of the marginals, energy of the joint), and at t0 = x_max quantiles, Hill tail "
            "index, correlation of squares of two outputs, largest node variance vs its limit; "
            "write prior_summary.csv, functions.png and marginals.png."
        ),
    )
    p.add_argument("spec", metavar="SPEC.toml", help="model specification file")
    p.add_argument(
        "--widths",
        type=_width_list,
        metavar="N1,N2,...",
        help="comma-separated hidden widths (default: [prior_check] widths of the spec)",
    )
    p.add_argument(
        "--num-draws",
        type=_int_at_least(MIN_DRAWS),
        metavar="N",
        help=f"prior draws per width, >= {MIN_DRAWS} (default: [prior_check] num_draws)",
    )
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: runs/<spec name>/prior)"
    )
    p.add_argument(
        "--seed",
        type=_int_at_least(0, 2**32),
        metavar="S",
        help="random seed (default: [prior_check] seed)",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (they are shown on stderr only when it is a terminal)",
    )
    p.set_defaults(func=_cmd_prior)


def _cmd_prior(args) -> int:
    import time

    from bnn_mogp.prior_check import format_summary, run_prior_check
    from bnn_mogp.spec import load_spec, network_label

    spec = load_spec(args.spec)
    settings = spec.prior_check
    seed = settings.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else Path("runs") / spec.name / "prior"
    progress = not args.no_progress and sys.stderr.isatty()
    print(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    print(f"  {network_label(spec.net)}; seed {seed}")
    start = time.perf_counter()
    result = run_prior_check(
        spec,
        widths=args.widths,
        num_draws=args.num_draws,
        rng_key=seed,
        out_dir=out,
        progress=progress,
    )
    elapsed = time.perf_counter() - start
    caveat = "" if spec.net.depth == 1 else " from the last hidden layer, exact for one layer"
    print(
        f"f_1 at t0 = {result.t0:g}, {result.num_draws} draws per width "
        f"(limit: output tail index 2τ = {result.output_tail_index:g}{caveat}; "
        "median of max λ per layer in parentheses):"
    )
    print(format_summary(result))
    trunc = ", ".join(f"{e:.2e}" for e in result.truncation_error)
    print(
        f"limit sampler: relative truncation error per layer {trunc}; the 'limit' row compares "
        "two independent limit samples (the Monte Carlo noise floor of KS and energy)"
    )
    print(f"wrote ({elapsed:.1f} s):")
    for path in result.paths.values():
        print(f"  {path}")
    return 0


# --------------------------------------------------------------------------------------------------
# bnn-mogp fit


def _add_fit(subparsers) -> None:
    p = subparsers.add_parser(
        "fit",
        help="fit the network of SPEC to data with NUTS or SVI; write idata.nc, summary.csv, "
        "metrics.json",
        description=(
            "Fit the Bayesian network of SPEC (its [network], [prior], [likelihood] and "
            "[inference] tables) to the data of its [data] table or of --data, with NUTS or SVI; "
            "print the convergence gates (R-hat, ESS, divergences, E-BFMI, tree depth on the "
            "noise scale, sorted node variances and function values at monitor inputs) and the "
            "test metrics; write idata.nc, summary.csv, metrics.json, spec.toml and the HTML "
            "report (report.html, with pruning.csv). The sampler checkpoints to "
            "DIR/checkpoint; an interrupted run continues with --resume."
        ),
    )
    p.add_argument("spec", metavar="SPEC.toml", help="model specification file")
    p.add_argument(
        "--data",
        metavar="SOURCE",
        help="builtin:NAME (synthetic, diabetes, breast_cancer, digits, wine), "
        "PATH.csv or PATH.npz (default: [data] source of the spec)",
    )
    p.add_argument("--target", metavar="COLUMN", help="target column of a CSV file")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: runs/<spec name>/fit)"
    )
    p.add_argument(
        "--num-warmup",
        type=_int_at_least(0),
        metavar="N",
        help="NUTS warmup transitions per chain (default: [inference] num_warmup)",
    )
    p.add_argument(
        "--num-samples",
        type=_int_at_least(1),
        metavar="N",
        help="draws per chain (default: [inference] num_samples)",
    )
    p.add_argument(
        "--num-chains",
        type=_int_at_least(1),
        metavar="N",
        help="chains (default: [inference] num_chains)",
    )
    p.add_argument(
        "--seed",
        type=_int_at_least(0, 2**32),
        metavar="S",
        help="sampler seed (default: [inference] seed; the split keeps [data] seed)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in DIR from its checkpoint",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (they are shown on stderr only when it is a terminal)",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.html (make it later with 'bnn-mogp report DIR')",
    )
    p.set_defaults(func=_cmd_fit)


def _cmd_fit(args) -> int:
    from bnn_mogp.fit_run import format_gates, run_fit
    from bnn_mogp.spec import load_spec

    spec = load_spec(args.spec)
    if args.target is not None and args.data is None:
        raise UsageError("--target goes with --data (a spec's own CSV target is [data] target)")
    out = args.out if args.out is not None else Path("runs") / spec.name / "fit"
    print(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    run = run_fit(
        spec,
        out_dir=out,
        data=args.data,
        target=args.target,
        num_warmup=args.num_warmup,
        num_samples=args.num_samples,
        num_chains=args.num_chains,
        seed=args.seed,
        resume=args.resume,
        progress=not args.no_progress and sys.stderr.isatty(),
        report=not args.no_report,
        log=lambda line: print(f"  {line}"),
    )
    m = run.metrics
    sampling = m["sampling"]
    print(f"convergence ({len(run.summary)} monitored quantities; table in summary.csv):")
    print(format_gates(run.gates))
    test = m["test"]
    if "rmse" in test:
        cover = next(k for k in test if k.startswith("coverage_"))
        quality = (
            f"RMSE {test['rmse']:.4g} (original units), log predictive density "
            f"{test['mean_log_predictive_density']:.4g} per point, "
            f"{cover[9:]} % interval coverage {test[cover]:.2f}"
        )
    else:
        quality = (
            f"accuracy {test['accuracy']:.3f}, log predictive density "
            f"{test['mean_log_predictive_density']:.4g} per point"
        )
    print(f"test ({test['num_test']} points): {quality}")
    speed = (
        f"; slowest quantity {sampling['slowest_quantity']}: bulk ESS "
        f"{sampling['min_ess_bulk']:.0f}, {sampling['min_ess_bulk_per_s']:.3g} per second"
        if "min_ess_bulk" in sampling and m["method"] == "nuts"
        else ""
    )
    print(f"sampler time {sampling['sampling_time_s']:.1f} s{speed}")
    print(
        f"wrote ({m['wall_time_s']:.1f} s; report.html: open it in a browser):"
        if "report.html" in run.paths
        else f"wrote ({m['wall_time_s']:.1f} s):"
    )
    for path in run.paths.values():
        print(f"  {path}")
    failed = [
        row.gate for row in run.gates.itertuples() if not row.passed and row.kind == "validity"
    ]
    slow = [
        row.reason for row in run.gates.itertuples() if not row.passed and row.kind == "efficiency"
    ]
    if slow:
        print(
            f"note: {'; '.join(slow)}: NUTS is working hard here (a larger [inference] "
            "max_tree_depth lets it go further, at a cost)",
            file=sys.stderr,
        )
    if failed:
        advice = "run longer (--num-warmup, --num-samples) or raise [inference] target_accept"
        from bnn_mogp.priors import GaussianMixture

        collapsible = run.net.depth and not isinstance(run.net.node_priors[-1], GaussianMixture)
        if (
            m["likelihood"]["family"] == "gaussian"
            and not m["likelihood"]["collapsed"]
            and collapsible
        ):
            advice += ", or set [likelihood] collapsed = true (it removes the output-layer funnel)"
        print(
            f"warning: {len(failed)} convergence gate(s) failed ({', '.join(failed)}): do not "
            f"trust these results yet; {advice}.",
            file=sys.stderr,
        )
    return 0


# --------------------------------------------------------------------------------------------------
# bnn-mogp report, bnn-mogp prune


def _fraction_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not 0.0 <= v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of fractions in [0, 1) (e.g. 0,0.5,0.9)"
        )
    return tuple(sorted(set(values) | {0.0}))


def _add_report(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="write the self-contained HTML report of a fit run",
        description="Write RUN_DIR/report.html: convergence gates and plots (trace, rank, "
        "energy, pairs; ELBO loss for SVI), test metrics, PSIS-LOO with Pareto k, the posterior "
        "predictive, sorted node variances against the prior, the pruning curve (also in "
        "RUN_DIR/pruning.csv), the spec and the data. Figures are embedded: the file opens "
        "offline in any browser.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="folder of a bnn-mogp fit run")
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="HTML file to write (default: RUN_DIR/report.html)"
    )
    p.set_defaults(func=_cmd_report)


def _cmd_report(args) -> int:
    import time

    from bnn_mogp.report import write_report

    start = time.perf_counter()
    path = write_report(args.run_dir, out=args.out, log=lambda line: print(f"  {line}"))
    print(f"wrote {path} ({time.perf_counter() - start:.1f} s)")
    return 0


def _add_prune(subparsers) -> None:
    from bnn_mogp.pruning import FRACTIONS

    p = subparsers.add_parser(
        "prune",
        help="prune the least important nodes of fit runs and compare them",
        description="For each RUN_DIR (a bnn-mogp fit run), remove the nodes with the smallest "
        "posterior node variance (a Gaussian-prior network: the smallest outgoing-weight norm) "
        "per layer and draw, one fraction at a time, and measure the test metrics of the "
        "pruned posterior predictive. Writes pruning.csv, pruning.json and pruning.png (the "
        "runs side by side, with the infinite-width theory of DESIGN §4.5).",
    )
    p.add_argument(
        "run_dirs",
        type=Path,
        nargs="+",
        metavar="RUN_DIR",
        help="folders of bnn-mogp fit runs (several: compared side by side)",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: RUN_DIR/pruning for one run, runs/pruning for several)",
    )
    p.add_argument(
        "--fractions",
        type=_fraction_list,
        metavar="P,P,...",
        default=FRACTIONS,
        help="fractions of nodes to remove per layer, in [0, 1) (default: "
        + ",".join(f"{p:g}" for p in FRACTIONS)
        + ")",
    )
    p.set_defaults(func=_cmd_prune)


def _cmd_prune(args) -> int:
    import time

    from bnn_mogp.pruning import prune_runs

    if args.out is not None:
        out = args.out
    else:
        out = args.run_dirs[0] / "pruning" if len(args.run_dirs) == 1 else Path("runs/pruning")
    start = time.perf_counter()
    result = prune_runs(
        args.run_dirs, out_dir=out, fractions=args.fractions, log=lambda line: print(f"  {line}")
    )
    table = result["table"]
    metric = "rmse" if "rmse" in table else "accuracy"
    print(
        f"test {metric} and log predictive density after pruning (fraction of nodes removed "
        "per layer):"
    )
    wide = table.pivot(index="fraction", columns="run", values=metric)
    lpd = table.pivot(index="fraction", columns="run", values="mean_log_predictive_density")
    order = list(result["summary"])
    print(
        (
            wide[order].map(lambda v: f"{v:.4g}") + " / " + lpd[order].map(lambda v: f"{v:.4g}")
        ).to_string()
    )
    for label, info in result["summary"].items():
        print(
            f"  {label}: up to {100 * info['max_fraction_within_2se']:.0f} % of the nodes "
            "removed with the test log predictive density within 2 paired se"
        )
    print(f"wrote ({time.perf_counter() - start:.1f} s):")
    for path in result["paths"].values():
        print(f"  {path}")
    return 0


# --------------------------------------------------------------------------------------------------
# bnn-mogp compare


def _add_compare(subparsers) -> None:
    from bnn_mogp.theory.posterior_compare import LIMITS

    p = subparsers.add_parser(
        "compare",
        help="finite-width posteriors of SPEC's network against its MoGP posterior",
        description="Fit the network of SPEC with NUTS at each width (collapsed last layer) on "
        "the regression data of its [data] table (or --data), compute the infinite-width MoGP "
        "posterior predictive with the same prior and noise (importance sampling of kernel "
        "draws, or NUTS on the truncated limit), and report per width the errors of the "
        "predictive mean and variance, the Wasserstein-1 distance between predictive marginals "
        "and the test log predictive densities, with log-log slopes against width. Settings: "
        "the spec's [compare] table. Writes compare.csv, compare.json and compare.png.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="model specification file")
    p.add_argument(
        "--widths",
        type=_width_list,
        metavar="N,N,...",
        help="hidden widths to fit (default: [compare] widths, 8,32,128,512)",
    )
    p.add_argument(
        "--data",
        metavar="SOURCE",
        help="builtin:NAME, PATH.csv or PATH.npz: a regression data set (default: "
        "[data] source of the spec)",
    )
    p.add_argument("--target", metavar="COLUMN", help="target column of a CSV file")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: runs/<spec name>/compare)"
    )
    p.add_argument(
        "--limit", choices=LIMITS, help="how to compute the limit (default: [compare] limit, auto)"
    )
    p.add_argument(
        "--noise-std",
        type=float,
        metavar="S",
        help="fixed noise sd shared by both sides, in standardised units (default: "
        "[compare] or [likelihood] noise_std; unset: the same HalfNormal prior on "
        "both sides)",
    )
    p.add_argument(
        "--seed",
        type=_int_at_least(0, 2**32),
        metavar="S",
        help="random seed (default: [compare] seed)",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (they are shown on stderr only when it is a terminal)",
    )
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args) -> int:
    from bnn_mogp.compare_run import run_compare
    from bnn_mogp.spec import load_spec

    spec = load_spec(args.spec)
    if args.target is not None and args.data is None:
        raise UsageError("--target goes with --data (a spec's own CSV target is [data] target)")
    if args.noise_std is not None and not args.noise_std > 0:
        raise UsageError(f"--noise-std must be > 0, got {args.noise_std}")
    out = args.out if args.out is not None else Path("runs") / spec.name / "compare"
    print(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    run = run_compare(
        spec,
        out_dir=out,
        widths=args.widths,
        data=args.data,
        target=args.target,
        limit=args.limit,
        noise_std=args.noise_std,
        seed=args.seed,
        progress=not args.no_progress and sys.stderr.isatty(),
        log=lambda line: print(f"  {line}"),
    )
    result, summary = run["result"], run["summary"]
    table = result.table.copy()
    cols = [
        c
        for c in (
            "width",
            "mean_error",
            "var_error",
            "w1",
            "lpd",
            "lpd_limit",
            "max_r_hat",
            "divergences",
        )
        if c in table
    ]
    print(f"noise: {result.noise}; limit: {result.limit_used}")
    print(
        "distances to the limit at the test inputs (errors in units of the limit's "
        "predictive sd; lpd per point, original units):"
    )
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        "log-log slope against width: "
        + ", ".join(f"{k} {v:.2f}" for k, v in result.slopes.items())
    )
    if "limit_agreement" in summary:
        agree = summary["limit_agreement"]
        print(
            f"importance sampling vs NUTS limit: W1/sd {agree['w1']:.3f}, mean error "
            f"{agree['mean_error']:.3f}, variance error {agree['var_error']:.3f}"
        )
    print(f"wrote ({summary['wall_time_s']:.1f} s):")
    for path in run["paths"].values():
        print(f"  {path}")
    return 0


# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from bnn_mogp import __version__

    parser = _Parser(
        prog=PROG,
        description="Bayesian deep networks with random node variances and their "
        "mixture-of-Gaussian-process limits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    _add_prior(subparsers)
    _add_fit(subparsers)
    _add_report(subparsers)
    _add_prune(subparsers)
    _add_compare(subparsers)
    return parser


def main(argv=None) -> int:
    """Run ``bnn-mogp`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from bnn_mogp.spec import SpecError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``bnn-mogp train``: node-scaled networks trained by gradient descent, several settings side by
side (DESIGN §13; the spec format is :mod:`~bnn_mogp.cli.train_spec`).

For every setting the network is trained on the ``train`` split (:func:`bnn_mogp.training.train`,
checkpointed in ``checkpoints/<setting>``), pruned without retraining on the ``train`` and
``test`` splits (:func:`~bnn_mogp.training.prune_curve`) and its top-D features are read out on
the ``transfer_train`` / ``transfer_test`` splits (:func:`~bnn_mogp.training.transfer_curve`).
Files in the output folder, each written atomically:

- ``history.csv``: one row per setting and logged step (:data:`bnn_mogp.training.HISTORY`);
- ``pruning.csv``: one row per setting and fraction of removed nodes (train and test metrics);
- ``transfer.csv``: one row per setting and D (probe and MLP read-out, train and test);
- ``metrics.json``: data, settings, the final row of each history, the scalings' summary,
  pruning and transfer tables, flags and timings;
- ``params.npz``: the trained w, the frozen u and λ and the initial w of every setting
  (``<i>_w``, ``<i>_u``, ``<i>_lam``, ``<i>_w0``; i = 1, 2, … in the order of the settings);
- ``history.png``, ``pruning.png``, ``transfer.png``, ``scalings.png`` and ``report.html`` (the
  figures and tables on one self-contained page).

An interrupted run continues with ``--resume``; a finished one continues further with
``--resume --steps N`` for a larger N (the history then extends the old one).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import math
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from bnn_mogp._io import atomic_open, atomic_path, write_json
from bnn_mogp.cli.common import (
    UsageError,
    add_out_option,
    add_progress_option,
    add_seed_option,
    int_at_least,
    log,
    output_folder,
    save_png,
    show_progress,
)
from bnn_mogp.cli.depth_spec import is_depth_spec, load_depth_spec
from bnn_mogp.cli.depth_study import run_depth_study
from bnn_mogp.cli.report import _e, _figure, _fmt, _table, html_page
from bnn_mogp.cli.spec import read_toml
from bnn_mogp.cli.train_spec import TrainData, TrainSpec, load_train_spec
from bnn_mogp.training import (
    HISTORY,
    TrainResult,
    empirical_ntk,
    plot_history,
    plot_pruning,
    plot_scalings,
    plot_transfer,
    prune_curve,
    train,
    transfer_curve,
)
from bnn_mogp.training.splits import TrainingData, load_training_data

__all__ = ["run_train", "add_parser", "command", "OUTPUTS"]

#: the files of a finished run, in the order they are listed
OUTPUTS = (
    "history.csv",
    "pruning.csv",
    "transfer.csv",
    "metrics.json",
    "params.npz",
    "history.png",
    "pruning.png",
    "transfer.png",
    "scalings.png",
    "report.html",
)
CHECKPOINTS = "checkpoints"


def run_train(
    spec: TrainSpec,
    *,
    out_dir,
    data: str | None = None,
    target: str | None = None,
    steps: int | None = None,
    seed: int | None = None,
    resume: bool = False,
    progress: bool = False,
    log=print,
) -> dict:
    """Train every setting of ``spec`` and write the files of the module docstring.

    Args:
        spec: the training spec.
        out_dir: the output folder.
        data, target: another source (``builtin:NAME``, ``.csv``, ``.npz``) and CSV target
            instead of ``[data]`` (its seed and fractions are kept where they apply).
        steps: override ``[training] steps``.
        seed: override ``[training] seed`` (initial weights, random scalings, batches).
        resume: continue the run in ``out_dir`` (interrupted, or finished with fewer steps).
        progress: a progress bar per setting with the current training loss.
        log: where one-line messages go.

    Returns:
        ``{"results", "metrics", "paths"}``.

    Raises:
        UsageError: ``out_dir`` holds a run and ``resume`` is False, or ``resume`` is True and
            it holds none.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    held = (out_dir / CHECKPOINTS).is_dir() and any((out_dir / CHECKPOINTS).iterdir())
    if held and not resume:
        raise UsageError(
            f"{out_dir} already holds a training run ({out_dir / CHECKPOINTS}); continue it with "
            "--resume (a larger --steps trains a finished run further), or choose another --out"
        )
    if resume and not held:
        raise UsageError(f"nothing to resume in {out_dir}: it has no {CHECKPOINTS} folder")
    dataset = _load(spec.data, data, target)
    seed = spec.seed if seed is None else seed
    settings = spec.settings
    if steps is not None:
        settings = tuple(
            dataclasses.replace(s, config=dataclasses.replace(s.config, steps=steps))
            for s in settings
        )
    loss = settings[0].config.loss
    sizes = dataset.describe()["sizes"]
    log(
        f"data: {dataset.source}: "
        + " / ".join(f"{n} {k.replace('_', '-')}" for k, n in sizes.items())
        + f", {dataset.in_dim} feature(s), "
        + (f"{dataset.num_classes} classes" if dataset.classification else "regression")
        + f"; {dataset.scaling}"
    )
    X, Y = dataset.splits["train"][0], dataset.targets("train", loss)
    X_test, Y_test = dataset.splits["test"][0], dataset.targets("test", loss)
    results: dict[str, TrainResult] = {}
    for i, s in enumerate(settings, 1):
        net = dataclasses.replace(s.net, in_dim=dataset.in_dim, out_dim=dataset.out_dim(loss))
        c = s.config
        log(
            f"setting {i}/{len(settings)}: {s.label}: width {net.width}, {net.activation}, "
            f"{c.optimizer} lr {c.learning_rate:g}, {c.steps} steps ({c.loss}, {c.dtype}), "
            f"seed {seed}"
        )
        results[s.label] = train(
            jax.random.PRNGKey(seed),
            net,
            s.scaling,
            X,
            Y,
            X_test,
            Y_test,
            config=c,
            checkpoint_dir=out_dir / CHECKPOINTS / f"{i:02d}",
            progress=progress,
        )
        h = results[s.label].history
        log(
            f"  step {h['step'][-1]}: train risk {h['train_risk'][-1]:.4g}, test risk "
            f"{h['test_risk'][-1]:.4g}, max‖Δw‖ {h['max_dw'][-1]:.3g} "
            f"({results[s.label].wall_time:.1f} s)"
        )
    log("pruning and transfer read-outs")
    pruning = {label: _prune(r, dataset, spec.prune_fractions) for label, r in results.items()}
    transfer = {
        label: transfer_curve(
            r,
            dataset.splits["transfer_train"][0],
            dataset.targets("transfer_train", loss),
            dataset.splits["transfer_test"][0],
            dataset.targets("transfer_test", loss),
            spec.transfer_dims,
            rng_key=jax.random.PRNGKey(seed),
            mlp_steps=spec.readout_steps,
        )
        for label, r in results.items()
    }
    tables = {
        "history.csv": _long({k: r.history for k, r in results.items()}, HISTORY),
        "pruning.csv": _long(pruning),
        "transfer.csv": _long(transfer),
    }
    metrics = _metrics(spec, dataset, results, tables, seed)
    metrics["wall_time_s"] = time.perf_counter() - started
    paths = {name: out_dir / name for name in OUTPUTS}
    for name, table in tables.items():
        with atomic_open(paths[name]) as fh:
            table.to_csv(fh, index=False)
    with atomic_path(paths["params.npz"]) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **_params(results))  # type: ignore[arg-type]
    figures = {}
    for name, (fig, caption) in _figures(results, pruning, transfer, metrics).items():
        save_png(fig, paths[f"{name}.png"])
        figures[name] = (base64.b64encode(paths[f"{name}.png"].read_bytes()).decode(), caption)
    write_json(paths["metrics.json"], metrics)
    with atomic_open(paths["report.html"]) as fh:
        fh.write(render_train_report(spec, metrics, tables, figures))
    return {"results": results, "metrics": metrics, "paths": paths}


def _load(settings: TrainData, source: str | None, target: str | None) -> TrainingData:
    if target is not None and source is None:
        raise UsageError("--target goes with --data (a spec's own CSV target is [data] target)")
    if source is None:
        return load_training_data(**settings.arguments())
    fractions = None if source == "builtin:sphere_sine" else settings.fractions
    return load_training_data(source, seed=settings.seed, fractions=fractions, target=target)


def _prune(result: TrainResult, dataset: TrainingData, fractions) -> dict:
    loss = result.config.loss
    curves = {
        split: prune_curve(
            result, dataset.splits[split][0], dataset.targets(split, loss), fractions
        )
        for split in ("train", "test")
    }
    return {
        "fraction": curves["train"]["fraction"],
        "nodes_removed": curves["train"]["nodes_removed"],
        **{f"{split}_{k}": c[k] for split, c in curves.items() for k in ("risk", "accuracy")},
    }


def _long(per_setting: dict[str, dict], columns=None) -> pd.DataFrame:
    """One table, a ``setting`` column first (the arrays of each setting's dict as columns)."""
    frames = []
    for label, values in per_setting.items():
        cols = columns or [k for k, v in values.items() if np.ndim(v) == 1]
        frame = pd.DataFrame({k: np.asarray(values[k]) for k in cols})
        if "metric" in values:
            frame.insert(1, "metric", str(values["metric"]))
        frame.insert(0, "setting", label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _params(results: dict[str, TrainResult]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i, r in enumerate(results.values(), 1):
        p = r.params
        out |= {
            f"{i}_w": np.asarray(p.w),
            f"{i}_u": np.asarray(p.u),
            f"{i}_lam": np.asarray(p.lam),
            f"{i}_w0": r.initial_w,
        }
    return out


def _flags(result: TrainResult) -> list[str]:
    """What makes a setting's numbers untrustworthy or surprising, one sentence each."""
    h, c = result.history, result.config
    flags = []
    risk = h["train_risk"]
    if not np.all(np.isfinite(risk)):
        first = int(h["step"][np.argmax(~np.isfinite(risk))])
        flags.append(
            f"training diverged (non-finite risk from step {first}): lower the learning rate"
        )
    elif risk[-1] > 0.5 * risk[0]:
        flags.append(
            f"the training risk fell only from {risk[0]:.3g} to {risk[-1]:.3g}: not trained "
            "yet (more steps or a larger learning rate)"
        )
    if c.ntk_points and np.isfinite(h["ntk_min_eig"][-1]):
        with jax.enable_x64(c.dtype == "float64"):
            theta = empirical_ntk(result.net, result.params, result.ntk_inputs)
            largest = float(np.linalg.eigvalsh(np.asarray(theta, np.float64))[-1])
        # a backward-stable eigensolver's absolute error: about eps · P · ‖Θ‖₂
        eps = float(np.finfo(np.dtype(c.dtype)).eps)
        resolution = eps * len(result.ntk_inputs) * largest
        if h["ntk_min_eig"][-1] < 10 * resolution:
            flags.append(
                f"λ_min(Θ) = {h['ntk_min_eig'][-1]:.2g} is within 10× of the {c.dtype} "
                f"resolution of the eigenvalue solver ({resolution:.1g}): use dtype = 'float64'"
            )
    return flags


def _metrics(spec, dataset, results, tables, seed) -> dict:
    per_setting = {}
    prune_table, transfer_table = tables["pruning.csv"], tables["transfer.csv"]
    for label, r in results.items():
        lam = np.sort(np.asarray(r.params.lam, dtype=np.float64))[::-1]
        final = {k: _num(v[-1]) for k, v in r.history.items()}
        pr = prune_table[prune_table["setting"] == label]
        half = pr.iloc[np.argmin(np.abs(pr["fraction"].to_numpy() - 0.5))]
        per_setting[label] = {
            "scaling": r.scaling.describe(),
            "network": {
                "width": r.net.width,
                "activation": r.net.activation,
                "sigma_v": r.net.sigma_v,
                "output_weights": r.net.output_weights,
                "in_dim": r.net.in_dim,
                "out_dim": r.net.out_dim,
            },
            "config": dataclasses.asdict(r.config),
            "final": final,
            "lambda": {
                "max": float(lam[0]),
                "top10_share": float(lam[:10].sum()),
                "effective_nodes": float(1.0 / np.sum(lam**2)),
            },
            "pruned_half": {
                "fraction": _num(half["fraction"]),
                **{k: _num(half[k]) for k in ("test_risk", "test_accuracy")},
            },
            "flags": _flags(r),
        }
    return {
        "spec": spec.name,
        "description": spec.description,
        "data": dataset.describe(),
        "seed": seed,
        "settings": per_setting,
        "pruning": _records(prune_table),
        "transfer": _records(transfer_table),
        "transfer_readout": "probe: standardised features, least squares or logistic regression; "
        "mlp: the reference's ReLU MLP on the raw features (bnn_mogp.training.transfer)",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _num(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _records(table: pd.DataFrame) -> list[dict]:
    return [
        {k: (_num(v) if isinstance(v, float | np.floating) else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _figures(results, pruning, transfer, metrics) -> dict:
    classify = metrics["data"]["num_classes"] is not None
    metric = "accuracy" if classify else "MSE"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "history": (
                plot_history(results),
                "Against the optimisation step, one colour per setting: training (dashed) and "
                "test risk, accuracy, feature movement max_j ‖w_j(t) − w_j(0)‖, the change of "
                "the empirical NTK ‖Θ_t − Θ_0‖₂ and its smallest eigenvalue λ_min(Θ_t) on the "
                "logged training inputs. Feature learning shows as movement and NTK change "
                "that grow as the scalings get more unequal.",
            ),
            "pruning": (
                plot_pruning(
                    {
                        k: v | {"risk": v["test_risk"], "accuracy": v["test_accuracy"]}
                        for k, v in pruning.items()
                    }
                ),  # fmt: skip
                "Test risk and accuracy with the nodes of smallest λ removed (λ_j = 0, no "
                "retraining). Unequal scalings concentrate the function on few nodes, so they "
                "prune far better than uniform ones.",
            ),
            "transfer": (
                plot_transfer(transfer),
                f"Test {metric} of read-outs of the D largest-λ nodes' features trained on the "
                "transfer split: a standardised linear / logistic probe (left) and the "
                "reference's MLP on the raw features (right).",
            ),
            "scalings": (
                plot_scalings({k: np.asarray(r.params.lam) for k, r in results.items()}),
                "The frozen node scalings λ sorted in decreasing order (log-log).",
            ),
        }


# -- the HTML page --------------------------------------------------------------------------------

#: fractions of removed nodes shown in the page's pruning table (the nearest computed ones)
_PAGE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.9)


def render_train_report(spec: TrainSpec, metrics: dict, tables: dict, figures: dict) -> str:
    """The self-contained HTML page of a training run; ``figures``: name → (base64 PNG,
    caption).
    """
    data, settings = metrics["data"], metrics["settings"]
    classify = data["num_classes"] is not None
    flags = [(label, f) for label, m in settings.items() for f in m["flags"]]
    if flags:
        verdict = (
            "bad",
            "Check before reading on: " + "; ".join(f"{label}: {f}" for label, f in flags),
        )
    else:
        verdict = (
            "ok",
            "Every setting trained (the training risk fell below half its start) and the "
            "logged NTK eigenvalues are resolved at this precision.",
        )
    sizes = " / ".join(f"{n} {k.replace('_', '-')}" for k, n in data["sizes"].items())
    header = (
        f"<h1>{_e(spec.name)}</h1>"
        f'<p class="sub">{_e(spec.description)}<br>{_e(data["source"])}: {_e(sizes)}, '
        f"{data['in_dim']} features, "
        f"{_e(str(data['num_classes']) + ' classes' if classify else 'regression')}; "
        f"{_e(data['scaling'])} · {len(settings)} setting(s), seed {metrics['seed']} · "
        f"{_e(metrics['created'])}</p>"
        f'<div class="verdict {verdict[0]}">{_e(verdict[1])}</div>'
    )
    acc = ["train accuracy", "test accuracy"] if classify else []
    rows = []
    for label, m in settings.items():
        f = m["final"]
        rows.append(
            [
                _e(label),
                _e(m["scaling"]),
                _fmt(m["network"]["width"]),
                _fmt(int(f["step"])),
                _fmt(f["train_risk"]),
                _fmt(f["test_risk"]),
                *([_fmt(f["train_accuracy"]), _fmt(f["test_accuracy"])] if classify else []),
                _fmt(f["max_dw"]),
                _fmt(f["ntk_change"]),
                _fmt(f["ntk_min_eig"]),
                _fmt(m["lambda"]["max"]),
                _fmt(m["lambda"]["effective_nodes"]),
                _fmt(f["wall_time"]),
            ]
        )
    summary = _table(
        ["setting", "scaling", "width", "steps", "train risk", "test risk", *acc,
         "max‖Δw‖", "‖Θ_t − Θ_0‖₂", "λ_min(Θ_t)", "max λ", "1/Σλ²", "seconds"],
        [[f"<td>{c}</td>" if i == 0 else c for i, c in enumerate(r)] for r in rows],
        raw_cells=(0,),
    )  # fmt: skip
    prune = tables["pruning.csv"]
    column = "test_accuracy" if classify else "test_risk"
    fractions = prune.loc[prune["setting"] == next(iter(settings)), "fraction"].to_numpy()
    picks = sorted({int(np.argmin(np.abs(fractions - t))) for t in _PAGE_FRACTIONS})
    fracs = [f"{fractions[k]:.0%} removed" for k in picks]
    shown = []
    for label in settings:
        curve = prune.loc[prune["setting"] == label, column].to_numpy()
        shown.append([_e(label), *(_fmt(curve[k]) for k in picks)])
    transfer = tables["transfer.csv"]
    dims = [int(d) for d in transfer.loc[transfer["setting"] == next(iter(settings)), "dim"]]
    transfer_rows = []
    for label in settings:
        rows_of = transfer[transfer["setting"] == label]
        transfer_rows.append(
            [
                _e(label),
                *(_fmt(v) for v in rows_of["probe_test"]),
                *(_fmt(v) for v in rows_of["mlp_test"]),
            ]
        )
    metric = "accuracy" if classify else "MSE"
    body = [
        header,
        '<h2 id="training">Training</h2>',
        summary,
        _figure("history", figures),
        '<h2 id="pruning">Pruning without retraining</h2>',
        _table(["setting", *fracs], shown),
        _figure("pruning", figures),
        '<h2 id="transfer">Transfer of the learned features</h2>',
        f"<p>Test {metric} of the read-outs of the D largest-λ nodes' features.</p>",
        _table(
            ["setting", *(f"probe D={d}" for d in dims), *(f"MLP D={d}" for d in dims)],
            transfer_rows,
        ),
        _figure("transfer", figures),
        '<h2 id="scalings">Node scalings</h2>',
        _figure("scalings", figures),
        '<h2 id="specification">Specification</h2>',
        f"<pre>{_e(_spec_text(spec))}</pre>",
    ]
    return html_page(f"bnn-mogp train: {spec.name}", body)


def _spec_text(spec: TrainSpec) -> str:
    if spec.path is not None and Path(spec.path).exists():
        return Path(spec.path).read_text()
    return "(built in code)"


# -- the command ----------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "train",
        help="train node-scaled networks by gradient descent (settings side by side)",
        description="Train the node-scaled networks of the training spec SPEC (a [training] "
        "table, one or several [[training.settings]]) by gradient descent on the train split "
        "of its [data], logging risks, accuracy, feature movement and the empirical NTK; then "
        "prune them without retraining and read their top features out on the transfer "
        "split. Writes history.csv, pruning.csv, transfer.csv, metrics.json, params.npz, "
        "figures and report.html. See models/node_scaling_synthetic.toml.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="training specification file")
    p.add_argument(
        "--data",
        metavar="SOURCE",
        help="builtin:NAME, PATH.csv or PATH.npz instead of the spec's [data] source (cut into "
        "train / test / transfer-train / transfer-test splits)",
    )
    p.add_argument("--target", metavar="COLUMN", help="target column of a CSV file")
    add_out_option(p, "train")
    p.add_argument(
        "--steps",
        type=int_at_least(1),
        metavar="N",
        help="optimiser steps per setting (default: [training] steps)",
    )
    add_seed_option(p, "[training] seed")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in the output folder: an interrupted one, or a finished one "
        "further with a larger --steps",
    )
    add_progress_option(p)
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    raw, _, _ = read_toml(args.spec, "training")
    if is_depth_spec(raw):
        return _depth_command(args)
    spec = load_train_spec(args.spec)
    out = output_folder(args.out if args.out is not None else Path("runs") / spec.name / "train")
    print(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    try:
        run = run_train(
            spec,
            out_dir=out,
            data=args.data,
            target=args.target,
            steps=args.steps,
            seed=args.seed,
            resume=args.resume,
            progress=show_progress(args),
            log=log,
        )
    except KeyboardInterrupt:
        if (out / CHECKPOINTS).is_dir():
            print(
                f"interrupted: the logged steps are saved in {out / CHECKPOINTS}; continue with "
                "the same command and --resume",
                file=sys.stderr,
            )
        raise
    m = run["metrics"]
    classify = m["data"]["num_classes"] is not None
    rows = []
    for label, s in m["settings"].items():
        f = s["final"]
        rows.append(
            {
                "setting": label,
                "train risk": f["train_risk"],
                "test risk": f["test_risk"],
                **({"test acc": f["test_accuracy"]} if classify else {}),
                "max|dw|": f["max_dw"],
                "ntk change": f["ntk_change"],
                "ntk min eig": f["ntk_min_eig"],
                "half pruned": s["pruned_half"]["test_accuracy" if classify else "test_risk"],
                "seconds": f["wall_time"],
            }
        )
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for label, s in m["settings"].items():
        for flag in s["flags"]:
            print(f"warning: {label}: {flag}", file=sys.stderr)
    print(f"wrote ({m['wall_time_s']:.1f} s; report.html: open it in a browser):")
    for path in run["paths"].values():
        print(f"  {path}")
    return 0


def _depth_command(args) -> int:
    """``bnn-mogp train`` on a parameterisation spec (:mod:`bnn_mogp.cli.depth_spec`)."""
    spec = load_depth_spec(args.spec)
    if args.steps is not None or args.resume:
        raise UsageError(
            "--steps and --resume apply to [training] specs; a parameterisation spec sets its "
            "steps in [parameterisations.depth_width] and [symmetries]"
        )
    out = output_folder(args.out if args.out is not None else Path("runs") / spec.name / "train")
    print(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    dataset = _load(spec.data, args.data, args.target)
    run = run_depth_study(spec, out, dataset, seed=args.seed, progress=show_progress(args), log=log)
    table = run["exponents"]
    shown = table[table.quantity != "movement"]
    print("log-log slopes against the width (derived / measured ± se):")
    cells = shown.assign(
        value=[f"{d:+.2f} / {m:+.2f}±{s:.2f}" for d, m, s in zip(shown.derived, shown.measured,
                                                                 shown.se, strict=True)]
    )  # fmt: skip
    print(
        cells.pivot_table(
            index=["parameterisation", "quantity"], columns="layer", values="value",
            aggfunc="first",
        ).to_string()
    )  # fmt: skip
    dw = run["depth_width"]
    cols = ["loss_ratio", "test_accuracy"]
    means = dw.groupby(["parameterisation", "depth", "width"])[cols].mean()
    if means.test_accuracy.notna().any():
        print("training loss after T steps / initial loss | test accuracy (means over seeds):")
        cells = [
            f"{r:.3f} | {a:.2f}" for r, a in zip(means.loss_ratio, means.test_accuracy, strict=True)
        ]
    else:
        print("training loss after T steps / initial loss (mean over seeds):")
        cells = [f"{r:.3f}" for r in means.loss_ratio]
    print(pd.Series(cells, index=means.index).unstack("width").to_string())
    sym = run["metrics"]["symmetries"]
    if sym is not None:
        sub, odd = sym["subspace"], sym["odd, paired"]
        print(
            f"symmetries: alignment {sym['initial_alignment_expected']:.3f} (k/d) -> "
            f"{sub['alignment_all']:.3f} (positive neurons {sub['alignment_positive']:.3f}); "
            f"odd target, paired: max|f(x)+f(-x)| {odd['odd_error']:.1e}, "
            f"|w - w*|/|w*| {odd['w_error']:.3f}, loss {odd['loss']:.3f} (best linear 0.8); "
            f"independent neurons: max|f(x)+f(-x)| {sym['odd, independent']['odd_error']:.3f}, "
            f"{sym['odd, independent, mirrored']['odd_error']:.3f} on mirrored batches"
        )
    for flag in run["metrics"]["flags"]:
        print(f"warning: {flag}", file=sys.stderr)
    print(f"wrote ({run['metrics']['wall_time_s']:.1f} s):")
    for path in run["paths"].values():
        print(f"  {path}")
    return 0

"""``bnn-mogp train`` on a parameterisation spec: width exponents, the depth × width table and
the symmetries of two-layer training (DESIGN §14).

Writes into the output folder:

- ``exponents.csv`` / ``exponents.png``: per parameterisation, layer and quantity (pre-activations
  and gradient norms at initialisation, first update, feature movement) the derived and measured
  log-log slopes against the width, the standard error and their distance in standard errors
  (:func:`~bnn_mogp.training.exponents.measure_exponents`);
- ``depth_width.csv`` / ``depth_width.png``: the training loss after T steps relative to its
  initial value, and the test accuracy, for every parameterisation × depth × width × seed
  (:func:`~bnn_mogp.training.depth.depth_width_losses`);
- with ``[symmetries]``, ``symmetries.csv`` / ``symmetries.png``: the alignment of the neurons
  with the target subspace along training, and on the cubic odd target the distance of the
  predictor to an odd linear one and of its weight vector to the least-squares predictor, with
  paired neurons, and with independent neurons on plain and on mirrored batches
  (:mod:`~bnn_mogp.training.symmetries`);
- ``metrics.json``: the largest slope gaps, the depth × width table, the symmetry runs' final
  values, flags (slopes off the derivation by more than 4 standard errors plus the finite-width
  band :func:`~bnn_mogp.training.exponents.slope_band`, diverged runs) and the wall time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from bnn_mogp._io import atomic_open, write_json
from bnn_mogp.cli.common import save_png
from bnn_mogp.cli.depth_spec import DepthSpec
from bnn_mogp.training import (
    DeepNet,
    DeepTrainConfig,
    cubic_target,
    depth_width_losses,
    measure_exponents,
    norm_target,
    plot_depth_width,
    train_online,
    two_layer_net,
)
from bnn_mogp.training.exponents import beyond_band, plot_exponent_grid, slope_band
from bnn_mogp.training.splits import TrainingData

__all__ = ["run_depth_study", "plot_symmetries", "FILES"]

FILES = ("exponents.csv", "exponents.png", "depth_width.csv", "depth_width.png", "metrics.json")
#: distance (in standard errors) beyond which a measured slope is flagged, on top of the band
FLAG_SE = 4.0


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        table.to_csv(fh, index=False)


def _symmetries(spec: DepthSpec, key, progress: bool) -> tuple[pd.DataFrame, dict]:
    s = spec.symmetries
    assert s is not None
    net = two_layer_net(s.dim, s.width)
    k_target, k_runs = jax.random.split(key)
    target, w_star = cubic_target(k_target, s.dim)
    common: dict[str, Any] = dict(
        steps=s.steps,
        batch_size=s.batch_size,
        learning_rate=s.learning_rate,
        log_every=max(1, s.steps // 30),
        progress=progress,
    )
    runs = {
        "subspace": train_online(k_runs, net, norm_target(s.subspace), k=s.subspace, **common),
        "odd, paired": train_online(
            k_runs, net, target, paired=True, w_star=w_star, dtype="float64", **common
        ),
        "odd, independent": train_online(k_runs, net, target, w_star=w_star, **common),
        "odd, independent, mirrored": train_online(
            k_runs, net, target, mirror=True, w_star=w_star, **common
        ),
    }
    frames = [pd.DataFrame({"run": name, **r.history}) for name, r in runs.items()]
    final: dict[str, Any] = {
        name: {k: float(v[-1]) for k, v in r.history.items()} for name, r in runs.items()
    }
    final["odd_best_loss"] = 0.8  # 2 − 6/5: the least-squares linear predictor's MSE
    final["initial_alignment_expected"] = s.subspace / s.dim
    return pd.concat(frames, ignore_index=True), final


def plot_symmetries(table: pd.DataFrame, subspace: int, dim: int):
    """Alignment curves (all / positive / negative neurons) and, on the odd target, the
    distance to the least-squares linear predictor and to an odd linear predictor.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.4))
    sub = table[table.run == "subspace"]
    for part, style in (("all", "-"), ("positive", "--"), ("negative", ":")):
        axes[0].plot(sub.step, sub[f"alignment_{part}"], style, label=f"{part} neurons")
    axes[0].axhline(subspace / dim, color="grey", lw=0.6, label="k/d (initial)")
    axes[0].set(title=f"alignment with H (k = {subspace}, d = {dim})", xlabel="step",
                ylim=(0, 1.02))  # fmt: skip
    axes[0].legend(fontsize=7)
    for name in ("odd, paired", "odd, independent", "odd, independent, mirrored"):
        run = table[table.run == name]
        axes[1].semilogy(run.step, run.w_error, label=name)
        axes[2].semilogy(run.step, np.maximum(run.odd_error, 1e-16), label=name)
    axes[1].set(title="‖w − w*‖ / ‖w*‖ (odd target)", xlabel="step")
    axes[2].set(title="max |f(x) + f(−x)| (odd target)", xlabel="step")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def run_depth_study(
    spec: DepthSpec, out_dir, dataset: TrainingData, *, seed: int | None = None,
    progress: bool = False, log=print,
) -> dict:  # fmt: skip
    """Run the three parts of the spec on ``dataset`` and write the files of the module
    docstring; returns ``{"exponents", "depth_width", "symmetries", "metrics", "paths"}``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = jax.random.PRNGKey(spec.seed if seed is None else seed)
    k_exp, k_dw, k_sym = jax.random.split(key, 3)
    loss = spec.loss or ("cross_entropy" if dataset.classification else "mse")
    X, _ = dataset.splits["train"]
    Y = dataset.targets("train", loss)
    X_test, _ = dataset.splits["test"]
    Y_test = dataset.targets("test", loss)
    out_dim = int(Y.shape[1]) if Y.ndim == 2 else int(dataset.num_classes or 1)
    paths = {name: out_dir / name for name in FILES}

    ex = spec.exponents
    log(f"width exponents: depth {ex.depth}, widths {list(ex.widths)}, {ex.seeds} seeds")
    results = []
    for name in spec.names:
        net = DeepNet(X.shape[1], ex.widths[0], ex.depth, out_dim, spec.activation, name)
        results.append(
            measure_exponents(
                k_exp,
                net,
                X[: ex.batch],
                Y[: ex.batch],
                ex.widths,
                loss=loss,
                learning_rate=spec.learning_rate,
                steps=ex.steps,
                seeds=ex.seeds,
                dtype=ex.dtype,
                progress=progress,
            )  # fmt: skip
        )
    exponents = pd.concat([r.table() for r in results], ignore_index=True)
    exponents["gap_se"] = (exponents.measured - exponents.derived).abs() / exponents.se
    band = slope_band(min(ex.widths))
    _write_csv(paths["exponents.csv"], exponents)
    save_png(plot_exponent_grid(results), paths["exponents.png"])

    dw = spec.depth_width
    log(f"depth × width: {list(dw.names)}, depths {list(dw.depths)}, widths {list(dw.widths)}")
    config = DeepTrainConfig(
        loss=loss, learning_rate=spec.learning_rate, steps=dw.steps,
        batch_size=min(dw.batch_size, len(X)), log_every=dw.steps, dtype=spec.dtype,
    )  # fmt: skip
    depth_width = depth_width_losses(
        k_dw, X, Y, parameterisations=dw.names, depths=dw.depths, widths=dw.widths,
        config=config, seeds=dw.seeds, out_dim=out_dim, activation=spec.activation,
        X_test=X_test, Y_test=Y_test, progress=progress,
    )  # fmt: skip
    _write_csv(paths["depth_width.csv"], depth_width)
    save_png(plot_depth_width(depth_width), paths["depth_width.png"])

    symmetries, sym_final = None, None
    if spec.symmetries is not None:
        s = spec.symmetries
        log(f"symmetries: d = {s.dim}, k = {s.subspace}, width {s.width}, {s.steps} steps")
        symmetries, sym_final = _symmetries(spec, k_sym, progress)
        paths["symmetries.csv"] = out_dir / "symmetries.csv"
        paths["symmetries.png"] = out_dir / "symmetries.png"
        _write_csv(paths["symmetries.csv"], symmetries)
        save_png(plot_symmetries(symmetries, s.subspace, s.dim), paths["symmetries.png"])

    flags = [
        f"{r.parameterisation} L={r.depth} {r.quantity} layer {r.layer}: slope {r.measured:.3f} "
        f"vs derived {r.derived:g} ({r.gap_se:.1f} se, beyond the finite-width band {band:.2f})"
        for r in exponents[
            (exponents.quantity != "movement") & beyond_band(exponents, min(ex.widths), FLAG_SE)
        ].itertuples()
    ]
    flags += [
        f"{r.parameterisation} L={r.depth} m={r.width} seed {r.seed}: diverged at step {r.diverged}"
        for r in depth_width.itertuples()
        if r.diverged >= 0
    ]
    metrics = {
        "spec": spec.name,
        "data": dataset.describe(),
        "loss": loss,
        "largest_slope_gap": {
            name: {
                q: float(g.measured.sub(g.derived).abs().max())
                for q, g in exponents[exponents.parameterisation == name].groupby("quantity")
            }
            for name in spec.names
        },
        "depth_width_loss_ratio": {
            f"{name} L={depth}": {
                str(w): float(v) for w, v in g.groupby("width").loss_ratio.mean().items()
            }
            for (name, depth), g in depth_width.groupby(["parameterisation", "depth"])
        },
        "symmetries": sym_final,
        "flags": flags,
        "wall_time_s": time.perf_counter() - started,
    }
    write_json(paths["metrics.json"], metrics)
    return {
        "exponents": exponents,
        "depth_width": depth_width,
        "symmetries": symmetries,
        "metrics": metrics,
        "paths": paths,
    }

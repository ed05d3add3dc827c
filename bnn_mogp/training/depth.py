"""Training loss after T steps against width and depth, per parameterisation (DESIGN §14).

:func:`depth_width_losses` trains the same data at every (parameterisation, depth, width,
seed) with :func:`~bnn_mogp.training.deep_trainer.train_deep` and tabulates the training loss
after T steps relative to its initial value: the integrable parameterisation (``ip``) with more
than two hidden layers stays at 1 and does so the more surely the wider the network (its
updates vanish as m^{(4−L−l)/2}, :mod:`~bnn_mogp.training.parameterisations`), while
``ip_llr`` (large initial rates) and ``mup`` learn at every width. A diverged run is kept in
the table with its step (``diverged``) and an infinite loss ratio — not dropped.
"""

from __future__ import annotations

import itertools
import time

import jax
import numpy as np
import pandas as pd

from bnn_mogp._progress import progress_bar
from bnn_mogp._validation import check_width
from bnn_mogp.training.deep import DeepNet
from bnn_mogp.training.deep_trainer import DeepTrainConfig, train_deep

__all__ = ["depth_width_losses", "plot_depth_width"]


def depth_width_losses(
    rng_key, X, Y, *, parameterisations=("ip", "ip_llr", "mup"), depths=(1, 2, 3, 4, 6),
    widths=(128, 256, 512, 1024), config: DeepTrainConfig | None = None, seeds: int = 1,
    out_dim: int = 1, activation: str = "relu", X_test=None, Y_test=None,
    progress: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """One row per (parameterisation, depth, width, seed): ``initial_loss``, ``final_loss``,
    ``loss_ratio`` (final / initial; inf if diverged), ``test_accuracy`` (classification),
    ``diverged`` (the step, or −1) and ``seconds``; ``config`` (default
    :class:`~bnn_mogp.training.deep_trainer.DeepTrainConfig`) is shared by every run.
    """
    config = DeepTrainConfig() if config is None else config
    widths = [check_width(w, "widths") for w in widths]
    depths = [check_width(L, "depths") for L in depths]
    grid = list(itertools.product(parameterisations, depths, widths, range(seeds)))
    rows = []
    bar = progress_bar(len(grid), "depth × width", unit="run") if progress else None
    for name, depth, width, seed in grid:
        net = DeepNet(X.shape[1], width, depth, out_dim, activation, name)
        start = time.perf_counter()
        run = train_deep(
            jax.random.fold_in(rng_key, seed), net, X, Y, config, X_test=X_test, Y_test=Y_test
        )
        h = run.history
        initial, final = float(h["train_loss"][0]), float(h["train_loss"][-1])
        diverged = run.diverged is not None
        rows.append(
            {
                "parameterisation": name,
                "depth": depth,
                "width": width,
                "seed": seed,
                "initial_loss": initial,
                "final_loss": np.inf if diverged else final,
                "loss_ratio": np.inf if diverged else final / initial,
                "test_accuracy": float(h["test_accuracy"][-1]),
                "diverged": -1 if run.diverged is None else run.diverged,
                "seconds": time.perf_counter() - start,
            }
        )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows)


def plot_depth_width(table: pd.DataFrame, value: str = "loss_ratio"):
    """One panel per parameterisation: ``value`` (mean over seeds) against the width, one
    line per depth; diverged runs are drawn as crosses at the top.
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table.parameterisation))
    fig, axes = plt.subplots(1, len(names), figsize=(3.8 * len(names), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    depths = sorted(table.depth.unique())
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(depths)))
    finite = table[value][np.isfinite(table[value])]
    top = float(finite.max()) * 1.1 if len(finite) else 1.0
    for ax, name in zip(axes, names, strict=True):
        sub = table[table.parameterisation == name]
        for color, depth in zip(colors, depths, strict=True):
            rows = sub[sub.depth == depth].groupby("width")[value].mean()
            ok = np.isfinite(rows.values)
            ax.plot(rows.index[ok], rows.values[ok], "o-", color=color, label=f"L = {depth}")
            ax.plot(rows.index[~ok], np.full((~ok).sum(), top), "x", color=color, ms=8)
        ax.set_xscale("log", base=2)
        ax.set_title(name)
        ax.set_xlabel("width m")
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
    axes[0].set_ylabel(value.replace("_", " "))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig

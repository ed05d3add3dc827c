"""Figures of training runs: one curve per setting, the panels that apply."""

from __future__ import annotations

import jax
import matplotlib
import numpy as np

from bnn_mogp.training import (
    NodeScaledNet,
    TrainConfig,
    Uniform,
    Zipf,
    plot_history,
    plot_pruning,
    plot_scalings,
    plot_transfer,
    prune_curve,
    train,
    transfer_curve,
)

matplotlib.use("Agg")


def test_figures_of_two_settings(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = np.sin(X[:, 0])
    net = NodeScaledNet(in_dim=5, width=40)
    config = TrainConfig(steps=40, log_every=20, ntk_points=10)
    runs = {
        s.describe(): train(jax.random.PRNGKey(0), net, s, X, y, X, y, config=config)
        for s in (Uniform(), Zipf(0.5, 0.2))
    }
    fig = plot_history(runs)
    assert len(fig.axes) == 4  # regression: no accuracy panel
    assert [len(ax.lines) for ax in fig.axes] == [4, 2, 2, 2]
    fig.savefig(tmp_path / "history.png")
    prunes = {k: prune_curve(r, X, y) for k, r in runs.items()}
    fig = plot_pruning(prunes)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    transfers = {k: transfer_curve(r, X[:40], y[:40], X[40:], y[40:], [5, 20], mlp_steps=20)
                 for k, r in runs.items()}  # fmt: skip
    fig = plot_transfer(transfers)
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    fig = plot_scalings({k: r.params.lam for k, r in runs.items()})
    assert len(fig.axes[0].lines) == 2
    fig.savefig(tmp_path / "scalings.png")

"""Figures of node-scaled training runs: one curve per setting (DESIGN §13).

Each function takes ``{label: …}`` for the settings to compare side by side and returns a
matplotlib Figure (matplotlib is imported when a figure is drawn):

- :func:`plot_history`: training and test risk (log scale), accuracy when there is one, feature
  movement max_j ‖w_j(t) − w_j(0)‖, ‖Θ_t − Θ_0‖₂ and λ_min(Θ_t) against the step;
- :func:`plot_pruning`: risk (log scale) and accuracy against the fraction of nodes removed;
- :func:`plot_transfer`: the transfer read-outs' metric against the number D of features;
- :func:`plot_scalings`: the sorted scalings λ_(1) ≥ λ_(2) ≥ … against the rank (log-log).
"""

from __future__ import annotations

import numpy as np

from bnn_mogp.training.trainer import TrainResult

__all__ = ["plot_history", "plot_pruning", "plot_transfer", "plot_scalings"]


def _has(values) -> bool:
    return bool(np.any(np.isfinite(np.asarray(values, dtype=float))))


def plot_history(results: dict[str, TrainResult]):
    """Risks, accuracy, feature movement and NTK diagnostics against the step."""
    import matplotlib.pyplot as plt

    histories = {label: r.history for label, r in results.items()}
    with_acc = any(
        _has(h["test_accuracy"]) or _has(h["train_accuracy"]) for h in histories.values()
    )
    panels = ["risk"] + (["accuracy"] if with_acc else []) + ["movement", "ntk_change", "min_eig"]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), layout="constrained")
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i}"
        step = h["step"]
        ax = dict(zip(panels, axes, strict=True))
        ax["risk"].plot(step, h["train_risk"], color=color, ls="--")
        if _has(h["test_risk"]):
            ax["risk"].plot(step, h["test_risk"], color=color, label=label)
        else:
            ax["risk"].plot([], [], color=color, label=label)
        if with_acc:
            ax["accuracy"].plot(step, h["train_accuracy"], color=color, ls="--")
            ax["accuracy"].plot(step, h["test_accuracy"], color=color)
        ax["movement"].plot(step, h["max_dw"], color=color)
        ax["ntk_change"].plot(step, h["ntk_change"], color=color)
        ax["min_eig"].plot(step, h["ntk_min_eig"], color=color)
    ax = dict(zip(panels, axes, strict=True))
    ax["risk"].set(yscale="log", xlabel="step", title="risk (dashed: training)")
    ax["risk"].legend(fontsize="small")
    if with_acc:
        ax["accuracy"].set(xlabel="step", title="accuracy (dashed: training)")
    ax["movement"].set(xlabel="step", title="max_j ‖w_j(t) − w_j(0)‖")
    ax["ntk_change"].set(xlabel="step", title="‖Θ_t − Θ_0‖₂")
    ax["min_eig"].set(xlabel="step", yscale="log", title="λ_min(Θ_t)")
    return fig


def plot_pruning(curves: dict[str, dict]):
    """Risk and (when defined) accuracy against the fraction of nodes removed."""
    import matplotlib.pyplot as plt

    with_acc = any(_has(c["accuracy"]) for c in curves.values())
    fig, axes = plt.subplots(1, 2 if with_acc else 1, figsize=(8 if with_acc else 4.5, 3.2))
    axes = np.atleast_1d(axes)
    for i, (label, c) in enumerate(curves.items()):
        axes[0].plot(c["fraction"], c["risk"], marker=".", color=f"C{i}", label=label)
        if with_acc:
            axes[1].plot(c["fraction"], c["accuracy"], marker=".", color=f"C{i}")
    axes[0].set(yscale="log", xlabel="fraction of nodes removed (smallest λ first)", title="risk")
    axes[0].legend(fontsize="small")
    if with_acc:
        axes[1].set(xlabel="fraction of nodes removed", title="accuracy")
    fig.set_layout_engine("constrained")
    return fig


def plot_transfer(curves: dict[str, dict]):
    """Test metric of the probe and of the MLP read-out against D (top-D features)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained", sharey=True)
    metric = "metric"
    for i, (label, c) in enumerate(curves.items()):
        metric = str(c["metric"])
        axes[0].plot(c["dim"], c["probe_test"], marker=".", color=f"C{i}", label=label)
        axes[1].plot(c["dim"], c["mlp_test"], marker=".", color=f"C{i}")
    for ax, name in zip(axes, ("linear / logistic probe", "MLP read-out"), strict=True):
        ax.set(xscale="log", xlabel="D (features of the largest-λ nodes)", title=name)
    axes[0].set(ylabel=f"test {metric}")
    if metric == "mse":
        axes[0].set(yscale="log")
    axes[0].legend(fontsize="small")
    return fig


def plot_scalings(scalings: dict[str, np.ndarray]):
    """λ sorted in decreasing order against its rank, log-log."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2), layout="constrained")
    for i, (label, lam) in enumerate(scalings.items()):
        lam = np.sort(np.asarray(lam, dtype=float))[::-1]
        ax.plot(np.arange(1, lam.size + 1), lam, color=f"C{i}", label=label)
    ax.set(xscale="log", yscale="log", xlabel="rank j", ylabel="λ_(j)", title="node scalings")
    ax.legend(fontsize="small")
    return fig

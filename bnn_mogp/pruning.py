r"""Compressibility: prune the least important hidden nodes and measure what is lost (DESIGN §8).

A node j of hidden layer l contributes sqrt(λ_{l,j}) V_j φ(Z_j) to the next layer; removing it is
setting λ_{l,j} = 0 (:func:`prune`), which gives exactly the network with that node deleted. Nodes
are ranked per posterior draw and per layer by their **importance**:

- λ_{l,j} for a layer with random node variances (the posterior draw of λ);
- ‖v_j‖² / (m σ_w²), the realised variance of the node's m outgoing weights, for a spike-and-slab
  (``GaussianMixture``) layer, whose weights are centred (it orders nodes like E[λ_j | weights]
  without that probability's saturation at the slab value);
- λ ‖V_j‖² (the squared norm of the outgoing weights) for a ``Deterministic`` (Gaussian-prior)
  layer, whose λ are all equal.

Pruning a fraction p removes ⌊p n_l⌋ nodes of every hidden layer.

A layer whose prior is placed per weight (DESIGN §15) has one λ per outgoing weight. Pruned
**by node** (``by="node"``, the default) a node's importance is the sum of its weights'
importances (Σ_k λ_jk, or Σ_k λ_jk V_jk² when ranked by weights) and removing it sets all its
λ_jk = 0; pruned **by weight** (``by="weight"``) the ⌊p n_l m⌋ least important weights of the
layer are removed one by one (λ_jk = 0), which keeps every node but thins its connections.
Layers placed per node are always pruned by node.

Theory (DESIGN §4.5, one hidden layer): removing every node with λ < ε removes
σ_w² (a + ∫₀^ε w ρ(dw)) E[φφ] of output variance in the infinite-width limit
(:func:`removed_mass_limit`): with a positive drift a (Gaussian and inverse-gamma priors) a
fixed share is lost whatever ε — no compressibility — while with a = 0 and ρ̄(x) ~ x^{−α} near 0
(stable-like, horseshoe: α = ½) the loss vanishes like ε^{1−α}. At width n the prior share of
node variance that pruning a fraction p removes is :func:`prior_removed_share`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bnn_mogp._chunks import DRAW_CHUNK
from bnn_mogp._validation import check_width
from bnn_mogp.evaluation import function_metrics, output_tail_index, pointwise_lpd
from bnn_mogp.inference.results import (
    network_functions,
    network_of,
    noise_draws,
    noise_model,
    posterior_params,
)
from bnn_mogp.likelihoods import is_regression
from bnn_mogp.nn import MLP, Params
from bnn_mogp.priors import NodePrior

__all__ = [
    "FRACTIONS",
    "network_draws",
    "node_variances",
    "node_importance",
    "threshold_curve",
    "keep_masks",
    "threshold_masks",
    "prune",
    "pruned_functions",
    "pruning_curve",
    "prior_removed_share",
    "removed_mass_limit",
    "plot_pruning",
    "max_fraction_within_se",
]

#: the default fractions of nodes removed per layer
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def _check_fraction(p) -> float:
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"a pruning fraction must be in [0, 1), got {p}")
    return p


def num_removed(fraction: float, n: int) -> int:
    """⌊p n⌋ (guarded against the rounding of p n just below an integer)."""
    return int(math.floor(_check_fraction(fraction) * n + 1e-9))


def network_draws(idata, net: MLP | None = None, *, by: str = "node"):
    """The posterior draws of a :func:`bnn_mogp.fit` result as stacked :class:`Params` (leading
    axis: draws, chains flattened; :func:`bnn_mogp.inference.posterior_params`) and the
    importances, one (S, n_l) array per hidden layer, or (S, n_l m) for a layer placed per
    weight pruned ``by="weight"`` (module docstring). ``net``: the network, when the
    InferenceData does not describe it (e.g. a fit's prior group read as draws).
    """
    net = network_of(idata) if net is None else net
    params = posterior_params(idata, net)
    return params, node_importance(params, net, by=by)


def _layers(params: Params, net: MLP):
    """(prior, λ, outgoing weights V) of every hidden layer of stacked ``params``."""
    return zip(net.node_priors, params.lams, params.weights[1:], strict=True)


def _by(values: np.ndarray, lam, V, by: str) -> np.ndarray:
    """Per-weight values of a layer placed per weight (λ of V's shape) summed per node, or
    flattened per weight (``by="weight"``); per-node values unchanged.
    """
    if np.ndim(lam) < np.ndim(V):
        return values
    return values.reshape(*values.shape[:-2], -1) if by == "weight" else values.sum(-1)


def _check_by(by: str) -> str:
    if by not in ("node", "weight"):
        raise ValueError(f"by must be 'node' or 'weight', got {by!r}")
    return by


def node_variances(params: Params, net: MLP, *, by: str = "node") -> tuple:
    """Per hidden layer, the (S, n_l) node variances of stacked ``params``: λ, or for a
    spike-and-slab layer the realised variance ‖v_j‖² / (m σ_w²) of its centred weights
    (:meth:`~bnn_mogp.priors.NodePrior.node_variance`); placed per weight, the sum over the
    node's outgoing weights (or every weight's, ``by="weight"``).
    """
    _check_by(by)
    return tuple(
        _by(np.asarray(prior.node_variance(np.asarray(lam), V, net.sigma_w)), lam, V, by)
        for prior, lam, V in _layers(params, net)
    )


def node_importance(params: Params, net: MLP, *, by: str = "node") -> tuple:
    """Per hidden layer, the (S, n_l) importance of every node in stacked ``params``: its
    variance (:func:`node_variances`), or λ ‖V_j‖² for a ``Deterministic`` layer
    (:meth:`~bnn_mogp.priors.NodePrior.node_importance`); placed per weight, summed over the
    node's outgoing weights, or (S, n_l m) per weight with ``by="weight"``.
    """
    _check_by(by)
    return tuple(
        _by(np.asarray(prior.node_importance(np.asarray(lam), V, net.sigma_w)), lam, V, by)
        for prior, lam, V in _layers(params, net)
    )


def threshold_curve(lam, eps):
    """Σ_j λ_j 1{λ_j < ε} per draw of (S, n) node variances ``lam``, for each threshold in
    ``eps``: a (len(eps), S) array (compare with :func:`removed_mass_limit`).
    """
    lam = np.asarray(lam)
    return np.array(
        [
            np.sum(np.where(lam < e, lam, 0.0), axis=-1)
            for e in np.atleast_1d(np.asarray(eps, dtype=float))
        ]
    )


def keep_masks(importance, fraction: float) -> tuple:
    """Boolean (S, n_l) masks that keep all but the ⌊p n_l⌋ least important nodes of each layer
    and draw (ties broken by node index).
    """
    masks = []
    for imp in importance:
        imp = np.asarray(imp)
        k = num_removed(fraction, imp.shape[-1])
        order = np.argsort(imp, axis=-1, kind="stable")
        keep = np.ones(imp.shape, bool)
        np.put_along_axis(keep, order[..., :k], False, axis=-1)
        masks.append(keep)
    return tuple(masks)


def threshold_masks(node_var, eps: float) -> tuple:
    """Boolean masks that keep the nodes with variance λ ≥ ε (the pruning rule of DESIGN §4.5),
    one per layer of ``node_var`` (:func:`node_variances`).
    """
    if not float(eps) >= 0:
        raise ValueError(f"the threshold eps must be >= 0, got {eps}")
    return tuple(np.asarray(lam) >= eps for lam in node_var)


def prune(params: Params, masks) -> Params:
    """``params`` with λ = 0 for the nodes (or, for masks over a per-weight layer's n m
    weights, the weights) that ``masks`` drop: the network without them.
    """
    lams = []
    for lam, mask in zip(params.lams, masks, strict=True):
        lam, mask = np.asarray(lam), np.asarray(mask)
        if mask.shape != lam.shape:
            mask = mask.reshape(lam.shape) if mask.size == lam.size else mask[..., None]
        lams.append(np.where(mask, lam, 0.0))
    return params._replace(lams=tuple(lams))


def pruned_functions(params: Params, net: MLP, X, masks=None, *, batch_size: int = DRAW_CHUNK):
    """f_s(X) for stacked ``params`` (S draws), pruned by ``masks`` when given: (S, N, K)."""
    if masks is not None:
        params = prune(params, masks)
    return network_functions(net, params, X, batch_size=batch_size)


def pruning_curve(
    idata, X_test, y_test, *, fractions=FRACTIONS, y_scale: float = 1.0, by: str = "node"
):
    """Test metrics of the posterior predictive after pruning each fraction of nodes.

    Returns a ``pandas.DataFrame`` with one row per fraction: ``fraction``, ``removed`` (nodes
    removed per layer, e.g. ``"18"`` or ``"9/9"``), the metrics of
    :func:`bnn_mogp.evaluation.function_metrics` (RMSE, log predictive density and 90 %
    coverage; or accuracy and log loss) with their standard errors over test points (``*_se``),
    the change of the mean log predictive density from the unpruned network's (``lpd_change``,
    with the paired standard error ``lpd_change_se`` of the per-point differences),
    the 5 % and 95 % quantiles over posterior draws of the per-draw RMSE or accuracy
    (``*_q05``, ``*_q95``: the metric's posterior uncertainty), and ``mass_removed``, the
    posterior mean share of node importance removed (layer 1; compare
    :func:`prior_removed_share`). ``by``: prune layers placed per weight by node or by weight
    (module docstring; ``removed`` then counts weights).
    """
    net = network_of(idata)
    if net.depth == 0:
        raise ValueError("a network without hidden layers has no nodes to prune")
    fractions = sorted({_check_fraction(p) for p in fractions})
    params, importance = network_draws(idata, by=by)
    sigma = noise_draws(idata)
    noise = noise_model(idata)
    rows = []
    base, point = None, None
    for p in fractions:
        masks = keep_masks(importance, p)
        f = pruned_functions(params, net, X_test, masks)
        removed = "/".join(str(num_removed(p, imp.shape[-1])) for imp in importance)
        row = {"fraction": p, "removed": removed}
        metrics = function_metrics(
            f,
            sigma,
            y_test,
            **noise,
            y_scale=y_scale,
            per_draw=True,
            output_tail_index=output_tail_index(net),
            point=point,
        )
        point = metrics.get("point_prediction")  # the smallest fraction's, for every row
        row.update(metrics)
        lpd = pointwise_lpd(f, sigma, y_test, **noise, y_scale=y_scale)
        base = lpd if base is None else base
        change = lpd - base
        row["lpd_change"] = float(change.mean())
        row["lpd_change_se"] = (
            float(change.std(ddof=1) / np.sqrt(change.size)) if change.size > 1 else 0.0
        )
        imp = importance[0]
        row["mass_removed"] = float(np.mean(np.sum(imp * ~masks[0], -1) / np.sum(imp, -1)))
        rows.append(row)
    return pd.DataFrame(rows)


def prior_removed_share(
    prior: NodePrior,
    n: int,
    fractions=FRACTIONS,
    *,
    fan_out: int | None = None,
    num_draws: int = 2000,
    rng_key=None,
) -> np.ndarray:
    """The share of a layer's node importance that pruning the fraction p removes a priori:
    E[Σ_{⌊pn⌋ smallest} I_j / Σ_j I_j] under the prior at width n, per fraction p, where the
    importance I_j is λ_j (p itself when λ is constant: no compressibility) or, with
    ``fan_out`` = m given and a layer ranked by its outgoing weights (``Deterministic``,
    ``GaussianMixture``; :func:`node_importance`), λ_j χ²_m / m. Monte Carlo over ``num_draws``
    layers; the ratio lies in [0, 1], so its mean exists for every prior.
    """
    n = check_width(n, "n")
    key = jax.random.PRNGKey(0) if rng_key is None else rng_key
    k_lam, k_chi = jax.random.split(key)
    with jax.enable_x64(True):
        imp = np.asarray(prior.at_width(n).sample(k_lam, (num_draws, n)))
        if fan_out is not None and prior.ranked_by_weights:
            m = check_width(fan_out, "fan_out")
            imp = imp * np.asarray(jax.random.chisquare(k_chi, m, (num_draws, n))) / m
    cum = np.concatenate(
        [np.zeros((num_draws, 1)), np.cumsum(np.sort(imp, axis=-1), axis=-1)], axis=-1
    )
    total = cum[:, -1]
    return np.array([np.mean(cum[:, num_removed(p, n)] / total) for p in fractions])


def removed_mass_limit(prior: NodePrior, eps) -> np.ndarray:
    """a + ∫₀^ε w ρ(dw): the node variance lost in the infinite-width limit by pruning every
    node with λ < ε (DESIGN §4.5; times σ_w² E[φφ] it is the output variance removed).
    """
    levy = prior.limit()
    with jax.enable_x64(True):
        return np.asarray(levy.drift + levy.small_jump_mean(jnp.asarray(eps, jnp.float64)))


def plot_pruning(curves, *, likelihood: str, layers=None):
    """Pruning curves of several runs side by side, with the theory of DESIGN §4.5.

    Args:
        curves: {label: DataFrame of :func:`pruning_curve`}.
        likelihood: a regression likelihood (RMSE) or a classification one (accuracy); the
            second panel is the change of the test log predictive density for both.
        layers: {label: (prior, width, node variances (S, n), fan_out)} of each run's first
            hidden layer (fan_out: the size of the next layer), for the two theory panels: the
            share of node importance removed against the fraction pruned (posterior, and the
            prior at that width, dashed: :func:`prior_removed_share`), and the node
            variance removed by the threshold ε (posterior median, and the infinite-width
            a + ∫₀^ε w ρ(dw), dashed).

    Returns a matplotlib Figure (three panels in a row, or four in a 2 × 2 grid with ``layers``).
    """
    import matplotlib.pyplot as plt

    layers = layers or {}
    metric, name = (
        ("rmse", "test RMSE") if is_regression(likelihood) else ("accuracy", "test accuracy")
    )
    if layers:
        fig, axes = plt.subplots(2, 2, figsize=(12, 8.4), layout="constrained")
        axes = axes.ravel()
        lams = [entry[2][entry[2] > 0] for entry in layers.values()]
        lams = [lam for lam in lams if lam.size]
        eps = np.geomspace(
            min(np.quantile(lam, 0.001) for lam in lams),
            1.01 * max(np.quantile(lam, 0.9999) for lam in lams),
            80,
        )
    else:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    xlabel = "nodes pruned per layer (%)"
    for i, (label, df) in enumerate(curves.items()):
        c = colors[i % len(colors)]
        x = 100 * df["fraction"]
        axes[0].plot(x, df[metric], "o-", color=c, label=label, ms=3)
        if f"{metric}_q05" in df:
            axes[0].fill_between(
                x, df[f"{metric}_q05"], df[f"{metric}_q95"], color=c, alpha=0.15, lw=0
            )
        axes[1].errorbar(
            x + 0.6 * (i - (len(curves) - 1) / 2),
            df["lpd_change"],
            yerr=1.96 * df["lpd_change_se"],
            fmt="o-",
            color=c,
            ms=3,
            capsize=2,
            label=label,
        )
        axes[2].plot(x, df["mass_removed"], "o-", color=c, ms=3, label=f"{label}: posterior")
        if label in layers:
            prior, width, lam, *fan_out = layers[label]
            share = prior_removed_share(
                prior, width, df["fraction"], fan_out=fan_out[0] if fan_out else None
            )
            axes[2].plot(x, share, "--", color=c, label=f"{label}: prior, width {width}")
            removed = threshold_curve(lam, eps)
            axes[3].plot(eps, np.median(removed, axis=1), color=c, label=f"{label}: posterior")
            axes[3].plot(
                eps,
                removed_mass_limit(prior, eps),
                "--",
                color=c,
                label=f"{label}: limit a + ∫₀^ε wρ",
            )
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[2].plot([0, 100], [0, 1], ":", color="grey", label="no compressibility (share = p)")
    axes[0].set(xlabel=xlabel, ylabel=name, title=f"{name}\n(band: 90 % over draws)")
    axes[1].set(
        xlabel=xlabel,
        ylabel="Δ log predictive density per test point",
        title="change of the test log predictive density\n(bars: ± 1.96 paired se)",
    )
    axes[2].set(
        xlabel=xlabel,
        ylabel="share removed",
        ylim=(-0.02, 1.02),
        title="share of node importance removed\n(layer 1; ranked per draw)",
    )
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=7)
    if layers:
        axes[3].set(
            xscale="log",
            yscale="log",
            xlabel="threshold ε",
            ylabel="Σ λ_j 1{λ_j < ε}",
            title="node variance removed by pruning λ < ε\n(layer 1; median over "
            "draws; limit ∝ ε^{1−α}, or ≥ a)",
        )
        axes[3].legend(fontsize=7)
    return fig


def max_fraction_within_se(curve, num_se: float = 2.0, max_loss: float = 0.05) -> float:
    """The largest fraction p such that pruning any fraction up to p lowers the mean test log
    predictive density by less than ``num_se`` paired standard errors (``lpd_change`` ≥
    −num_se · ``lpd_change_se``: a loss that the test set cannot tell from none) *and* by at
    most ``max_loss`` nats per test point (a loss the standard error hides because a few points
    change a lot is still a loss).
    """
    fine = (curve["lpd_change"] >= -num_se * curve["lpd_change_se"]) & (
        curve["lpd_change"] >= -max_loss
    )
    fine = fine.cumprod().astype(bool)  # stop at the first fraction that loses too much
    return float(curve.loc[fine, "fraction"].max())

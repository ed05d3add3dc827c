"""Diagnostics: the one module that imports ArviZ (DESIGN §9).

Convergence is judged where it means something (DESIGN §6.2): per-weight R-hat is meaningless
because node permutations make weight space multimodal, so the monitored quantities are the noise
scale ``sigma``, the node variances of every layer **sorted** per draw (``lam_l_sorted``, largest
first; for spike-and-slab layers E[λ_j | weights], a monotone function of the slab probability;
constant ones are left out) and the function values ``f_monitor`` at fixed inputs.

Gates (NUTS; after Vehtari et al. 2021, "Rank-normalization, folding, and localization"):

- R-hat (rank-normalised, split) ≤ 1.01 for every monitored quantity;
- bulk and tail ESS ≥ 100 per chain for every monitored quantity;
- no divergent transitions after warmup;
- E-BFMI ≥ 0.3 in every chain;
- at most 1 % of transitions at the maximum tree depth (an *efficiency* gate: trajectories cut
  short make NUTS slow and its draws more correlated, which the ESS gates already weigh; the
  others are *validity* gates).

SVI draws are independent draws from the fitted guide, so these gates do not apply to them.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "make_inference_data",
    "monitored_quantities",
    "convergence_summary",
    "convergence_gates",
    "GATES",
]

#: the thresholds of the gates
GATES = {"r_hat": 1.01, "ess_per_chain": 100, "bfmi": 0.3, "tree_depth_fraction": 0.01}


def make_inference_data(*, dims=None, pred_dims=None, attrs=None, extra_groups=None, **groups):
    """``arviz.InferenceData`` from dicts of arrays shaped (chain, draw, …) per group (groups
    that are None are left out); ``dims`` name the dimensions of each variable.
    ``extra_groups``: {group: {variable: (dims, array)}} for groups outside ArviZ's schema
    (e.g. ``svi_losses``); they round-trip through NetCDF like the others."""
    import warnings

    import arviz as az
    import xarray as xr

    groups = {name: value for name, value in groups.items() if value is not None}
    idata = az.from_dict(**groups, dims=dims, pred_dims=pred_dims, attrs=attrs)
    for name, variables in (extra_groups or {}).items():
        with warnings.catch_warnings():  # ArviZ warns about groups outside its schema
            warnings.simplefilter("ignore", UserWarning)
            idata.add_groups({name: xr.Dataset(variables, attrs=attrs or {})})
    return idata


def monitored_quantities(idata):
    """An ``xarray.Dataset`` (chain, draw, …) of the monitored quantities (module docstring)."""
    import xarray as xr

    post = idata.posterior
    out = {}
    if "sigma" in post:
        out["sigma"] = post["sigma"]
    layer = 1
    while f"node_{layer}" in post.dims:
        name = f"lam_{layer}"
        values = np.asarray(post[name]) if name in post else None
        if values is not None and np.ptp(values) > 0:  # a fixed λ has nothing to converge
            ranked = -np.sort(-values, axis=-1)
            out[f"{name}_sorted"] = xr.DataArray(ranked, dims=("chain", "draw", f"rank_{layer}"))
        layer += 1
    if "f_monitor" in post:
        out["f_monitor"] = post["f_monitor"]
    return xr.Dataset(out)


def convergence_summary(idata, hdi_prob: float = 0.9):
    """``pandas.DataFrame``: mean, sd, HDI, MCSE, bulk/tail ESS and R-hat of every monitored
    quantity (rows such as ``sigma``, ``lam_1_sorted[0]``, ``f_monitor[2, 0]``)."""
    import arviz as az

    return az.summary(monitored_quantities(idata), hdi_prob=hdi_prob, round_to="none")


def convergence_gates(idata, summary=None):
    """``pandas.DataFrame`` with one row per gate (module docstring): ``gate``, ``kind``
    (``validity`` or ``efficiency``), ``value``, ``threshold``, ``passed`` and a one-line
    ``reason`` naming the worst quantity. Empty for SVI fits (their draws are independent)."""
    import arviz as az
    import pandas as pd

    if idata.attrs.get("method") != "nuts" or "sample_stats" not in idata.groups():
        return pd.DataFrame(columns=["gate", "kind", "value", "threshold", "passed", "reason"])
    summary = convergence_summary(idata) if summary is None else summary
    stats = idata.sample_stats
    chains = stats.sizes["chain"]
    rows = []

    def add(gate, value, threshold, passed, reason):
        kind = "efficiency" if gate == "max tree depth" else "validity"
        rows.append(dict(gate=gate, kind=kind, value=value, threshold=threshold,
                         passed=bool(passed), reason=reason))

    r_hat = summary["r_hat"].dropna()
    if len(r_hat):
        worst = r_hat.idxmax()
        add("R-hat", r_hat.max(), GATES["r_hat"], r_hat.max() <= GATES["r_hat"],
            f"largest R-hat {r_hat.max():.3f} at {worst}")
    need = GATES["ess_per_chain"] * chains
    for column, gate in (("ess_bulk", "bulk ESS"), ("ess_tail", "tail ESS")):
        ess = summary[column].dropna()
        if len(ess):
            add(gate, ess.min(), need, ess.min() >= need,
                f"smallest {gate} {ess.min():.0f} at {ess.idxmin()} (need {need} = 100 per chain)")
    diverging = np.asarray(stats["diverging"])
    n_div = int(diverging.sum())
    add("divergences", n_div, 0, n_div == 0,
        f"{n_div} of {diverging.size} transitions after warmup diverged "
        f"({100 * n_div / diverging.size:.1f} %)")
    bfmi = np.asarray(az.bfmi(idata))
    add("E-BFMI", float(bfmi.min()), GATES["bfmi"], bfmi.min() >= GATES["bfmi"],
        f"smallest E-BFMI {bfmi.min():.2f} (chain {int(bfmi.argmin())})")
    max_depth = idata.attrs.get("max_tree_depth")
    if max_depth is not None and "tree_depth" in stats:
        hits = float(np.mean(np.asarray(stats["tree_depth"]) >= int(max_depth)))
        add("max tree depth", hits, GATES["tree_depth_fraction"],
            hits <= GATES["tree_depth_fraction"],
            f"{100 * hits:.1f} % of transitions hit the maximum tree depth {max_depth}")
    return pd.DataFrame(rows)

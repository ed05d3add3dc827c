"""Diagnostics: the one module that imports ArviZ (DESIGN §9).

For now it assembles ``arviz.InferenceData``; convergence gates, LOO and figures come with the
diagnostics issue.
"""

from __future__ import annotations

__all__ = ["make_inference_data"]


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

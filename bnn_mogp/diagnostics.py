"""Diagnostics: the one module that imports ArviZ (DESIGN §9).

For now it assembles ``arviz.InferenceData``; convergence gates, LOO and figures come with the
diagnostics issue.
"""

from __future__ import annotations

__all__ = ["make_inference_data"]


def make_inference_data(*, dims=None, pred_dims=None, attrs=None, **groups):
    """``arviz.InferenceData`` from dicts of arrays shaped (chain, draw, …) per group (groups
    that are None are left out); ``dims`` name the dimensions of each variable."""
    import arviz as az

    groups = {name: value for name, value in groups.items() if value is not None}
    return az.from_dict(**groups, dims=dims, pred_dims=pred_dims, attrs=attrs)

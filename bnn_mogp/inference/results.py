"""A fit's ``arviz.InferenceData``: assembled here, and read back into the network's terms.

A fit describes itself: its attributes hold the network with its priors (``network``, JSON of
:meth:`bnn_mogp.MLP.to_dict`), the likelihood and noise model, whether the last layer was
collapsed, the sampler and its settings (``settings``, JSON), and whatever the caller adds
(``bnn-mogp fit`` adds the data source, split and standardisation). :func:`network_of`,
:func:`posterior_params` and :func:`posterior_functions` turn it back into a network, its
parameters per draw and its function values, so downstream code takes the InferenceData alone.
"""

from __future__ import annotations

import functools
import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._chunks import DRAW_CHUNK, row_chunk
from bnn_mogp._precision import float64
from bnn_mogp.likelihoods import is_regression
from bnn_mogp.nn import MLP, Params, apply, check_inputs

__all__ = [
    "make_inference_data",
    "network_of",
    "model_kwargs",
    "fit_settings",
    "metadata",
    "posterior_params",
    "network_functions",
    "posterior_functions",
    "noise_draws",
]


def make_inference_data(*, dims=None, pred_dims=None, attrs=None, extra_groups=None, **groups):
    """``arviz.InferenceData`` from dicts of arrays shaped (chain, draw, …) per group (groups
    that are None are left out); ``dims`` name the dimensions of each variable.
    ``extra_groups``: {group: {variable: (dims, array)}} for groups outside ArviZ's schema
    (e.g. ``svi_losses``); they round-trip through NetCDF like the others.
    """
    import arviz as az
    import xarray as xr

    groups = {name: value for name, value in groups.items() if value is not None}
    idata = az.from_dict(**groups, dims=dims, pred_dims=pred_dims, attrs=attrs)
    for name, variables in (extra_groups or {}).items():
        with warnings.catch_warnings():  # ArviZ warns about groups outside its schema
            warnings.simplefilter("ignore", UserWarning)
            idata.add_groups({name: xr.Dataset(variables, attrs=attrs or {})})
    return idata


def network_of(idata) -> MLP:
    """The fitted network, with its priors, from the InferenceData's attributes."""
    try:
        return MLP.from_dict(json.loads(idata.attrs["network"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(
            "this InferenceData does not describe its network (attribute 'network' missing or "
            f"unreadable: {e}); it was not made by bnn_mogp.fit of this version"
        ) from None


def model_kwargs(idata) -> dict:
    """The likelihood and noise model of the fit, as keyword arguments of
    :func:`bnn_mogp.model.bnn_model`.
    """
    attrs = idata.attrs
    kwargs = dict(
        likelihood=attrs.get("likelihood", "gaussian"),
        noise_std=attrs.get("noise_std"),
        noise_scale=attrs.get("noise_scale", 1.0),
    )
    if "df" in attrs:
        kwargs["df"] = float(attrs["df"])
    return kwargs


def noise_model(idata) -> dict:
    """The observation model as keyword arguments of the evaluation functions
    (:mod:`bnn_mogp.evaluation`): {"likelihood", "df"} (df None unless ``"student_t"``).
    """
    kwargs = model_kwargs(idata)
    return {"likelihood": kwargs["likelihood"], "df": kwargs.get("df")}


def fit_settings(idata) -> dict:
    """The sampler's settings of the fit (``method`` and its config's fields)."""
    return json.loads(idata.attrs.get("settings", "{}"))


def metadata(idata) -> dict:
    """What the caller of :func:`bnn_mogp.fit` attached (``metadata=``), e.g. the data's source,
    split and standardisation for ``bnn-mogp fit`` runs; {} when nothing was.
    """
    return json.loads(idata.attrs.get("metadata", "{}"))


def _flat_draws(post, name):
    return np.asarray(post[name]).reshape((-1,) + post[name].shape[2:])


class _LazyDraws:
    """name → flattened posterior draws, read on demand."""

    def __init__(self, post):
        self._post = post

    def __getitem__(self, name):
        return _flat_draws(self._post, name)


@float64
def posterior_params(idata, net: MLP | None = None) -> Params:
    """Every posterior draw as the network's :class:`~bnn_mogp.nn.Params`, stacked along a
    leading draw axis (chains flattened): the one place where the model's sites become network
    parameters; each hidden layer's prior decodes its own sites
    (:meth:`~bnn_mogp.priors.NodePrior.outgoing_params`). ``net`` defaults to
    :func:`network_of`.
    """
    net = network_of(idata) if net is None else net
    post = idata.posterior
    sizes = net.sizes
    num = post.sizes["chain"] * post.sizes["draw"]
    weights, biases, lams = [], [], []
    for l in range(1, len(sizes)):
        raw = _flat_draws(post, f"w_{l}")
        if l == 1:
            weights.append(net.weight_scale(0) * raw)
        else:
            name = f"lam_{l - 1}"
            lam = _flat_draws(post, name) if name in post else None
            lam, V = net.node_priors[l - 2].outgoing_params(lam, raw, net.sigma_w)
            lams.append(np.asarray(lam))
            weights.append(np.asarray(V))
        bias = f"b_{l}"
        if bias not in post:
            biases.append(np.zeros((num, sizes[l])))
        elif l == 1:
            biases.append(net.sigma_b * _flat_draws(post, bias))
        else:
            sites = _LazyDraws(post)
            prior = net.node_priors[l - 2]
            biases.append(
                np.asarray(prior.bias_params(l, _flat_draws(post, bias), sites, net.sigma_b))
            )
    return Params(tuple(weights), tuple(biases), tuple(lams))


@functools.partial(jax.jit, static_argnums=(0, 3))
def _apply_draws(net, params, X, batch_size):
    return jax.lax.map(lambda p: apply(net, p, X), params, batch_size=batch_size)


@float64
def network_functions(net: MLP, params: Params, X, *, batch_size: int = DRAW_CHUNK) -> np.ndarray:
    """f_s(X) for stacked ``params`` (S draws): (S, N, K), in float64 through :func:`apply`;
    ``batch_size`` draws at a time, over rows in chunks that keep the activations of a batch
    within :data:`bnn_mogp._chunks.CHUNK_FLOATS` (memory independent of N).
    """
    X = np.asarray(check_inputs(net, X), dtype=np.float64)
    params = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), params)
    rows = row_chunk(X.shape[0], batch_size, max(net.sizes))
    parts = []
    for start in range(0, X.shape[0], rows):
        chunk = X[start : start + rows]
        keep = chunk.shape[0]
        if keep < rows and start:  # pad the last chunk: one compiled program for all
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], rows - keep, 0)])
        parts.append(
            np.asarray(_apply_draws(net, params, jnp.asarray(chunk), batch_size))[:, :keep]
        )
    return np.concatenate(parts, axis=1)


def noise_draws(idata):
    """The noise scale σ of every posterior draw (S,), chains flattened, for a regression
    likelihood (the fixed ``noise_std`` repeated when it was not sampled); None otherwise.
    """
    kwargs = model_kwargs(idata)
    if not is_regression(kwargs["likelihood"]):
        return None
    post = idata.posterior
    if "sigma" in post:
        return np.asarray(post["sigma"]).reshape(-1)
    return np.full(post.sizes["chain"] * post.sizes["draw"], float(kwargs["noise_std"]))


def posterior_functions(idata, X):
    """f_s(X) for every posterior draw of a fit (S, N, K), draws flattened over chains, and the
    noise scale per draw (S,) for a regression likelihood (None otherwise).
    """
    net = network_of(idata)
    return network_functions(net, posterior_params(idata, net), X), noise_draws(idata)

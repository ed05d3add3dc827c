r"""The NumPyro model of an :class:`~bnn_mogp.MLP` (DESIGN §6.1).

The model samples the network's parameter sites (:func:`sample_network`; each hidden layer's
prior places its own, :class:`~bnn_mogp.priors.NodePrior`) and evaluates the network with the
one layer loop of :mod:`bnn_mogp.nn` (:func:`~bnn_mogp.nn.apply`, or
:func:`~bnn_mogp.nn.features` for the collapsed likelihood). Sites, for hidden layers l = 1..L
(n_l nodes) and the output layer L + 1:

- ``w_1`` (d, n_1) and ``b_1`` (n_1,): raw standard normals; W = σ_w w_1/sqrt(d), b = σ_b b_1.
- ``lam_l`` (n_l,): node variances with the prior's law at width n_l. NUTS works on log λ (the
  support is positive, so NumPyro samples it through the exp transform). ``Horseshoe`` is placed
  through its half-Cauchy scale ``scale_l`` (λ = scale², a deterministic site ``lam_l``);
  ``Deterministic`` has no latent (λ = c/n is recorded as ``lam_l``).
- ``w_{l+1}`` (n_l, n_{l+1}): non-centred raw weights, V = σ_w sqrt(λ_l) ⊙ w_{l+1} row-wise. For a
  ``GaussianMixture`` layer the node indicator is marginalised instead: the centred weights
  ``w_{l+1}`` have, per node j, the two-component law
  log p(v_j) = logsumexp(log(1−p) + Σ_k log N(v_jk; 0, σ_w² spike/n), log p + Σ_k log N(v_jk; 0,
  σ_w² slab)), p = κ/n; the posterior probability of the slab q_j is recorded as
  ``slab_prob_l``, and ``lam_l`` records E[λ_j | weights] = (1 − q_j) spike/n + q_j slab.
- ``b_{l+1}``: raw standard normals scaled by σ_b.
- likelihood ``y`` (:mod:`bnn_mogp.likelihoods`): ``"gaussian"`` or ``"student_t"`` (location f,
  scale ``sigma`` ~ HalfNormal(noise_scale) unless a fixed ``noise_std`` is given; Student's t with
  ``df`` degrees of freedom), ``"bernoulli"`` (logits f_1), ``"categorical"`` (logits f, K classes).
- ``f_monitor`` (M, K): the function at fixed monitor inputs, when given.

With ``num_data = N`` the rows given are a mini-batch of B rows out of N: the log-likelihood of
the batch is scaled by N / B (``numpyro.handlers.scale``), an unbiased estimate of the full-data
log-likelihood and of its gradient (DESIGN §16); the prior terms are untouched.

With ``collapsed=True`` (Gaussian likelihood) the output weights and bias are integrated out:
each output column is y_k ~ N(0, σ_b² 11ᵀ + σ_w² H diag(λ_L) Hᵀ + σ² I), H = φ(Z^(L)) (N × n_L),
evaluated in the low-rank (Woodbury) form at O(N n_L²) with closed-form derivatives
(:class:`~bnn_mogp.low_rank_gaussian.LowRankGaussian`). With ``draw_output=True`` as well (for
predictions, never under NUTS) the raw output weights and bias are drawn from their Gaussian
conditional given y and returned as the deterministic sites ``w_{L+1}``, ``b_{L+1}`` of the
explicit model: with F = [σ_b 1, σ_w H diag(√λ)] (N × m) and raw r ~ N(0, I_m) a priori,
r | y_k ~ N(P⁻¹ Fᵀ y_k / σ², P⁻¹), P = I_m + FᵀF / σ² (whitened, so tiny λ cannot make it
ill-conditioned). Substituting them into the explicit model gives exact joint posterior draws.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bnn_mogp.likelihoods import DEFAULT_DF, LIKELIHOODS, check_df, is_regression
from bnn_mogp.low_rank_gaussian import LowRankGaussian
from bnn_mogp.nn import MLP, Params, apply, features
from bnn_mogp.priors import variance_shape
from bnn_mogp.priors.gaussian_mixture import NodeMixture

__all__ = [
    "bnn_model",
    "sample_network",
    "latent_sites",
    "collapse_blocker",
    "NodeMixture",
    "LowRankGaussian",
    "LIKELIHOODS",
]


def sample_network(net: MLP, *, output: bool = True) -> Params:
    """Sample the parameter sites of ``net`` (module docstring) in the order w_1, b_1, λ_1, w_2,
    b_2, λ_2, …, each hidden layer's prior placing its own sites; returns them as the network's
    :class:`~bnn_mogp.nn.Params`. Without ``output`` the output layer is left out (its λ_L is
    kept): the collapsed model integrates it out.
    """
    sizes = net.sizes
    weights, biases, lams = [], [], []
    lam = None
    for l in range(1, net.depth + (2 if output else 1)):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        if l == 1:
            raw = numpyro.sample("w_1", dist.Normal(0.0, 1.0).expand([fan_in, fan_out]).to_event(2))
            weights.append(net.weight_scale(0) * raw)
        else:
            prior, placement = net.node_priors[l - 2], net.placements[l - 2]
            lam, V = prior.sample_outgoing_weights(
                l - 1, lam, fan_in, fan_out, net.sigma_w, placement
            )
            weights.append(V)
            lams.append(lam)
        if net.sigma_b > 0:
            if l == 1:
                raw_b = numpyro.sample("b_1", dist.Normal(0.0, 1.0).expand([fan_out]).to_event(1))
                biases.append(net.sigma_b * raw_b)
            else:
                biases.append(net.node_priors[l - 2].sample_biases(l, fan_out, net.sigma_b))
        else:
            biases.append(0.0)
        if l <= net.depth:
            shape = variance_shape(fan_out, sizes[l + 1], net.placements[l - 1])
            lam = net.node_priors[l - 1].sample_node_variances(l, shape)
    if not output and net.depth:
        lams.append(lam)
    return Params(tuple(weights), tuple(biases), tuple(lams))


def bnn_model(
    net: MLP,
    X,
    y=None,
    *,
    likelihood: str = "gaussian",
    collapsed: bool = False,
    noise_std: float | None = None,
    noise_scale: float = 1.0,
    df: float = DEFAULT_DF,
    X_monitor=None,
    draw_output: bool = False,
    num_data: int | None = None,
):
    """NumPyro model of ``net`` on inputs X (N, d) with targets y (see the module docstring).

    Args:
        net: the network.
        X: inputs (N, in_dim).
        y: targets: (N,) or (N, K) reals for regression, (N,) in {0, 1} for
            ``"bernoulli"``, (N,) in {0..K−1} for ``"categorical"``; None to sample them.
        likelihood: one of ``LIKELIHOODS``.
        collapsed: integrate out the output layer (Gaussian likelihood only).
        noise_std: a fixed noise scale σ; None gives ``sigma`` a HalfNormal(noise_scale) prior.
        noise_scale: scale of the noise prior.
        df: degrees of freedom of the ``"student_t"`` likelihood (unused otherwise).
        X_monitor: inputs (M, in_dim) at which ``f_monitor`` is recorded (not with ``collapsed``).
        draw_output: with ``collapsed`` and observed y, draw the output layer from its conditional
            (sites ``w_{L+1}``, ``b_{L+1}``); for predictive use only.
        num_data: the size N of the data set of which (X, y) is a mini-batch: the
            log-likelihood is scaled by N / X.shape[0] (not with ``collapsed``).
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
    if collapsed and likelihood != "gaussian":
        raise ValueError("collapsed=True needs the gaussian likelihood")
    if draw_output and (not collapsed or y is None):
        raise ValueError("draw_output=True needs collapsed=True and observed y")
    if num_data is not None and collapsed:
        raise ValueError("num_data (mini-batches) needs the explicit model: collapsed=False")
    blocker = collapse_blocker(net) if collapsed else None
    if blocker:
        raise ValueError(f"collapsed=True is not available: {blocker}")
    params = sample_network(net, output=not collapsed)
    n_obs = X.shape[0]
    if collapsed:
        return _collapsed_gaussian(net, params, X, y, noise_std, noise_scale, draw_output)

    inputs = X if X_monitor is None else jnp.concatenate([X, X_monitor])
    f = apply(net, params, inputs)
    if X_monitor is not None:
        numpyro.deterministic("f_monitor", f[n_obs:])
    f = f[:n_obs]
    sigma = _noise(noise_std, noise_scale) if is_regression(likelihood) else None
    weight = 1.0 if num_data is None else num_data / n_obs
    with numpyro.handlers.scale(scale=weight):
        _likelihood(f, y, likelihood, sigma, df)


def _likelihood(f, y, likelihood, sigma, df):
    """The site ``y`` given the network's outputs f (N, K) (and the noise scale σ)."""
    n_obs = f.shape[0]
    if is_regression(likelihood):
        noise = (
            dist.Normal(f, sigma)
            if likelihood == "gaussian"
            else dist.StudentT(check_df(df), f, sigma)
        )
        target = None if y is None else (y if jnp.ndim(y) == 2 else y[:, None])
        with numpyro.plate("data", n_obs, dim=-2):
            numpyro.sample("y", noise, obs=target)
    elif likelihood == "bernoulli":
        with numpyro.plate("data", n_obs):
            numpyro.sample("y", dist.Bernoulli(logits=f[:, 0]), obs=y)
    else:
        with numpyro.plate("data", n_obs):
            numpyro.sample("y", dist.Categorical(logits=f), obs=y)


def collapse_blocker(net: MLP) -> str | None:
    """Why the output layer of ``net`` cannot be integrated out (None when it can): the last
    hidden layer's prior must give Gaussian output weights given λ (``prior.collapsible``), and
    placed per weight, or with biases that are Gaussian only given a latent variance
    (``SymmetricStable``), only one output can share the low-rank factor.
    """
    if not net.depth:
        return None
    prior = net.node_priors[-1]
    if not prior.collapsible:
        return (
            f"the last hidden layer's prior {prior!r} does not make its output weights "
            "Gaussian given λ"
        )
    if net.out_dim > 1 and net.placements[-1] == "weight":
        return "the last hidden layer is placed per weight and there is more than one output"
    if net.out_dim > 1 and net.sigma_b > 0 and not prior.gaussian_biases:
        return f"the output biases of {prior!r} are not Gaussian and there is more than one output"
    return None


def _noise(noise_std, noise_scale):
    if noise_std is not None:
        return noise_std
    return numpyro.sample("sigma", dist.HalfNormal(noise_scale))


def _collapsed_gaussian(net, params, X, y, noise_std, noise_scale, draw_output):
    """y_k ~ N(0, σ_b² 11ᵀ + σ_w² H diag(λ) Hᵀ + σ² I) in low-rank form, one column per output;
    with ``draw_output`` also the output layer from its conditional given y.
    """
    H = features(net, params, X)
    factor = net.weight_scale(net.depth) * H
    if net.depth:
        lam = params.lams[-1]
        factor = factor * jnp.sqrt(lam[:, 0] if lam.ndim == 2 else lam)  # per weight: K = 1
    n_obs = H.shape[0]
    if net.sigma_b > 0:
        scale = net.sigma_b
        if net.depth:
            scale = net.node_priors[-1].sample_bias_scale(net.depth + 1, 1, net.sigma_b)[0]
        column = jnp.full((n_obs, 1), 1.0, factor.dtype) * scale
        factor = jnp.concatenate([column, factor], 1)
    sigma = _noise(noise_std, noise_scale)
    law = LowRankGaussian(factor, sigma**2)
    target = None if y is None else (y.T if jnp.ndim(y) == 2 else y[None, :])
    with numpyro.plate("output", net.out_dim):
        numpyro.sample("y", law, obs=target)
    if draw_output:
        _draw_output_layer(net, factor, target, sigma)


def _draw_output_layer(net, factor, target, sigma):
    """Raw output weights and bias | y from N(P⁻¹ Fᵀ y_k / σ², P⁻¹), P = I + FᵀF / σ²."""
    precision = jnp.eye(factor.shape[1]) + factor.T @ factor / sigma**2
    chol = jnp.linalg.cholesky(precision)
    rhs = target @ factor / sigma**2  # (K, m)
    mean = jax.scipy.linalg.cho_solve((chol, True), rhs.T).T
    raw = numpyro.sample(
        "output_raw", dist.MultivariateNormal(mean, precision_matrix=precision).to_event(1)
    )
    l = net.depth + 1
    if net.sigma_b > 0:
        numpyro.deterministic(f"b_{l}", raw[:, 0])
        raw = raw[:, 1:]
    numpyro.deterministic(f"w_{l}", raw.T)


def latent_sites(net: MLP, X, **model_kwargs) -> list[str]:
    """Names of the latent sample sites of the explicit model (``y`` excluded)."""
    trace = numpyro.handlers.trace(numpyro.handlers.seed(bnn_model, 0)).get_trace(
        net, jnp.asarray(X)[:1], None, **model_kwargs
    )
    return [
        name
        for name, site in trace.items()
        if site["type"] == "sample" and name != "y" and not site["is_observed"]
    ]

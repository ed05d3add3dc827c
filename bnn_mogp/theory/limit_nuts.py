r"""NUTS on the truncated infinite-width limit: the MoGP posterior without importance sampling.

DESIGN §5, last sentence. For a network with one hidden layer, the limit's kernel given the M
largest jumps θ_1 > … > θ_M of the layer's Lévy measure ρ and their features is

.. math::
    \Sigma = \sigma_b^2 11^\top + \sigma_w^2 \Bigl[c\, E_\phi(\Sigma^{(1)})
        + \sum_{m \le M} \theta_m\, \phi(z_m) \phi(z_m)^\top\Bigr],
    \qquad c = a + \int_0^{\theta_M} w\,\rho(dw),

with the first-layer features z_m(x) = σ_w wₘᵀx/√d + σ_b b_m (w_m, b_m iid N(0, 1), so that
z_m ~ GP(0, Σ^(1))), the jumps by Ferguson–Klass θ_m = ρ̄⁻¹(Γ_m), Γ_m = E_1 + … + E_m with E_i iid
Exp(1), and the jumps below θ_M replaced by their mean (the same compensated truncation as
:class:`~bnn_mogp.theory.MoGP`). Given Σ the K outputs are iid GP(0, Σ), so the targets have the
closed-form marginal y_k ~ N(0, Σ_XX + σ² I): the output layer and the drift's GP are integrated
out, and NUTS samples only (w, b, log E, log σ) — d M + 2 M + 1 numbers. The derivative of ρ̄⁻¹ is
1/ρ̄'(θ) (implicit function theorem), so Lévy measures whose tail is inverted numerically work too.

A finite measure ρ = κ δ_s (spike-and-slab) has a Poisson(κ) number J of jumps, all equal to s;
J is marginalised: p(y | ·) = Σ_{J ≤ J_max} Poisson(J; κ) N(y; 0, Σ_J + σ² I) with J_max the
(1 − 1e-15)-quantile, and drawn from its conditional for predictions. Without jumps (Gaussian
limit) the model is the NNGP with the noise left to NUTS.

Given one posterior draw, f(X*) | y is Gaussian (the GP conditional); the posterior predictive is
the equally weighted mixture over draws — a :class:`~bnn_mogp.theory.PosteriorPredictive` with
``method="nuts"``, so that it reads like the importance-sampling one. Each gradient costs a
Cholesky factor of an N × N matrix (J_max + 1 of them for a finite measure): meant for the
hundreds of points, not tens of thousands.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.linalg import cho_solve, solve_triangular
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.inference.nuts import run_nuts
from bnn_mogp.nn import MLP, Params, check_inputs, layer_kernel, layer_preactivations
from bnn_mogp.theory.mogp import MoGP
from bnn_mogp.theory.posterior import PosteriorPredictive, check_targets, mixture_quantiles

__all__ = ["truncated_limit_model", "sample_limit_posterior"]


def _tail_inverse(levy, gamma):
    """ρ̄⁻¹(Γ) with the derivative 1/ρ̄'(θ), whatever way ``levy`` inverts its tail."""

    @jax.custom_jvp
    def inverse(g):
        return levy.tail_inverse(g)

    @inverse.defjvp
    def _(primals, tangents):
        (g,), (dg,) = primals, tangents
        theta = inverse(g)
        slope = jax.grad(lambda x: jnp.sum(levy.tail(x)))(theta)
        return theta, dg / slope

    return inverse(gamma)


def _layout(net: MLP, num_jumps: int):
    """(kind, M): ``"none"`` (no jumps), ``"finite"`` (M = J_max, as
    :meth:`~bnn_mogp.theory.MoGP.num_jumps` sizes it) or ``"infinite"`` (M jumps).
    """
    if net.depth != 1:
        raise ValueError(
            f"the NUTS limit sampler handles one hidden layer, got {net.depth}; "
            "use the importance sampler (MoGP.posterior_predictive) for deeper "
            "networks"
        )
    (M,) = MoGP(net).num_jumps(check_width(num_jumps, "num_jumps"))
    mass = net.node_priors[0].limit().total_mass()
    return ("none" if M == 0 else "finite" if math.isfinite(mass) else "infinite"), M


def _kernel_parts(net, X, w, b, E, kind):
    """(c, G): the drift coefficient and the jump features G = φ(z) √θ (N × M) of one draw."""
    levy = net.node_priors[0].limit()
    if kind == "none":
        return levy.drift, jnp.zeros((X.shape[0], 0), X.dtype)
    z = layer_preactivations(Params((net.weight_scale(0) * w,), (net.sigma_b * b,), ()), 0, X)
    if kind == "finite":
        theta = jnp.full(w.shape[1], levy.size, X.dtype)
        return levy.drift, net.phi.fn(z) * jnp.sqrt(theta)
    theta = _tail_inverse(levy, jnp.cumsum(E))
    c = levy.drift + levy.small_jump_mean(theta[-1])
    return c, net.phi.fn(z) * jnp.sqrt(theta)


def _gp_log_marginal(K, Y, noise_var, jitter):
    """Σ_k log N(y_k; 0, K + σ² I) for Y (N, K_out)."""
    n = K.shape[0]
    A = K + (noise_var + jitter * jnp.mean(jnp.diagonal(K))) * jnp.eye(n, dtype=K.dtype)
    L = jnp.linalg.cholesky(A)
    alpha = cho_solve((L, True), Y)
    return (
        -0.5 * jnp.sum(Y * alpha)
        - Y.shape[1] * jnp.sum(jnp.log(jnp.diagonal(L)))
        - 0.5 * n * Y.shape[1] * math.log(2 * math.pi)
    )


def _finite_log_terms(net, c, mean_kernel, G, Y, noise_var, jitter):
    """log Poisson(J; κ) + log N(Y; 0, Σ_J + σ² I) for J = 0 … J_max: the first J features."""
    levy = net.node_priors[0].limit()
    J = jnp.arange(G.shape[1] + 1)
    masks = (jnp.arange(G.shape[1])[None, :] < J[:, None]).astype(G.dtype)
    log_ml = jax.vmap(
        lambda m: _gp_log_marginal(layer_kernel(net, c, mean_kernel, G * m), Y, noise_var, jitter)
    )(masks)
    log_pois = J * math.log(levy.rate) - levy.rate - jax.scipy.special.gammaln(J + 1.0)
    return log_pois + log_ml


def truncated_limit_model(
    net: MLP,
    X,
    Y,
    mean_kernel,
    *,
    num_jumps: int = 16,
    noise_std: float | None = None,
    noise_scale: float = 1.0,
    jitter: float = 1e-10,
):
    """NumPyro model of the truncated limit (module docstring) on inputs X (N, d) with targets
    Y (N, K). ``mean_kernel``: E_φ(Σ^(1)) at X (N × N). Sites: ``w`` (d, M), ``b`` (M,),
    ``E`` (M,) (the Ferguson–Klass gaps; not for finite measures), ``sigma`` unless
    ``noise_std`` is fixed, and the deterministic ``theta`` (M,) and ``drift`` (c).
    """
    kind, M = _layout(net, num_jumps)
    w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([net.in_dim, M]).to_event(2))
    b = numpyro.sample("b", dist.Normal(0.0, 1.0).expand([M]).to_event(1))
    E = (
        numpyro.sample("E", dist.Exponential(1.0).expand([M]).to_event(1))
        if kind == "infinite"
        else None
    )
    sigma = (
        noise_std
        if noise_std is not None
        else numpyro.sample("sigma", dist.HalfNormal(noise_scale))
    )
    c, G = _kernel_parts(net, X, w, b, E, kind)
    numpyro.deterministic("drift", jnp.asarray(c))
    if kind == "finite":
        terms = _finite_log_terms(net, c, mean_kernel, G, Y, sigma**2, jitter)
        numpyro.factor("y", jax.scipy.special.logsumexp(terms))
    else:
        numpyro.factor(
            "y", _gp_log_marginal(layer_kernel(net, c, mean_kernel, G), Y, sigma**2, jitter)
        )


def sample_limit_posterior(
    rng_key,
    net: MLP,
    X,
    y,
    X_test,
    *,
    noise_std: float | None = None,
    noise_scale: float = 1.0,
    num_jumps: int = 16,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 2,
    target_accept: float = 0.9,
    num_predictive: int = 200,
    jitter: float = 1e-10,
    progress: bool = False,
):
    """The MoGP posterior predictive of regression data by NUTS on the truncated limit.

    Args:
        rng_key: a JAX PRNG key.
        net: a network with one hidden layer (its width is ignored).
        X, y: training inputs (N, d) and targets (N,) or (N, K).
        X_test: test inputs (T, d).
        noise_std: a fixed noise sd shared with the finite networks; None gives σ the prior
            HalfNormal(noise_scale), as :func:`bnn_mogp.fit` does.
        num_jumps: M, the largest jumps kept for an infinite Lévy measure.
        num_warmup, num_samples, num_chains, target_accept: NUTS settings (chains run one after
            the other).
        num_predictive: joint draws of f(X*) to return.

    Returns a :class:`~bnn_mogp.theory.PosteriorPredictive` (``method="nuts"``, equal weights,
    ``ess``: the smallest bulk ESS of the component means over the test inputs, ``reliable``
    when it reaches min(100, S/4), and
    ``diagnostics``: divergences, R-hat and ESS of σ and of those means, number of draws).
    """
    if noise_std is not None:
        noise_std = check_real("noise_std", noise_std, low=0.0)
    noise_scale = check_real("noise_scale", noise_scale, low=0.0)
    kind, M = _layout(net, num_jumps)
    mogp = MoGP(net, jitter=jitter)
    with jax.enable_x64(True):
        X = check_inputs(net, X).astype(jnp.float64)
        X_test = check_inputs(net, X_test).astype(jnp.float64)
        n = X.shape[0]
        Y = jnp.asarray(check_targets(y, n))
        X_all = jnp.concatenate([X, X_test])
        mean_all = mogp._first_layer(X_all)[1]
        mean_train = mean_all[:n, :n]
        k_mcmc, k_pred, k_pick = jax.random.split(rng_key, 3)
        run = run_nuts(  # in chunks: progress per chunk, and Ctrl-C is heard between chunks
            truncated_limit_model,
            (net, X, Y, mean_train),
            dict(num_jumps=num_jumps, noise_std=noise_std, noise_scale=noise_scale, jitter=jitter),
            rng_key=k_mcmc,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            target_accept=target_accept,
            progress=progress,
        )
        draws = run.samples
        S = num_chains * num_samples
        flat = {k: v.reshape((S,) + v.shape[2:]) for k, v in draws.items()}
        # the model samples the site "sigma" exactly when noise_std is None
        sigma = flat["sigma"] if noise_std is None else jnp.full(S, noise_std)
        keys = jax.random.split(k_pred, S)

        def component(key, w, b, E, s):
            c, G = _kernel_parts(net, X_all, w, b, E, kind)
            if kind == "finite":
                terms = _finite_log_terms(net, c, mean_train, G[:n], Y, s**2, jitter)
                J = jax.random.categorical(key, terms)
                G = G * (jnp.arange(G.shape[1]) < J)
            K = layer_kernel(net, c, mean_all, G)
            A = K[:n, :n] + (s**2 + jitter * jnp.mean(jnp.diagonal(K[:n, :n]))) * jnp.eye(n)
            L = jnp.linalg.cholesky(A)
            mean = K[n:, :n] @ cho_solve((L, True), Y)
            v = solve_triangular(L, K[:n, n:], lower=True)
            cov = K[n:, n:] - v.T @ v
            return mean, cov

        E = flat.get("E", jnp.zeros((S, M)))
        means, covs = jax.lax.map(
            lambda a: component(*a), (keys, flat["w"], flat["b"], E, sigma), batch_size=64
        )
        variances = jnp.maximum(jnp.diagonal(covs, axis1=1, axis2=2), 0.0)
        weights = jnp.full(S, 1.0 / S)
        mean = jnp.mean(means, axis=0)
        variance = jnp.maximum(jnp.mean(variances[:, :, None] + means**2, axis=0) - mean**2, 0.0)
        probs = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
        quantiles = mixture_quantiles(
            weights, means, jnp.broadcast_to(variances[:, :, None], means.shape), probs
        )
        picks = jax.random.choice(k_pick, S, (num_predictive,))
        eps = jax.random.normal(k_pick, (num_predictive,) + means.shape[1:])
        scale = jitter * jnp.mean(jnp.diagonal(covs, axis1=1, axis2=2), axis=1)
        chol = jax.vmap(lambda C, j: jnp.linalg.cholesky(C + j * jnp.eye(C.shape[0])))(
            covs[picks], jnp.maximum(scale[picks], 1e-300)
        )
        joint = means[picks] + jnp.einsum("jab,jbk->jak", chol, eps)
        per_chain = np.asarray(means[:, :, 0]).reshape(num_chains, num_samples, -1)
        moving = np.ptp(per_chain, axis=(0, 1)) > 1e-9 * (1 + np.abs(per_chain).max())
        # means that no latent moves (a Gaussian limit with fixed noise) are exact: ESS = S
        ess_means = (
            np.asarray(effective_sample_size(per_chain[..., moving]))
            if moving.any()
            else np.full(1, float(S))
        )
        diagnostics = {
            "divergences": int(np.sum(run.stats["diverging"])),
            "num_draws": S,
            "num_jumps": M,
            "min_ess_test_means": float(ess_means.min()),
        }
        if num_chains > 1 and moving.any():
            diagnostics["max_rhat_test_means"] = float(
                np.max(split_gelman_rubin(per_chain[..., moving]))
            )
        if "sigma" in draws:
            s = np.asarray(draws["sigma"])
            diagnostics["ess_sigma"] = float(effective_sample_size(s[..., None])[0])
            if num_chains > 1:
                diagnostics["rhat_sigma"] = float(split_gelman_rubin(s[..., None])[0])
        return PosteriorPredictive(
            mean=np.asarray(mean),
            variance=np.asarray(variance),
            quantiles=np.asarray(quantiles),
            probs=probs,
            draws=np.asarray(joint),
            log_marginal_likelihoods=np.full(S, np.nan),
            weights=np.asarray(weights),
            component_means=np.asarray(means),
            component_variances=np.asarray(variances),
            ess=float(ess_means.min()),
            noise_std=float(np.mean(sigma)),
            ess_floor=min(100.0, S / 4),
            method="nuts",
            component_noise_std=np.asarray(sigma),
            diagnostics=diagnostics,
        )

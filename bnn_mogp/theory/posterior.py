r"""The MoGP posterior predictive for regression (DESIGN §5).

Observations y = f(X) + e with e ~ N(0, σ² I) and the K outputs of f iid GP(0, Σ) given the random
kernel Σ of the infinite-width network. For S kernel draws Σ_s on the joint inputs [X; X*]
(drawn from the MoGP prior),

.. math::
    \log p(y \mid \Sigma_s) &= \sum_k \log N(y_{\cdot k};\ 0,\ \Sigma_{s,XX} + \sigma^2 I), \\
    f(X^*) \mid y, \Sigma_s &\sim N\bigl(\Sigma_{s,*X} A_s^{-1} y,\
        \Sigma_{s,**} - \Sigma_{s,*X} A_s^{-1} \Sigma_{s,X*}\bigr),
        \quad A_s = \Sigma_{s,XX} + \sigma^2 I,

and the posterior predictive is the mixture over s with self-normalised importance weights
w_s ∝ p(y | Σ_s). Its effective sample size 1/Σ w_s² says how many kernel draws the answer
rests on. In the Gaussian-limit case every Σ_s is the NNGP kernel and this is exact NNGP
regression.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve, solve_triangular
from jax.scipy.special import ndtr
from scipy.special import logsumexp

from bnn_mogp._chunks import map_key_chunks
from bnn_mogp._validation import check_real, check_width
from bnn_mogp.nn import check_inputs

__all__ = ["PosteriorPredictive", "posterior_predictive", "LowESSWarning"]


class LowESSWarning(UserWarning):
    """The importance weights of the MoGP posterior are degenerate."""


@dataclasses.dataclass(frozen=True)
class PosteriorPredictive:
    """The MoGP posterior predictive at the test inputs (NumPy arrays, float64).

    Attributes:
        mean: (M, K) posterior mean of f(X*).
        variance: (M, K) posterior variance of f(X*) (add ``noise_std**2`` for a new y*).
        quantiles: (Q, M, K) quantiles of f(X*) at ``probs`` (of the Gaussian mixture).
        probs: (Q,) the probabilities of ``quantiles``.
        draws: (J, M, K) joint draws of f(X*) from the posterior predictive.
        log_marginal_likelihoods: (S,) log p(y | Σ_s) of every kernel draw.
        weights: (S,) normalised importance weights.
        component_means: (S, M, K) posterior means of f(X*) given each kernel draw.
        component_variances: (S, M) posterior variances of f(X*) given each kernel draw.
        ess: effective sample size 1/Σ w_s² of the weights.
        noise_std: σ (with a noise prior: its posterior mean).
        ess_floor: the floor below which the result was flagged.
        method: ``"importance"`` (self-normalised importance sampling of kernel draws) or
            ``"nuts"`` (NUTS on the truncated limit, :func:`~bnn_mogp.theory.limit_nuts.
            sample_limit_posterior`; equal weights).
        component_noise_std: (S,) σ of each component when the noise has a prior, else None.
        diagnostics: sampler diagnostics (NUTS: divergences, R-hat, ESS).
    """

    mean: np.ndarray
    variance: np.ndarray
    quantiles: np.ndarray
    probs: np.ndarray
    draws: np.ndarray
    log_marginal_likelihoods: np.ndarray
    weights: np.ndarray
    component_means: np.ndarray
    component_variances: np.ndarray
    ess: float
    noise_std: float
    ess_floor: float
    method: str = "importance"
    component_noise_std: np.ndarray | None = None
    diagnostics: dict = dataclasses.field(default_factory=dict)

    @property
    def reliable(self) -> bool:
        """Whether the effective sample size reaches the floor."""
        return self.ess >= self.ess_floor

    def log_predictive_density(self, y_test) -> np.ndarray:
        """log p(y*_i | y) = log Σ_s w_s Π_k N(y*_ik; m_sik, v_si + σ_s²) per test point, (M,)."""
        y_test = check_targets(y_test, self.mean.shape[0])
        if y_test.shape[1] != self.mean.shape[1]:
            raise ValueError(
                f"y_test must have {self.mean.shape[1]} outputs, got {y_test.shape[1]}"
            )
        noise = (
            self.noise_std
            if self.component_noise_std is None
            else np.asarray(self.component_noise_std)[:, None, None]
        )
        var = self.component_variances[:, :, None] + noise**2
        log_norm = -0.5 * (np.log(2 * np.pi * var) + (y_test - self.component_means) ** 2 / var)
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights)[:, None]
        return logsumexp(log_w + log_norm.sum(-1), axis=0)


def check_targets(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise ValueError(f"y must have shape (N={n},) or (N={n}, K), got {np.shape(y)}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values")
    return y


def _gp_terms(K, y, noise_var, n):
    """(log p(y | K), posterior mean (M, K), posterior covariance (M, M)) for one kernel."""
    A = K[:n, :n] + noise_var * jnp.eye(n, dtype=K.dtype)
    L = jnp.linalg.cholesky(A)
    alpha = cho_solve((L, True), y)
    num_out = y.shape[1]
    log_ml = (
        -0.5 * jnp.sum(y * alpha)
        - num_out * jnp.sum(jnp.log(jnp.diagonal(L)))
        - 0.5 * n * num_out * math.log(2 * math.pi)
    )
    cross = K[n:, :n]
    mean = cross @ alpha
    v = solve_triangular(L, cross.T, lower=True)
    cov = K[n:, n:] - v.T @ v
    return log_ml, mean, cov


@functools.partial(jax.jit, static_argnames=("mogp", "num_jumps", "n"))
def _moments_chunk(mogp, keys, X_all, y, noise_var, num_jumps, n):
    first = mogp._first_layer(X_all)

    def one(key):
        K, _ = mogp._kernel_draw(key, first, num_jumps)
        log_ml, mean, cov = _gp_terms(K, y, noise_var, n)
        return log_ml, mean, jnp.maximum(jnp.diagonal(cov), 0.0)

    return jax.vmap(one)(keys)


@functools.partial(jax.jit, static_argnames=("mogp", "num_jumps", "n"))
def _joint_draws(mogp, keys, eps, X_all, y, noise_var, num_jumps, n):
    first = mogp._first_layer(X_all)

    def one(key, e):
        K, _ = mogp._kernel_draw(key, first, num_jumps)
        _, mean, cov = _gp_terms(K, y, noise_var, n)
        scale = jnp.maximum(jnp.mean(jnp.diagonal(cov)), jnp.finfo(cov.dtype).tiny)
        jitter = mogp.jitter * scale * jnp.eye(cov.shape[0], dtype=cov.dtype)
        return mean + jnp.linalg.cholesky(cov + jitter) @ e

    return jax.vmap(one)(keys, eps)


def mixture_quantiles(weights, means, variances, probs, iters: int = 100):
    """Quantiles of Σ_s w_s N(m_s, v_s), elementwise over the trailing axes, by bisection."""
    sd = jnp.sqrt(jnp.maximum(variances, 0.0))
    lo = jnp.min(means - 40 * sd, axis=0) - 1e-12
    hi = jnp.max(means + 40 * sd, axis=0) + 1e-12
    w = weights.reshape((-1,) + (1,) * (means.ndim - 1))

    def cdf(z):
        inside = jnp.where(
            sd > 0,
            (z - means) / jnp.where(sd > 0, sd, 1.0),
            jnp.where(z >= means, jnp.inf, -jnp.inf),
        )
        return jnp.sum(w * ndtr(inside), axis=0)

    out = []
    for p in probs:
        a, b = lo, hi
        for _ in range(iters):
            mid = 0.5 * (a + b)
            below = cdf(mid) < p
            a, b = jnp.where(below, mid, a), jnp.where(below, b, mid)
        out.append(0.5 * (a + b))
    return jnp.stack(out)


def posterior_predictive(
    mogp,
    rng_key,
    X,
    y,
    X_test,
    noise_std: float,
    num_draws: int = 1000,
    *,
    num_jumps: int,
    num_samples: int = 200,
    probs=(0.025, 0.25, 0.5, 0.75, 0.975),
    ess_floor: float | None = None,
    progress: bool = False,
) -> PosteriorPredictive:
    """MoGP posterior predictive of regression data (see the module docstring).

    Args:
        mogp: a :class:`~bnn_mogp.theory.MoGP`.
        rng_key: a JAX PRNG key.
        X, y: training inputs (N, d) and targets (N,) or (N, K).
        X_test: test inputs (M, d).
        noise_std: σ > 0, the observation noise standard deviation (fixed).
        num_draws: S, kernel draws from the MoGP prior.
        num_jumps: jumps per layer for infinite Lévy measures (see ``MoGP.sample_kernels``).
        num_samples: J, joint posterior draws of f(X*) to return.
        probs: probabilities of the reported quantiles.
        ess_floor: effective sample size below which a :class:`LowESSWarning` is issued and
            ``reliable`` is False; default min(S, max(20, S/100)).
        progress: show a progress bar.
    """
    noise_std = check_real("noise_std", noise_std, low=0.0)
    num_draws = check_width(num_draws, "num_draws")
    num_samples = check_width(num_samples, "num_samples")
    num_jumps = check_width(num_jumps, "num_jumps")
    if ess_floor is None:
        ess_floor = min(float(num_draws), max(20.0, num_draws / 100))
    ess_floor = check_real("ess_floor", ess_floor, low=0.0, low_open=False)
    probs = np.atleast_1d(np.asarray(probs, dtype=float))
    if not np.all((probs > 0) & (probs < 1)):
        raise ValueError(f"probs must lie in (0, 1), got {probs.tolist()}")
    Ms = mogp.num_jumps(num_jumps)
    with jax.enable_x64(True):
        X = check_inputs(mogp.net, X).astype(jnp.float64)
        X_test = check_inputs(mogp.net, X_test).astype(jnp.float64)
        n = X.shape[0]
        y = jnp.asarray(check_targets(y, n))
        X_all = jnp.concatenate([X, X_test])
        noise_var = noise_std**2
        total = X_all.shape[0]
        chunk = max(1, min(num_draws, 2**24 // (6 * total * total + 2 * total * max(Ms + (1,)))))
        key_draws, key_pick, key_eps = jax.random.split(rng_key, 3)
        keys = jax.random.split(key_draws, num_draws)
        log_ml, means, variances = map_key_chunks(
            lambda k: _moments_chunk(mogp, k, X_all, y, noise_var, Ms, n),
            keys,
            chunk,
            progress="MoGP posterior" if progress else None,
        )
        if not np.all(np.isfinite(log_ml)):
            raise FloatingPointError(
                f"{int(np.sum(~np.isfinite(log_ml)))} kernel draws gave a non-finite marginal "
                "likelihood (Cholesky failure); increase noise_std or the MoGP jitter"
            )
        log_w = log_ml - float(logsumexp(log_ml))
        weights = np.exp(log_w)
        # (Σu)²/Σu² with u = e^{l − max l}: exactly S when all weights are equal (Gaussian limit)
        u = np.exp(log_ml - np.max(log_ml))
        ess = float(np.sum(u) ** 2 / np.sum(u**2))
        w = weights[:, None, None]
        mean = np.sum(w * means, axis=0)
        variance = np.sum(w * (variances[:, :, None] + means**2), axis=0) - mean**2
        variance = np.maximum(variance, 0.0)
        var_full = np.broadcast_to(variances[:, :, None], means.shape)
        quantiles = np.asarray(
            mixture_quantiles(
                jnp.asarray(weights), jnp.asarray(means), jnp.asarray(var_full), probs
            )
        )
        picks = np.asarray(jax.random.choice(key_pick, num_draws, (num_samples,), p=weights))
        eps = jax.random.normal(key_eps, (num_samples, X_test.shape[0], y.shape[1]))
        draws = np.asarray(_joint_draws(mogp, keys[picks], eps, X_all, y, noise_var, Ms, n))
    if ess < ess_floor:
        warnings.warn(
            f"MoGP posterior: the importance weights have an effective sample size of {ess:.1f} "
            f"out of {num_draws} kernel draws, below the floor {ess_floor:g}; the predictive "
            "rests on a handful of kernels. Increase num_draws, or use fewer or noisier "
            "observations (a larger noise_std); check result.reliable before using it.",
            LowESSWarning,
            stacklevel=3,
        )
    return PosteriorPredictive(
        mean=mean,
        variance=variance,
        quantiles=quantiles,
        probs=probs,
        draws=draws,
        log_marginal_likelihoods=log_ml,
        weights=weights,
        component_means=means,
        component_variances=variances,
        ess=ess,
        noise_std=noise_std,
        ess_floor=ess_floor,
    )

r"""``LowRankGaussian``: N(0, F Fᵀ + σ² I), the targets of one output with the output layer
integrated out (the collapsed last layer, DESIGN §6.1), with its derivatives in closed form.

For Σ = F Fᵀ + v I (F: N × m, v = σ²) and α = Σ⁻¹ y,

.. math::
    \log p(y) = -\tfrac12\,(N \log 2\pi + \log\det\Sigma + y^\top\alpha),\qquad
    \partial_F = -\Sigma^{-1}F + \alpha\,\alpha^\top F,\quad
    \partial_v = \tfrac12(\alpha^\top\alpha - \operatorname{tr}\Sigma^{-1}),\quad
    \partial_y = -\alpha.

When m ≤ N everything goes through A = I_m + FᵀF / v = L Lᵀ (Woodbury): log det Σ =
N log v + 2 Σ_i log L_ii, β = A⁻¹ Fᵀ y, yᵀα = (|y|² − (Fᵀy)ᵀβ / v) / v, Fᵀα = β / v,
Σ⁻¹F = F A⁻¹ / v and tr Σ⁻¹ = (N − m + tr A⁻¹) / v: O(N m²). When m > N, a Cholesky factor of Σ
itself (O(N² m)). The derivative is a ``jax.custom_jvp`` rule built from these quantities, so
reverse mode never differentiates through a Cholesky factorisation (JAX's generic rule for it
is a chain of triangular solves, several times the cost of the factorisation on CPU).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from numpyro.distributions import constraints

__all__ = ["LowRankGaussian", "low_rank_log_prob"]


def _solve(factor, var, value, tangent_terms: bool):
    """log p(value) and, with ``tangent_terms``, (α, Fᵀα, Σ⁻¹F, tr Σ⁻¹) for the derivative."""
    n, m = factor.shape
    eye = jnp.eye(min(n, m), dtype=factor.dtype)
    if m <= n:
        chol = jnp.linalg.cholesky(eye + factor.T @ factor / var)
        f_y = value @ factor  # (..., m)
        beta = jax.scipy.linalg.cho_solve((chol, True), jnp.moveaxis(f_y, -1, 0))
        beta = jnp.moveaxis(beta, 0, -1)
        quad = (jnp.sum(value**2, -1) - jnp.sum(f_y * beta, -1) / var) / var
        logdet = n * jnp.log(var) + 2 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    else:
        chol = jnp.linalg.cholesky(factor @ factor.T + var * eye)
        alpha = jax.scipy.linalg.cho_solve((chol, True), jnp.moveaxis(value, -1, 0))
        alpha = jnp.moveaxis(alpha, 0, -1)
        quad = jnp.sum(value * alpha, -1)
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    log_prob = -0.5 * (n * math.log(2 * math.pi) + logdet + quad)
    if not tangent_terms:
        return log_prob, None
    inverse = jax.scipy.linalg.cho_solve((chol, True), eye)
    if m <= n:
        alpha = (value - beta @ factor.T / var) / var
        f_alpha = beta / var
        sinv_f = factor @ inverse / var
        trace = (n - m + jnp.trace(inverse)) / var
    else:
        f_alpha = alpha @ factor
        sinv_f = inverse @ factor
        trace = jnp.trace(inverse)
    return log_prob, (alpha, f_alpha, sinv_f, trace)


@jax.custom_jvp
def low_rank_log_prob(factor, var, value):
    """log N(value; 0, F Fᵀ + var I) over the last axis of ``value`` (..., N); F is (N, m)."""
    return _solve(factor, var, value, tangent_terms=False)[0]


@low_rank_log_prob.defjvp
def _low_rank_log_prob_jvp(primals, tangents):
    factor, var, value = primals
    d_factor, d_var, d_value = tangents
    log_prob, (alpha, f_alpha, sinv_f, trace) = _solve(factor, var, value, tangent_terms=True)
    d_log_prob = (
        -jnp.sum(sinv_f * d_factor)
        + jnp.einsum("...n,nm,...m->...", alpha, d_factor, f_alpha)
        + 0.5 * d_var * (jnp.sum(alpha**2, -1) - trace)
        - jnp.sum(alpha * d_value, -1)
    )
    return log_prob, d_log_prob


class LowRankGaussian(dist.Distribution):
    r"""N(0, F Fᵀ + σ² I_N), F (N × m): the targets of one output with the output layer
    integrated out. Event shape (N,); ``log_prob`` is :func:`low_rank_log_prob` (module
    docstring: Woodbury at O(N m²) when m ≤ N, closed-form derivatives).
    """

    arg_constraints = {"factor": constraints.real_matrix, "noise_var": constraints.positive}
    support = constraints.real_vector

    def __init__(self, factor, noise_var, *, validate_args=None):
        self.factor, self.noise_var = factor, noise_var
        super().__init__(batch_shape=(), event_shape=factor.shape[:1], validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        """F z + σ ε with z ~ N(0, I_m), ε ~ N(0, I_N)."""
        k_z, k_e = jax.random.split(key)
        n, m = self.factor.shape
        z = jax.random.normal(k_z, sample_shape + (m,))
        noise = jax.random.normal(k_e, sample_shape + (n,))
        return z @ self.factor.T + jnp.sqrt(self.noise_var) * noise

    def log_prob(self, value):
        """log N(value; 0, F Fᵀ + σ² I) (:func:`low_rank_log_prob`)."""
        return low_rank_log_prob(self.factor, self.noise_var, value)

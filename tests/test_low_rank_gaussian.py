"""The collapsed likelihood N(0, F Fᵀ + v I): log density and its closed-form derivatives
(first and second order, both the Woodbury and the direct branch) against SciPy and against
JAX's automatic derivatives of a dense multivariate normal."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from scipy import stats

from bnn_mogp.low_rank_gaussian import LowRankGaussian, low_rank_log_prob

WEIGHTS = jnp.array([1.0, -0.5, 2.0])  # a cotangent per output, so outputs are told apart


def dense_log_prob(F, v, y):
    n = F.shape[0]
    cov = F @ F.T + v * jnp.eye(n)
    return dist.MultivariateNormal(jnp.zeros(n), covariance_matrix=cov).log_prob(y)


def weighted(log_prob):
    return lambda F, v, y: jnp.sum(WEIGHTS * log_prob(F, v, y))


@pytest.mark.parametrize("n, m", [(12, 5), (7, 7), (5, 9)])  # Woodbury, equal, direct
def test_log_prob_and_derivatives(n, m):
    rng = np.random.default_rng(n * 100 + m)
    F, v, y = jnp.asarray(rng.normal(size=(n, m))), 0.37, jnp.asarray(rng.normal(size=(3, n)))
    expected = [
        stats.multivariate_normal(np.zeros(n), np.asarray(F @ F.T) + v * np.eye(n)).logpdf(row)
        for row in np.asarray(y)
    ]
    np.testing.assert_allclose(LowRankGaussian(F, v).log_prob(y), expected, rtol=1e-12)

    ours, ref = weighted(low_rank_log_prob), weighted(dense_log_prob)
    # every transformation compiled: op by op, eager dispatch made this test take 20–40 s
    grads = jax.jit(jax.grad(ours, (0, 1, 2)))(F, v, y), jax.jit(jax.grad(ref, (0, 1, 2)))(F, v, y)
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    tangents = (jnp.asarray(rng.normal(size=(n, m))), 0.3, jnp.asarray(rng.normal(size=(3, n))))
    np.testing.assert_allclose(
        jax.jit(lambda *a: jax.jvp(ours, a, tangents)[1])(F, v, y),
        jax.jit(lambda *a: jax.jvp(ref, a, tangents)[1])(F, v, y),
        rtol=1e-10,
    )
    # the derivative rule is itself differentiable (e.g. for a Laplace approximation)
    np.testing.assert_allclose(
        jax.jit(jax.hessian(ours, 1))(F, v, y), jax.jit(jax.hessian(ref, 1))(F, v, y), rtol=1e-9
    )
    hess = jax.jit(jax.hessian(lambda f: ours(f.reshape(n, m), v, y)))(F.ravel())
    hess_ref = jax.jit(jax.hessian(lambda f: ref(f.reshape(n, m), v, y)))(F.ravel())
    np.testing.assert_allclose(hess, hess_ref, rtol=1e-8, atol=1e-10)


def test_batched_draws_and_fixed_noise():
    """vmap over draws of F (as Predictive does) and a Python-float noise variance."""
    rng = np.random.default_rng(1)
    F = jnp.asarray(rng.normal(size=(4, 10, 3)))
    y = jnp.asarray(rng.normal(size=(2, 10)))
    got = jax.vmap(lambda f: jax.grad(lambda g: low_rank_log_prob(g, 0.5, y).sum())(f))(F)
    ref = jax.vmap(lambda f: jax.grad(lambda g: dense_log_prob(g, 0.5, y).sum())(f))(F)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)

"""Gaussian expectations of the activations against independent float64 quadrature (≤ 1e-6)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bnn_mogp.nn import ACTIVATIONS, get_activation
from tests.reference_gauss import COVARIANCES, DPHI, PHI, reference_1d, reference_2d


def test_registry_names_and_error():
    assert set(ACTIVATIONS) >= {"relu", "erf", "tanh", "gelu", "step", "relu2"}
    with pytest.raises(ValueError, match="unknown activation 'swish'.*allowed: erf, gelu"):
        get_activation("swish")


@pytest.mark.parametrize("name", ["relu", "step", "relu2", "erf"])
@pytest.mark.parametrize("k11, k22, c", COVARIANCES)
def test_closed_form_expectations(name, k11, k22, c):
    k12 = c * math.sqrt(k11 * k22)
    got = float(get_activation(name).expectation(k11, k12, k22))
    assert got == pytest.approx(reference_1d(name, k11, k22, c), abs=1e-6, rel=1e-9)


@pytest.mark.parametrize(
    "k11, k22, c",
    [
        (1.0, 1.0, 0.5),
        (25.0, 9.0, 0.999),
        (0.2, 3.0, -0.3),
        (2.0, 2.0, 1.0),
        (100.0, 0.01, -0.6),
        (1e-4, 1e-4, 0.2),
    ],
)
def test_gelu_closed_forms(k11, k22, c):
    k12 = c * math.sqrt(k11 * k22)
    act = get_activation("gelu")
    got = float(act.expectation(k11, k12, k22))
    assert got == pytest.approx(reference_2d(PHI["gelu"], k11, k22, c), abs=1e-7, rel=1e-7)
    got = float(act.deriv_expectation(k11, k12, k22))
    assert got == pytest.approx(reference_2d(DPHI["gelu"], k11, k22, c), abs=1e-7, rel=1e-7)
    # the two closed forms agree with each other: E[φ′φ′] = ∂/∂k12 E[φφ] (Price's theorem)
    if abs(c) < 1:
        k11_, k12_, k22_ = (jnp.asarray(k, jnp.float64) for k in (k11, k12, k22))
        price = jax.jvp(lambda t: act.expectation(k11_, t, k22_), (k12_,), (jnp.ones(()),))[1]
        assert got == pytest.approx(float(price), rel=1e-12, abs=1e-14)


# tanh on the trapezoidal rule: ≤ 1e-12 up to variance 4 and 1e-9 at 16 (Gauss–Hermite with 128
# nodes, the rule before issue 12: 7e-7 and 1e-3), asymmetric variances, c → ±1
@pytest.mark.parametrize(
    "k11, k22, c, tol",
    [
        (1.0, 1.0, 0.5, 1e-12),
        (4.0, 4.0, 0.975, 1e-12),
        (0.2, 3.0, -0.3, 1e-12),
        (2.0, 2.0, 1.0, 1e-12),
        (0.3, 5.0, 0.1, 1e-12),
        (16.0, 9.0, 0.5, 1e-12),
        (16.0, 16.0, 0.99, 1e-9),
    ],
)
def test_tanh_quadrature_expectations(k11, k22, c, tol):
    k12 = c * math.sqrt(k11 * k22)
    act = get_activation("tanh")
    assert float(act.expectation(k11, k12, k22)) == pytest.approx(
        reference_2d(PHI["tanh"], k11, k22, c), abs=tol
    )
    assert float(act.deriv_expectation(k11, k12, k22)) == pytest.approx(
        reference_2d(DPHI["tanh"], k11, k22, c), abs=100 * tol
    )


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_quadrature_is_exactly_symmetric(name):
    """E[φ(u)φ(v)] computed with (k11, k22) swapped is the same float (issue 12: the
    Gauss–Hermite rule differed by up to 3e-5, so tanh kernels were not symmetric)."""
    rng = np.random.default_rng(0)
    k11, k22 = rng.uniform(0.01, 20, 200), rng.uniform(0.01, 20, 200)
    k12 = rng.uniform(-1, 1, 200) * np.sqrt(k11 * k22)
    act = get_activation(name)
    for fn in (act.expectation, act.deriv_expectation):
        np.testing.assert_array_equal(fn(k11, k12, k22), fn(k22, k12, k11))


def test_quadrature_order_is_checked():
    with pytest.raises(ValueError, match="order must be an integer ≥ 3, got 2"):
        get_activation("tanh").expectation(1.0, 0.5, 1.0, order=2)


@pytest.mark.parametrize("name", ["relu", "relu2", "erf", "tanh", "gelu"])
def test_derivative_expectations(name):
    k11, k22, c = 1.3, 0.7, 0.4
    k12 = c * math.sqrt(k11 * k22)
    got = float(get_activation(name).deriv_expectation(k11, k12, k22))
    assert got == pytest.approx(reference_2d(DPHI[name], k11, k22, c), abs=1e-6)


def test_step_has_no_ntk_derivative():
    with pytest.raises(ValueError, match="step"):
        get_activation("step").deriv_expectation(1.0, 0.5, 1.0)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_matches_autodiff(name):
    import jax

    act = get_activation(name)
    if act.deriv is None:
        return
    x = jnp.linspace(-3, 3, 13) + 0.05  # avoid the kink at 0
    np.testing.assert_allclose(act.deriv(x), jax.vmap(jax.grad(act.fn))(x), rtol=1e-10, atol=1e-12)


def test_expectations_broadcast():
    k = jnp.ones((3, 4))
    for act in ACTIVATIONS.values():
        assert act.expectation(k, 0.5 * k, k).shape == (3, 4)

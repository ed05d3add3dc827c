"""Regression: no number changes unless a change of numbers is intended.

``reference.npz`` holds values recorded by ``make_reference.py`` before the restructuring of
issue 11 (which changed no number), re-recorded once when issue 12 changed numbers on purpose:
Gaussian expectations without a closed form by a trapezoidal rule instead of Gauss–Hermite (the
gelu NTK here), and hidden layers ≥ 2 of the MoGP sampler drawn as sums of independent Gaussians
(the same law, other draws; tests/theory checks the law); and again in issue 13, when the
arc-cosine kernels were rewritten without cos θ and sin θ ((sqrt(k11 k22 − k12²) + (π − θ) k12)/(2π)
for relu): only three relu arrays moved, the two-layer NTK by 3.7e-9 relative on its diagonal,
where θ ≈ sqrt(rounding) ≈ 1e-8 turns one-ulp changes of the previous layer into 1e-9, and the
limit draws built on those kernels by up to 3.2e-8 absolute. Everything agrees to 1e-12
(relative): not bit for bit, because XLA's CPU reductions round differently with another
number of threads (the parallel test workers run one XLA thread each; differences of one ulp
were seen), while any change of the code's arithmetic shows far above 1e-12. The limit draws
are the exception: they go through eigendecompositions (the samplers' PSD square roots), whose
eigenvectors inside nearly degenerate eigenspaces depend on the LAPACK build; with jax 0.10
the two-layer deterministic ReLU draws moved by 4e-8 absolute (the same law: the root's
product is unchanged), so they are compared to LIMIT_ATOL = 1e-6, still far below the O(1)
change of any other draw.
"""

from pathlib import Path

import numpy as np
import pytest

from tests.regression import cases

HERE = Path(__file__).parent

REFERENCE = np.load(HERE / "reference.npz")
RTOL, ATOL = 1e-12, 1e-13
LIMIT_ATOL = 1e-6


def _stored(prefix: str) -> dict:
    return {k[len(prefix) :]: REFERENCE[k] for k in REFERENCE.files if k.startswith(prefix)}


@pytest.mark.parametrize("name", sorted(cases.MODEL_CASES))
def test_model_log_density_at_fixed_parameters(name):
    latents = _stored(f"model/{name}/latent/")
    assert latents, f"no stored latents for {name}"
    expected = {k: v for k, v in _stored(f"model/{name}/").items() if not k.startswith("latent/")}
    got = {
        k: np.asarray(v) for k, v in cases.model_values(cases.MODEL_CASES[name], latents).items()
    }
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, RTOL, ATOL, err_msg=key)


@pytest.mark.parametrize("name", sorted(cases.PRIOR_CASES))
def test_prior_draws_unchanged(name):
    np.testing.assert_allclose(
        cases.prior_draws(cases.PRIOR_CASES[name]), REFERENCE[f"prior/{name}"], RTOL, ATOL
    )


@pytest.mark.parametrize("name", sorted(cases.LIMIT_CASES))
def test_limit_draws_unchanged(name):
    got = cases.limit_draws(cases.LIMIT_CASES[name])
    for key, value in _stored(f"limit/{name}/").items():
        np.testing.assert_allclose(got[key], value, RTOL, LIMIT_ATOL, err_msg=key)


@pytest.mark.parametrize("name", sorted(cases.KERNEL_CASES))
def test_kernels_unchanged(name):
    got = cases.kernel_values(cases.KERNEL_CASES[name])
    for key, value in _stored(f"kernel/{name}/").items():
        np.testing.assert_allclose(got[key], value, RTOL, ATOL, err_msg=key)

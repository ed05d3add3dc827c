r"""The observation models of a fit: names, the regression noise laws and their parameters.

- ``"gaussian"``: y = f(x) + σ ε, ε ~ N(0, 1).
- ``"student_t"``: y = f(x) + σ ε, ε ~ t_ν (Student's t with ν = ``df`` degrees of freedom, fixed;
  default ν = 4): the same location-scale model with polynomial tails, so that a few outlying
  targets cannot drag f (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §17.2). σ is a
  *scale*, not the noise sd: Var(y | f) = σ² ν / (ν − 2) for ν > 2. ν → ∞ gives ``"gaussian"``.
- ``"bernoulli"``: y ∈ {0, 1} with logit f_1(x).
- ``"categorical"``: y ∈ {0..K−1} with logits f(x).

For both regression likelihoods σ ~ HalfNormal(noise_scale) unless a fixed ``noise_std`` (the
value of σ) is given.
"""

from __future__ import annotations

from scipy import stats

from bnn_mogp._validation import check_real

__all__ = [
    "LIKELIHOODS",
    "REGRESSION_LIKELIHOODS",
    "DEFAULT_DF",
    "is_regression",
    "check_df",
    "noise_law",
]

LIKELIHOODS = ("gaussian", "student_t", "bernoulli", "categorical")
REGRESSION_LIKELIHOODS = ("gaussian", "student_t")

#: degrees of freedom ν of the Student-t likelihood unless set
DEFAULT_DF = 4.0


def is_regression(likelihood: str) -> bool:
    """True for the real-valued likelihoods (``"gaussian"``, ``"student_t"``)."""
    return likelihood in REGRESSION_LIKELIHOODS


def check_df(df) -> float:
    """ν checked: a finite real > 0 (the message names the bad value)."""
    return check_real("df", df, low=0.0)


def noise_law(likelihood: str, df: float | None = None):
    """The standardised noise law ε of a regression likelihood, a frozen ``scipy.stats`` law:
    N(0, 1) for ``"gaussian"``, t_ν with ν = ``df`` (default :data:`DEFAULT_DF`) for
    ``"student_t"``.
    """
    if likelihood == "gaussian":
        return stats.norm()
    if likelihood == "student_t":
        return stats.t(check_df(DEFAULT_DF if df is None else df))
    raise ValueError(
        f"a noise law exists for the regression likelihoods {', '.join(REGRESSION_LIKELIHOODS)}, "
        f"got {likelihood!r}"
    )

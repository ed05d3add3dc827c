r"""Node scalings λ of a gradient-trained node-scaled network (DESIGN §13).

The network f_k(x) = Σ_j sqrt(λ_j) u_jk φ(w_jᵀx/√d) keeps λ frozen during training, with
λ_j ≥ 0 and Σ_j λ_j = 1 (normalised: the width scaling lives in the normalisation, so λ ≡ 1/m is
the NTK parameterisation). Three families:

- :class:`Uniform`: λ_j = 1/m (γ = 1 of the paper).
- :class:`Zipf` (α, γ): λ_j = γ/m + (1 − γ) j^{−1/α} / Σ_{i≤m} i^{−1/α}, j = 1..m — a share γ
  spread evenly and a share 1 − γ on a Zipf profile. Convention: j starts at 1 (the reference
  code evaluates the Zipf pmf at 0..m−1, which leaves its first node with γ/m only).
- :class:`PriorScaling` (P): λ_j = ξ_j / Σ_i ξ_i with ξ iid from a node prior's law at width m
  (:meth:`~bnn_mogp.priors.NodePrior.at_width`): random, exchangeable scalings. A heavy-tailed P
  (horseshoe, stable-like) keeps a few O(1) scalings at any width — the MoGP regime of the
  package's priors; a Gaussian-limit P (``Deterministic``) gives 1/m.

Every family returns λ as a float64 NumPy array (m,), summing to 1 up to rounding.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors import NodePrior, make_prior

__all__ = ["NodeScaling", "Uniform", "Zipf", "PriorScaling", "make_scaling", "SCALINGS"]


class NodeScaling:
    """A rule giving the frozen node scalings λ (m,) of a node-scaled network."""

    #: name in specs (``[training] scaling = …``)
    name: str = ""
    #: whether :meth:`scalings` needs an ``rng_key``
    random: bool = False

    def scalings(self, m: int, rng_key=None) -> np.ndarray:
        """λ (m,), non-negative, summing to 1."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short label for tables and figure legends."""
        return self.name


@dataclasses.dataclass(frozen=True)
class Uniform(NodeScaling):
    """λ_j = 1/m: the NTK parameterisation (γ = 1)."""

    name = "uniform"

    def scalings(self, m: int, rng_key=None) -> np.ndarray:
        """λ_j = 1/m."""
        m = check_width(m)
        return np.full(m, 1.0 / m)


@dataclasses.dataclass(frozen=True)
class Zipf(NodeScaling):
    """λ_j = γ/m + (1 − γ) j^{−1/α} / Σ_{i≤m} i^{−1/α} (j = 1..m): decreasing in j.

    Args:
        alpha: Zipf exponent α > 0 (smaller α: a steeper profile).
        gamma: the evenly spread share γ ∈ [0, 1] (γ = 1 is :class:`Uniform`).
    """

    alpha: float
    gamma: float
    name = "zipf"

    def __post_init__(self):
        check_real("zipf alpha", self.alpha, low=0.0)
        check_real("zipf gamma", self.gamma, low=0.0, high=1.0, low_open=False, high_open=False)

    def scalings(self, m: int, rng_key=None) -> np.ndarray:
        """λ_j = γ/m + (1 − γ) j^{−1/α} / Σ_{i≤m} i^{−1/α}, j = 1..m."""
        m = check_width(m)
        profile = np.arange(1, m + 1, dtype=np.float64) ** (-1.0 / self.alpha)
        return self.gamma / m + (1.0 - self.gamma) * profile / profile.sum()

    def describe(self) -> str:
        """``zipf(α=…, γ=…)``."""
        return f"zipf(α={self.alpha:g}, γ={self.gamma:g})"


@dataclasses.dataclass(frozen=True)
class PriorScaling(NodeScaling):
    """λ_j = ξ_j / Σ_i ξ_i, ξ iid from ``prior.at_width(m)``: random, exchangeable scalings.

    Args:
        prior: any node prior of the package.
    """

    prior: NodePrior
    name = "prior"
    random = True

    def __post_init__(self):
        if not isinstance(self.prior, NodePrior):
            raise ValueError(f"prior must be a bnn_mogp.priors.NodePrior, got {self.prior!r}")

    def scalings(self, m: int, rng_key=None) -> np.ndarray:
        """ξ / Σξ with ξ (m,) drawn from the prior's law at width m with ``rng_key``."""
        m = check_width(m)
        if rng_key is None:
            raise ValueError("prior scalings are random: pass an rng_key")
        with jax.enable_x64(True):
            xi = np.asarray(self.prior.at_width(m).sample(rng_key, (m,)), dtype=np.float64)
        total = xi.sum()
        if not np.isfinite(total) or total <= 0:
            raise ValueError(
                f"prior scalings need a positive finite sum of the m = {m} node variances, "
                f"got {total!r} from {self.prior!r}"
            )
        return xi / total

    def describe(self) -> str:
        """``prior(<the prior>)``."""
        return f"prior({self.prior!r})"


#: spec name → class
SCALINGS = {"uniform": Uniform, "zipf": Zipf, "prior": PriorScaling}


def make_scaling(name: str, **params) -> NodeScaling:
    """A scaling from its spec name: ``uniform``; ``zipf`` with ``alpha``, ``gamma``; ``prior``
    with ``family`` and that family's hyper-parameters (``bnn_mogp.priors.make_prior``).
    """
    if name not in SCALINGS:
        raise ValueError(f"unknown scaling {name!r}; allowed: {', '.join(SCALINGS)}")
    if name == "uniform":
        if params:
            raise ValueError(f"scaling 'uniform' takes no parameters, got {sorted(params)}")
        return Uniform()
    if name == "zipf":
        unknown = sorted(set(params) - {"alpha", "gamma"})
        if unknown or {"alpha", "gamma"} - set(params):
            raise ValueError(
                f"scaling 'zipf' needs exactly alpha and gamma, got {sorted(params) or 'none'}"
            )
        return Zipf(params["alpha"], params["gamma"])
    params = dict(params)
    family = params.pop("family", None)
    if family is None:
        raise ValueError("scaling 'prior' needs a family (a node prior family name)")
    return PriorScaling(make_prior(family, **params))

"""The node-prior contract shared by every family (DESIGN §3.1)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from numpyro.distributions import Distribution

from bnn_mogp.priors.levy import Levy

__all__ = ["NodePrior"]


@dataclasses.dataclass(frozen=True)
class NodePrior:
    """A family of laws for the node variances λ of one hidden layer.

    Node j of a layer of width n carries λ_{n,j} iid with law ``at_width(n)``; λ multiplies the
    *variance* of the node's outgoing weights (weights = σ_w sqrt(λ) · N(0, 1)). All width scaling
    lives in ``at_width``: the network code never divides by n. ``limit()`` gives the Lévy measure
    of the infinite-width row sum Σ_j λ_{n,j}, so the finite network and its limit read one object.

    Subclasses are frozen dataclasses (hashable, so a network spec holding them is hashable) and
    implement ``at_width`` and ``limit``; the capability flags follow from the limit.
    """

    family: ClassVar[str] = ""

    def at_width(self, n: int) -> Distribution:
        """The numpyro distribution of one node's λ in a layer of width ``n``."""
        raise NotImplementedError

    def limit(self) -> Levy:
        """The Lévy measure (drift a, measure ρ) of the infinite-width row sum."""
        raise NotImplementedError

    @property
    def gaussian_limit(self) -> bool:
        """True when ρ = 0: the infinitely wide network is a Gaussian process (NNGP)."""
        return self.limit().gaussian

    @property
    def tail_index(self) -> float:
        """τ with ρ̄(x) ~ x^{−τ} as x → ∞; the network's output tail index is 2τ."""
        return self.limit().tail_index

    @property
    def sparsity_index(self) -> float:
        """α with ρ̄(x) ~ x^{−α} as x → 0; pruning error ∝ ε^{1−α} when the drift is 0."""
        return self.limit().sparsity_index

    def params(self) -> dict:
        """The hyper-parameters as a plain dict (for specs, reports and reprs)."""
        return dataclasses.asdict(self)

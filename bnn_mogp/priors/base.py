"""The node-prior contract shared by every family (DESIGN §3.1)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpyro
import numpyro.distributions as dist
from numpyro.distributions import Distribution

from bnn_mogp.priors.levy import Levy

__all__ = ["NodePrior", "FAMILIES"]

#: family name (as written in specs) → prior class; every subclass with a ``family`` registers
#: itself here when its module is imported (``bnn_mogp.priors`` imports all of them)
FAMILIES: dict[str, type[NodePrior]] = {}


@dataclasses.dataclass(frozen=True)
class NodePrior:
    """A family of laws for the node variances λ of one hidden layer.

    Node j of a layer of width n carries λ_{n,j} iid with law ``at_width(n)``; λ multiplies the
    *variance* of the node's outgoing weights (weights = σ_w sqrt(λ) · N(0, 1)). All width scaling
    lives in ``at_width``: the network code never divides by n. ``limit()`` gives the Lévy measure
    of the infinite-width row sum Σ_j λ_{n,j}, so the finite network and its limit read one object.

    Subclasses are frozen dataclasses (hashable, so a network spec holding them is hashable) and
    implement ``at_width`` and ``limit``; the capability flags follow from the limit.

    A prior also places itself in a NumPyro model (DESIGN §6.1), in two steps that the model
    calls for hidden layer l of width n: :meth:`sample_node_variances` (site ``lam_l``, after the
    layer's own weights) and :meth:`sample_outgoing_weights` (site ``w_{l+1}``, with the next
    layer). The defaults here are non-centred: λ is sampled with its law at width n (NUTS works
    on log λ through the positive support's exp transform) and the outgoing weights are raw
    standard normals, V = σ_w · raw, entering the network as sqrt(λ_j) V_jk
    (:func:`bnn_mogp.nn.apply`). Families override what they place differently; nothing outside
    ``priors/`` asks which family a prior is.
    """

    family: ClassVar[str] = ""
    #: whether the output layer can be integrated out when this prior sits on the last hidden
    #: layer (its outgoing weights are Gaussian given λ; DESIGN §6.1, collapsed last layer)
    collapsible: ClassVar[bool] = True
    #: whether pruning ranks this layer's nodes by their outgoing weights rather than by λ
    #: alone (a constant λ, or λ marginalised out of the weights); then the prior share of
    #: importance removed is that of λ χ²_m / m (:func:`bnn_mogp.pruning.prior_removed_share`)
    ranked_by_weights: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.family:
            if cls.family in FAMILIES:
                raise TypeError(f"prior family {cls.family!r} is already registered")
            FAMILIES[cls.family] = cls

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

    # -- placement in a NumPyro model (DESIGN §6.1) ----------------------------------------------
    def sample_node_variances(self, layer: int, n: int):
        """Sample the λ of hidden layer ``layer`` (width ``n``) as the site ``lam_{layer}`` in a
        plate ``node_{layer}``; returns λ (n,), or None when the family marginalises λ into the
        outgoing weights' law.
        """
        with numpyro.plate(f"node_{layer}", n):
            return numpyro.sample(f"lam_{layer}", self.at_width(n))

    def sample_outgoing_weights(self, layer: int, lam, n: int, fan_out: int, sigma_w: float):
        """Sample the weights leaving hidden layer ``layer`` (site ``w_{layer + 1}``, shape
        (n, fan_out)) given its λ from :meth:`sample_node_variances`; returns (λ, V) as the
        network's parameters hold them (:func:`outgoing_params`).
        """
        raw = numpyro.sample(
            f"w_{layer + 1}", dist.Normal(0.0, 1.0).expand([n, fan_out]).to_event(2)
        )
        return self.outgoing_params(lam, raw, sigma_w)

    def outgoing_params(self, lam, w, sigma_w: float):
        """(λ, V) of the network's parameters (:class:`bnn_mogp.nn.Params`) from the model's
        sites ``lam_l`` and ``w_{l+1}`` (any leading batch axes): V = σ_w · w, non-centred.
        """
        return lam, sigma_w * w

    def node_variance(self, lam, V, sigma_w: float):
        """The variance each node's outgoing weights carry, from the network's (λ, V) (any
        leading batch axes): λ itself unless the family's weights are centred.
        """
        return lam

    def node_importance(self, lam, V, sigma_w: float):
        """How much each node matters, for pruning (DESIGN §8): its :meth:`node_variance`."""
        return self.node_variance(lam, V, sigma_w)

    def params(self) -> dict:
        """The hyper-parameters as a plain dict (for specs, reports and reprs)."""
        return dataclasses.asdict(self)

    def to_dict(self) -> dict:
        """``{"family": …, **hyper-parameters}``: what :func:`bnn_mogp.priors.make_prior` reads
        back (JSON-able; stored with every fit).
        """
        return {"family": self.family, **self.params()}

"""The node-prior contract shared by every family (DESIGN §3.1)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import Distribution

from bnn_mogp.priors.levy import Levy

__all__ = ["NodePrior", "FAMILIES", "PLACEMENTS", "variance_shape"]

#: where a hidden layer's prior puts its variances (DESIGN §2, §15): one λ per node, shared by
#: the node's outgoing weights, or one λ per outgoing weight
PLACEMENTS = ("node", "weight")


def variance_shape(n: int, fan_out: int, placement: str) -> tuple[int, ...]:
    """The shape of a layer's λ: (n,) placed per node, (n, fan_out) placed per weight."""
    return (n,) if placement == "node" else (n, fan_out)


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

    **Placement** (DESIGN §15): per node, node j's λ_j is shared by its outgoing weights
    (dependent units, a MoGP limit); per weight, every outgoing weight W_jk carries its own
    λ_jk, iid with the same law at width n (independent units). λ then has the shape
    :func:`variance_shape` (n,) or (n, m), and the network uses sqrt(λ) V either way.

    A prior also places itself in a NumPyro model (DESIGN §6.1), in steps that the model calls
    for hidden layer l of width n: :meth:`sample_node_variances` (site ``lam_l``, after the
    layer's own weights), :meth:`sample_outgoing_weights` (site ``w_{l+1}``, with the next layer)
    and :meth:`sample_biases` (site ``b_{l+1}``). The defaults here are non-centred: λ is sampled
    with its law at width n (NUTS works on log λ through the positive support's exp transform)
    and the outgoing weights are raw standard normals, V = σ_w · raw, entering the network as
    sqrt(λ) V (:func:`bnn_mogp.nn.apply`). The finite prior sampler calls :meth:`draw_outgoing`
    and :meth:`draw_biases`. Families override what they place differently; nothing outside
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

    @property
    def learned(self) -> bool:
        """Whether a hyper-parameter of the family has a prior of its own (learned, DESIGN §16):
        the layer's λ are then iid only given it, and :meth:`limit` describes the prior at the
        hyper-parameter's own field value.
        """
        return False

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
    def sample_node_variances(self, layer: int, shape: tuple[int, ...]):
        """Sample the λ of hidden layer ``layer`` as the site ``lam_{layer}`` of shape ``shape``
        (:func:`variance_shape`; the width is ``shape[0]``), iid with the law at that width;
        returns λ, or None when the family marginalises λ into the outgoing weights' law.
        """
        law = self.at_width(shape[0])
        return numpyro.sample(f"lam_{layer}", law.expand(shape).to_event(len(shape)))

    def sample_outgoing_weights(
        self, layer: int, lam, n: int, fan_out: int, sigma_w: float, placement: str = "node"
    ):
        """Sample the weights leaving hidden layer ``layer`` (site ``w_{layer + 1}``, shape
        (n, fan_out)) given its λ from :meth:`sample_node_variances`; returns (λ, V) as the
        network's parameters hold them (:func:`outgoing_params`).
        """
        raw = numpyro.sample(
            f"w_{layer + 1}", dist.Normal(0.0, 1.0).expand([n, fan_out]).to_event(2)
        )
        return self.outgoing_params(lam, raw, sigma_w)

    #: whether the biases of the layer these weights feed are Gaussian (else a Gaussian scale
    #: mixture whose variance the model samples, :meth:`sample_bias_scale`)
    gaussian_biases: ClassVar[bool] = True

    def sample_bias_scale(self, layer: int, fan_out: int, sigma_b: float):
        """The standard deviation of each bias of layer ``layer`` given its latent sites (none
        for Gaussian biases): σ_b, or an array (fan_out,).
        """
        return jnp.full((fan_out,), sigma_b)

    def sample_biases(self, layer: int, fan_out: int, sigma_b: float):
        """The biases of layer ``layer`` (fed by this prior's weights): site ``b_{layer}`` of
        raw standard normals, b = :meth:`sample_bias_scale` · raw.
        """
        scale = self.sample_bias_scale(layer, fan_out, sigma_b)
        raw = numpyro.sample(f"b_{layer}", dist.Normal(0.0, 1.0).expand([fan_out]).to_event(1))
        return scale * raw

    def bias_params(self, layer: int, raw, sites, sigma_b: float):
        """The biases of :meth:`sample_biases` from the raw site ``b_{layer}`` and the other
        posterior sites (a mapping name → draws): σ_b · raw by default.
        """
        return sigma_b * raw

    # -- the finite prior sampler ----------------------------------------------------------------
    def draw_outgoing(self, k_w, k_lam, n: int, fan_out: int, sigma_w: float, placement: str):
        """One prior draw of (λ, V) for the weights leaving a hidden layer of width ``n``: λ iid
        with the law at width n in :func:`variance_shape`, V = σ_w · N(0, 1) of shape
        (n, fan_out).
        """
        V = sigma_w * jax.random.normal(k_w, (n, fan_out))
        lam = self.at_width(n).sample(k_lam, variance_shape(n, fan_out, placement))
        return lam, V

    def draws_variances(self, placement: str) -> bool:
        """Whether :meth:`draw_outgoing` draws the λ of the prior's law (False when it draws the
        weights directly and λ is only a constant scale, so that the largest λ of a prior draw
        means nothing).
        """
        return True

    def draw_biases(self, key, fan_out: int, sigma_b: float):
        """One prior draw of the biases of the layer these weights feed: σ_b · N(0, 1)."""
        return sigma_b * jax.random.normal(key, (fan_out,))

    def bias_variance(self, key, sigma_b: float):
        """The variance of a bias of the layer these weights feed, as the limit samplers use it
        (Gaussian biases: the constant σ_b²; a Gaussian scale mixture draws its variance).
        """
        return jnp.asarray(sigma_b**2, jnp.result_type(float))

    def bias_log_cf(self, u, sigma_b: float):
        """log E e^{iub} of one such bias: −σ_b² u²/2 for Gaussian biases."""
        return -0.5 * (sigma_b * u) ** 2

    def outgoing_params(self, lam, w, sigma_w: float):
        """(λ, V) of the network's parameters (:class:`bnn_mogp.nn.Params`) from the model's
        sites ``lam_l`` and ``w_{l+1}`` (any leading batch axes): V = σ_w · w, non-centred.
        """
        return lam, sigma_w * w

    def node_variance(self, lam, V, sigma_w: float):
        """The variance each node's outgoing weights carry, from the network's (λ, V) (any
        leading batch axes): λ itself unless the family's weights are centred. Placed per
        weight, λ and the result have V's shape: one value per weight.
        """
        return lam

    def node_importance(self, lam, V, sigma_w: float):
        """How much each node matters, for pruning (DESIGN §8): its :meth:`node_variance`, or for
        a family ``ranked_by_weights`` the squared norm λ_j ‖V_j‖² of its outgoing weights.
        Placed per weight (λ of V's shape) the same per weight: λ_jk, or λ_jk V_jk².
        """
        if not self.ranked_by_weights:
            return self.node_variance(lam, V, sigma_w)
        lam, V = np.asarray(lam), np.asarray(V)
        return lam * V**2 if lam.ndim == V.ndim else lam * np.sum(V**2, axis=-1)

    def params(self) -> dict:
        """The hyper-parameters as a plain dict (for specs, reports and reprs)."""
        return dataclasses.asdict(self)

    def to_dict(self) -> dict:
        """``{"family": …, **hyper-parameters}``: what :func:`bnn_mogp.priors.make_prior` reads
        back (JSON-able; stored with every fit).
        """
        return {"family": self.family, **self.params()}

r"""The infinite-width limit of a network whose priors are placed per weight (DESIGN §15).

Every weight W_jk leaving hidden layer l carries its own λ_jk, so nothing is shared between the
units of layer l + 1: in the sequential limit they are **iid**, and each is a GP given its own
random kernel

.. math::
    K_k = \sigma_{b,k}^2 11^\top + \sigma_w^2 \Bigl[\bigl(a_l + \textstyle\int_0^{\theta_{k,M}}
        w\,\rho_l(dw)\bigr) E[\phi(Z)\phi(Z)^\top] + \sum_{m \le M} \theta_{k,m}\,
        \phi(Z_{k,m}) \phi(Z_{k,m})^\top\Bigr],

with an independent Poisson process θ_{k,·} (mean measure ρ_l; its M largest points by
Ferguson–Klass) per unit, and Z_{k,m} iid copies of a unit of layer l at the N inputs. For
exactly α-stable weights (:class:`~bnn_mogp.priors.SymmetricStable`, ρ positive α/2-stable) this
is the LePage series of a symmetric α-stable vector whose spectral measure is the law of
φ(Z_l) weighted by its norm^α (Favaro, Fortini & Peluchetti 2020), with Gaussian marks.

Sampling:

- Layer 1's units are exactly GP(0, Σ^(1)): the kernels of layer 2's units are drawn exactly
  (up to the truncation below).
- A Gaussian layer fed by Gaussian units (e.g. ``Deterministic`` priors) has one deterministic
  kernel, computed exactly (the NNGP recursion).
- Deeper layers use a **pool** of P independent kernels of the previous layer: a copy Z_{k,m} is a
  Gaussian draw from a pool kernel picked uniformly, and E[φ(Z)φ(Z)ᵀ] (needed where there is a
  drift or a compensation) is the average of φ(Z)φ(Z)ᵀ over ``mean_draws`` draws per pool
  kernel. The pool is an iid sample of the layer's law, so every expectation over it has
  Monte Carlo error O(P^{−1/2}); the relative standard error of the estimated E φ(Z)² is
  reported per layer (``pool_error``).
- **Truncation**: the jumps below θ_M are replaced by their mean ∫₀^{θ_M} wρ(dw) times
  E[φφᵀ] (compensated truncation, as for the MoGP) when E φ(Z_l)² < ∞; when the previous layer's
  units make φ(Z_l)² heavy-tailed (infinite mean) the small jumps are dropped instead. Either
  way the relative size of what is compensated or dropped is reported (``truncation``).
- The output layer: placed per weight, the K outputs have independent kernels; placed per node
  (the last hidden layer's λ shared by the outputs), they share one kernel per draw.

Every hidden layer except possibly the last must be placed per weight (a network placed per node
throughout is a :class:`~bnn_mogp.theory.MoGP`; :func:`limit_of` picks the right one), and the
finite-moment rule of :func:`~bnn_mogp.theory.stable.check_moments` must hold. Everything runs in
float64.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._chunks import map_key_chunks
from bnn_mogp._validation import check_width
from bnn_mogp.nn import MLP, check_inputs, layer_kernel
from bnn_mogp.theory.mogp import (
    NUM_JUMPS,
    LayerLimits,
    MoGP,
    _psd_root,
    _symmetric,
    check_finite_draws,
    first_layer_parts,
    mean_kernel_and_root,
)
from bnn_mogp.theory.stable import check_moments

__all__ = ["PerWeightLimit", "LimitErrors", "limit_of", "POOL_SIZE"]

#: kernels per layer in the pool of previous-layer units, by default
POOL_SIZE = 1024
#: Gaussian draws per pool kernel for the mean kernel E[φφᵀ] of a pooled layer
MEAN_DRAWS = 8
_CHUNK_BUDGET = 2**24


class LimitErrors(NamedTuple):
    """What a per-weight limit sample leaves out.

    Attributes:
        truncation: (S, L) per draw (first output) and hidden layer, ∫₀^{θ_M} wρ(dw) relative to
            a + ∫₀^{θ_M} wρ + Σ_m θ_m (0 where the jumps are exact).
        pool_error: (L,) relative standard error of the pool's estimate of E φ(Z_l)² (averaged
            over the inputs) for the layers sampled from a pool (0 for layer 1, exact).
        pool_size: P.
    """

    truncation: np.ndarray
    pool_error: np.ndarray
    pool_size: int


class PerWeightLimit(LayerLimits):
    """The sequential limit of ``net`` placed per weight (module docstring).

    Args:
        net: the network; its widths are ignored.
        pool_size: P, kernels per pooled layer (layers 2..L).
    """

    def __init__(self, net: MLP, *, pool_size: int = POOL_SIZE):
        super().__init__(net)
        if any(p != "weight" for p in net.placements[:-1]):
            raise ValueError(
                f"PerWeightLimit needs every hidden layer but the last placed per weight, got "
                f"placements {net.placements}; a network placed per node throughout is a MoGP, "
                "and other mixtures have no limit sampler here"
            )
        self.pool_size = check_width(pool_size, "pool_size")
        self.tails = check_moments(net)
        growth = net.phi.growth
        # compensate a layer's small jumps by their mean only where E φ(Z_l)² < ∞
        self.compensate = tuple(
            math.isinf(t) or growth == 0 or (growth is not None and t / growth > 2)
            for t in self.tails[:-1]
        )

    def _settings(self) -> tuple:
        return (("pool_size", self.pool_size),)

    # -- one unit of layer l + 1 ------------------------------------------------------------------
    def _unit(self, key, l: int, prev, M: int):
        """(bias variance, drift coefficient c, G = φ(Z) diag sqrt θ (N × M), relative
        truncation) of one unit of layer l + 2 (``l`` indexes the hidden layer feeding it) given
        ``prev`` = (roots of the previous layer's kernels: (N, r) for layer 1 or a pool
        (P, N, N), the mean kernel E[φφᵀ]).
        """
        net, lim = self.net, self.limits[l]
        roots, _ = prev
        N = roots.shape[-2]
        k_b, k_j, k_i, k_z = jax.random.split(key, 4)
        bias_var = net.node_priors[l].bias_variance(k_b, net.sigma_b) if net.sigma_b else 0.0
        if M == 0:
            return bias_var, lim.drift, jnp.zeros((N, 0)), jnp.zeros(())
        theta = lim.sample_jumps(k_j, M)
        if roots.ndim == 2:
            Z = roots @ jax.random.normal(k_z, (roots.shape[1], M))
        else:
            idx = jax.random.randint(k_i, (M,), 0, roots.shape[0])
            eps = jax.random.normal(k_z, (M, roots.shape[-1]))
            Z = jnp.einsum("mnr,mr->nm", roots[idx], eps)
        G = net.phi.fn(Z) * jnp.sqrt(theta)
        exact = math.isfinite(lim.total_mass())
        comp = jnp.zeros(()) if exact else lim.small_jump_mean(theta[-1])
        total = lim.drift + comp + theta.sum()
        trunc = jnp.where(total > 0, comp / total, 0.0)
        coef = lim.drift + (comp if self.compensate[l] else 0.0)
        return bias_var, coef, G, trunc

    def _kernel(self, key, l, prev, M):
        bias_var, coef, G, trunc = self._unit(key, l, prev, M)
        mean_kernel = prev[1]
        K = bias_var + self.net.sigma_w**2 * (coef * mean_kernel + G @ G.T)
        return _symmetric(K), trunc

    @functools.partial(jax.jit, static_argnames=("self", "Ms"))
    def _pools(self, key, X, Ms):
        """Pools of P kernels for the units of layers 2..L (each from the previous layer's),
        the roots and mean kernels the last hidden layer's units are drawn from, and the pool
        errors (L,).
        """
        net = self.net
        _, mean_kernel, _, root = first_layer_parts(net, X)
        prev = (root, mean_kernel)
        errors = [jnp.zeros(())]
        P = self.pool_size
        for l in range(self.net.depth - 1):
            if prev[0].ndim == 2 and self.limits[l].gaussian and net.node_priors[l].gaussian_biases:
                # units of a GP layer fed by GP units share one deterministic kernel: exact
                K = layer_kernel(net, self.limits[l].drift, prev[1])
                prev = (_psd_root(K), mean_kernel_and_root(net, K)[0])
                errors.append(jnp.zeros(()))
                continue
            key, k_pool, k_mean = jax.random.split(key, 3)
            keys = jax.random.split(k_pool, P)
            kernels, _ = jax.lax.map(
                lambda k, l=l, prev=prev: self._kernel(k, l, prev, Ms[l]), keys, batch_size=64
            )
            roots = jax.vmap(_psd_root)(kernels)
            eps = jax.random.normal(k_mean, (P, MEAN_DRAWS, roots.shape[-1]))
            feats = self.net.phi.fn(jnp.einsum("pnr,pdr->pdn", roots, eps))  # (P, D, N)
            per_kernel = jnp.einsum("pdn,pdm->pnm", feats, feats) / MEAN_DRAWS
            mean_kernel = _symmetric(per_kernel.mean(0))
            sq = jnp.diagonal(per_kernel, axis1=1, axis2=2)  # (P, N)
            rel = sq.std(0, ddof=1) / jnp.sqrt(P) / jnp.maximum(sq.mean(0), 1e-300)
            errors.append(rel.mean())
            prev = (roots, mean_kernel)
        return prev, jnp.stack(errors)

    @functools.partial(jax.jit, static_argnames=("self", "Ms", "num_outputs"))
    def _draw_chunk(self, keys, prev, Ms, num_outputs):
        net, L = self.net, self.net.depth - 1
        mean_root = _psd_root(prev[1])
        shared = net.placements[-1] == "node"

        def function(key):  # f = sqrt(bias var) ε₀ 1 + σ_w (sqrt(c) R_E ε + G ε′) for one output
            k_unit, k_f = jax.random.split(key)
            bias_var, coef, G, trunc = self._unit(k_unit, L, prev, Ms[L])
            return _function(k_f, bias_var, coef, mean_root, G, net.sigma_w, 1)[:, 0], trunc

        def one(key):
            if num_outputs is None:
                return self._kernel(key, L, prev, Ms[L])
            if shared:  # node placement on the last layer: one kernel for the K outputs
                k_unit, k_f = jax.random.split(key)
                bias_var, coef, G, trunc = self._unit(k_unit, L, prev, Ms[L])
                f = _function(k_f, bias_var, coef, mean_root, G, net.sigma_w, num_outputs)
                return f, trunc
            f, trunc = jax.vmap(function)(jax.random.split(key, num_outputs))
            return f.T, trunc[0]

        return jax.vmap(one)(keys)

    def _draws(self, rng_key, X, num_draws, num_jumps, num_outputs, progress):
        num_draws = check_width(num_draws, "num_draws")
        Ms = self.num_jumps(check_width(num_jumps, "num_jumps"))
        with jax.enable_x64(True):
            X = check_inputs(self.net, X).astype(jnp.float64)
            N = X.shape[0]
            k_pool, k_draws = jax.random.split(rng_key)
            prev, pool_error = self._pools(k_pool, X, Ms)
            per_draw = 4 * N * N + 2 * N * Ms[-1] * (num_outputs or 1)
            chunk = max(1, min(num_draws, _CHUNK_BUDGET // per_draw))
            keys = jax.random.split(k_draws, num_draws)
            values, trunc = map_key_chunks(
                lambda k: self._draw_chunk(k, prev, Ms, num_outputs),
                keys,
                chunk,
                progress="per-weight limit draws" if progress else None,
            )
        kind = "kernel" if num_outputs is None else "function"
        check_finite_draws(values, f"per-weight limit {kind}")
        errors = LimitErrors(np.asarray(trunc)[:, None], np.asarray(pool_error), self.pool_size)
        return values, errors

    # -- public -----------------------------------------------------------------------------------
    def sample_kernels(
        self,
        rng_key,
        X,
        num_draws: int,
        num_jumps: int = NUM_JUMPS,
        *,
        return_errors: bool = False,
        progress: bool = False,
    ):
        """Draws of the random kernel of one output unit at inputs X: float64 (S, N, N); with
        ``return_errors`` also the :class:`LimitErrors`.
        """
        kernels, errors = self._draws(rng_key, X, num_draws, num_jumps, None, progress)
        return (kernels, errors) if return_errors else kernels

    def sample_functions(
        self,
        rng_key,
        X,
        num_draws: int,
        num_outputs: int | None = None,
        num_jumps: int = NUM_JUMPS,
        *,
        return_errors: bool = False,
        progress: bool = False,
    ):
        """Function draws of the limit at X: (S, N, K), K = ``num_outputs`` (default: the
        network's ``out_dim``); outputs independent (each its own kernel) when the last layer is
        placed per weight. With ``return_errors`` also the :class:`LimitErrors`.
        """
        num_outputs = check_width(num_outputs or self.net.out_dim, "num_outputs")
        values, errors = self._draws(rng_key, X, num_draws, num_jumps, num_outputs, progress)
        return (values, errors) if return_errors else values


def _function(key, bias_var, coef, mean_root, G, sigma_w, K):
    """K Gaussian outputs with kernel bias_var 11ᵀ + σ_w² (c E + G Gᵀ), E = R_E R_Eᵀ."""
    k_b, k_e, k_g = jax.random.split(key, 3)
    f = jnp.sqrt(bias_var) * jax.random.normal(k_b, (1, K))
    f = f + sigma_w * jnp.sqrt(coef) * (mean_root @ jax.random.normal(k_e, (mean_root.shape[1], K)))
    return f + sigma_w * G @ jax.random.normal(k_g, (G.shape[1], K))


def limit_of(net: MLP, **kwargs):
    """The infinite-width limit object of ``net``: a :class:`~bnn_mogp.theory.MoGP` when every
    hidden layer is placed per node, a :class:`PerWeightLimit` when every hidden layer but
    possibly the last is placed per weight; keyword arguments go to its constructor.
    """
    if all(p == "node" for p in net.placements):
        return MoGP(net, **kwargs)
    return PerWeightLimit(net, **kwargs)

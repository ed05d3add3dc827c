r"""SGHMC, SGLD and MAP as :class:`~bnn_mogp.inference.minibatch.MinibatchKernel`\ s (DESIGN §16).

The update rules are BlackJAX's SG-MCMC diffusions (``blackjax.sgmcmc.diffusions``; the
maintained JAX implementation of Chen et al. 2014 and Welling & Teh 2011, ported from SGMCMCJax)
and optax's gradient transformations; this module only maps the learning rate η of the loss per
data point onto their step sizes. With g = ∇_z [log p(z) + (N/B) Σ_batch log p(y_i | z)]:

- SGLD: h = η / N, z ← z + h g + sqrt(2 h T) ε (BlackJAX's overdamped Langevin step).
- SGHMC: h = sqrt(η / N), friction α = a / h, velocity p kept across mini-batches (starting at
  0): p ← (1 − α h) p + h g + sqrt(2 α h T) ε, z ← z + h p (BlackJAX's SGHMC step, momentum
  not refreshed), i.e. with v = h p the familiar v ← (1 − a) v + (η/N) g + sqrt(2 a η T / N) ε.
- MAP: z ← z − η · D(−g_w / N), g_w the gradient of w log p(z) + (N/B) Σ log p(y_i | z) and D
  the optimiser's direction (Adam's, RMSProp's, or the identity for SGD).

T is the temperature (1: the posterior). SG-MCMC draws are not exact posterior draws: the
discretisation and the gradient noise bias them by O(h), and R-hat, ESS and divergence checks
do not apply (:func:`bnn_mogp.diagnostics`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from bnn_mogp.inference.config import MapConfig, SghmcConfig, SgldConfig
from bnn_mogp.inference.minibatch import LogDensityTerms, MinibatchKernel

__all__ = ["sgld_kernel", "sghmc_kernel", "map_kernel", "kernel_of", "SghmcState", "MapState"]

#: MAP's optimiser directions (applied to the gradient of the loss per data point)
_DIRECTIONS = {"adam": optax.scale_by_adam, "sgd": optax.identity, "rmsprop": optax.scale_by_rms}


def _diffusions():
    """``blackjax.sgmcmc.diffusions``, imported when a kernel is built: importing BlackJAX runs
    JAX operations (module-level defaults), which starts JAX's backend and would freeze its
    configuration (e.g. ``jax_num_cpu_devices``) at ``import bnn_mogp``.
    """
    from blackjax.sgmcmc import diffusions

    return diffusions


def _log_posterior(terms: LogDensityTerms):
    return terms.log_prior + terms.log_lik


def sgld_kernel(num_data: int, temperature: float = 1.0) -> MinibatchKernel:
    """SGLD: the state is the position z; step h = η / N."""
    langevin = _diffusions().overdamped_langevin()

    def step(z, key, grad, eta):
        return langevin(key, z, grad, eta / num_data, temperature)

    return MinibatchKernel(lambda z: z, step, lambda z: z, _log_posterior)


class SghmcState(NamedTuple):
    """Position z and velocity p of SGHMC."""

    position: dict
    momentum: dict


def sghmc_kernel(num_data: int, friction: float, temperature: float = 1.0) -> MinibatchKernel:
    """SGHMC with persistent momentum: step h = sqrt(η / N), friction α = a / h."""

    def init(z):
        return SghmcState(z, jax.tree.map(jnp.zeros_like, z))

    def step(state, key, grad, eta):
        h = jnp.sqrt(eta / num_data)
        integrator = _diffusions().sghmc(alpha=friction / h, beta=0)
        return SghmcState(*integrator(key, *state, grad, h, temperature))

    return MinibatchKernel(init, step, lambda s: s.position, _log_posterior)


class MapState(NamedTuple):
    """Position z and the optimiser's state."""

    position: dict
    opt_state: tuple


def map_kernel(num_data: int, optimizer: str, prior_weight: float) -> MinibatchKernel:
    """MAP: the optimiser's direction of the loss per data point, times −η."""
    direction = _DIRECTIONS[optimizer]()

    def step(state, key, grad, eta):
        del key
        loss_grad = jax.tree.map(lambda g: -g / num_data, grad)
        updates, opt_state = direction.update(loss_grad, state.opt_state, state.position)
        z = jax.tree.map(lambda x, u: x - eta * u, state.position, updates)
        return MapState(z, opt_state)

    return MinibatchKernel(
        lambda z: MapState(z, direction.init(z)),
        step,
        lambda s: s.position,
        lambda t: prior_weight * t.log_prior + t.log_lik,
    )


def kernel_of(config, num_data: int) -> MinibatchKernel:
    """The kernel of a :class:`SghmcConfig`, :class:`SgldConfig` or :class:`MapConfig`."""
    if isinstance(config, SghmcConfig):
        return sghmc_kernel(num_data, config.friction, config.temperature)
    if isinstance(config, SgldConfig):
        return sgld_kernel(num_data, config.temperature)
    if isinstance(config, MapConfig):
        return map_kernel(num_data, config.optimizer, config.prior_weight)
    raise TypeError(f"no mini-batch kernel for {config!r}")

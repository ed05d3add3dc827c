"""Prior function draws of a finite network, in chunks so that memory does not grow with draws."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._chunks import map_key_chunks
from bnn_mogp._memory import check_memory
from bnn_mogp._validation import check_width
from bnn_mogp.nn.mlp import MLP, apply, check_inputs, sample_params

__all__ = ["PriorSample", "sample_prior", "sample_prior_functions"]

#: parameters (floats) that one chunk of draws may hold at once
_CHUNK_BUDGET = 2**22


class PriorSample(NamedTuple):
    """Draws from a network prior.

    Attributes:
        functions: (S, N, K) outputs at the inputs.
        max_lambda: (S, L) the largest node variance max_j λ_{l,j} of each hidden layer (placed
            per weight: of the weights into the next layer's first unit, max_j λ_{l,j1}, whose
            law has the same limit P(max ≤ x) → e^{−ρ̄(x)}); NaN for a layer whose prior draws
            its weights directly (``SymmetricStable`` per weight: λ is then a constant scale).
    """

    functions: np.ndarray
    max_lambda: np.ndarray


def _num_params(net: MLP, N: int) -> int:
    return net.num_params + N * sum(net.sizes)


@functools.partial(jax.jit, static_argnames="net")
def _draw_chunk(keys, net: MLP, X):
    def one(key):
        params = sample_params(key, net)
        maxes = [
            (lam if lam.ndim == 1 else lam[:, 0]).max()
            if prior.draws_variances(placement)
            else jnp.nan
            for lam, prior, placement in zip(
                params.lams, net.node_priors, net.placements, strict=True
            )
        ]
        lam_max = jnp.stack(maxes) if maxes else jnp.zeros(0)
        return apply(net, params, X), lam_max

    return jax.vmap(one)(keys)


def sample_prior(
    rng_key,
    net: MLP,
    X,
    num_draws: int,
    *,
    chunk_size: int | None = None,
    progress: bool = False,
) -> PriorSample:
    """Draw ``num_draws`` networks from the prior of ``net`` and evaluate them at X.

    Draws are made ``chunk_size`` at a time (by default as many as fit in a fixed budget of
    2²² parameters and activations), so memory beyond the (S, N, K) result does not grow with
    ``num_draws``. Returns NumPy arrays.
    """
    num_draws = check_width(num_draws, "num_draws")
    X = check_inputs(net, X)
    per_draw = _num_params(net, X.shape[0])
    check_memory(
        2 * per_draw,  # parameters and activations, and a copy in flight
        f"one prior draw of a network with widths {list(net.widths)} at {X.shape[0]} inputs",
        "use smaller widths or fewer inputs",
    )
    if chunk_size is None:
        chunk_size = max(1, min(num_draws, _CHUNK_BUDGET // per_draw))
    chunk_size = check_width(chunk_size, "chunk_size")
    keys = jax.random.split(rng_key, num_draws)
    desc = f"prior draws, widths {net.widths}" if progress else None
    functions, max_lambda = map_key_chunks(
        lambda k: _draw_chunk(k, net, X), keys, chunk_size, progress=desc
    )
    return PriorSample(functions, max_lambda)


def sample_prior_functions(rng_key, net: MLP, X, num_draws: int, **kwargs) -> np.ndarray:
    """Prior function draws of the finite network: an array of shape (num_draws, N, out_dim).

    Keyword arguments are those of :func:`sample_prior`.
    """
    return sample_prior(rng_key, net, X, num_draws, **kwargs).functions

r"""NNGP and NTK kernels of networks whose node priors all have a Gaussian-process limit.

With a_l the drift of hidden layer l's limit (ρ_l = 0; a_l = c for ``Deterministic(c)``), the
NNGP recursion (Neal 1996; Lee et al. 2018) is

.. math::
    K^{(1)}(x, x') &= \sigma_b^2 + \sigma_w^2\, x\cdot x'/d \\
    K^{(l+1)}(x, x') &= \sigma_b^2 + \sigma_w^2\, a_l\, E[\phi(u)\phi(v)],\quad
        (u, v) \sim N\bigl(0, K^{(l)}|_{\{x, x'\}}\bigr)

and the NTK (Jacot et al. 2018) is

.. math::
    \Theta^{(1)} = K^{(1)}, \qquad
    \Theta^{(l+1)} = K^{(l+1)} + \sigma_w^2\, a_l\, E[\phi'(u)\phi'(v)]\, \Theta^{(l)}.

NTK parameterisation: every trainable parameter is a standard normal ω and enters as
W = σ_w ω/sqrt(d) (first layer), V = σ_w sqrt(λ) ω with λ = a_l/n_l (hidden layers; the node
variances are fixed, not trained), b = σ_b ω; Θ(x, x') = Σ_p ∂f(x)/∂ω_p ∂f(x')/∂ω_p in the
infinite-width limit. (The "standard" parameterisation would scale the hidden-layer terms by the
learning-rate convention instead; it has the same NNGP.)

Everything is computed in float64, in blocks of inputs so that memory stays bounded for tens of
thousands of inputs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp.nn import (
    MLP,
    check_inputs,
    first_layer_kernel,
    first_layer_variance,
    layer_kernel,
)

__all__ = ["nngp_kernel", "ntk_kernel", "check_gaussian_limit"]

#: block size for activations whose expectations need quadrature (memory ~ block² × order)
_QUADRATURE_BLOCK = 256


def check_gaussian_limit(net: MLP) -> tuple[float, ...]:
    """The drifts a_l of every hidden layer, after checking that each limit is Gaussian."""
    for l, prior in enumerate(net.node_priors, start=1):
        if not prior.gaussian_limit:
            raise ValueError(
                f"hidden layer {l} has node prior {prior!r}, whose infinite-width limit is a "
                "mixture of Gaussian processes, not a GP: use bnn_mogp.theory.MoGP(net) "
                "(sample_kernels, sample_functions, posterior_predictive) instead"
            )
    return tuple(float(p.limit().drift) for p in net.node_priors)


def _diagonals(net: MLP, drifts, X):
    """K^(l)(x, x) for l = 1..L+1, each of shape (N,)."""
    k = first_layer_variance(net, X)
    out = [k]
    for a in drifts:
        k = layer_kernel(net, a, net.phi.expectation(k, k, k))
        out.append(k)
    return out


@functools.partial(jax.jit, static_argnames=("net", "drifts", "ntk"))
def _block(net: MLP, drifts, ntk: bool, X1, X2, diag1, diag2):
    k = first_layer_kernel(net, X1, X2)
    theta = k
    for a, d1, d2 in zip(drifts, diag1[:-1], diag2[:-1], strict=True):
        k11, k22 = d1[:, None], d2[None, :]
        k_next = layer_kernel(net, a, net.phi.expectation(k11, k, k22))
        if ntk:
            theta = k_next + net.sigma_w**2 * a * net.phi.deriv_expectation(k11, k, k22) * theta
        k = k_next
    return theta if ntk else k


def _kernel(net: MLP, X1, X2, ntk: bool, block_size: int) -> np.ndarray:
    drifts = check_gaussian_limit(net)
    if ntk and net.activation == "step":
        raise ValueError(
            "the NTK is not defined for the step activation (its derivative is a "
            "Dirac delta); use nngp_kernel, or another activation"
        )
    phi = net.phi
    if phi.closed_form is None or (ntk and phi.deriv_closed_form is None):
        block_size = min(block_size, _QUADRATURE_BLOCK)  # each entry costs a 2-D quadrature
    symmetric = X2 is None  # K(X, X): blocks below the diagonal are transposes (exactly)
    with jax.enable_x64(True):
        X1 = check_inputs(net, X1).astype(jnp.float64)
        X2 = X1 if symmetric else check_inputs(net, X2).astype(jnp.float64)
        diag1 = _diagonals(net, drifts, X1)
        diag2 = diag1 if symmetric else _diagonals(net, drifts, X2)
        out = np.empty((X1.shape[0], X2.shape[0]))
        for i in range(0, X1.shape[0], block_size):
            rows = slice(i, i + block_size)
            for j in range(i if symmetric else 0, X2.shape[0], block_size):
                cols = slice(j, j + block_size)
                out[rows, cols] = _block(
                    net,
                    drifts,
                    ntk,
                    X1[rows],
                    X2[cols],
                    [d[rows] for d in diag1],
                    [d[cols] for d in diag2],
                )
                if symmetric and j > i:
                    out[cols, rows] = out[rows, cols].T
    return out


def nngp_kernel(net: MLP, X1, X2=None, *, block_size: int = 2048) -> np.ndarray:
    """The NNGP kernel K^(L+1)(X1, X2) of ``net`` (float64 NumPy array, shape (N1, N2)).

    Every hidden layer's node prior must have a Gaussian limit (``prior.gaussian_limit``);
    otherwise the limit is a mixture of GPs and a ``ValueError`` points to :class:`MoGP`.
    ``X2=None`` means X2 = X1. Computed in blocks of ``block_size`` × ``block_size`` inputs.
    """
    return _kernel(net, X1, X2, ntk=False, block_size=block_size)


def ntk_kernel(net: MLP, X1, X2=None, *, block_size: int = 2048) -> np.ndarray:
    """The infinite-width NTK Θ^(L+1)(X1, X2) of ``net`` in the NTK parameterisation (module doc).

    Same requirements and blocking as :func:`nngp_kernel`.
    """
    return _kernel(net, X1, X2, ntk=True, block_size=block_size)

r"""The infinite-width limit of a network with random node variances: a mixture of GPs (MoGP).

Given the random kernel Σ^(l) of layer l, the next one is (DESIGN §4.1–4.2)

.. math::
    \Sigma^{(l+1)} = \sigma_b^2 11^\top + \sigma_w^2 \Bigl[\bigl(a_l + \textstyle\int_0^{\theta_M}
        w\,\rho_l(dw)\bigr) E_\phi(\Sigma^{(l)}) + \sum_{m \le M} \theta_m\,
        \phi(Z_m)\phi(Z_m)^\top\Bigr],\qquad Z_m \overset{iid}{\sim} N(0, \Sigma^{(l)}),

where θ_1 > … > θ_M are the M largest points of a Poisson process with mean measure ρ_l
(Ferguson–Klass) and E_φ(Σ)_{ij} = E[φ(u)φ(v)] for (u, v) ~ N(0, Σ restricted to {i, j}). The
neglected jumps below θ_M are replaced by their mean (compensated truncation); that added drift,
relative to the layer's total variance a + ∫₀^{θ_M} wρ + Σ θ_m, is reported as the truncation
error. When ρ_l is finite (spike-and-slab) the jumps are drawn exactly: their Poisson number is
never truncated. Given Σ^(L+1) the K outputs are iid GP(0, Σ^(L+1)).

Everything runs in float64. Gaussian draws use eigendecomposition square roots (never NaN on
a kernel that is PSD only up to rounding or quadrature error); draws that are not finite anyway
are counted and reported (:func:`check_finite_draws`).
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from bnn_mogp._chunks import map_key_chunks
from bnn_mogp._validation import check_real, check_width
from bnn_mogp.nn import MLP, check_inputs, first_layer_kernel, layer_kernel
from bnn_mogp.theory.posterior import posterior_predictive

__all__ = [
    "MoGP",
    "KernelDraws",
    "NUM_JUMPS",
    "NonFiniteDrawsWarning",
    "MAX_NONFINITE_RATE",
    "check_finite_draws",
    "jumps_per_layer",
    "mean_truncation_error",
]

#: the largest jumps drawn per layer of an infinite Lévy measure, by default
NUM_JUMPS = 256
#: floats that one chunk of kernel draws may hold at once
_CHUNK_BUDGET = 2**24
#: probability that a finite Lévy measure has more jumps than the sampler makes room for
_POISSON_TAIL = 1e-15


#: largest fraction of non-finite draws that a limit sampler returns (with a warning) instead of
#: raising: the samplers are built to return none, so any is a numerical failure to report
MAX_NONFINITE_RATE = 1e-3


class NonFiniteDrawsWarning(UserWarning):
    """Some draws of a limit sampler are not finite (below :data:`MAX_NONFINITE_RATE`)."""


def check_finite_draws(values: np.ndarray, what: str) -> np.ndarray:
    """Count the draws (leading axis) of ``values`` holding a NaN or an infinity: none passes
    silently, a fraction up to :data:`MAX_NONFINITE_RATE` warns (the draws are returned as they
    are, so that the caller sees them), more raises ``FloatingPointError``.
    """
    values = np.asarray(values)
    bad = int(np.sum(~np.all(np.isfinite(values.reshape(values.shape[0], -1)), axis=1)))
    if bad:
        message = f"{what} draws: {bad} of {values.shape[0]} are not finite (NaN or infinite)"
        if bad > MAX_NONFINITE_RATE * values.shape[0]:
            raise FloatingPointError(
                f"{message}, more than the tolerated {MAX_NONFINITE_RATE:.1%}: a numerical "
                "failure of the sampler; please report it with the network and inputs"
            )
        warnings.warn(f"{message}; they are returned unchanged", NonFiniteDrawsWarning, 2)
    return values


class KernelDraws(NamedTuple):
    """Random kernels of the limit.

    Attributes:
        kernels: (S, N, N) draws of Σ^(L+1).
        truncation: (S, L) per draw and hidden layer, the compensating drift ∫₀^{θ_M} wρ(dw)
            relative to a + ∫₀^{θ_M} wρ + Σ_m θ_m (0 where the jumps are exact).
    """

    kernels: np.ndarray
    truncation: np.ndarray


def _symmetric(K):
    """(K + Kᵀ)/2: exactly symmetric (floating-point addition commutes)."""
    return 0.5 * (K + jnp.swapaxes(K, -1, -2))


def _psd_root(K):
    """A square root R of the covariance K: R = V diag(sqrt(max(w, 0))) from K = V diag(w) Vᵀ,
    so R Rᵀ is the nearest PSD matrix to K in Frobenius norm (Higham 1988). Kernels of
    activations without a closed form are PSD only up to the quadrature error, and deep kernels
    of heavy-tailed layers are nearly singular: a Cholesky factor (even with jitter) can fail
    there and return NaN, this root cannot.
    """
    w, V = jnp.linalg.eigh(_symmetric(K))
    return V * jnp.sqrt(jnp.maximum(w, 0.0))


def mean_kernel_and_root(net: MLP, K):
    """E_φ(Σ) and its square root for a covariance Σ of one layer's pre-activations."""
    K = _symmetric(K)
    diag = jnp.diagonal(K)
    mean_kernel = net.phi.expectation(diag[:, None], K, diag[None, :])
    return mean_kernel, _psd_root(mean_kernel)


def first_layer_parts(net: MLP, X):
    """Σ^(1), E_φ(Σ^(1)) with its square root, and a square root R of Σ^(1) (R Rᵀ = Σ^(1)).
    R = [σ_b 1, σ_w X/sqrt(d)] when d + 1 < N, so that first-layer features cost O(N d M)
    instead of O(N² M).
    """
    K = _symmetric(first_layer_kernel(net, X, X))
    if net.in_dim + 1 < X.shape[0]:
        ones = jnp.full((X.shape[0], 1), net.sigma_b, X.dtype)
        root = jnp.concatenate([ones, net.input_scale * X], axis=1)
    else:
        root = _psd_root(K)
    return K, *mean_kernel_and_root(net, K), root


class LayerLimits:
    """What every infinite-width limit object shares: the network (validated, with at least one
    hidden layer), its layers' Lévy limits, equality and hashing by its settings (equal limits
    share compiled samplers: the jitted methods take ``self`` as a static argument), and the
    jumps and truncation errors per layer. Subclasses name their settings in :meth:`_settings`.
    """

    def __init__(self, net: MLP):
        if not isinstance(net, MLP):
            raise ValueError(f"net must be a bnn_mogp.MLP, got {net!r}")
        if net.depth == 0:
            raise ValueError(
                f"{type(self).__name__} needs at least one hidden layer: a network without hidden "
                "layers is the GP with kernel σ_b² + σ_w² x·x'/d (bnn_mogp.theory.nngp_kernel "
                "computes it)"
            )
        learned = [p for p in net.node_priors if p.learned]
        if learned:
            raise ValueError(
                f"{learned[0]!r} learns a hyper-parameter (a prior on it): its finite network "
                "mixes over that hyper-parameter, while the infinite-width limit here is for fixed "
                "ones; compare the network without the hyper-prior (the value it would be fixed "
                "at is the prior's own field)"
            )
        self.net = net
        self.limits = tuple(p.limit() for p in net.node_priors)

    def _settings(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._settings())
        return f"{type(self).__name__}({self.net!r}{extra})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (self.net, self._settings()) == (
            other.net,
            other._settings(),
        )

    def __hash__(self) -> int:
        return hash((type(self), self.net, self._settings()))

    @property
    def gaussian(self) -> bool:
        """True when every layer's limit is Gaussian: the limit is the NNGP."""
        return all(lim.gaussian for lim in self.limits)

    def num_jumps(self, num_jumps: int) -> tuple[int, ...]:
        """Jumps drawn per layer (:func:`jumps_per_layer`)."""
        return jumps_per_layer(self.limits, num_jumps)

    def truncation_error(
        self, rng_key, num_draws: int = 1000, num_jumps: int = NUM_JUMPS
    ) -> np.ndarray:
        """Mean relative truncation error per hidden layer (shape (L,)) for ``num_jumps`` jumps
        (:func:`mean_truncation_error`; it depends on the jumps only).
        """
        return mean_truncation_error(self.limits, rng_key, num_draws, num_jumps)


class MoGP(LayerLimits):
    """The MoGP limit of ``net`` (sequential limit n_1 → ∞, then n_2 → ∞, …).

    Args:
        net: the network; its widths are ignored, its node priors give the Lévy measures.
        jitter: relative diagonal jitter of the Cholesky factors of the posterior predictive
            (default 1e-10).
    """

    def __init__(self, net: MLP, *, jitter: float = 1e-10):
        super().__init__(net)
        self.jitter = check_real("jitter", jitter, low=0.0, low_open=False)
        if any(p != "node" for p in net.placements):
            raise ValueError(
                f"MoGP is the limit of priors placed per node; this network's placements are "
                f"{net.placements}: use bnn_mogp.theory.PerWeightLimit (or theory.limit_of)"
            )

    def _settings(self) -> tuple:
        return () if self.jitter == 1e-10 else (("jitter", self.jitter),)

    # -- one draw of the random kernel ------------------------------------------------------------
    def _mean_kernel(self, K):
        """E_φ(Σ) and its square root for a covariance Σ of one layer's pre-activations."""
        return mean_kernel_and_root(self.net, K)

    def _first_layer(self, X):
        """:func:`first_layer_parts`: the same for every draw."""
        return first_layer_parts(self.net, X)

    def _last_layer(self, key, first, num_jumps: tuple[int, ...]):
        """One draw of the last layer's parts: Σ^(L+1) = σ_b² 11ᵀ + σ_w² (c E + G Gᵀ) with
        c = a_L + ∫₀^{θ_M} wρ_L, E = E_φ(Σ^(L)), G = φ(Z) diag(sqrt θ). Returns (c, E, a square
        root of E, G, the (L,) relative truncation errors).

        Layer l + 1's pre-activations Z ~ N(0, Σ^(l+1)) are drawn as σ_b ε₀ 1 + σ_w (sqrt(c) R_E ε
        + G ε′), the sum of independent Gaussians whose covariances add up to Σ^(l+1): no
        factor of Σ^(l+1) itself is needed.
        """
        net, phi = self.net, self.net.phi
        K, mean_kernel, mean_root, root = first
        coef: float | jax.Array | None = None
        G: jax.Array | None = None
        truncation: list[jax.Array] = []
        for l, (lim, M) in enumerate(zip(self.limits, num_jumps, strict=True)):
            key, k_jumps, k_z = jax.random.split(key, 3)
            if l > 0:
                assert coef is not None and G is not None  # set by layer l − 1
                ones = jnp.full((K.shape[0], 1), net.sigma_b, K.dtype)
                root = jnp.concatenate(
                    [ones, net.sigma_w * jnp.sqrt(coef) * mean_root, net.sigma_w * G], axis=1
                )
                mean_kernel, mean_root = self._mean_kernel(layer_kernel(net, coef, mean_kernel, G))
            if M == 0:
                coef, G = lim.drift, jnp.zeros((K.shape[0], 0), K.dtype)
                truncation.append(jnp.zeros((), K.dtype))
                continue
            theta = lim.sample_jumps(k_jumps, M)
            exact = math.isfinite(lim.total_mass())
            comp = jnp.zeros((), K.dtype) if exact else lim.small_jump_mean(theta[-1])
            Z = root @ jax.random.normal(k_z, (root.shape[1], M), K.dtype)  # Z_m ~ N(0, Σ^(l))
            G = phi.fn(Z) * jnp.sqrt(theta)
            coef = lim.drift + comp
            total = coef + theta.sum()
            truncation.append(jnp.where(total > 0, comp / total, 0.0))
        return coef, mean_kernel, mean_root, G, jnp.stack(truncation)

    def _kernel_draw(self, key, first, num_jumps: tuple[int, ...]):
        """One draw of Σ^(L+1) and the (L,) relative truncation errors."""
        coef, mean_kernel, _, G, trunc = self._last_layer(key, first, num_jumps)
        return _symmetric(layer_kernel(self.net, coef, mean_kernel, G)), trunc

    @functools.partial(jax.jit, static_argnames=("self", "num_jumps", "num_outputs"))
    def _draw_chunk(self, keys, X, num_jumps, num_outputs):
        first = self._first_layer(X)
        net = self.net

        def one(key):
            k_kernel, k_out = jax.random.split(key)
            if num_outputs is None:
                return self._kernel_draw(k_kernel, first, num_jumps)
            coef, _, mean_root, G, trunc = self._last_layer(k_kernel, first, num_jumps)
            # f = σ_b ε_b + σ_w (sqrt(c) R_E ε + G ε'): as for the hidden layers (_last_layer)
            k_b, k_e, k_g = jax.random.split(k_out, 3)
            dtype = mean_root.dtype
            f = net.sigma_b * jax.random.normal(k_b, (1, num_outputs), dtype)
            f = f + net.sigma_w * jnp.sqrt(coef) * (
                mean_root @ jax.random.normal(k_e, (mean_root.shape[1], num_outputs), dtype)
            )
            f = f + net.sigma_w * G @ jax.random.normal(k_g, (G.shape[1], num_outputs), dtype)
            return f, trunc

        return jax.vmap(one)(keys)

    def _draws(self, rng_key, X, num_draws, num_jumps, num_outputs, progress):
        num_draws = check_width(num_draws, "num_draws")
        num_jumps = check_width(num_jumps, "num_jumps")
        Ms = self.num_jumps(num_jumps)
        with jax.enable_x64(True):
            X = check_inputs(self.net, X).astype(jnp.float64)
            N = X.shape[0]
            per_draw = 4 * N * N + 2 * N * (max(Ms, default=0) + (num_outputs or 0))
            chunk = max(1, min(num_draws, _CHUNK_BUDGET // per_draw))
            keys = jax.random.split(rng_key, num_draws)
            values, trunc = map_key_chunks(
                lambda k: self._draw_chunk(k, X, Ms, num_outputs),
                keys,
                chunk,
                progress="MoGP draws" if progress else None,
            )
        check_finite_draws(values, "MoGP " + ("kernel" if num_outputs is None else "function"))
        return values, trunc

    # -- public ---------------------------------------------------------------------------------
    def sample_kernels(
        self,
        rng_key,
        X,
        num_draws: int,
        num_jumps: int = NUM_JUMPS,
        *,
        return_truncation: bool = False,
        progress: bool = False,
    ):
        """Draws of the random kernel Σ^(L+1) at inputs X: a float64 array (S, N, N).

        Args:
            rng_key: a JAX PRNG key.
            X: inputs (N, in_dim).
            num_draws: S.
            num_jumps: M, the number of largest jumps drawn per layer for infinite Lévy
                measures (finite measures are drawn exactly); the rest is compensated by its mean.
            return_truncation: also return the (S, L) relative truncation errors
                (a :class:`KernelDraws`).
            progress: show a progress bar.
        """
        kernels, trunc = self._draws(rng_key, X, num_draws, num_jumps, None, progress)
        return KernelDraws(kernels, trunc) if return_truncation else kernels

    def sample_functions(
        self,
        rng_key,
        X,
        num_draws: int,
        num_outputs: int | None = None,
        num_jumps: int = NUM_JUMPS,
        *,
        progress: bool = False,
    ) -> np.ndarray:
        """Function draws of the limit at X: (S, N, K) with K = ``num_outputs`` (default: the
        network's ``out_dim``); the K outputs of one draw share one kernel Σ^(L+1).
        """
        num_outputs = check_width(num_outputs or self.net.out_dim, "num_outputs")
        return self._draws(rng_key, X, num_draws, num_jumps, num_outputs, progress)[0]

    def posterior_predictive(
        self,
        rng_key,
        X,
        y,
        X_test,
        noise_std: float,
        num_draws: int = 1000,
        *,
        num_jumps: int = NUM_JUMPS,
        **kwargs,
    ):
        """The MoGP posterior predictive of regression data y = f(X) + N(0, noise_std²) at
        X_test (DESIGN §5); see :func:`bnn_mogp.theory.posterior.posterior_predictive` for the
        keyword arguments and the returned :class:`~bnn_mogp.theory.PosteriorPredictive`.
        """
        return posterior_predictive(
            self, rng_key, X, y, X_test, noise_std, num_draws, num_jumps=num_jumps, **kwargs
        )


def jumps_per_layer(limits, num_jumps: int) -> tuple[int, ...]:
    """Jumps drawn per layer: 0 without jumps; for a finite measure of mass μ, the
    (1 − 1e-15)-quantile of Poisson(μ) (so that the exact number is never cut); otherwise
    ``num_jumps``.
    """
    out = []
    for lim in limits:
        mass = lim.total_mass()
        if mass == 0:
            out.append(0)
        elif math.isfinite(mass):
            out.append(int(stats.poisson(mass).isf(_POISSON_TAIL)) + 1)
        else:
            out.append(num_jumps)
    return tuple(out)


def mean_truncation_error(
    limits, rng_key, num_draws: int = 1000, num_jumps: int = NUM_JUMPS
) -> np.ndarray:
    """Mean relative truncation error per layer (shape (L,)) for ``num_jumps`` jumps.

    For layer l: E[∫₀^{θ_M} wρ(dw) / (a + ∫₀^{θ_M} wρ(dw) + Σ_m θ_m)], by Monte Carlo over
    ``num_draws`` jump sequences (it does not depend on the inputs).
    """
    num_draws = check_width(num_draws, "num_draws")
    Ms = jumps_per_layer(limits, check_width(num_jumps, "num_jumps"))
    out = []
    with jax.enable_x64(True):
        for l, (lim, M) in enumerate(zip(limits, Ms, strict=True)):
            if M == 0 or math.isfinite(lim.total_mass()):
                out.append(0.0)
                continue
            keys = jax.random.split(jax.random.fold_in(rng_key, l), num_draws)
            theta = jax.vmap(lambda k, lim=lim, M=M: lim.sample_jumps(k, M))(keys)
            comp = lim.small_jump_mean(theta[:, -1])
            out.append(float(jnp.mean(comp / (lim.drift + comp + theta.sum(1)))))
    return np.asarray(out)

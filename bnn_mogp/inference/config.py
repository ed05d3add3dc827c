"""Sampler settings: frozen configs holding every default once (DESIGN §6.2, §16).

:func:`bnn_mogp.fit`, the spec parser of ``bnn-mogp`` and the finite-vs-limit comparisons all
build their NUTS, SVI, SG-MCMC or MAP settings from these classes, so a default lives in exactly
one place.
Each config checks its fields when it is made and names the bad value and the allowed range.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from bnn_mogp._validation import check_bool, check_choice, check_integer, check_real

__all__ = [
    "NutsConfig",
    "SviConfig",
    "SghmcConfig",
    "SgldConfig",
    "MapConfig",
    "CONFIGS",
    "MINIBATCH_METHODS",
    "CHAIN_METHODS",
    "GUIDES",
    "SCHEDULES",
    "OPTIMIZERS",
    "make_config",
]

#: how several NUTS chains run: one after the other, vectorised in one program, or one per device
CHAIN_METHODS = ("sequential", "vectorized", "parallel")
#: SVI guides: mean-field Gaussian, low-rank multivariate Gaussian, point mass (MAP)
GUIDES = ("normal", "lowrank", "delta")
#: learning-rate schedules of the mini-batch methods (:func:`bnn_mogp.inference.minibatch.schedule`)
SCHEDULES = ("constant", "cosine")
#: optax optimisers of MAP
OPTIMIZERS = ("adam", "sgd", "rmsprop")


class _Config:
    method: ClassVar[str]

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    def as_dict(self) -> dict:
        """The settings with the method's name, as plain JSON-able data."""
        return {"method": self.method, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class NutsConfig(_Config):
    """NUTS settings (NumPyro's sampler, run in chunks by :func:`bnn_mogp.inference.run_nuts`).

    Args:
        num_warmup: adaptation transitions per chain (≥ 1; step size and diagonal or dense
            mass matrix, NumPyro's windowed scheme; without any, NUTS keeps its initial step
            size and unit mass matrix).
        num_samples: draws kept per chain (≥ 1).
        num_chains: chains (≥ 1).
        chain_method: one of :data:`CHAIN_METHODS`.
        target_accept: target mean acceptance probability of the step-size adaptation, in (0, 1).
        max_tree_depth: the largest trajectory is 2^max_tree_depth leapfrog steps, in [1, 31).
        dense_mass: adapt a dense instead of a diagonal mass matrix.
    """

    method: ClassVar[str] = "nuts"
    num_warmup: int = 500
    num_samples: int = 500
    num_chains: int = 2
    chain_method: str = "sequential"
    target_accept: float = 0.8
    max_tree_depth: int = 10
    dense_mass: bool = False

    def __post_init__(self):
        self._set("num_warmup", check_integer("num_warmup", self.num_warmup, 1))
        self._set("num_samples", check_integer("num_samples", self.num_samples, 1))
        self._set("num_chains", check_integer("num_chains", self.num_chains, 1))
        self._set("chain_method", check_choice("chain_method", self.chain_method, CHAIN_METHODS))
        self._set("target_accept", check_real("target_accept", self.target_accept, low=0, high=1))
        self._set("max_tree_depth", check_integer("max_tree_depth", self.max_tree_depth, 1, 31))
        self._set("dense_mass", check_bool("dense_mass", self.dense_mass))


@dataclasses.dataclass(frozen=True)
class SviConfig(_Config):
    """SVI settings (:func:`bnn_mogp.inference.run_svi`).

    Args:
        guide: one of :data:`GUIDES`.
        learning_rate: Adam's initial step size (> 0), decaying tenfold over the run.
        num_steps: optimisation steps (≥ 1).
        num_particles: Monte Carlo samples per ELBO gradient (≥ 1).
        num_samples, num_chains: ``num_samples`` × ``num_chains`` independent draws are taken
            from the fitted guide, split into ``num_chains`` pseudo-chains only for their shape
            (R-hat means nothing there).
        batch_size: None for full-data gradients; else each step sees a mini-batch of this many
            rows (an epoch's permutation, the incomplete last batch dropped) and the
            log-likelihood is scaled by N / batch_size, an unbiased ELBO estimate.
    """

    method: ClassVar[str] = "svi"
    guide: str = "normal"
    learning_rate: float = 0.01
    num_steps: int = 5000
    num_particles: int = 1
    num_samples: int = 500
    num_chains: int = 2
    batch_size: int | None = None

    def __post_init__(self):
        self._set("guide", check_choice("guide", self.guide, GUIDES))
        if self.batch_size is not None:
            self._set("batch_size", check_integer("batch_size", self.batch_size, 1))
        self._set("learning_rate", check_real("learning_rate", self.learning_rate, low=0))
        self._set("num_steps", check_integer("num_steps", self.num_steps, 1))
        self._set("num_particles", check_integer("num_particles", self.num_particles, 1))
        self._set("num_samples", check_integer("num_samples", self.num_samples, 1))
        self._set("num_chains", check_integer("num_chains", self.num_chains, 1))


@dataclasses.dataclass(frozen=True)
class _MinibatchConfig(_Config):
    """Settings shared by the mini-batch methods (SG-MCMC and MAP): epochs over the data in
    mini-batches of ``batch_size`` rows (a fresh permutation each epoch, the incomplete last
    batch dropped: ⌊N / batch_size⌋ steps per epoch), each step's log-likelihood scaled by
    N / batch_size, the learning rate following ``schedule`` over all steps.
    """

    batch_size: int = 100
    epochs: int = 100
    learning_rate: float = 0.5
    schedule: str = "cosine"
    final_learning_rate: float = 0.2
    num_chains: int = 1

    def __post_init__(self):
        self._set("batch_size", check_integer("batch_size", self.batch_size, 1))
        self._set("epochs", check_integer("epochs", self.epochs, 1))
        self._set("learning_rate", check_real("learning_rate", self.learning_rate, low=0))
        self._set("schedule", check_choice("schedule", self.schedule, SCHEDULES))
        self._set(
            "final_learning_rate",
            check_real(
                "final_learning_rate",
                self.final_learning_rate,
                low=0,
                high=1,
                low_open=False,
                high_open=False,
            ),
        )
        self._set("num_chains", check_integer("num_chains", self.num_chains, 1))


@dataclasses.dataclass(frozen=True)
class _SgmcmcConfig(_MinibatchConfig):
    """Stochastic-gradient MCMC settings (:mod:`bnn_mogp.inference.sgmcmc`): the learning
    rate η is that of the loss per data point, U(θ)/N with U the negative log posterior.

    Args:
        batch_size, epochs, schedule, num_chains: as in the mini-batch methods (chains are
            independent runs with their own batch orders).
        learning_rate: η at the start (> 0).
        final_learning_rate: with ``"cosine"``, η decays as
            η_t = η (f + (1 − f)(1 + cos(π t / T)) / 2) to the fraction f (in [0, 1]).
        burn_in: epochs whose draws are discarded (default: half of ``epochs``).
        thinning: steps between kept draws (default: one draw per epoch, at its end).
        temperature: T of the tempered posterior p(θ | D)^{1/T} (1: the posterior).
    """

    burn_in: int | None = None
    thinning: int | None = None
    temperature: float = 1.0

    @property
    def burn_in_epochs(self) -> int:
        """The burn-in in epochs: ``burn_in``, or half of ``epochs`` when it is None."""
        return self.epochs // 2 if self.burn_in is None else self.burn_in

    def __post_init__(self):
        super().__post_init__()
        if self.burn_in is not None:
            self._set("burn_in", check_integer("burn_in", self.burn_in, 0, self.epochs))
        if self.thinning is not None:
            self._set("thinning", check_integer("thinning", self.thinning, 1))
        self._set("temperature", check_real("temperature", self.temperature, low=0))


@dataclasses.dataclass(frozen=True)
class SghmcConfig(_SgmcmcConfig):
    """SGHMC (Chen, Fox & Guestrin 2014), momentum kept across mini-batches: with
    g = ∇ log p̂(θ | batch) (N/B-scaled likelihood), per step
    v ← (1 − a) v + (η / N) g + sqrt(2 a η T / N) ε,  θ ← θ + v.
    This is BlackJAX's SGHMC diffusion with step h = sqrt(η / N) and friction α = a / h (its
    velocity p = v / h).

    Args:
        batch_size, epochs, learning_rate, schedule, final_learning_rate, burn_in, thinning,
            temperature, num_chains: as in every SG-MCMC method (``_SgmcmcConfig``).
        friction: a ∈ (0, 1], the momentum's decay per step (1 − a is the momentum term).
    """

    method: ClassVar[str] = "sghmc"
    friction: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        self._set("friction", check_real("friction", self.friction, low=0, high=1, high_open=False))


@dataclasses.dataclass(frozen=True)
class SgldConfig(_SgmcmcConfig):
    """SGLD (Welling & Teh 2011): BlackJAX's overdamped Langevin step with h = η / N,
    θ ← θ + (η / N) g + sqrt(2 η T / N) ε, g = ∇ log p̂(θ | batch) (N/B-scaled likelihood).
    Fields: those of every SG-MCMC method (``_SgmcmcConfig``: batch_size, epochs,
    learning_rate, schedule, final_learning_rate, burn_in, thinning, temperature, num_chains).
    """

    method: ClassVar[str] = "sgld"
    learning_rate: float = 0.01


@dataclasses.dataclass(frozen=True)
class MapConfig(_MinibatchConfig):
    """MAP: an optax optimiser on the loss per data point
    L(θ) = −(1/N)[(N/B) Σ_batch log p(y_i | θ) + w log p(θ)], θ the model's unconstrained
    parameters (log λ, raw weights, …; the prior term includes the log-Jacobian, so this is the
    mode of their density), w = ``prior_weight``.

    Args:
        batch_size, epochs, schedule, final_learning_rate: as in the mini-batch methods.
        learning_rate: the optimiser's initial step size (> 0).
        optimizer: one of :data:`OPTIMIZERS`.
        prior_weight: w ≥ 0 (1: the posterior mode; 0: maximum likelihood).
        num_chains: independent restarts (each a point estimate of its own).
    """

    method: ClassVar[str] = "map"
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    prior_weight: float = 1.0
    final_learning_rate: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        self._set("optimizer", check_choice("optimizer", self.optimizer, OPTIMIZERS))
        self._set(
            "prior_weight", check_real("prior_weight", self.prior_weight, low=0, low_open=False)
        )


#: method name → its config class
CONFIGS: dict[str, Any] = {
    "nuts": NutsConfig,
    "svi": SviConfig,
    "sghmc": SghmcConfig,
    "sgld": SgldConfig,
    "map": MapConfig,
}
#: methods that see the data in mini-batches (explicit model, log-likelihood scaled by N / B)
MINIBATCH_METHODS = ("sghmc", "sgld", "map")


def make_config(method: str, config=None, **settings):
    """The config of ``method`` (a key of :data:`CONFIGS`): ``config`` (default: the class's
    defaults) with the fields in ``settings`` replaced. A setting that ``method`` does not have
    raises a ``ValueError`` listing the ones it has.
    """
    if method not in CONFIGS:
        raise ValueError(f"method must be one of {', '.join(CONFIGS)}, got {method!r}")
    cls = CONFIGS[method]
    if config is None:
        config = cls()
    elif not isinstance(config, cls):
        raise ValueError(f"config must be a {cls.__name__} for method {method!r}, got {config!r}")
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} is not a setting of method {method!r}; its settings: "
            f"{', '.join(fields)}"
        )
    return dataclasses.replace(config, **settings) if settings else config

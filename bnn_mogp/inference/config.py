"""Sampler settings: frozen configs holding every default once (DESIGN §6.2).

:func:`bnn_mogp.fit`, the spec parser of ``bnn-mogp`` and the finite-vs-limit comparisons all
build their NUTS or SVI settings from these classes, so a default lives in exactly one place.
Each config checks its fields when it is made and names the bad value and the allowed range.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from bnn_mogp._validation import check_bool, check_choice, check_integer, check_real

__all__ = ["NutsConfig", "SviConfig", "CONFIGS", "CHAIN_METHODS", "GUIDES", "make_config"]

#: how several NUTS chains run: one after the other, vectorised in one program, or one per device
CHAIN_METHODS = ("sequential", "vectorized", "parallel")
#: SVI guides: mean-field Gaussian, low-rank multivariate Gaussian, point mass (MAP)
GUIDES = ("normal", "lowrank", "delta")


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
    """

    method: ClassVar[str] = "svi"
    guide: str = "normal"
    learning_rate: float = 0.01
    num_steps: int = 5000
    num_particles: int = 1
    num_samples: int = 500
    num_chains: int = 2

    def __post_init__(self):
        self._set("guide", check_choice("guide", self.guide, GUIDES))
        self._set("learning_rate", check_real("learning_rate", self.learning_rate, low=0))
        self._set("num_steps", check_integer("num_steps", self.num_steps, 1))
        self._set("num_particles", check_integer("num_particles", self.num_particles, 1))
        self._set("num_samples", check_integer("num_samples", self.num_samples, 1))
        self._set("num_chains", check_integer("num_chains", self.num_chains, 1))


#: method name → its config class
CONFIGS: dict[str, type[NutsConfig] | type[SviConfig]] = {"nuts": NutsConfig, "svi": SviConfig}


def make_config(method: str, config=None, **settings):
    """The config of ``method`` (``"nuts"`` or ``"svi"``): ``config`` (default: the class's
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

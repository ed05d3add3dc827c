"""Node-variance priors: each gives its law at width n and its infinite-width Lévy limit.

A family is one module of this package: a :class:`NodePrior` subclass with a ``family`` name
registers itself in :data:`FAMILIES` (so specs and :func:`make_prior` know it) when its module
is imported, and every module here is imported below.
"""

from __future__ import annotations

import importlib
import pkgutil

from bnn_mogp.priors.base import FAMILIES, PLACEMENTS, NodePrior, variance_shape
from bnn_mogp.priors.beta import Beta
from bnn_mogp.priors.deterministic import Deterministic
from bnn_mogp.priors.gamma import Gamma
from bnn_mogp.priors.gaussian_mixture import GaussianMixture
from bnn_mogp.priors.horseshoe import Horseshoe
from bnn_mogp.priors.inverse_gamma import InverseGamma
from bnn_mogp.priors.levy import BetaLevy, GammaLevy, Levy, NoJumps, PointMassLevy, StableLevy
from bnn_mogp.priors.stable import StableLike
from bnn_mogp.priors.stable_weights import (
    KanterConditional,
    PositiveStable,
    SymmetricStable,
    sample_symmetric_stable,
)

__all__ = [
    "NodePrior",
    "Deterministic",
    "InverseGamma",
    "Horseshoe",
    "StableLike",
    "GaussianMixture",
    "Beta",
    "Gamma",
    "SymmetricStable",
    "PositiveStable",
    "KanterConditional",
    "sample_symmetric_stable",
    "PLACEMENTS",
    "variance_shape",
    "Levy",
    "NoJumps",
    "StableLevy",
    "PointMassLevy",
    "BetaLevy",
    "GammaLevy",
    "FAMILIES",
    "make_prior",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def make_prior(family: str, **params) -> NodePrior:
    """Build a prior from its family name and hyper-parameters, with errors naming what is wrong."""
    if family not in FAMILIES:
        raise ValueError(f"unknown prior family {family!r}; allowed: {', '.join(sorted(FAMILIES))}")
    cls = FAMILIES[family]
    allowed = [f.name for f in cls.__dataclass_fields__.values()]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown parameter {unknown[0]!r} for prior {family!r}; allowed: {', '.join(allowed)}"
        )
    return cls(**params)

"""Model specification files (TOML): a network, its node priors and the settings of each command.

A spec file looks like::

    name = "horseshoe"                 # optional; default: the file's stem
    description = "one line"           # optional

    [network]
    in_dim = 1                         # default 1
    widths = [256]                     # required: hidden widths n_1..n_L
    out_dim = 1                        # default 1
    activation = "relu"                # default relu; a key of bnn_mogp.nn.ACTIVATIONS
    sigma_w = 1.0                      # default 1
    sigma_b = 0.0                      # default 0

    [prior]                            # one table for every hidden layer, or [[prior]] tables,
    family = "horseshoe"               # one per hidden layer; family: a key of
    scale = 1.0                        # bnn_mogp.priors.FAMILIES; the other fields are the
                                       # prior class's hyper-parameters, and
    placement = "node"                 # "node" (default: one λ per node) or "weight" (one λ
                                       # per outgoing weight, DESIGN §15)

    [prior_check]                      # settings of `bnn-mogp prior`; all optional
    widths = [10, 100, 1000]
    num_draws = 2000
    x_min = -3.0
    x_max = 3.0
    num_inputs = 61
    seed = 0

    [data]                             # settings of `bnn-mogp fit`; all optional
    source = "builtin:diabetes"        # builtin:NAME, or a .csv / .npz path (relative paths are
    target = "y"                       #   relative to the spec file); target: CSV column
    test_fraction = 0.2
    seed = 0                           # of the split
    max_train = 500                    # subsample the training split
    split = "random"                   # or "ordered": the last rows are the test set
    features = ["age", "bmi"]          # input columns (default: all but the target)
    test_source = "test.csv"           # a test file instead of a split

    [likelihood]
    family = "gaussian"                # or "student_t", …; default: the data's own (bnn_mogp.data)
    df = 4.0                           # student_t only: degrees of freedom (default 4)
    noise_std = 0.1                    # fixed noise scale (standardised units); default: a prior
    noise_scale = 1.0                  # sigma ~ HalfNormal(noise_scale)
    collapsed = true                   # integrate the output layer out while sampling
                                       #   (default: on for gaussian; see bnn_mogp.fit)

    [inference]
    method = "nuts"                    # or "svi", "sghmc", "sgld", "map" (DESIGN §16)
    num_warmup = 500                   # NUTS: num_warmup, num_samples, num_chains,
    num_samples = 500                  #   chain_method, target_accept, max_tree_depth,
    num_chains = 2                     #   dense_mass
    guide = "normal"                   # SVI: guide, learning_rate, num_steps, num_particles,
                                       #   batch_size (mini-batches; default: all rows)
    batch_size = 100                   # SGHMC / SGLD / MAP: batch_size, epochs, learning_rate,
    epochs = 100                       #   schedule ("cosine", "constant"), final_learning_rate,
                                       #   num_chains; SG-MCMC: burn_in (epochs), thinning
                                       #   (steps), temperature; SGHMC: friction; MAP:
                                       #   optimizer ("adam", "sgd", "rmsprop"), prior_weight
    seed = 0                           # of the sampler
    num_prior_draws = 200
    chunk_size = 50                    # transitions (SVI: steps) between checkpoints; the
                                       #   mini-batch methods checkpoint every epoch

``bnn-mogp fit`` takes ``in_dim`` and ``out_dim`` from the data (they matter only to
``bnn-mogp prior``). The table ``[compare]`` is reserved for a later command: it is accepted and
kept, unparsed, in :attr:`Spec.raw`. Any other table or field is an error (it is most likely a
typo). Every error is a :class:`SpecError` with a one-line message that names the file, the table
and field, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, overload

from bnn_mogp._io import read_error
from bnn_mogp._validation import check_bool, check_integer, check_real, check_width
from bnn_mogp.data import BUILTINS, SPLITS
from bnn_mogp.inference import CHAIN_METHODS, CONFIGS, GUIDES, NutsConfig
from bnn_mogp.likelihoods import DEFAULT_DF, LIKELIHOODS
from bnn_mogp.nn import ACTIVATIONS, MLP
from bnn_mogp.priors import FAMILIES, PLACEMENTS, NodePrior, make_prior
from bnn_mogp.studies.posterior import LIMITS, CompareConfig

__all__ = [
    "Spec",
    "PriorCheckSettings",
    "DataSettings",
    "LikelihoodSettings",
    "InferenceSettings",
    "SpecError",
    "load_spec",
    "CompareSettings",
]

_TOP_FIELDS = ("name", "description")
_TABLES = ("network", "prior", "prior_check", "data", "likelihood", "inference", "compare")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

#: smallest number of draws for which quantiles and tail estimates mean something
MIN_DRAWS = 10


class SpecError(ValueError):
    """A specification file is missing, unreadable or invalid; the message is one line."""


@dataclasses.dataclass(frozen=True)
class PriorCheckSettings:
    """Settings of the prior-predictive check (``bnn-mogp prior``).

    Inputs are the grid t_1..t_N of ``num_inputs`` equally spaced points in [x_min, x_max],
    mapped to x = t·(1, …, 1) ∈ R^d; the reference input for marginal statistics is t = x_max.

    Args:
        widths: hidden widths to compare (every hidden layer gets the same width).
        num_draws: prior draws per width (≥ 10).
        x_min, x_max: range of t, x_min < x_max.
        num_inputs: grid size N ≥ 2.
        seed: integer seed in [0, 2³²).
    """

    widths: tuple[int, ...] = (10, 100, 1000)
    num_draws: int = 2000
    x_min: float = -3.0
    x_max: float = 3.0
    num_inputs: int = 61
    seed: int = 0

    def __post_init__(self):
        widths = self.widths
        if isinstance(widths, numbers.Integral):
            widths = (widths,)
        if not isinstance(widths, tuple | list) or not widths:
            raise ValueError(f"widths must be a non-empty list of integers >= 1, got {widths!r}")
        widths = tuple(check_width(n, f"widths[{i}]") for i, n in enumerate(widths))
        object.__setattr__(self, "widths", widths)
        num_draws = check_width(self.num_draws, "num_draws")
        if num_draws < MIN_DRAWS:
            raise ValueError(f"num_draws must be an integer >= {MIN_DRAWS}, got {num_draws}")
        object.__setattr__(self, "num_draws", num_draws)
        x_min = check_real("x_min", self.x_min)
        x_max = check_real("x_max", self.x_max)
        if not x_min < x_max:
            raise ValueError(f"x_min must be < x_max, got x_min = {x_min:g}, x_max = {x_max:g}")
        object.__setattr__(self, "x_min", x_min)
        object.__setattr__(self, "x_max", x_max)
        num_inputs = check_width(self.num_inputs, "num_inputs")
        if num_inputs < 2:
            raise ValueError(f"num_inputs must be an integer >= 2, got {num_inputs}")
        object.__setattr__(self, "num_inputs", num_inputs)
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        object.__setattr__(self, "seed", int(seed))


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """``[data]``: the arguments of :func:`bnn_mogp.data.load_data` (``source`` already resolved
    against the spec file's folder).
    """

    source: str = "builtin:synthetic"
    target: str | None = None
    test_fraction: float = 0.2
    seed: int = 0
    max_train: int | None = None
    split: str = "random"
    features: tuple[str, ...] | None = None
    test_source: str | None = None


@dataclasses.dataclass(frozen=True)
class LikelihoodSettings:
    """``[likelihood]``: ``family`` (None: the data's own; :mod:`bnn_mogp.likelihoods`), a fixed
    ``noise_std`` or the scale of the HalfNormal prior on the noise scale, the ``collapsed`` last
    layer (None: the default of :func:`bnn_mogp.fit`, on for a Gaussian likelihood) and the
    degrees of freedom ``df`` of ``family = "student_t"`` (None: the default, 4).
    """

    family: str | None = None
    noise_std: float | None = None
    noise_scale: float = 1.0
    collapsed: bool | None = None
    df: float | None = None


@dataclasses.dataclass(frozen=True)
class InferenceSettings:
    """``[inference]``: the method's config (its class in
    :data:`~bnn_mogp.inference.CONFIGS`, chosen by ``method``, whose fields the table sets),
    the sampler's ``seed``, ``num_prior_draws`` and ``chunk_size`` of :func:`bnn_mogp.fit`, and
    NUTS sampling until every validity gate passes (``until_converged``; budget ``max_samples``
    draws per chain, default 8 × num_samples, and/or ``max_minutes``;
    :func:`bnn_mogp.sample_until_converged`).
    """

    config: Any = NutsConfig()
    seed: int = 0
    num_prior_draws: int = 200
    chunk_size: int | None = None
    until_converged: bool = False
    max_samples: int | None = None
    max_minutes: float | None = None

    @property
    def method(self) -> str:
        """The method's name, a key of :data:`bnn_mogp.inference.CONFIGS`."""
        return self.config.method


@dataclasses.dataclass(frozen=True)
class CompareSettings:
    """``[compare]``: settings of ``bnn-mogp compare``: the comparison's
    :class:`~bnn_mogp.studies.CompareConfig` (its fields, in the same table), and
    ``max_train`` / ``max_test``: subsample the data's splits (seeded) to keep the N × N algebra
    of the limit and the fits at every width affordable (0 in the file, None here: all);
    ``noise_std``: a fixed noise shared by both sides (None: the ``[likelihood] noise_std``, and
    if that is unset too, the HalfNormal(``[likelihood] noise_scale``) prior on both sides);
    ``seed``.
    """

    config: CompareConfig = CompareConfig()
    max_train: int | None = 100
    max_test: int | None = 50
    noise_std: float | None = None
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Spec:
    """A parsed model specification.

    Attributes:
        name: short name (letters, digits, ``_.-``), used for default output folders.
        description: one line.
        net: the network with its node priors (hidden widths from ``[network] widths``).
        prior_check: settings of ``bnn-mogp prior``.
        data, likelihood, inference: settings of ``bnn-mogp fit``.
        compare: settings of ``bnn-mogp compare``.
        raw: the parsed TOML document, including the reserved tables not parsed yet.
        path: the file it was read from (None when built in code).
    """

    name: str
    description: str
    net: MLP
    prior_check: PriorCheckSettings = PriorCheckSettings()
    data: DataSettings = DataSettings()
    likelihood: LikelihoodSettings = LikelihoodSettings()
    inference: InferenceSettings = InferenceSettings()
    compare: CompareSettings = CompareSettings()
    raw: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    path: Path | None = dataclasses.field(default=None, compare=False)


# --------------------------------------------------------------------------------------------------
# field access with located, one-line errors


class _Table:
    """One TOML table, with typed getters whose errors name the file, the table and the field."""

    def __init__(self, source: str, where: str, data: dict):
        self.source = source
        self.where = where  # "[network]", "[[prior]] (hidden layer 2)", "" for the top level
        self.data = data

    def error(self, message: str) -> SpecError:
        where = f"{self.where} " if self.where else ""
        return SpecError(f"{self.source}: {where}{_one_line(message)}")

    def check_fields(self, allowed, required=()) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.error(f"unknown field {key!r}; allowed fields: {', '.join(allowed)}")
        for key in required:
            if key not in self.data:
                raise self.error(f"missing required field {key!r}")

    def real(self, key: str, default: float, **bounds) -> float:
        value = self.data.get(key, default)
        try:
            return check_real(key, value, **bounds)
        except ValueError as e:
            raise self.error(str(e)) from None

    def integer(self, key: str, default: int, low: int = 1, high: int | None = None) -> int:
        try:
            return check_integer(key, self.data.get(key, default), low, high)
        except ValueError as e:
            raise self.error(str(e)) from None

    def string(self, key: str, default: str | None = None, choices=None) -> str:
        if key not in self.data and default is None:
            raise self.error(f"missing required field {key!r}")
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self.error(f"{key} must be a string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(f"{key} = {value!r} is not one of: {', '.join(sorted(choices))}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        try:
            return check_bool(key, self.data.get(key, default))
        except ValueError as e:
            raise self.error(str(e)) from None

    def int_list(self, key: str, default=None, low: int = 1) -> tuple[int, ...]:
        if key not in self.data and default is None:
            raise self.error(f"missing required field {key!r}")
        value = self.data.get(key, default)
        if not isinstance(value, list | tuple) or not value:
            raise self.error(f"{key} must be a non-empty list of integers >= {low}, got {value!r}")
        for i, n in enumerate(value):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < low:
                raise self.error(f"{key}[{i}] must be an integer >= {low}, got {n!r}")
        return tuple(int(n) for n in value)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


@overload
def _sub_table(top: _Table, key: str, *, required: Literal[True]) -> dict: ...
@overload
def _sub_table(top: _Table, key: str, *, required: bool) -> dict | None: ...
def _sub_table(top: _Table, key: str, *, required: bool) -> dict | None:
    if key not in top.data:
        if required:
            raise top.error(f"missing required table [{key}]")
        return None
    value = top.data[key]
    if not isinstance(value, dict):
        raise top.error(f"{key} must be a table [{key}], got {value!r}")
    return value


# --------------------------------------------------------------------------------------------------
# the tables


def _parse_prior_table(table: _Table, placement: bool = False):
    """The prior of a [prior] table; with ``placement`` also its ``placement`` field."""
    if "family" not in table.data:
        raise table.error(
            f"missing required field 'family'; allowed families: {', '.join(sorted(FAMILIES))}"
        )
    family = table.string("family", choices=FAMILIES)
    extra = ("family", "placement") if placement else ("family",)
    params = {k: v for k, v in table.data.items() if k not in extra}
    cls = FAMILIES[family]
    allowed = [f.name for f in dataclasses.fields(cls)]
    for key in params:
        if key not in allowed:
            raise table.error(
                f"unknown field {key!r} for family {family!r}; allowed fields: "
                f"{', '.join([*extra, *allowed])}"
            )
    try:
        prior = make_prior(family, **params)
    except (ValueError, TypeError) as e:
        raise table.error(str(e)) from None
    if placement:
        return prior, table.string("placement", "node", choices=PLACEMENTS)
    return prior


def _parse_priors(source: str, top: _Table, depth: int):
    """(the prior or one per hidden layer, the placement or one per hidden layer)."""
    if "prior" not in top.data:
        raise top.error(
            "missing required table [prior] (one table for every hidden layer, or one [[prior]] "
            "table per hidden layer)"
        )
    value = top.data["prior"]
    if isinstance(value, dict):
        return _parse_prior_table(_Table(source, "[prior]", value), placement=True)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        if len(value) != depth:
            raise top.error(
                f"[[prior]] has {len(value)} tables but [network] widths has {depth} hidden "
                f"layer(s); give one [prior] table, or one [[prior]] table per hidden layer"
            )
        pairs = [
            _parse_prior_table(
                _Table(source, f"[[prior]] (hidden layer {i + 1})", v), placement=True
            )
            for i, v in enumerate(value)
        ]
        return tuple(p for p, _ in pairs), tuple(pl for _, pl in pairs)
    raise top.error(f"prior must be a table [prior] or an array of tables [[prior]], got {value!r}")


def _parse_network(source: str, data: dict, node_prior, placement) -> MLP:
    table = _Table(source, "[network]", data)
    try:
        return MLP(
            in_dim=table.integer("in_dim", 1),
            widths=table.int_list("widths"),
            out_dim=table.integer("out_dim", 1),
            activation=table.string("activation", "relu", choices=ACTIVATIONS),
            node_prior=node_prior,
            sigma_w=table.real("sigma_w", 1.0, low=0.0),
            sigma_b=table.real("sigma_b", 0.0, low=0.0, low_open=False),
            placement=placement,
        )
    except SpecError:
        raise
    except ValueError as e:  # e.g. a width that the prior's law does not allow
        raise table.error(f"widths = {list(table.data['widths'])}: {e}") from None


def _parse_prior_check(source: str, data: dict | None, net: MLP) -> PriorCheckSettings:
    defaults = PriorCheckSettings()
    table = _Table(source, "[prior_check]", data or {})
    table.check_fields([f.name for f in dataclasses.fields(PriorCheckSettings)])
    widths = table.int_list("widths", defaults.widths)
    for n in widths:
        try:
            net.with_width(n)
        except ValueError as e:
            raise table.error(
                f"widths contains {n}, which this network does not allow: {e}"
            ) from None
    x_min = table.real("x_min", defaults.x_min)
    x_max = table.real("x_max", defaults.x_max)
    if not x_min < x_max:
        raise table.error(f"x_min must be < x_max, got x_min = {x_min:g}, x_max = {x_max:g}")
    if x_max == 0.0 and net.sigma_b == 0.0:
        raise table.error(
            "x_max = 0 is the reference input, where every output is 0 when [network] "
            "sigma_b = 0; choose x_max != 0"
        )
    try:
        return PriorCheckSettings(
            widths=widths,
            num_draws=table.integer("num_draws", defaults.num_draws, low=MIN_DRAWS),
            x_min=x_min,
            x_max=x_max,
            num_inputs=table.integer("num_inputs", defaults.num_inputs, low=2),
            seed=table.integer("seed", defaults.seed, low=0, high=2**32),
        )
    except ValueError as e:  # pragma: no cover - every field was checked above
        raise table.error(str(e)) from None


def _parse_data(source: str, data: dict | None, base: Path | None) -> DataSettings:
    table = _Table(source, "[data]", data or {})
    table.check_fields([f.name for f in dataclasses.fields(DataSettings)])
    default = DataSettings()
    where = data_source(table, default.source, BUILTINS, base)
    test_source = None
    if "test_source" in table.data:
        test_source = table.string("test_source")
        if not test_source.lower().endswith((".csv", ".npz")):
            raise table.error(f"test_source = {test_source!r} must end in .csv or .npz")
        if where == "builtin:synthetic":
            raise table.error("test_source does not apply to builtin:synthetic (it has its own)")
        if base is not None and not Path(test_source).is_absolute():
            test_source = str(base / test_source)
    return DataSettings(
        source=where,
        target=table.string("target") if "target" in table.data else None,
        test_fraction=table.real("test_fraction", default.test_fraction, low=0.0, high=1.0),
        seed=table.integer("seed", default.seed, low=0, high=2**32),
        max_train=table.integer("max_train", 1) if "max_train" in table.data else None,
        split=table.string("split", default.split, choices=SPLITS),
        features=_features(table),
        test_source=test_source,
    )


def data_source(table: _Table, default: str, builtins, base: Path | None) -> str:
    """The table's ``source``: ``builtin:NAME`` with NAME in ``builtins``, or a .csv / .npz
    path, resolved against ``base`` (the spec file's folder) when relative.
    """
    where = table.string("source", default)
    if where.startswith("builtin:"):
        if where[len("builtin:") :] not in builtins:
            raise table.error(
                f"source = {where!r} is not one of: {', '.join('builtin:' + b for b in builtins)}"
            )
    elif not where.lower().endswith((".csv", ".npz")):
        raise table.error(
            f"source = {where!r} must be builtin:NAME or a path ending in .csv or .npz"
        )
    elif base is not None and not Path(where).is_absolute():
        where = str(base / where)
    return where


def _features(table) -> tuple[str, ...] | None:
    value = table.data.get("features")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise table.error(f"features = {value!r} must be a non-empty list of column names")
    return tuple(value)


def _parse_likelihood(source: str, data: dict | None) -> LikelihoodSettings:
    table = _Table(source, "[likelihood]", data or {})
    table.check_fields([f.name for f in dataclasses.fields(LikelihoodSettings)])
    family = table.string("family", choices=LIKELIHOODS) if "family" in table.data else None
    collapsed = table.boolean("collapsed", False) if "collapsed" in table.data else None
    if collapsed and family not in (None, "gaussian"):
        raise table.error(f"collapsed = true needs family = 'gaussian', got {family!r}")
    noise_std = table.real("noise_std", 1.0, low=0.0) if "noise_std" in table.data else None
    df = None
    if "df" in table.data:
        if family != "student_t":
            raise table.error(f"df applies to family = 'student_t' only, got family = {family!r}")
        df = table.real("df", DEFAULT_DF, low=0.0)
    noise_scale = table.real("noise_scale", 1.0, low=0.0)
    return LikelihoodSettings(family, noise_std, noise_scale, collapsed, df)


def _config_fields(table: _Table, cls, skip=()) -> dict:
    """The fields of the config class ``cls`` that the table sets (others are left to
    ``cls``'s defaults).
    """
    return {
        f.name: table.data[f.name]
        for f in dataclasses.fields(cls)
        if f.name in table.data and f.name not in skip
    }


def _build(table: _Table, make):
    try:
        return make()
    except ValueError as e:
        raise table.error(str(e)) from None


def _parse_inference(source: str, data: dict | None) -> InferenceSettings:
    table = _Table(source, "[inference]", data or {})
    common = (
        "method",
        "seed",
        "num_prior_draws",
        "chunk_size",
        "until_converged",
        "max_samples",
        "max_minutes",
    )
    fields = {f.name for cls in CONFIGS.values() for f in dataclasses.fields(cls)}
    table.check_fields([*common, *sorted(fields)])
    d = InferenceSettings()
    method = table.string("method", d.method, choices=tuple(CONFIGS))
    for key, choices in (("chain_method", CHAIN_METHODS), ("guide", GUIDES)):
        if key in table.data:
            table.string(key, choices=choices)
    cls = CONFIGS[method]
    own = {f.name for f in dataclasses.fields(cls)}
    foreign = sorted(k for k in table.data if k in fields - own)
    if foreign:
        raise table.error(
            f"{foreign[0]} is not a setting of method = {method!r}; its settings: "
            f"{', '.join(f.name for f in dataclasses.fields(cls))}"
        )
    config = _build(table, lambda: cls(**_config_fields(table, cls)))
    until = table.boolean("until_converged", d.until_converged)
    if until and method != "nuts":
        raise table.error("until_converged = true needs method = 'nuts'")
    return InferenceSettings(
        config=config,
        seed=table.integer("seed", d.seed, low=0, high=2**32),
        num_prior_draws=table.integer("num_prior_draws", d.num_prior_draws),
        chunk_size=table.integer("chunk_size", 1) if "chunk_size" in table.data else None,
        until_converged=until,
        max_samples=table.integer("max_samples", 1) if "max_samples" in table.data else None,
        max_minutes=(
            table.real("max_minutes", 1.0, low=0.0) if "max_minutes" in table.data else None
        ),
    )


def _parse_compare(source: str, data: dict | None) -> CompareSettings:
    table = _Table(source, "[compare]", data or {})
    own = ("max_train", "max_test", "noise_std", "seed")
    table.check_fields([*own, *(f.name for f in dataclasses.fields(CompareConfig))])
    d = CompareSettings()

    def optional_int(key, default):
        value = table.data.get(key, default)
        return None if value in (None, 0) else table.integer(key, default or 1, low=2)

    if "widths" in table.data:
        table.int_list("widths")
    if "limit" in table.data:
        table.string("limit", choices=LIMITS)
    config = _build(table, lambda: CompareConfig(**_config_fields(table, CompareConfig)))
    return CompareSettings(
        config=config,
        max_train=optional_int("max_train", d.max_train),
        max_test=optional_int("max_test", d.max_test),
        noise_std=table.real("noise_std", 1.0, low=0.0) if "noise_std" in table.data else None,
        seed=table.integer("seed", d.seed, low=0, high=2**32),
    )


def parse_spec(
    raw: dict, source: str = "<spec>", default_name: str = "model", base: Path | None = None
) -> Spec:
    """Build a :class:`Spec` from a parsed TOML document; ``source`` names it in errors and
    ``base`` is the folder that relative data paths start from (None: the working folder).
    """
    top = _Table(source, "", raw)
    if "training" in raw:
        raise top.error("this is a training spec (it has a [training] table): run bnn-mogp train")
    if "sweep" in raw:
        raise top.error("this is a sweep file (it has a [sweep] table): run bnn-mogp sweep")
    if "parameterisations" in raw:
        raise top.error(
            "this is a parameterisation spec (it has a [parameterisations] table): run "
            "bnn-mogp train"
        )
    for key, value in raw.items():
        if key in _TOP_FIELDS or key in _TABLES:
            continue
        allowed = ", ".join([*_TOP_FIELDS, *(f"[{t}]" for t in _TABLES)])
        is_table = isinstance(value, dict) or (
            isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
        )
        kind = "table" if is_table else "top-level field"
        shown = f"[{key}]" if kind == "table" else repr(key)
        raise top.error(f"unknown {kind} {shown}; allowed: {allowed}")

    name = top.string("name", default_name)
    if not _NAME_RE.fullmatch(name):
        raise top.error(
            f"name = {name!r} must start with a letter or digit and contain only letters, "
            "digits, '_', '.' and '-'"
        )
    description = _one_line(top.string("description", ""))

    network = _sub_table(top, "network", required=True)
    net_table = _Table(source, "[network]", network)
    net_table.check_fields(
        ("in_dim", "widths", "out_dim", "activation", "sigma_w", "sigma_b"), required=("widths",)
    )
    depth = len(net_table.int_list("widths"))
    node_prior, placement = _parse_priors(source, top, depth)
    net = _parse_network(source, network, node_prior, placement)
    prior_check = _parse_prior_check(source, _sub_table(top, "prior_check", required=False), net)
    data = _parse_data(source, _sub_table(top, "data", required=False), base)
    likelihood = _parse_likelihood(source, _sub_table(top, "likelihood", required=False))
    inference = _parse_inference(source, _sub_table(top, "inference", required=False))
    compare = _parse_compare(source, _sub_table(top, "compare", required=False))
    return Spec(
        name, description, net, prior_check, data, likelihood, inference, compare, raw, None
    )


def read_toml(path, fallback: str) -> tuple[dict, str, str]:
    """The parsed TOML document of ``path``, its name in messages, and the default spec name
    (the file's stem with other characters than letters, digits and ``_.-`` replaced; else
    ``fallback``). Errors are one-line :class:`SpecError`.
    """
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(read_error(source, e, "a TOML file")) from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{source}: invalid TOML: {_one_line(str(e))}") from None
    return raw, source, re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem).lstrip("_.-") or fallback


def load_spec(path) -> Spec:
    """Read and validate a TOML specification file; errors are one-line :class:`SpecError`."""
    raw, source, default_name = read_toml(path, "model")
    spec = parse_spec(raw, source, default_name=default_name, base=Path(path).parent)
    return dataclasses.replace(spec, path=Path(path))


def prior_label(prior: NodePrior) -> str:
    """A short human-readable label, e.g. ``horseshoe(scale=1)``."""
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in prior.params().items() if v is not None)
    return f"{prior.family}({params})"


def network_label(net: MLP) -> str:
    """A one-line description of the network's priors and architecture (widths excluded)."""
    priors = net.node_priors
    if len(set(priors)) <= 1:
        prior_text = prior_label(priors[0]) if priors else "no hidden layer"
    else:
        prior_text = "; ".join(f"layer {i + 1}: {prior_label(p)}" for i, p in enumerate(priors))
    if "weight" in net.placements:
        placed = "per weight" if len(set(net.placements)) == 1 else "/".join(net.placements)
        prior_text += f" ({placed})"
    return (
        f"{prior_text}; {net.activation}, σ_w={_fmt(net.sigma_w)}, σ_b={_fmt(net.sigma_b)}, "
        f"d={net.in_dim}, L={net.depth}"
    )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:g}"
    return str(v)

"""Training spec files (TOML) of ``bnn-mogp train``: node-scaled networks trained by gradient
descent (DESIGN §13), several settings side by side.

A training spec looks like::

    name = "node_scaling_synthetic"    # optional; default: the file's stem
    description = "one line"           # optional

    [data]                             # all optional
    source = "builtin:sphere_sine"     # builtin:sphere_sine, builtin:digits, another
    seed = 0                           #   builtin:NAME, or a .csv / .npz path (relative to
    sizes = {train = 100, test = 100}  #   the spec file); sizes, dim, noise_sd: sphere_sine;
    dim = 50                           #   fractions = {train = .4, test = .2, transfer_train
    noise_sd = 0.1                     #   = .2, transfer_test = .2}: the other sources;
                                       #   target, features, likelihood: CSV / NPZ
                                       #   (bnn_mogp.training.splits)

    [training]                         # every field optional; defaults below
    width = 2000                       # hidden nodes m
    activation = "relu"
    sigma_v = 1.4142135623730951       # sd of the initial hidden weights
    output_weights = "sign"            # or "normal"
    scaling = "uniform"                # or "zipf" (alpha, gamma) or "prior" (prior = {family
    alpha = 0.5                        #   = "horseshoe", scale = 1.0}: any node prior)
    gamma = 0.5
    loss = "mse"                       # or "cross_entropy" (classification)
    optimizer = "gd"                   # or "sgd" (batch_size), "adam"
    learning_rate = 1.0
    batch_size = 64                    # sgd / adam only
    steps = 1000
    log_every = 100
    ntk_points = 100                   # P training inputs of the logged NTK (0: none)
    dtype = "float32"                  # or "float64"
    seed = 0                           # of the initial weights, random scalings, batches
    prune_fractions = [0.0, 0.5, 0.9]  # default every 5 %
    transfer_dims = [10, 20, 50, 100]  # D of the transfer read-outs (at most the width)
    readout_steps = 10000              # steps of the MLP read-out (default: the reference's)

    [[training.settings]]              # the settings run side by side (default: one, from
    label = "γ = 1"                    #   [training]); each may set label and any of width,
    scaling = "uniform"                #   activation, sigma_v, output_weights, scaling,
                                       #   alpha, gamma, prior, optimizer, learning_rate,
    [[training.settings]]              #   batch_size; the rest of [training] is shared
    scaling = "zipf"
    alpha = 0.7
    gamma = 0.5

Any other table or field is an error (most likely a typo); every error is a one-line
:class:`~bnn_mogp.cli.spec.SpecError` naming the file, the table and the field.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bnn_mogp.cli.spec import (
    _NAME_RE,
    _one_line,
    _parse_prior_table,
    _Table,
    data_source,
    prior_label,
    read_toml,
)
from bnn_mogp.data import BUILTINS
from bnn_mogp.likelihoods import LIKELIHOODS
from bnn_mogp.nn import ACTIVATIONS
from bnn_mogp.training import (
    PRUNE_FRACTIONS,
    SCALINGS,
    TRANSFER_DIMS,
    NodeScaledNet,
    NodeScaling,
    PriorScaling,
    TrainConfig,
    make_scaling,
)
from bnn_mogp.training.losses import LOSSES
from bnn_mogp.training.network import OUTPUT_WEIGHTS
from bnn_mogp.training.splits import SPLIT_NAMES, TRAINING_BUILTINS
from bnn_mogp.training.trainer import OPTIMIZERS

__all__ = ["TrainSpec", "TrainSetting", "TrainData", "load_train_spec", "parse_train_spec"]

#: the reference code's width and learning rate (DESIGN §13)
DEFAULT_WIDTH = 2000
#: [training] fields a setting may override
SETTING_FIELDS = (
    "label",
    "width",
    "activation",
    "sigma_v",
    "output_weights",
    "scaling",
    "alpha",
    "gamma",
    "prior",
    "optimizer",
    "learning_rate",
    "batch_size",
)
#: [training] fields shared by every setting
SHARED_FIELDS = (
    "loss",
    "steps",
    "log_every",
    "ntk_points",
    "dtype",
    "seed",
    "prune_fractions",
    "transfer_dims",
    "readout_steps",
)
_DATA_FIELDS = (
    "source",
    "seed",
    "sizes",
    "fractions",
    "dim",
    "noise_sd",
    "target",
    "features",
    "likelihood",
)


@dataclasses.dataclass(frozen=True)
class TrainData:
    """``[data]``: the arguments of :func:`bnn_mogp.training.splits.load_training_data` (``source``
    resolved against the spec file's folder; None: that function's default).
    """

    source: str = "builtin:sphere_sine"
    seed: int = 0
    sizes: dict | None = None
    fractions: dict | None = None
    dim: int = 50
    noise_sd: float = 0.1
    target: str | None = None
    features: tuple[str, ...] | None = None
    likelihood: str | None = None

    def arguments(self) -> dict:
        """Keyword arguments of ``load_training_data``."""
        args = dataclasses.asdict(self)
        if not self.source.endswith("sphere_sine"):
            for key in ("dim", "noise_sd"):
                args.pop(key)
        return args


@dataclasses.dataclass(frozen=True)
class TrainSetting:
    """One setting: its label, the network (``in_dim`` / ``out_dim`` set from the data when it
    runs), the node scaling and the optimiser's settings.
    """

    label: str
    net: NodeScaledNet
    scaling: NodeScaling
    config: TrainConfig


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """A parsed training spec (module docstring)."""

    name: str
    description: str
    data: TrainData
    settings: tuple[TrainSetting, ...]
    seed: int = 0
    prune_fractions: tuple[float, ...] = PRUNE_FRACTIONS
    transfer_dims: tuple[int, ...] = TRANSFER_DIMS
    readout_steps: int | None = None
    raw: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    path: Path | None = dataclasses.field(default=None, compare=False)


def _parse_data(source: str, data: dict | None, base: Path | None) -> TrainData:
    table = _Table(source, "[data]", data or {})
    table.check_fields(_DATA_FIELDS)
    d = TrainData()
    names = (*TRAINING_BUILTINS, *(b for b in BUILTINS if b not in TRAINING_BUILTINS))
    where = data_source(table, d.source, names, base)
    sphere = where == "builtin:sphere_sine"
    own = sphere or where == "builtin:digits"
    for key, ok, rule in (
        ("sizes", sphere, "builtin:sphere_sine only"),
        ("dim", sphere, "builtin:sphere_sine only"),
        ("noise_sd", sphere, "builtin:sphere_sine only"),
        ("fractions", not sphere, "sources other than builtin:sphere_sine"),
        ("target", not own, "CSV / NPZ files and the other builtins"),
        ("features", not own, "CSV / NPZ files and the other builtins"),
        ("likelihood", not own, "CSV / NPZ files and the other builtins"),
    ):
        if key in table.data and not ok:
            raise table.error(f"{key} applies to {rule}, not to source = {where!r}")
    features = table.data.get("features")
    if features is not None and (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) for f in features)
    ):
        raise table.error(f"features = {features!r} must be a non-empty list of column names")
    return TrainData(
        source=where,
        seed=table.integer("seed", d.seed, low=0, high=2**32),
        sizes=_split_table(table, "sizes", integer=True),
        fractions=_split_table(table, "fractions", integer=False),
        dim=table.integer("dim", d.dim),
        noise_sd=table.real("noise_sd", d.noise_sd, low=0.0, low_open=False),
        target=table.string("target") if "target" in table.data else None,
        features=tuple(features) if features is not None else None,
        likelihood=(
            table.string("likelihood", choices=LIKELIHOODS) if "likelihood" in table.data else None
        ),
    )


def _split_table(table: _Table, key: str, *, integer: bool) -> dict | None:
    value = table.data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise table.error(
            f"{key} must be a table such as {{train = ..., test = ...}} over the splits "
            f"{', '.join(SPLIT_NAMES)}, got {value!r}"
        )
    inner = _Table(table.source, f"{table.where} {key}", value)
    inner.check_fields(SPLIT_NAMES)
    if integer:
        return {k: inner.integer(k, 1) for k in value}
    return {k: inner.real(k, 0.5, low=0.0, high=1.0, high_open=False) for k in value}


def _real_list(table: _Table, key: str, default, low: float, high: float) -> tuple[float, ...]:
    value = table.data.get(key, list(default))
    if not isinstance(value, list) or not value:
        raise table.error(f"{key} must be a non-empty list of numbers in [{low:g}, {high:g}]")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
            raise table.error(f"{key}[{i}] must be a number in [{low:g}, {high:g}], got {v!r}")
    return tuple(float(v) for v in value)


def _scaling(table: _Table, fields: dict) -> NodeScaling:
    name = fields.get("scaling", "uniform")
    if name not in SCALINGS:
        raise table.error(f"scaling = {name!r} is not one of: {', '.join(SCALINGS)}")
    params: dict = {}
    if name == "zipf":
        missing = [k for k in ("alpha", "gamma") if k not in fields]
        if missing:
            raise table.error(f"scaling = 'zipf' needs {' and '.join(missing)}")
        params = {"alpha": fields["alpha"], "gamma": fields["gamma"]}
    elif name == "prior":
        prior = fields.get("prior")
        if not isinstance(prior, dict):
            raise table.error(
                "scaling = 'prior' needs a table prior = {family = ..., <hyper-parameters>}"
            )
        return PriorScaling(_parse_prior_table(_Table(table.source, f"{table.where} prior", prior)))
    for key in ("alpha", "gamma", "prior"):
        if key in fields and key not in params:
            raise table.error(f"{key} does not apply to scaling = {name!r}")
    try:
        return make_scaling(name, **params)
    except (ValueError, TypeError) as e:
        raise table.error(str(e)) from None


def _setting(source: str, where: str, fields: dict, shared: dict) -> TrainSetting:
    table = _Table(source, where, fields)
    width = table.integer("width", DEFAULT_WIDTH)
    try:
        net = NodeScaledNet(
            in_dim=1,
            width=width,
            activation=table.string("activation", "relu", choices=ACTIVATIONS),
            sigma_v=table.real("sigma_v", NodeScaledNet.sigma_v, low=0.0),
            output_weights=table.string("output_weights", "sign", choices=OUTPUT_WEIGHTS),
        )
    except ValueError as e:
        raise table.error(str(e)) from None
    scaling = _scaling(table, fields)
    optimizer = table.string("optimizer", "gd", choices=OPTIMIZERS)
    batch = table.integer("batch_size", 1) if "batch_size" in fields else None
    try:
        config = TrainConfig(
            optimizer=optimizer,
            learning_rate=table.real("learning_rate", 1.0, low=0.0),
            batch_size=batch,
            **shared,
        )
    except ValueError as e:
        raise table.error(str(e)) from None
    label = table.string("label", _default_label(scaling)).strip()
    if not label:
        raise table.error("label must not be empty")
    return TrainSetting(label, net, scaling, config)


def _default_label(scaling: NodeScaling) -> str:
    prior = getattr(scaling, "prior", None)
    return f"prior {prior_label(prior)}" if prior is not None else scaling.describe()


def _parse_training(source: str, data: dict | None):
    table = _Table(source, "[training]", data or {})
    table.check_fields((*SETTING_FIELDS, *SHARED_FIELDS, "settings"))
    shared = dict(
        loss=table.string("loss", "mse", choices=LOSSES),
        steps=table.integer("steps", TrainConfig.steps),
        log_every=table.integer("log_every", TrainConfig.log_every),
        ntk_points=table.integer("ntk_points", TrainConfig.ntk_points, low=0),
        dtype=table.string("dtype", "float32", choices=("float32", "float64")),
    )
    own = {k: v for k, v in table.data.items() if k in SETTING_FIELDS}
    settings_raw = table.data.get("settings")
    settings: list[TrainSetting] = []
    if settings_raw is None:
        settings.append(_setting(source, "[training]", own, shared))
    else:
        if not (
            isinstance(settings_raw, list)
            and settings_raw
            and all(isinstance(s, dict) for s in settings_raw)
        ):
            raise table.error("settings must be a non-empty array of tables [[training.settings]]")
        for i, fields in enumerate(settings_raw):
            where = f"[[training.settings]] (setting {i + 1})"
            _Table(source, where, fields).check_fields(SETTING_FIELDS)
            inherited = dict(own)
            if "scaling" in fields:  # a setting's scaling brings its own parameters
                inherited = {k: v for k, v in own.items() if k not in ("alpha", "gamma", "prior")}
            settings.append(_setting(source, where, {**inherited, **fields}, shared))
    labels = [s.label for s in settings]
    repeated = sorted({x for x in labels if labels.count(x) > 1})
    if repeated:
        raise table.error(
            f"two settings share the label {repeated[0]!r}; give each [[training.settings]] "
            "its own label"
        )
    width = min(s.net.width for s in settings)
    if "transfer_dims" in table.data:
        dims = table.int_list("transfer_dims")
        if max(dims) > width:
            raise table.error(
                f"transfer_dims must be at most the smallest width {width}, got {list(dims)}"
            )
    else:  # the default D that the narrowest network has, else its width
        dims = tuple(d for d in TRANSFER_DIMS if d <= width) or (width,)
    return dict(
        settings=tuple(settings),
        seed=table.integer("seed", 0, low=0, high=2**32),
        prune_fractions=_real_list(table, "prune_fractions", PRUNE_FRACTIONS, 0.0, 1.0),
        transfer_dims=dims,
        readout_steps=table.integer("readout_steps", 1) if "readout_steps" in table.data else None,
    )


def parse_train_spec(
    raw: dict, source: str = "<spec>", default_name: str = "training", base: Path | None = None
) -> TrainSpec:
    """Build a :class:`TrainSpec` from a parsed TOML document (``base``: the folder relative
    data paths start from).
    """
    top = _Table(source, "", raw)
    if "training" not in raw:
        hint = ""
        if "network" in raw:
            hint = " (it is a model spec: use bnn-mogp fit / prior / compare with it)"
        elif "sweep" in raw:
            hint = " (it is a sweep file: run bnn-mogp sweep)"
        raise top.error(f"missing required table [training]{hint}")
    for key in raw:
        if key not in ("name", "description", "data", "training"):
            raise top.error(
                f"unknown field or table {key!r}; a training spec has name, description, [data] "
                "and [training]"
            )
    name = top.string("name", default_name)
    if not _NAME_RE.fullmatch(name):
        raise top.error(
            f"name = {name!r} must start with a letter or digit and contain only letters, "
            "digits, '_', '.' and '-'"
        )
    for key in ("data", "training"):
        if key in raw and not isinstance(raw[key], dict):
            raise top.error(f"{key} must be a table [{key}], got {raw[key]!r}")
    return TrainSpec(
        name=name,
        description=_one_line(top.string("description", "")),
        data=_parse_data(source, raw.get("data"), base),
        **_parse_training(source, raw["training"]),
        raw=raw,
    )


def load_train_spec(path) -> TrainSpec:
    """Read and validate a training spec; errors are one-line :class:`SpecError`."""
    raw, source, default_name = read_toml(path, "training")
    spec = parse_train_spec(raw, source, default_name=default_name, base=Path(path).parent)
    return dataclasses.replace(spec, path=Path(path))

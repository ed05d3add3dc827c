"""Parameterisation specs (TOML) of ``bnn-mogp train``: deep MLPs under abc-parameterisations
and the symmetries of wide two-layer training (DESIGN §14).

A parameterisation spec has a ``[parameterisations]`` table instead of ``[training]``::

    name = "parameterisations_digits"  # optional; default: the file's stem
    description = "one line"           # optional

    [data]                             # as in a training spec (the train and test splits)
    source = "builtin:digits"

    [parameterisations]                # every field optional; defaults below
    names = ["sp", "ntk", "mup", "ip", "ip_llr"]   # presets of the width-exponent table
    activation = "relu"
    loss = "cross_entropy"             # default: cross_entropy for labels, mse otherwise
    learning_rate = 0.05               # base rate η (layer l: η m^{−c_l})
    seed = 0
    dtype = "float32"                  # of the training runs (depth × width)

    [parameterisations.exponents]      # measured width exponents (one depth)
    depth = 3
    widths = [128, 256, 512, 1024, 2048, 4096]
    seeds = 3
    steps = 10                         # full-batch steps before the feature movement
    batch = 64                         # training points of the fixed batch
    dtype = "float64"                  # float32 rounds deep IP updates away (measure_exponents)

    [parameterisations.depth_width]    # training loss after `steps` against width and depth
    names = ["ip", "ip_llr", "mup"]
    depths = [1, 2, 3, 4, 6]
    widths = [128, 256, 512, 1024]
    steps = 300
    batch_size = 128
    seeds = 1

    [symmetries]                       # optional: two-layer mean-field ReLU, x ~ N(0, I/d)
    dim = 20                           # d
    subspace = 2                       # k of the target ‖P_H x‖ (alignment curves)
    width = 512
    steps = 3000
    batch_size = 256
    learning_rate = 0.05

Any other table or field is an error; errors are one-line
:class:`~bnn_mogp.cli.spec.SpecError` naming the file, the table and the field.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bnn_mogp.cli.spec import _NAME_RE, _one_line, _Table, read_toml
from bnn_mogp.cli.train_spec import TrainData, _parse_data
from bnn_mogp.nn import ACTIVATIONS
from bnn_mogp.training import PARAMETERISATIONS
from bnn_mogp.training.losses import LOSSES

__all__ = ["DepthSpec", "ExponentSettings", "DepthWidthSettings", "SymmetrySettings",
           "is_depth_spec", "load_depth_spec", "parse_depth_spec"]  # fmt: skip

TABLE = "parameterisations"
DTYPES = ("float32", "float64")


@dataclasses.dataclass(frozen=True)
class ExponentSettings:
    """``[parameterisations.exponents]``."""

    depth: int = 3
    widths: tuple[int, ...] = (128, 256, 512, 1024, 2048, 4096)
    seeds: int = 3
    steps: int = 10
    batch: int = 64
    dtype: str = "float64"


@dataclasses.dataclass(frozen=True)
class DepthWidthSettings:
    """``[parameterisations.depth_width]``."""

    names: tuple[str, ...] = ("ip", "ip_llr", "mup")
    depths: tuple[int, ...] = (1, 2, 3, 4, 6)
    widths: tuple[int, ...] = (128, 256, 512, 1024)
    steps: int = 300
    batch_size: int = 128
    seeds: int = 1


@dataclasses.dataclass(frozen=True)
class SymmetrySettings:
    """``[symmetries]``."""

    dim: int = 20
    subspace: int = 2
    width: int = 512
    steps: int = 3000
    batch_size: int = 256
    learning_rate: float = 0.05


@dataclasses.dataclass(frozen=True)
class DepthSpec:
    """A parsed parameterisation spec (module docstring)."""

    name: str
    description: str
    data: TrainData
    names: tuple[str, ...] = PARAMETERISATIONS
    activation: str = "relu"
    loss: str | None = None
    learning_rate: float = 0.05
    seed: int = 0
    dtype: str = "float32"
    exponents: ExponentSettings = ExponentSettings()
    depth_width: DepthWidthSettings = DepthWidthSettings()
    symmetries: SymmetrySettings | None = None
    path: Path | None = dataclasses.field(default=None, compare=False)


def is_depth_spec(raw: dict) -> bool:
    """Whether a parsed TOML document is a parameterisation spec."""
    return TABLE in raw


def _names(table: _Table, default) -> tuple[str, ...]:
    names = table.data.get("names", list(default))
    if not isinstance(names, list) or not names:
        raise table.error(f"names must be a non-empty list of {', '.join(PARAMETERISATIONS)}")
    for name in names:
        if name not in PARAMETERISATIONS:
            raise table.error(f"names: {name!r} is not one of {', '.join(PARAMETERISATIONS)}")
    return tuple(names)


def _sub(source: str, parent: dict, key: str, where: str) -> _Table:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise _Table(source, "", {}).error(f"{where} must be a table, got {value!r}")
    return _Table(source, where, value)


def parse_depth_spec(
    raw: dict, source: str = "<spec>", default_name: str = "parameterisations",
    base: Path | None = None,
) -> DepthSpec:  # fmt: skip
    """Build a :class:`DepthSpec` from a parsed TOML document."""
    top = _Table(source, "", raw)
    top.check_fields(("name", "description", "data", TABLE, "symmetries"))
    name = top.string("name", default_name)
    if not _NAME_RE.fullmatch(name):
        raise top.error(
            f"name = {name!r} must start with a letter or digit and contain only letters, "
            "digits, '_', '.' and '-'"
        )
    main = _sub(source, raw, TABLE, f"[{TABLE}]")
    main.check_fields(("names", "activation", "loss", "learning_rate", "seed", "dtype",
                       "exponents", "depth_width"))  # fmt: skip
    ex = _sub(source, main.data, "exponents", f"[{TABLE}.exponents]")
    ex.check_fields(tuple(f.name for f in dataclasses.fields(ExponentSettings)))
    d = ExponentSettings()
    exponents = ExponentSettings(
        depth=ex.integer("depth", d.depth),
        widths=ex.int_list("widths", d.widths),
        seeds=ex.integer("seeds", d.seeds),
        steps=ex.integer("steps", d.steps),
        batch=ex.integer("batch", d.batch),
        dtype=ex.string("dtype", d.dtype, choices=DTYPES),
    )
    if len(set(exponents.widths)) < 2:
        raise ex.error(f"widths needs two or more different widths, got {list(exponents.widths)}")
    dw = _sub(source, main.data, "depth_width", f"[{TABLE}.depth_width]")
    dw.check_fields(tuple(f.name for f in dataclasses.fields(DepthWidthSettings)))
    e = DepthWidthSettings()
    depth_width = DepthWidthSettings(
        names=_names(dw, e.names),
        depths=dw.int_list("depths", e.depths),
        widths=dw.int_list("widths", e.widths),
        steps=dw.integer("steps", e.steps),
        batch_size=dw.integer("batch_size", e.batch_size),
        seeds=dw.integer("seeds", e.seeds),
    )
    symmetries = None
    if "symmetries" in raw:
        sy = _sub(source, raw, "symmetries", "[symmetries]")
        sy.check_fields(tuple(f.name for f in dataclasses.fields(SymmetrySettings)))
        s = SymmetrySettings()
        dim = sy.integer("dim", s.dim, low=2)
        width = sy.integer("width", s.width, low=2)
        if width % 2:
            raise sy.error(f"width must be even (the odd-target run pairs neurons), got {width}")
        symmetries = SymmetrySettings(
            dim=dim,
            subspace=sy.integer("subspace", s.subspace, low=1, high=dim),
            width=width,
            steps=sy.integer("steps", s.steps),
            batch_size=sy.integer("batch_size", s.batch_size, low=2),
            learning_rate=sy.real("learning_rate", s.learning_rate, low=0.0),
        )
    loss = main.string("loss", "", choices=("", *LOSSES)) or None
    return DepthSpec(
        name=name,
        description=_one_line(top.string("description", "")),
        data=_parse_data(source, raw.get("data"), base),
        names=_names(main, PARAMETERISATIONS),
        activation=main.string("activation", "relu", choices=ACTIVATIONS),
        loss=loss,
        learning_rate=main.real("learning_rate", 0.05, low=0.0),
        seed=main.integer("seed", 0, low=0, high=2**32),
        dtype=main.string("dtype", "float32", choices=DTYPES),
        exponents=exponents,
        depth_width=depth_width,
        symmetries=symmetries,
    )


def load_depth_spec(path) -> DepthSpec:
    """Read and validate a parameterisation spec; errors are one-line :class:`SpecError`."""
    raw, source, default_name = read_toml(path, "parameterisation")
    spec = parse_depth_spec(raw, source, default_name=default_name, base=Path(path).parent)
    return dataclasses.replace(spec, path=Path(path))

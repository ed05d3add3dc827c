"""``bnn-mogp train`` on a parameterisation spec (DESIGN §14): the three parts end to end at a
tiny size, the shipped spec, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bnn_mogp.cli.depth_spec import load_depth_spec
from tests.helpers import run_cli, shipped_specs, write

TINY = """
name = "tiny_depth"
[data]
source = "builtin:digits"
[parameterisations]
names = ["ip", "mup"]
[parameterisations.exponents]
depth = 2
widths = [16, 32]
seeds = 2
steps = 2
batch = 32
[parameterisations.depth_width]
names = ["ip"]
depths = [1, 3]
widths = [16]
steps = 5
[symmetries]
dim = 6
width = 16
steps = 20
"""


@pytest.mark.slow
def test_parameterisation_spec_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    status, text, err = run_cli(capsys, "train", write(tmp_path, TINY), "--out", out)
    assert status == 0, err
    exponents = pd.read_csv(out / "exponents.csv")
    assert len(exponents) == 2 * 4 * 3  # names × quantities × layers (L + 1)
    assert set(exponents.quantity) == {"preactivation", "gradient", "update", "movement"}
    ip = exponents[(exponents.parameterisation == "ip") & (exponents.quantity == "gradient")]
    assert (ip.derived == -1.0).all()  # m^{−L/2}, L = 2
    depth_width = pd.read_csv(out / "depth_width.csv")
    assert len(depth_width) == 2 and set(depth_width.depth) == {1, 3}
    symmetries = pd.read_csv(out / "symmetries.csv")
    assert set(symmetries.run) == {
        "subspace",
        "odd, paired",
        "odd, independent",
        "odd, independent, mirrored",
    }
    paired = symmetries[symmetries.run == "odd, paired"]
    assert (paired.odd_error < 1e-12).all()  # paired neurons: exactly odd
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["largest_slope_gap"]) == {"ip", "mup"} and "flags" in metrics
    for name in ("exponents.png", "depth_width.png", "symmetries.png"):
        assert (out / name).stat().st_size > 0
    assert "log-log slopes against the width" in text and "symmetries: alignment" in text
    assert "initial loss | test accuracy" in text  # digits: the accuracy beside the loss ratio


def test_shipped_parameterisation_spec():
    (path,) = shipped_specs("parameterisations")
    spec = load_depth_spec(path)
    assert spec.names == ("sp", "ntk", "mup", "ip", "ip_llr")
    assert spec.exponents.widths[0] == 128 and spec.exponents.widths[-1] == 4096
    assert spec.symmetries is not None and spec.symmetries.dim == 20


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('names = ["ip", "mup"]', 'names = ["ip", "mf"]', "names: 'mf' is not one of"),
        ("dim = 6\nwidth = 16", "dim = 6\nwidth = 15", "width must be even"),
        ("steps = 2\n", "steps = 2\nlr = 1\n", "unknown field 'lr'"),
        ("widths = [16, 32]", "widths = [16]", "two or more different widths"),
    ],
)
def test_bad_parameterisation_specs(tmp_path, capsys, old, new, message):
    assert old in TINY
    status, _, err = run_cli(capsys, "train", write(tmp_path, TINY.replace(old, new)))
    assert status == 2 and message in err and err.count("\n") == 1, err


def test_other_commands_and_options_name_the_right_one(tmp_path, capsys):
    path = write(tmp_path, TINY)
    status, _, err = run_cli(capsys, "fit", path)
    assert status == 2 and "run bnn-mogp train" in err
    status, _, err = run_cli(capsys, "train", path, "--steps", "3")
    assert status == 2 and "--steps and --resume apply to [training] specs" in err


@pytest.mark.parametrize("c", [-1.0, 2.0])
def test_slope_band_covers_a_next_order_correction(c):
    """y = m^p (1 + c m^{−1/2}), |c| ≤ 2: the least-squares log-log slope over the shipped
    spec's widths 128…4096 stays within slope_band(128) of p, and the band is not loose by
    more than a factor of four for |c| = 2."""
    from bnn_mogp.training.exponents import slope_band, slope_fit

    widths = np.array([128, 256, 512, 1024, 2048, 4096])
    logs = np.log(widths**-0.5 * (1 + c * widths**-0.5))[:, None]
    slope, _ = slope_fit(widths, logs)
    assert abs(slope + 0.5) <= slope_band(128)
    if abs(c) == 2:
        assert abs(slope + 0.5) >= slope_band(128) / 4

"""The ``bnn-mogp`` command line and the prior-predictive check behind ``bnn-mogp prior``."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bnn_mogp.cli import main
from bnn_mogp.cli.prior import prior_check_inputs, run_prior_check
from bnn_mogp.cli.spec import load_spec
from bnn_mogp.studies.prior import QUANTILE_PROBS

SMALL = """
name = "small"
description = "a small horseshoe network for tests"

[network]
widths = [16]
activation = "relu"

[prior]
family = "horseshoe"
scale = 1.0

[prior_check]
widths = [5, 20]
num_draws = 100
num_inputs = 9
seed = 3
"""

COLUMNS = [
    "width",
    "num_draws",
    "t0",
    "ks_mean",
    "ks_max",
    "energy",
    "q01",
    "q05",
    "q25",
    "q50",
    "q75",
    "q95",
    "q99",
    "hill",
    "hill_k",
    "output_tail_index_limit",
    "corr_sq",
    "corr_sq_defined",
    "rank_corr_sq",
    "dependent",
    "max_lambda_median_l1",
    "max_lambda_median_limit_l1",
    "nonfinite",
    "seconds",
]
OUTPUTS = ("prior_summary.csv", "functions.png", "marginals.png")


def write_spec(tmp_path: Path, text: str = SMALL, name: str = "small.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAX_PLATFORMS="cpu")  # no accelerator probing messages on stderr
    return subprocess.run(
        [sys.executable, "-m", "bnn_mogp", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("bnn-mogp: error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


# -- end to end, through `python -m bnn_mogp` -----------------------------------------------------


@pytest.mark.slow
def test_prior_command_end_to_end(tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    proc = run_cli(
        "prior",
        str(spec),
        "--widths",
        "5,20",
        "--num-draws",
        "200",
        "--out",
        str(out),
        "--seed",
        "1",
        "--no-progress",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0
        assert str(out / name) in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no temporary files left
    for name in OUTPUTS[1:]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    columns, rows = read_csv(out / "prior_summary.csv")
    assert columns == COLUMNS
    assert [r["width"] for r in rows] == ["5", "20", "limit"]
    for r in rows:
        assert int(r["num_draws"]) == 200 and float(r["t0"]) == 3.0
        qs = [float(r[f"q{round(100 * p):02d}"]) for p in QUANTILE_PROBS]
        assert qs == sorted(qs)
        assert float(r["output_tail_index_limit"]) == 1.0  # horseshoe: Cauchy outputs
        assert float(r["max_lambda_median_limit_l1"]) == pytest.approx(
            (2 / (np.pi * np.log(2))) ** 2, rel=1e-5
        )
        assert int(r["nonfinite"]) == 0
    assert "width" in proc.stdout and "Hill" in proc.stdout


def test_prior_command_bad_spec_exits_2(tmp_path):
    spec = write_spec(tmp_path, SMALL.replace('"horseshoe"', '"horsehoe"'))
    proc = run_cli("prior", str(spec), "--no-progress", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, "[prior] family = 'horsehoe' is not one of:")


# -- in-process: options and errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--widths", "10,abc"], ["argument --widths", "'10,abc'", "integers >= 1"]),
        (["--widths", "0"], ["argument --widths", "integers >= 1"]),
        (["--widths", "5,5"], ["repeats a width"]),
        (["--num-draws", "3"], ["argument --num-draws", "'3' is not an integer >= 10"]),
        (["--seed", "-2"], ["argument --seed"]),
        (["--bogus"], ["unrecognized arguments: --bogus"]),
    ],
)
def test_bad_options(tmp_path, capsys, args, fragments):
    spec = write_spec(tmp_path)
    assert main(["prior", str(spec), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, *fragments)


def test_width_not_allowed_by_prior(tmp_path, capsys):
    text = SMALL.replace("horseshoe", "gaussian_mixture").replace("scale = 1.0", "rate = 2")
    spec = write_spec(tmp_path, text)
    assert main(["prior", str(spec), "--widths", "2,10", "--no-progress"]) == 2
    assert_one_line_error(capsys.readouterr().err, "width 2", "must be > rate = 2")


def test_missing_spec_file(tmp_path, capsys):
    assert main(["prior", str(tmp_path / "nope.toml")]) == 2
    assert_one_line_error(capsys.readouterr().err, "nope.toml: no such file")


def test_no_command(capsys):
    assert main([]) == 2
    assert_one_line_error(capsys.readouterr().err, "required")


def test_help(capsys):
    assert main(["prior", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--widths" in out and "--num-draws" in out and "--no-progress" in out


# -- run_prior_check in process -------------------------------------------------------------------


def test_inputs_map_t_to_the_diagonal(tmp_path):
    text = SMALL.replace("widths = [16]", "widths = [16]\nin_dim = 3")
    spec = load_spec(write_spec(tmp_path, text))
    t, X = prior_check_inputs(spec.net, -2.0, 1.5, 8)
    assert t[0] == -2.0 and t[-1] == 1.5 and t.shape == (8,)
    assert X.shape == (8, 3)
    np.testing.assert_allclose(X, np.repeat(t[:, None], 3, axis=1))
    np.testing.assert_allclose((X**2).sum(axis=1) / 3, t**2)  # |x|²/d = t²


@pytest.mark.slow
def test_run_prior_check_gaussian(tmp_path):
    text = SMALL.replace('family = "horseshoe"\nscale = 1.0', 'family = "deterministic"\nc = 2.0')
    text = text.replace("widths = [16]", "widths = [16]\nout_dim = 3")
    spec = load_spec(write_spec(tmp_path, text))
    result = run_prior_check(
        spec, widths=[4, 8], num_draws=50, rng_key=0, out_dir=tmp_path / "o", progress=False
    )
    assert result.widths == (4, 8) and result.t0 == 3.0
    assert result.samples[4].functions.shape == (50, 9, 3)  # out_dim = max(2, K)
    assert result.output_tail_index == float("inf")
    assert result.rows[-1]["width"] == "limit" and result.limit_functions.shape == (50, 9, 3)
    for row, n in zip(result.rows, (4, 8), strict=False):
        assert row["max_lambda_median_l1"] == pytest.approx(2.0 / n, rel=1e-6)  # λ = c/n
        assert row["max_lambda_median_limit_l1"] == 0.0  # Gaussian limit: no big nodes
    again = run_prior_check(
        spec, widths=[8], num_draws=50, rng_key=0, out_dir=tmp_path / "p", progress=False
    )
    # width n uses fold_in(key, n): its draws do not depend on the other widths requested
    np.testing.assert_array_equal(again.samples[8].functions, result.samples[8].functions)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(OUTPUTS)


def test_run_prior_check_rejects_bad_arguments(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    with pytest.raises(ValueError, match="num_draws must be an integer >= 10"):
        run_prior_check(spec, num_draws=5, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="widths must be distinct"):
        run_prior_check(spec, widths=[5, 5], out_dir=tmp_path, progress=False)


def test_prior_check_of_a_two_layer_tanh_network_keeps_every_limit_draw(tmp_path):
    """Issue 12: on a two-layer tanh spec the check dropped 498 of 500 limit draws silently (and
    a one-layer one failed with "quantiles needs at least one sample")."""
    text = SMALL.replace("widths = [16]", "widths = [16, 16]").replace('"relu"', '"tanh"')
    spec = load_spec(write_spec(tmp_path, text))
    result = run_prior_check(
        spec, widths=[4], num_draws=100, rng_key=0, out_dir=tmp_path / "o", progress=False
    )
    assert np.all(np.isfinite(result.limit_functions))
    assert all(int(row["nonfinite"]) == 0 for row in result.rows)
    assert np.isfinite(float(result.rows[-1]["q50"]))

"""``bnn-mogp fit``: outputs, resume after an interruption, clear errors for bad data and specs,
and every spec in models/ running end to end (at a tiny size)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bnn_mogp.cli.spec import load_spec
from bnn_mogp.evaluation import predictive_interval
from bnn_mogp.inference import MINIBATCH_METHODS, posterior_functions
from bnn_mogp.inference.checkpoint import Checkpoint
from bnn_mogp.runs import load_run
from tests.helpers import run_cli, shipped_specs, write

MODELS = shipped_specs()
#: the shipped specs whose end-to-end run also writes its report (one regression with NUTS, the
#: classification one with SVI; tests/cli/test_report.py renders reports of three more)
WITH_REPORT = ("horseshoe", "digits")

SPEC = """
name = "tiny"
[network]
widths = [4]
sigma_b = 1.0
[prior]
family = "horseshoe"
[data]
source = "builtin:synthetic"
[likelihood]
collapsed = true
[inference]
num_warmup = 30
num_samples = 20
num_chains = 2
chunk_size = 10
num_prior_draws = 10
"""


@pytest.mark.slow
def test_parallel_chains_get_a_cpu_device_each(tmp_path):
    """chain_method = "parallel" on a CPU: the command sets JAX's CPU device count to the
    number of chains before JAX starts (a fresh process, no XLA_FLAGS device count), and the
    chains run one per device."""
    spec = write(tmp_path, SPEC.replace("chunk_size = 10", 'chain_method = "parallel"'))
    flags = os.environ.get("XLA_FLAGS", "")
    assert "device_count" not in flags
    proc = subprocess.run(
        [sys.executable, "-m", "bnn_mogp", "fit", str(spec), "--out", str(tmp_path / "o"),
         "--no-progress", "--no-report", "--num-warmup", "10", "--num-samples", "10"],
        capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"}, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["sampling"]["num_draws"] == 20


@pytest.mark.slow
def test_fit_writes_every_output(tmp_path, capsys):
    import arviz as az

    out = tmp_path / "run"
    status, text, err = run_cli(capsys, "fit", write(tmp_path, SPEC), "--out", out)
    assert status == 0, err
    assert {p.name for p in out.iterdir()} == {
        "idata.nc",
        "summary.csv",
        "metrics.json",
        "spec.toml",
        "report.html",
        "pruning.csv",
    }
    idata = az.from_netcdf(out / "idata.nc")
    assert idata.posterior.sizes["draw"] == 20 and idata.posterior.sizes["chain"] == 2
    summary = pd.read_csv(out / "summary.csv", index_col="quantity")
    assert {"mean", "sd", "hdi_5%", "hdi_95%", "ess_bulk", "ess_tail", "r_hat"} <= set(summary)
    assert "sigma" in summary.index and "lam_1_sorted[0]" in summary.index
    assert any(q.startswith("f_monitor[") for q in summary.index)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["num_test"] == 201 and metrics["test"]["rmse"] > 0
    assert metrics["sampling"]["num_draws"] == 40
    # issue 12: the horseshoe's output law has no finite mean, so the median is the headline
    test = metrics["test"]
    assert (
        test["point_prediction"] == "median" and "no finite mean" in test["point_prediction_reason"]
    )
    assert test["rmse"] == test["rmse_median"] and {"rmse_mean", "mae_mean", "mae"} <= set(test)
    assert (
        metrics["baseline"]["model"].startswith("least squares") and metrics["baseline"]["rmse"] > 0
    )
    ex = metrics["extrapolation"]
    assert ex["num_test"] == 201 and len(ex["points"]) == min(ex["num_extrapolated"], 50)
    rest = ex["without_extrapolated"]  # the grid reaches 0.5 beyond the training inputs
    assert rest["num_test"] == 201 - ex["num_extrapolated"] and ex["num_extrapolated"] >= 28
    assert rest["point_prediction"] == "median" and rest["rmse"] > 0
    assert rest["baseline"]["model"].startswith("least squares") and rest["baseline"]["rmse"] > 0
    assert metrics["loo"]["num_points"] == 120 and np.isfinite(metrics["loo"]["elpd_loo"])
    shift = 120 * np.log(metrics["data"]["target_sd_train"])  # issue 12: LOO in original units
    assert metrics["loo"]["elpd_loo_original"] == pytest.approx(metrics["loo"]["elpd_loo"] - shift)
    assert set(metrics["gates"]) == {
        "R-hat",
        "bulk ESS",
        "tail ESS",
        "divergences",
        "E-BFMI",
        "max tree depth",
    }
    assert "R-hat" in text and "test (201 points): RMSE" in text
    # 40 draws cannot give 100 ESS per chain: the gate fails and a plain warning says so
    assert "warning:" in err and "bulk ESS" in err and "Traceback" not in err

    # issue 12: predictions for new inputs, in original units, extrapolation flagged
    pd.DataFrame({"other": [1, 2, 3], "x": [-1.0, 0.5, 10.0]}).to_csv(tmp_path / "new_x.csv")
    status, _, err = run_cli(capsys, "predict", out, "--data", tmp_path / "new_x.csv")
    assert status == 0, err
    pred = pd.read_csv(out / "predictions.csv")
    assert list(pred.columns) == [
        "x", "y_mean", "y_median", "y_sd_f", "y_q05", "y_q95", "extrapolated"
    ]  # fmt: skip
    assert pred["extrapolated"].tolist() == [False, False, True]
    assert np.all(pred["y_q05"] < pred["y_median"]) and np.all(pred["y_median"] < pred["y_q95"])
    pd.DataFrame({"z": [1.0]}).to_csv(tmp_path / "no_x.csv", index=False)
    status, _, err = run_cli(capsys, "predict", out, "--data", tmp_path / "no_x.csv")
    assert status == 2 and "missing feature column(s) x" in err and err.count("\n") == 1
    # issue 12: a second fit into the folder, on other data without a report, leaves no file of
    # the first run behind, and its spec.toml is the spec it ran (data source, overrides)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5, 60)
    pd.DataFrame({"x": x, "y": np.sin(x) + 0.1 * rng.normal(size=60)}).to_csv(
        tmp_path / "new.csv", index=False
    )
    status, _, err = run_cli(
        capsys, "fit", write(tmp_path, SPEC), "--out", out, "--no-report", "--no-progress",
        "--data", tmp_path / "new.csv", "--target", "y", "--num-samples", "15", "--seed", "7",
    )  # fmt: skip
    assert status == 0, err
    assert {p.name for p in out.iterdir()} == {
        "idata.nc",
        "summary.csv",
        "metrics.json",
        "spec.toml",
    }
    saved = load_spec(out / "spec.toml")
    assert saved.data.source == str(tmp_path / "new.csv") and saved.data.target == "y"
    assert saved.inference.config.num_samples == 15 and saved.inference.seed == 7
    assert saved.net == load_spec(write(tmp_path, SPEC)).net


@pytest.mark.slow
def test_interrupted_fit_resumes_to_the_same_draws(tmp_path, capsys, monkeypatch):
    import arviz as az

    spec = write(tmp_path, SPEC)
    status, _, err = run_cli(
        capsys, "fit", spec, "--out", tmp_path / "straight", "--no-progress", "--no-report"
    )
    assert status == 0, err
    saves = []
    original = Checkpoint.save

    def killed_after_four(self, *args):
        original(self, *args)
        saves.append(1)
        if len(saves) == 4:  # warmup (3 chunks) and one sampling chunk are on disk
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoint, "save", killed_after_four)
    out = tmp_path / "run"
    status, _, err = run_cli(capsys, "fit", spec, "--out", out)
    assert status == 130 and (out / "checkpoint" / "progress.json").exists()
    assert "continue with the same command and --resume" in err  # issue 12
    monkeypatch.setattr(Checkpoint, "save", original)
    status, _, err = run_cli(capsys, "fit", spec, "--out", out)  # no --resume: refused
    assert status == 2 and "holds an unfinished run" in err and "--resume" in err
    status, _, err = run_cli(capsys, "fit", spec, "--out", out, "--num-samples", "30", "--resume")
    assert status == 2 and "num_samples: checkpoint 20, now 30" in err
    status, _, err = run_cli(capsys, "fit", spec, "--out", out, "--resume", "--no-report")
    assert status == 0, err
    assert not (out / "checkpoint").exists()
    resumed = az.from_netcdf(out / "idata.nc")
    straight = az.from_netcdf(tmp_path / "straight" / "idata.nc")
    np.testing.assert_array_equal(resumed.posterior["f_monitor"], straight.posterior["f_monitor"])
    status, _, err = run_cli(capsys, "fit", spec, "--out", out, "--resume")
    assert status == 2 and "nothing to resume" in err


BAD_DATA = {
    "missing file": (["--data", "{tmp}/nope.csv", "--target", "y"], "nope.csv: no such file"),
    "NaN in a CSV": (["--data", "{tmp}/nan.csv", "--target", "y"], "nan.csv"),
    "unknown builtin": (["--data", "builtin:iris"], "builtin:iris"),
    "target without data": (["--target", "y"], "--target goes with --data"),
    "missing target column": (["--data", "{tmp}/nan.csv", "--target", "z"], "'z'"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_fails_with_one_line(tmp_path, capsys, case):
    (tmp_path / "nan.csv").write_text("x,y\n1,2\nnan,3\n4,5\n")
    argv, expected = BAD_DATA[case]
    argv = [a.format(tmp=tmp_path) for a in argv]
    status, out, err = run_cli(capsys, "fit", write(tmp_path, SPEC), "--out", tmp_path / "o", *argv)
    assert status == 2
    assert err.startswith("bnn-mogp: error: ") and err.count("\n") == 1, err
    assert expected in err
    assert not (tmp_path / "o" / "idata.nc").exists()


BAD_SPECS = {
    "unknown method": (
        'method = "hmc"',
        "[inference] method = 'hmc' is not one of: map, nuts, sghmc, sgld, svi",
    ),
    "bad target_accept": ("target_accept = 1.5", "target_accept must be in (0, 1), got 1.5"),
    "typo": ("num_sample = 10", "[inference] unknown field 'num_sample'"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_inference_tables_fail_with_one_line(tmp_path, capsys, case):
    line, expected = BAD_SPECS[case]
    spec = write(tmp_path, SPEC.replace("[inference]\n", f"[inference]\n{line}\n"))
    status, _, err = run_cli(capsys, "fit", spec, "--out", tmp_path / "o")
    assert status == 2 and expected in err and err.count("\n") == 1, err


def test_collapsed_needs_a_gaussian_likelihood(tmp_path, capsys):
    status, _, err = run_cli(
        capsys, "fit", write(tmp_path, SPEC), "--out", tmp_path / "o", "--data", "builtin:wine"
    )
    assert status == 2 and "collapsed = true needs the gaussian likelihood" in err


@pytest.mark.slow
@pytest.mark.parametrize("spec", MODELS, ids=[p.stem for p in MODELS])
def test_every_model_spec_fits(tmp_path, spec):
    """Each ready-to-run spec, end to end through the installed command, at a tiny size."""
    out = tmp_path / spec.stem
    method = load_spec(spec).inference.method
    minibatch = method in MINIBATCH_METHODS
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bnn_mogp",
            "fit",
            str(spec),
            "--out",
            str(out),
            *(
                ["--epochs", "4"]  # burn-in 2 epochs of 14 steps, thinning 28: one draw
                if minibatch
                else ["--num-warmup", "10", "--num-samples", "10"]
            ),
            "--num-chains",
            "1",
            "--no-progress",
            *(["--num-steps", "300"] if method == "svi" else []),
            *([] if spec.stem in WITH_REPORT else ["--no-report"]),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sampling"]["num_draws"] == (1 if minibatch else 10)
    assert np.isfinite(metrics["test"]["mean_log_predictive_density"])
    if spec.stem in WITH_REPORT:
        page = (out / "report.html").read_text()
        assert 'id="fig-node_variances"' in page and 'id="fig-pruning"' in page


@pytest.mark.slow
def test_student_t_fit_report_and_predict(tmp_path, capsys):
    """Issue 12: `[likelihood] family = "student_t"` end to end, on a CSV with outliers and an
    explicit test file (`--test-data`): ν in the run's attributes and saved spec, metrics and
    report from the t predictive (its 90 % intervals contain the Gaussian ones of the same
    draws), and `predict` with the t mixture's quantiles."""
    rng = np.random.default_rng(3)
    for name, n in (("train", 40), ("test", 7)):
        x = rng.uniform(-2, 2, n)
        y = np.sin(x) + 0.1 * rng.standard_t(2, n)
        pd.DataFrame({"y": y, "x": x}).to_csv(tmp_path / f"{name}.csv", index=False)
    spec = SPEC.replace("collapsed = true", 'family = "student_t"\ndf = 3.0')
    out = tmp_path / "t"
    status, text, err = run_cli(
        capsys, "fit", write(tmp_path, spec), "--out", out, "--no-progress",
        "--data", tmp_path / "train.csv", "--target", "y", "--test-data", tmp_path / "test.csv",
    )  # fmt: skip
    assert status == 0, err
    run = load_run(out)
    assert run.idata.attrs["likelihood"] == "student_t" and run.idata.attrs["df"] == 3.0
    saved = (out / "spec.toml").read_text()
    assert "df = 3.0" in saved and f'test_source = "{tmp_path / "test.csv"}"' in saved
    assert json.loads((out / "metrics.json").read_text())["test"]["num_test"] == 7
    assert 'id="fig-predictive"' in (out / "report.html").read_text()
    pd.DataFrame({"x": [-1.0, 0.5]}).to_csv(tmp_path / "new_x.csv", index=False)
    status, _, err = run_cli(capsys, "predict", out, "--data", tmp_path / "new_x.csv")
    assert status == 0, err
    pred = pd.read_csv(out / "predictions.csv")
    f, sigma = posterior_functions(run.idata, run.dataset.scale_X(np.array([[-1.0], [0.5]])))
    lo, hi = predictive_interval(f, sigma[:, None, None], 0.9, likelihood="student_t", df=3.0)
    assert pred["y_q05"].to_numpy() == pytest.approx(run.dataset.unscale_y(lo[:, 0]), rel=1e-9)
    glo, ghi = predictive_interval(f, sigma[:, None, None], 0.9)
    assert np.all(lo < glo) and np.all(hi > ghi)


def test_num_steps_is_for_svi_only(tmp_path, capsys):
    status, _, err = run_cli(
        capsys, "fit", write(tmp_path, SPEC), "--out", tmp_path / "o", "--num-steps", "10"
    )
    assert status == 2 and "--num-steps sets the optimisation steps of SVI" in err, err


def test_output_paths_fail_with_one_line_naming_the_option(tmp_path, capsys):
    """Issue 12: `--out` naming a file gave "[Errno 17] File exists"; `report --out` into a
    missing folder gave a temporary file's name."""
    (tmp_path / "afile").write_text("x")
    spec = write(tmp_path, SPEC)
    for out, expected in (
        (tmp_path / "afile", "--out {tmp}/afile: is a file, not a folder"),
        (tmp_path / "afile" / "sub", "--out {tmp}/afile/sub: {tmp}/afile is a file, not a folder"),
    ):
        status, _, err = run_cli(capsys, "fit", spec, "--out", out)
        assert status == 2 and expected.format(tmp=tmp_path) in err and err.count("\n") == 1, err
    status, _, err = run_cli(capsys, "report", tmp_path, "--out", tmp_path)
    assert status == 2 and f"--out {tmp_path}: is a folder; give a file name" in err, err


@pytest.mark.slow
def test_fit_until_converged_reports_how_it_ended(tmp_path, capsys):
    out = tmp_path / "run"
    status, text, err = run_cli(
        capsys, "fit", write(tmp_path, SPEC), "--out", out, "--no-report", "--no-progress",
        "--until-converged", "--max-samples", "40",
    )  # fmt: skip
    assert status == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    state = metrics["inference"]["until_converged"]
    # 20 draws per round: fresh starts after divergences (each at a higher target_accept, after
    # the first round or after its extension), the last target_accept extended to the budget
    assert state["num_samples"] == 40 and state["max_samples"] == 40
    restarts = state["restarts"]
    assert restarts + 2 <= state["rounds"] <= 2 * (restarts + 1), text
    assert text.count("draws per chain (") == state["rounds"] - 1 - restarts, text
    assert state["target_accept"] == [0.8, 0.9, 0.95, 0.99][state["restarts"]]
    assert state["status"] == "budget spent" and "bulk ESS" in state["failed_gates"]
    assert "not converged after 20 draws per chain" in text and "budget spent" in text
    assert text.count("starting afresh with target_accept") == state["restarts"]
    assert metrics["sampling"]["num_draws"] == 80
    svi = SPEC.replace("num_warmup = 30\n", 'method = "svi"\nuntil_converged = true\n')
    bad = write(tmp_path, svi, "svi.toml")
    status, _, err = run_cli(capsys, "fit", bad, "--out", tmp_path / "svi")
    assert status == 2 and "until_converged = true needs method = 'nuts'" in err


SGHMC_SPEC = """
name = "tiny_sghmc"
[network]
widths = [8]
sigma_b = 1.0
[prior]
family = "stable"
alpha_prior = [2.0, 2.0]
[data]
source = "builtin:wine"
[inference]
method = "sghmc"
batch_size = 32
epochs = 6
learning_rate = 0.1
thinning = 2
num_prior_draws = 10
"""


@pytest.mark.slow
def test_sghmc_fit_end_to_end_with_report(tmp_path, capsys):
    """A mini-batch fit from the command line (wine, 142 training rows: 4 batches of 32 per
    epoch): the draws after the burn-in (3 epochs × 4 steps / thinning 2 = 6), the training
    history, the learned α, no convergence gates but the reason, and the report's figures."""
    out = tmp_path / "run"
    status, text, err = run_cli(capsys, "fit", write(tmp_path, SGHMC_SPEC), "--out", out)
    assert status == 0, err
    assert "SGHMC, 1 chain(s) × 6 epochs on batches of 32" in text
    assert "(no convergence gates) SGHMC draws" in text
    assert "The learned hyper-parameters (alpha_1) are not mixed" in text
    run = load_run(out)
    assert run.idata.attrs["method"] == "sghmc" and "SGHMC" in run.idata.attrs["draws"]
    assert run.idata.posterior.sizes["draw"] == 6
    assert run.idata.training["nll"].shape == (1, 6)
    assert 0 < float(run.idata.posterior["alpha_1"].min()) < 1
    assert not len(run.gates)
    page = (out / "report.html").read_text()
    for figure in ("training", "hyperparameters", "pruning"):
        assert f'id="fig-{figure}"' in page
    assert "R-hat" not in page.split('id="convergence"')[1].split("<h2")[0]
    status, _, err = run_cli(
        capsys, "fit", write(tmp_path, SGHMC_SPEC), "--out", tmp_path / "o", "--num-steps", "5"
    )
    assert status == 2 and "--num-steps sets the optimisation steps of SVI" in err, err

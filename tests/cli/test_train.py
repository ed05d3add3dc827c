"""``bnn-mogp train``: outputs, resume, the shipped training specs, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bnn_mogp.cli.train_spec import load_train_spec
from bnn_mogp.training import HISTORY, Uniform, Zipf
from tests.helpers import run_cli, shipped_specs, write

TINY = """
name = "tiny"
[data]
source = "builtin:sphere_sine"
sizes = {train = 30, test = 20, transfer_train = 25, transfer_test = 15}
dim = 5
[training]
width = 40
steps = 40
log_every = 10
ntk_points = 8
dtype = "float64"
transfer_dims = [5, 10]
readout_steps = 30
prune_fractions = [0.0, 0.5, 0.9]
[[training.settings]]
label = "flat"
scaling = "uniform"
[[training.settings]]
scaling = "zipf"
alpha = 0.5
gamma = 0.2
learning_rate = 0.5
"""


def test_train_writes_every_output(tmp_path, capsys):
    out = tmp_path / "run"
    status, text, err = run_cli(capsys, "train", write(tmp_path, TINY), "--out", out)
    assert status == 0, err
    for name in ("history.csv", "pruning.csv", "transfer.csv", "metrics.json", "params.npz"):
        assert (out / name).is_file(), name
    labels = ["flat", "zipf(α=0.5, γ=0.2)"]
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == ["setting", *HISTORY]
    assert list(history["setting"].unique()) == labels
    assert list(history.loc[history["setting"] == "flat", "step"]) == [0, 10, 20, 30, 40]
    pruning = pd.read_csv(out / "pruning.csv")
    assert list(pruning["fraction"]) == [0.0, 0.5, 0.9] * 2
    assert list(pruning["nodes_removed"]) == [0, 20, 36] * 2
    first = history.groupby("setting").tail(1).set_index("setting")
    full = pruning[pruning["fraction"] == 0.0].set_index("setting")
    np.testing.assert_allclose(full["test_risk"], first.loc[full.index, "test_risk"], rtol=1e-9)
    transfer = pd.read_csv(out / "transfer.csv")
    assert list(transfer["dim"]) == [5, 10] * 2 and set(transfer["metric"]) == {"mse"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["sizes"] == {
        "train": 30, "test": 20, "transfer_train": 25, "transfer_test": 15
    }  # fmt: skip
    zipf = metrics["settings"][labels[1]]
    assert zipf["config"]["learning_rate"] == 0.5 and zipf["network"]["in_dim"] == 5
    expected = Zipf(0.5, 0.2).scalings(40)
    assert zipf["lambda"]["max"] == pytest.approx(expected[0], rel=1e-12)
    assert zipf["lambda"]["effective_nodes"] == pytest.approx(1 / np.sum(expected**2))
    with np.load(out / "params.npz") as f:
        np.testing.assert_allclose(f["1_lam"], Uniform().scalings(40), rtol=1e-6)
        assert f["2_w"].shape == f["2_w0"].shape == (5, 40) and f["2_u"].shape == (40, 1)
    page = (out / "report.html").read_text()
    for name in ("history", "pruning", "transfer", "scalings"):
        assert f'id="fig-{name}"' in page and (out / f"{name}.png").stat().st_size > 1000
    assert "flat" in text and "wrote" in text


def test_resume_extends_a_finished_run_and_refuses_to_overwrite(tmp_path, capsys):
    spec = write(tmp_path, TINY)
    short, long_ = tmp_path / "short", tmp_path / "long"
    assert run_cli(capsys, "train", spec, "--out", short, "--steps", "20")[0] == 0
    status, _, err = run_cli(capsys, "train", spec, "--out", short)
    assert status == 2 and "already holds a training run" in err and "--resume" in err
    assert run_cli(capsys, "train", spec, "--out", short, "--steps", "40", "--resume")[0] == 0
    assert run_cli(capsys, "train", spec, "--out", long_, "--steps", "40")[0] == 0
    a, b = (pd.read_csv(d / "history.csv").drop(columns="wall_time") for d in (short, long_))
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    status, _, err = run_cli(capsys, "train", spec, "--out", tmp_path / "new", "--resume")
    assert status == 2 and "nothing to resume" in err


@pytest.mark.parametrize("path", shipped_specs("training"), ids=lambda p: p.stem)
def test_shipped_training_specs(path):
    spec = load_train_spec(path)
    assert spec.name == path.stem and spec.description
    assert [s.label for s in spec.settings] == [
        "γ = 1 (uniform)", "α = .7, γ = .5", "α = .5, γ = .2", "α = .4, γ = 0"
    ]  # fmt: skip
    assert [s.scaling for s in spec.settings] == [
        Uniform(), Zipf(0.7, 0.5), Zipf(0.5, 0.2), Zipf(0.4, 0.0)
    ]  # fmt: skip
    assert {s.net.width for s in spec.settings} == {2000}
    assert {s.config.learning_rate for s in spec.settings} == {1.0}
    assert spec.transfer_dims == (10, 20, 50, 100)


def test_prior_scalings_and_classification(tmp_path, capsys):
    text = """
    [data]
    source = "builtin:wine"
    [training]
    width = 30
    steps = 20
    log_every = 10
    loss = "cross_entropy"
    optimizer = "adam"
    learning_rate = 0.01
    ntk_points = 0
    transfer_dims = [5]
    readout_steps = 20
    prune_fractions = [0.0, 0.5]
    scaling = "prior"
    prior = {family = "horseshoe", scale = 1.0}
    """
    out = tmp_path / "wine"
    status, _, err = run_cli(capsys, "train", write(tmp_path, text, "wine.toml"), "--out", out)
    assert status == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    ((label, setting),) = metrics["settings"].items()
    assert label == "prior horseshoe(scale=1)" and setting["network"]["out_dim"] == 3
    assert metrics["data"]["num_classes"] == 3 and metrics["data"]["sizes"]["train"] == 71
    assert 0.0 <= setting["final"]["test_accuracy"] <= 1.0
    with np.load(out / "params.npz") as f:
        assert f["1_lam"].sum() == pytest.approx(1.0, rel=1e-6) and f["1_u"].shape == (30, 3)
    assert set(pd.read_csv(out / "transfer.csv")["metric"]) == {"accuracy"}


BAD = [
    ("[training]\nwidht = 3\n", "[training] unknown field 'widht'"),
    ("[training]\nscaling = 'zipf'\nalpha = 0.5\n", "scaling = 'zipf' needs gamma"),
    ("[training]\nscaling = 'pareto'\n", "scaling = 'pareto' is not one of"),
    ("[training]\nscaling = 'prior'\n", "scaling = 'prior' needs a table prior"),
    ("[training]\nscaling = 'uniform'\nalpha = 1.0\n", "alpha does not apply to scaling"),
    ("[training]\nlearning_rate = -1\n", "learning_rate"),
    ("[training]\nwidth = 8\ntransfer_dims = [10]\n", "transfer_dims must be at most"),
    ("[training]\nprune_fractions = [0.5, 1.5]\n", "prune_fractions[1] must be a number"),
    ("[training]\noptimizer = 'sgd'\n", "needs a batch_size"),
    (
        "[training]\n[[training.settings]]\nlabel = 'a'\n[[training.settings]]\nlabel = 'a'\n",
        "two settings share the label 'a'",
    ),
    ("[training]\n[[training.settings]]\nsteps = 3\n", "(setting 1) unknown field 'steps'"),
    ("[data]\nsource = 'builtin:digits'\nsizes = {train = 3}\n[training]\n", "sizes applies to"),
    ("[data]\nsource = 'builtin:iris'\n[training]\n", "source = 'builtin:iris' is not one of"),
    ("[data]\nsizes = {valid = 3}\n[training]\n", "unknown field 'valid'"),
    ("[network]\nwidths = [3]\n", "missing required table [training] (it is a model spec"),
    ("[training]\n[prior]\nfamily = 'horseshoe'\n", "unknown field or table 'prior'"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_training_specs_fail_in_one_line(tmp_path, capsys, text, message):
    status, _, err = run_cli(capsys, "train", write(tmp_path, text, "bad.toml"))
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err


def test_a_training_spec_is_refused_by_the_model_commands(tmp_path, capsys):
    status, _, err = run_cli(capsys, "fit", write(tmp_path, TINY))
    assert status == 2 and "this is a training spec" in err and "bnn-mogp train" in err


def test_bad_data_fails_in_one_line(tmp_path, capsys):
    spec = write(tmp_path, TINY)
    status, _, err = run_cli(capsys, "train", spec, "--data", tmp_path / "missing.csv")
    assert status == 2 and "missing.csv" in err and err.count("\n") == 1
    (tmp_path / "reg.csv").write_text("a,y\n" + "".join(f"{i},{i % 3}.5\n" for i in range(30)))
    text = TINY.replace('loss = "mse"', "").replace(
        "[training]", '[training]\nloss = "cross_entropy"'
    )
    status, _, err = run_cli(
        capsys, "train", write(tmp_path, text, "ce.toml"), "--data", tmp_path / "reg.csv",
        "--target", "y", "--out", tmp_path / "ce",
    )  # fmt: skip
    assert status == 2 and "loss 'cross_entropy' needs class labels" in err
    status, _, err = run_cli(capsys, "train", spec, "--target", "y")
    assert status == 2 and "--target goes with --data" in err


def test_flags_name_divergence_no_progress_and_unresolved_eigenvalues():
    import jax

    from bnn_mogp.cli.train import _flags
    from bnn_mogp.training import NodeScaledNet, TrainConfig, train

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    config = TrainConfig(steps=20, log_every=10, ntk_points=6)
    result = train(jax.random.PRNGKey(0), NodeScaledNet(3, 30), Uniform(), X, y, config=config)
    assert _flags(result) == [
        f"the training risk fell only from {result.history['train_risk'][0]:.3g} to "
        f"{result.history['train_risk'][-1]:.3g}: not trained yet (more steps or a larger "
        "learning rate)"
    ]
    result.history["train_risk"][1:] = [np.inf, np.nan]
    result.history["ntk_min_eig"][-1] = 1e-12
    flags = _flags(result)
    assert flags[0].startswith("training diverged (non-finite risk from step 10)")
    assert "float32 resolution of the eigenvalue solver" in flags[1]

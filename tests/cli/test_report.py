"""``bnn-mogp report`` and ``bnn-mogp prune`` on real runs: every figure present, the page
rendered by a headless browser (Chromium) non-blank with every image decoded and laid out, and
the prune comparison of several runs.

The browser checks need Chromium (Debian package ``chromium``); without it they are skipped,
unless ``BNN_MOGP_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes a missing browser a failure.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bnn_mogp.cli import main
from bnn_mogp.cli.fit import run_fit
from bnn_mogp.cli.spec import load_spec
from bnn_mogp.inference import make_config

ROOT = Path(__file__).resolve().parents[2]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

#: figures of a NUTS run's report
NUTS_FIGURES = {
    "predictive",
    "pointwise_lpd",
    "loo",
    "trace",
    "rank",
    "energy",
    "pairs",
    "node_variances",
    "pruning",
}
#: spec, overrides of [inference], figures the report must hold
RUNS = {
    "regression_1d": (
        "gaussian.toml",
        dict(num_warmup=40, num_samples=40),
        NUTS_FIGURES,
    ),
    "classification": (
        "gaussian_mixture.toml",
        dict(num_warmup=40, num_samples=40),
        NUTS_FIGURES,
    ),
    "regression_svi": (
        "horseshoe.toml",
        dict(method="svi", num_steps=300, num_samples=50),
        {"predictive", "pointwise_lpd", "loo", "svi_loss", "node_variances", "pruning"},
    ),
}


# the module-scoped fits below are made once, on one xdist worker (pyproject: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("report_runs")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name, (spec_file, overrides, _) in RUNS.items():
        spec = load_spec(ROOT / "models" / spec_file)
        settings = dict(overrides)
        method = settings.pop("method", spec.inference.method)
        base = spec.inference.config if method == spec.inference.method else None
        config = make_config(method, base, **settings)
        spec = dataclasses.replace(
            spec, inference=dataclasses.replace(spec.inference, config=config)
        )
        run_dir = tmp_path_factory.mktemp(name)
        run_fit(spec, out_dir=run_dir, log=lambda _line: None)
        out[name] = run_dir
    return out


def figure_ids(page: str) -> set:
    return set(re.findall(r'<figure id="fig-([a-z_]+)"', page))


def browser():
    path = next((p for p in map(shutil.which, BROWSERS) if p), None)
    if path is None:
        if os.environ.get("BNN_MOGP_REQUIRE_BROWSER") == "1":
            pytest.fail("BNN_MOGP_REQUIRE_BROWSER=1 but no Chromium found (apt install chromium)")
        pytest.skip("no headless browser (Chromium) on this machine")
    return path


def run_browser(tmp_path, *args):
    exe = browser()
    proc = subprocess.run(
        [exe, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


#: appended to a copy of the report: after load, write each image's decoded and laid-out width
#: and the page height into the DOM, which --dump-dom prints
PROBE = """<script>window.addEventListener("load", () => {
  const rows = [...document.images].map(i => i.closest("figure").id + ":" +
    (i.complete ? i.naturalWidth : 0) + ":" + Math.round(i.getBoundingClientRect().width));
  document.body.setAttribute("data-images", rows.join(","));
  document.body.setAttribute("data-height", document.documentElement.scrollHeight);
});</script>"""


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_report_renders_in_a_browser(runs, name, tmp_path):
    from PIL import Image

    run_dir = runs[name]
    report = run_dir / "report.html"
    assert report.is_file() and (run_dir / "pruning.csv").is_file()  # written by fit itself
    page = report.read_text()
    expected = RUNS[name][2]
    assert figure_ids(page) == expected
    assert "http://" not in page and "https://" not in page  # self-contained
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        image = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"))
        assert image.shape[0] > 100 and (image < 250).mean() > 0.02  # a drawn figure, not blank
    for heading in (
        "Did it converge?",
        "How well does it predict?",
        "Which nodes matter?",
        "How far can it be pruned?",
        "Specification and data",
    ):
        assert heading in page

    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    dom = run_browser(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    rows = re.search(r'data-images="([^"]*)"', dom).group(1).split(",")
    seen = {}
    for row in rows:
        fig, natural, shown = row.split(":")
        seen[fig.removeprefix("fig-")] = (int(natural), int(shown))
    assert set(seen) == expected
    assert all(natural > 200 and shown > 200 for natural, shown in seen.values()), seen
    height = int(re.search(r'data-height="(\d+)"', dom).group(1))

    shot = tmp_path / "report.png"
    run_browser(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", report.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (2400, 1280)
    dark = (pixels.min(-1) < 200).mean()
    assert dark > 0.03, f"screenshot nearly blank ({100 * dark:.1f} % drawn pixels)"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100  # figures, not just text
    assert height > 3000  # every section laid out below the fold


@pytest.mark.slow
def test_report_and_prune_commands(runs, tmp_path, capsys):
    out = tmp_path / "again.html"
    assert main(["report", str(runs["regression_svi"]), "--out", str(out)]) == 0
    assert figure_ids(out.read_text()) == RUNS["regression_svi"][2]
    prune_dir = tmp_path / "pruning"
    status = main(
        [
            "prune",
            str(runs["regression_1d"]),
            str(runs["regression_svi"]),
            "--out",
            str(prune_dir),
            "--fractions",
            "0.5,0.9",
        ]
    )
    text, err = capsys.readouterr()
    assert status == 0, err
    table = pd.read_csv(prune_dir / "pruning.csv")
    assert sorted(table["run"].unique()) == ["gaussian", "horseshoe"]
    assert table.groupby("run")["fraction"].apply(list).tolist() == [[0.0, 0.5, 0.9]] * 2
    assert (table.loc[table["fraction"] == 0, "lpd_change"] == 0).all()
    summary = json.loads((prune_dir / "pruning.json").read_text())
    assert set(summary) == {"gaussian", "horseshoe"}
    assert summary["gaussian"]["limit_drift"] == 1.0  # Deterministic(c=1): a = c
    assert (prune_dir / "pruning.png").stat().st_size > 10_000
    assert "within 2 paired se" in text

    assert main(["prune", str(runs["regression_1d"]), str(runs["classification"])]) == 2
    assert "mix regression and classification" in capsys.readouterr().err
    assert main(["prune", str(tmp_path / "nothing")]) == 2
    assert "is not a finished bnn-mogp fit run" in capsys.readouterr().err
    assert main(["prune", str(runs["regression_1d"]), "--fractions", "0.5,1"]) == 2
    assert "fractions in [0, 1)" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing")]) == 2

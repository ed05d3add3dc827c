"""Test-set metrics against hand computations; the mixture interval against SciPy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import optimize, special, stats

import bnn_mogp as bm
from bnn_mogp.evaluation import (
    function_metrics,
    pit_values,
    pointwise_lpd,
    predictive_interval,
    predictive_metrics,
    reliability_table,
)
from bnn_mogp.inference import make_inference_data


def linear_idata(rng, S, likelihood, out_dim=1, noise_std=None):
    """A hand-made 'posterior' of Bayesian linear regression (widths = (), σ_w = 1.5,
    σ_b = 0.5) with 2 chains; the network is described in the attributes, as fit does."""
    post = {"w_1": rng.normal(size=(2, S, 2, out_dim)), "b_1": rng.normal(size=(2, S, out_dim))}
    net = bm.MLP(in_dim=2, widths=(), out_dim=out_dim, sigma_w=1.5, sigma_b=0.5)
    attrs = {
        "method": "nuts",
        "likelihood": likelihood,
        "noise_scale": 1.0,
        "network": json.dumps(net.to_dict()),
    }
    if likelihood == "student_t":
        attrs["df"] = 3.0
    if likelihood in ("gaussian", "student_t") and noise_std is None:
        post["sigma"] = np.abs(rng.normal(size=(2, S))) + 0.3
    if noise_std is not None:
        attrs["noise_std"] = noise_std
    return make_inference_data(posterior=post, attrs=attrs), post


def functions(post, X, sigma_w=1.5, sigma_b=0.5):
    w = post["w_1"].reshape(-1, *post["w_1"].shape[2:])
    b = post["b_1"].reshape(-1, post["b_1"].shape[-1])
    return np.einsum("nd,sdk->snk", X, sigma_w / math.sqrt(X.shape[1]) * w) + sigma_b * b[:, None]


def test_gaussian_metrics_by_hand():
    rng = np.random.default_rng(0)
    idata, post = linear_idata(rng, 50, "gaussian")
    X, y = rng.normal(size=(7, 2)), rng.normal(size=7)
    m = predictive_metrics(idata, X, y, y_scale=3.0)
    f = functions(post, X)[..., 0]
    sigma = post["sigma"].reshape(-1)[:, None]
    lpd = special.logsumexp(stats.norm.logpdf(y, f, sigma), axis=0) - math.log(100) - math.log(3)
    assert m["rmse"] == pytest.approx(3 * np.sqrt(np.mean((f.mean(0) - y) ** 2)), rel=1e-10)
    assert m["mean_log_predictive_density"] == pytest.approx(lpd.mean(), rel=1e-10)
    lo, hi = predictive_interval(f[..., None], sigma[..., None], 0.9)
    assert m["coverage_90"] == np.mean((y >= lo[:, 0]) & (y <= hi[:, 0]))


def test_fixed_noise_is_read_from_the_attributes():
    rng = np.random.default_rng(1)
    idata, post = linear_idata(rng, 30, "gaussian", noise_std=0.4)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    f = functions(post, X)[..., 0]
    lpd = special.logsumexp(stats.norm.logpdf(y, f, 0.4), axis=0) - math.log(60)
    m = predictive_metrics(idata, X, y)
    assert m["mean_log_predictive_density"] == pytest.approx(lpd.mean(), rel=1e-10)


def test_student_t_metrics_by_hand():
    """lpd_i = log (1/S) Σ_s t_ν(y_i; f_s, σ_s) with ν = 3 read from the attributes; the 90 %
    interval solves the t mixture's CDF equations; PIT values are the t mixture's CDF."""
    rng = np.random.default_rng(7)
    idata, post = linear_idata(rng, 50, "student_t")
    X, y = rng.normal(size=(6, 2)), 3 * rng.normal(size=6)
    m = predictive_metrics(idata, X, y, y_scale=2.0)
    f = functions(post, X)[..., 0]
    sigma = post["sigma"].reshape(-1)[:, None]
    lpd = special.logsumexp(stats.t.logpdf(y, 3.0, f, sigma), axis=0) - math.log(100)
    assert m["mean_log_predictive_density"] == pytest.approx(lpd.mean() - math.log(2), rel=1e-10)
    lo, hi = predictive_interval(f[..., None], sigma[..., None], 0.9, likelihood="student_t", df=3)
    for i in range(6):

        def cdf_minus(t, q, i=i):
            return stats.t.cdf((t - f[:, i]) / sigma[:, 0], 3.0).mean() - q

        assert lo[i, 0] == pytest.approx(optimize.brentq(cdf_minus, -200, 200, (0.05,)), abs=1e-9)
        assert hi[i, 0] == pytest.approx(optimize.brentq(cdf_minus, -200, 200, (0.95,)), abs=1e-9)
    assert m["coverage_90"] == np.mean((y >= lo[:, 0]) & (y <= hi[:, 0]))
    u = pit_values(f[..., None], sigma[:, 0], y, likelihood="student_t", df=3.0)[:, 0]
    assert u == pytest.approx(stats.t.cdf((y - f) / sigma, 3.0).mean(0), rel=1e-12)
    gauss = predictive_interval(f[..., None], sigma[..., None], 0.9)
    assert np.all(gauss[1] - gauss[0] < hi - lo)  # the t mixture is wider
    with pytest.raises(ValueError, match="df must be in"):
        pointwise_lpd(f[..., None], sigma[:, 0], y, likelihood="student_t", df=-1.0)


@pytest.mark.parametrize("likelihood,K", [("bernoulli", 1), ("categorical", 4)])
def test_classification_metrics_by_hand(likelihood, K):
    rng = np.random.default_rng(2)
    idata, post = linear_idata(rng, 40, likelihood, out_dim=K)
    X = rng.normal(size=(9, 2))
    y = rng.integers(0, 2 if K == 1 else K, size=9)
    f = functions(post, X)
    if K == 1:
        p1 = special.expit(f[..., 0])
        probs = np.stack([1 - p1, p1], -1)
    else:
        probs = special.softmax(f, -1)
    mean = probs.mean(0)
    m = predictive_metrics(idata, X, y)
    assert m["accuracy"] == np.mean(mean.argmax(-1) == y)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log(mean[np.arange(9), y])), rel=1e-9)


def testpredictive_interval_matches_root_finding():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(20, 3, 1))
    sd = np.abs(rng.normal(size=(20, 1, 1))) + 0.1
    lo, hi = predictive_interval(f, sd, 0.8)
    for i in range(3):

        def cdf_minus(t, q, i=i):
            return stats.norm.cdf((t - f[:, i, 0]) / sd[:, 0, 0]).mean() - q

        assert lo[i, 0] == pytest.approx(optimize.brentq(cdf_minus, -20, 20, (0.1,)), abs=1e-9)
        assert hi[i, 0] == pytest.approx(optimize.brentq(cdf_minus, -20, 20, (0.9,)), abs=1e-9)
    one = predictive_interval(np.zeros((1, 1, 1)), np.ones((1, 1, 1)), 0.9)
    assert one[1][0, 0] == pytest.approx(stats.norm.ppf(0.95), abs=1e-12)


@pytest.mark.statistical
def test_pit_of_targets_drawn_from_the_predictive_is_uniform():
    """y_i drawn from the mixture (1/S) Σ_s N(f_s(x_i), σ_s²) itself: the PIT values are iid
    Uniform(0, 1); KS test at false-failure rate 1e-3. Targets drawn from a predictive twice as
    wide are rejected."""
    rng = np.random.default_rng(3)
    S, T = 200, 2000
    f = rng.normal(size=(S, T, 1)) + rng.normal(size=(1, T, 1))
    sigma = 0.5 + rng.uniform(size=S)
    pick = rng.integers(S, size=T)
    y = f[pick, np.arange(T), 0] + sigma[pick] * rng.normal(size=T)
    u = pit_values(f, sigma, y)
    assert u.shape == (T, 1)
    assert stats.kstest(u[:, 0], "uniform").pvalue > 1e-3
    wide = f.mean(0)[:, 0] + 2 * (y - f.mean(0)[:, 0])
    assert stats.kstest(pit_values(f, sigma, wide)[:, 0], "uniform").pvalue < 1e-3


def test_reliability_table_by_hand():
    probs = np.array([[0.45, 0.55], [0.65, 0.35], [0.25, 0.75], [0.85, 0.15], [0.05, 0.95]])
    y = np.array([1, 0, 0, 0, 1])
    table, ece = reliability_table(probs, y, num_bins=5)  # bins of width 0.1 on [0.5, 1]
    assert table["count"].tolist() == [1, 1, 1, 1, 1]
    np.testing.assert_allclose(table["confidence"], [0.55, 0.65, 0.75, 0.85, 0.95])
    np.testing.assert_allclose(table["accuracy"], [1, 1, 0, 1, 1])
    expected = (0.45 + 0.35 + 0.75 + 0.15 + 0.05) / 5
    assert ece == pytest.approx(expected)
    assert (table["lo"] <= table["accuracy"]).all() and (table["accuracy"] <= table["hi"]).all()


def test_per_draw_metrics_and_pointwise_lpd_by_hand():
    rng = np.random.default_rng(4)
    S, T = 30, 9
    f = rng.normal(size=(S, T, 1))
    sigma = 0.5 + rng.uniform(size=S)
    y = rng.normal(size=T)
    lpd = pointwise_lpd(f, sigma, y, likelihood="gaussian", y_scale=2.0)
    dens = stats.norm.pdf(y[None], f[..., 0], sigma[:, None]).mean(0)
    np.testing.assert_allclose(lpd, np.log(dens) - np.log(2.0), rtol=1e-12)
    m = function_metrics(f, sigma, y, likelihood="gaussian", y_scale=2.0, per_draw=True)
    assert m["mean_log_predictive_density_se"] == pytest.approx(lpd.std(ddof=1) / 3)
    draw_rmse = 2.0 * np.sqrt(((f[..., 0] - y) ** 2).mean(1))
    assert m["rmse_q05"] == pytest.approx(np.quantile(draw_rmse, 0.05))
    logits = rng.normal(size=(S, T, 3))
    labels = rng.integers(3, size=T)
    m = function_metrics(logits, None, labels, likelihood="categorical", per_draw=True)
    draw_acc = (logits.argmax(-1) == labels).mean(1)
    assert m["accuracy_q95"] == pytest.approx(np.quantile(draw_acc, 0.95))
    p = special.softmax(logits, -1).mean(0)[np.arange(T), labels]
    assert m["log_loss"] == pytest.approx(-np.log(p).mean())


def test_point_predictions_by_hand():
    """Issue 12: the posterior mean, which every metric used, was dominated by a few
    heavy-tailed draws at extrapolated inputs (predicted −12 758 where the data say ~2000)."""
    from bnn_mogp.evaluation import point_predictions

    rng = np.random.default_rng(1)
    y = rng.normal(size=(6, 1))
    light = y[None] + 0.3 * rng.normal(size=(400, 6, 1))
    heavy = y[None] + 0.3 * rng.standard_cauchy(size=(400, 6, 1))
    p = point_predictions(light)
    assert p["point_prediction"] == "mean" and p["mean_mc_error"] < 0.25
    np.testing.assert_array_equal(p["median"], np.median(light, 0))
    p = point_predictions(heavy)
    assert p["point_prediction"] == "median" and "Monte Carlo error" in p["point_prediction_reason"]
    p = point_predictions(light, output_tail_index=1.0)  # the horseshoe's output law
    assert p["point_prediction"] == "median" and "no finite mean" in p["point_prediction_reason"]
    m = function_metrics(heavy, np.full(400, 0.3), y[:, 0], likelihood="gaussian", y_scale=2.0)
    median_err = 2.0 * (np.median(heavy, 0) - y)
    assert m["rmse"] == m["rmse_median"] == pytest.approx(np.sqrt(np.mean(median_err**2)))
    assert m["mae"] == pytest.approx(np.mean(np.abs(median_err)))
    assert m["rmse_mean"] == pytest.approx(2.0 * np.sqrt(np.mean((heavy.mean(0) - y) ** 2)))
    forced = function_metrics(
        heavy, np.full(400, 0.3), y[:, 0], likelihood="gaussian", y_scale=2.0, point="mean"
    )
    assert forced["rmse"] == forced["rmse_mean"] and forced["point_prediction"] == "mean"


def test_extrapolation_by_hand():
    from bnn_mogp.evaluation import extrapolation

    X_train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    X = np.array([[0.5, 0.5], [1.5, 0.5], [0.5, -0.2], [1.0, 1.0]])
    ex = extrapolation(X_train, X)
    assert ex["outside_range"].tolist() == [False, True, True, False]
    assert ex["features"] == [[], [0], [1], []]
    # C = diag(1/3, 1/3) (ddof 1): training distances sqrt(1.5); (1.5, 0.5): sqrt(3)
    assert ex["max_train_mahalanobis"] == pytest.approx(math.sqrt(1.5))
    assert ex["mahalanobis"][1] == pytest.approx(math.sqrt(3.0))
    assert ex["beyond_mahalanobis"].tolist() == [False, True, False, False]
    assert ex["any"].tolist() == [False, True, True, False]


def test_baseline_metrics_by_hand():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from bnn_mogp.evaluation import baseline_metrics

    rng = np.random.default_rng(2)
    X, X_test = rng.normal(size=(30, 2)), rng.normal(size=(10, 2))
    y, y_test = X @ [1.0, -2.0] + 0.5 + 0.3 * rng.normal(size=30), rng.normal(size=10)
    m = baseline_metrics(X, y, X_test, y_test, likelihood="gaussian", y_scale=2.0)
    pred = LinearRegression().fit(X, y).predict(X_test)
    s = np.sqrt(np.sum((y - LinearRegression().fit(X, y).predict(X)) ** 2) / 27)
    assert m["rmse"] == pytest.approx(2 * np.sqrt(np.mean((pred - y_test) ** 2)), rel=1e-10)
    assert m["mae"] == pytest.approx(2 * np.mean(np.abs(pred - y_test)), rel=1e-10)
    lpd = stats.norm.logpdf(y_test, pred, s) - math.log(2.0)
    assert m["mean_log_predictive_density"] == pytest.approx(lpd.mean(), rel=1e-10)
    labels = (X[:, 0] > 0).astype(int)
    m = baseline_metrics(X, labels, X_test, (X_test[:, 0] > 0).astype(int), likelihood="bernoulli")
    model = LogisticRegression(max_iter=2000).fit(X, labels)
    assert m["accuracy"] == np.mean(model.predict(X_test) == (X_test[:, 0] > 0))

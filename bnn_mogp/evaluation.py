r"""Posterior predictive quality on held-out data.

For S posterior draws θ_s and a test point (x_i, y_i):

- log predictive density lpd_i = log (1/S) Σ_s p(y_i | f_s(x_i), σ_s) (the Monte Carlo estimate of
  log p(y_i | data)); reported as the mean over test points, in original units for regression
  (lpd − K·log y_std per point when y was standardised with y_std);
- regression: RMSE of the posterior mean of f, in original units; the fraction of test targets
  inside the central 90 % posterior predictive interval (f_s + σ_s ε, from the mixture CDF);
- classification: accuracy of the arg-max of the posterior mean probabilities, and log loss
  −(1/T) Σ_i log p̄(y_i) = −lpd.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from jax.scipy.special import logsumexp
from scipy import special, stats

from bnn_mogp._deprecation import moved_names
from bnn_mogp.inference import results

__all__ = [
    "predictive_metrics",
    "function_metrics",
    "pointwise_lpd",
    "pit_values",
    "reliability_table",
    "class_probabilities",
    "predictive_interval",
]


def predictive_metrics(
    idata, X_test, y_test, *, y_scale: float = 1.0, interval: float = 0.9
) -> dict:
    """Test-set metrics of a fit (module docstring); ``y_scale``: the sd used to standardise a
    regression target (1 if it was not), to report RMSE and lpd in original units.
    """
    f, sigma = results.posterior_functions(idata, X_test)
    return function_metrics(
        f,
        sigma,
        y_test,
        likelihood=results.model_kwargs(idata)["likelihood"],
        y_scale=y_scale,
        interval=interval,
    )


__getattr__ = moved_names(
    __name__, {"posterior_functions": "bnn_mogp.inference", "noise_draws": "bnn_mogp.inference"}
)


def function_metrics(
    f,
    sigma,
    y_test,
    *,
    likelihood: str,
    y_scale: float = 1.0,
    interval: float = 0.9,
    per_draw: bool = False,
) -> dict:
    """Test-set metrics (module docstring) from function draws f (S, T, K) and noise sds
    sigma (S,) (None for classification).

    With ``per_draw``, also standard errors over test points (``*_se``: of the mean log
    predictive density, of the accuracy and log loss, and of the RMSE by the delta method) and
    the 5 % / 95 % quantiles over draws of each draw's own RMSE or accuracy (``*_q05``, ``*_q95``).
    """
    y = np.asarray(y_test)
    S, T = f.shape[:2]
    out: dict[str, float] = {"num_test": int(T)}
    if likelihood == "gaussian":
        Y = y.reshape(T, -1)
        sd = sigma[:, None, None]
        lpd = pointwise_lpd(f, sigma, y, likelihood=likelihood, y_scale=y_scale)
        sq_err = y_scale**2 * np.mean((f.mean(0) - Y) ** 2, axis=-1)
        lo, hi = predictive_interval(f, sd, interval)
        rmse = float(np.sqrt(sq_err.mean()))
        out.update(rmse=rmse, mean_log_predictive_density=float(lpd.mean()))
        out[f"coverage_{round(100 * interval)}"] = float(np.mean((Y >= lo) & (Y <= hi)))
        if per_draw:
            draw_rmse = y_scale * np.sqrt(np.mean((f - Y[None]) ** 2, axis=(1, 2)))
            out.update(
                rmse_se=float(_se(sq_err) / (2 * rmse)) if rmse > 0 else 0.0,
                rmse_q05=float(np.quantile(draw_rmse, 0.05)),
                rmse_q95=float(np.quantile(draw_rmse, 0.95)),
                mean_log_predictive_density_se=float(_se(lpd)),
            )
        return out
    predicted = class_probabilities(f, likelihood).argmax(-1)
    draw_predicted = (f[..., 0] > 0).astype(int) if likelihood == "bernoulli" else f.argmax(-1)
    lpd = pointwise_lpd(f, sigma, y, likelihood=likelihood)
    correct = predicted == y
    out.update(
        accuracy=float(np.mean(correct)),
        log_loss=float(-lpd.mean()),
        mean_log_predictive_density=float(lpd.mean()),
    )
    if per_draw:
        draw_accuracy = np.mean(draw_predicted == y[None], axis=-1)
        out.update(
            accuracy_se=float(_se(correct)),
            log_loss_se=float(_se(lpd)),
            mean_log_predictive_density_se=float(_se(lpd)),
            accuracy_q05=float(np.quantile(draw_accuracy, 0.05)),
            accuracy_q95=float(np.quantile(draw_accuracy, 0.95)),
        )
    return out


def pointwise_lpd(f, sigma, y_test, *, likelihood: str, y_scale: float = 1.0):
    """log (1/S) Σ_s p(y_i | f_s(x_i), σ_s) per test point i (T,), from f (S, T, K); for
    regression in original units (minus K log y_scale).
    """
    y = np.asarray(y_test)
    S, T = f.shape[:2]
    if likelihood == "gaussian":
        Y = y.reshape(T, -1)
        log_p = stats.norm.logpdf(Y[None], f, sigma[:, None, None]).sum(-1)  # (S, T)
        shift = Y.shape[1] * np.log(y_scale)
    elif likelihood == "bernoulli":
        logits = f[..., 0]
        log_p = -np.logaddexp(0, np.where(y[None] == 1, -logits, logits))
        shift = 0.0
    else:
        log_probs = f - np.asarray(logsumexp(f, axis=-1, keepdims=True))
        log_p = np.take_along_axis(log_probs, y[None, :, None].astype(int), -1)[..., 0]
        shift = 0.0
    return np.asarray(logsumexp(log_p, axis=0)) - np.log(S) - shift


def pit_values(f, sigma, y_test):
    """Probability integral transform of regression targets under the predictive mixture:
    u_i = (1/S) Σ_s Φ((y_i − f_s(x_i)) / σ_s), from f (S, T, K), σ (S,) and y (T,) or (T, K);
    returns (T, K). For a calibrated predictive the u_i are Uniform(0, 1).
    """
    f = np.asarray(f)
    Y = np.asarray(y_test).reshape(f.shape[1], -1)
    return stats.norm.cdf((Y[None] - f) / np.asarray(sigma)[:, None, None]).mean(0)


def reliability_table(probs, y_test, *, num_bins: int = 10, level: float = 0.9):
    """Calibration of class probabilities (T, K): test points binned by confidence (the largest
    probability) into ``num_bins`` equal bins on [1/K, 1]; per non-empty bin the count, mean
    confidence, accuracy and its Wilson ``level`` interval (``lo``, ``hi``). Returns the table
    (pandas) and the expected calibration error ECE = Σ_b (n_b / T) |accuracy_b − confidence_b|.
    """
    probs = np.asarray(probs)
    y = np.asarray(y_test)
    confidence = probs.max(-1)
    correct = probs.argmax(-1) == y
    edges = np.linspace(1.0 / probs.shape[-1], 1.0, num_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, num_bins - 1)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for b in range(num_bins):
        sel = which == b
        m = int(sel.sum())
        if not m:
            continue
        p = correct[sel].mean()
        centre = (p + z**2 / (2 * m)) / (1 + z**2 / m)
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / (1 + z**2 / m)
        rows.append(
            dict(
                bin_lo=edges[b],
                bin_hi=edges[b + 1],
                count=m,
                confidence=float(confidence[sel].mean()),
                accuracy=float(p),
                lo=float(min(centre - half, p)),
                hi=float(max(centre + half, p)),
            )
        )
    table = pd.DataFrame(rows)
    ece = float(np.sum(table["count"] / y.size * np.abs(table["accuracy"] - table["confidence"])))
    return table, ece


def class_probabilities(f, likelihood: str):
    """Posterior mean class probabilities (T, K) from logits f (S, T, K) (K = 1 for
    ``"bernoulli"``, giving the two columns P(y = 0), P(y = 1)).
    """
    if likelihood == "bernoulli":
        p1 = special.expit(np.asarray(f)[..., 0]).mean(0)
        return np.stack([1 - p1, p1], axis=-1)
    return special.softmax(np.asarray(f), axis=-1).mean(0)


def _se(values) -> float:
    """Standard error of the mean of per-test-point values."""
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def predictive_interval(f, sd, interval, iterations: int = 60):
    """Central interval of the predictive mixture (1/S) Σ_s N(f_s, σ_s²) per test point and
    output: bisection on its CDF, all points at once (60 halvings of a bracket ≥ 20 sd wide).
    """
    alpha = (1 - interval) / 2

    def quantile(q):
        lo, hi = (f - 10 * sd).min(0), (f + 10 * sd).max(0)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            below = stats.norm.cdf((mid[None] - f) / sd).mean(0) < q
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    return quantile(alpha), quantile(1 - alpha)

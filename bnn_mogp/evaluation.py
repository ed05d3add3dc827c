r"""Posterior predictive quality on held-out data.

For S posterior draws θ_s and a test point (x_i, y_i):

- log predictive density lpd_i = log (1/S) Σ_s p(y_i | f_s(x_i), σ_s) (the Monte Carlo estimate of
  log p(y_i | data)); reported as the mean over test points, in original units for regression
  (lpd − K·log y_std per point when y was standardised with y_std); for regression
  p(y | f, σ) = p_ε((y − f)/σ)/σ with the likelihood's noise law p_ε (N(0, 1) or Student's t_ν,
  :func:`bnn_mogp.likelihoods.noise_law`);
- regression: RMSE and MAE of two point predictions, the posterior mean and the posterior
  median of f(x_i), in original units; ``rmse``/``mae`` are those of the *headline* point
  prediction (``point_prediction``): the median when the prior's output law has no finite mean
  (tail index ≤ 1, e.g. the horseshoe) or when the mean's Monte Carlo error is not small (at some
  test point sd_s f_s(x_i)/sqrt(S) > 0.25 × the robust spread IQR/1.349 of the predictive), the
  mean otherwise — a mean dominated by a few heavy-tailed draws is not a prediction; the
  fraction of test targets inside the central 90 % posterior predictive interval (f_s + σ_s ε,
  from the mixture CDF (1/S) Σ_s F_ε((y − f_s)/σ_s));
- classification: accuracy of the arg-max of the posterior mean probabilities, and log loss
  −(1/T) Σ_i log p̄(y_i) = −lpd.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.linear_model import LogisticRegression

from bnn_mogp._deprecation import moved_names
from bnn_mogp.inference import results
from bnn_mogp.likelihoods import is_regression, noise_law

__all__ = [
    "baseline_metrics",
    "extrapolation",
    "predictive_metrics",
    "function_metrics",
    "point_predictions",
    "output_tail_index",
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
    regression target (1 if it was not), to report RMSE and lpd in original units. The output
    tail index of the fitted network's prior decides whether the headline point prediction
    must be the median.
    """
    f, sigma = results.posterior_functions(idata, X_test)
    return function_metrics(
        f,
        sigma,
        y_test,
        **results.noise_model(idata),
        y_scale=y_scale,
        interval=interval,
        output_tail_index=output_tail_index(results.network_of(idata)),
    )


def extrapolation(X_train, X) -> dict:
    """Which rows of X lie outside the training inputs X_train (both (·, d)).

    Two criteria: per feature, a value outside [min, max] of the training column
    (``outside_range``, with the features named by index in ``features``); jointly, a
    Mahalanobis distance sqrt((x − m)ᵀ C⁺ (x − m)) to the training mean m (covariance C,
    pseudo-inverse C⁺) beyond the largest one of a training point (``beyond_mahalanobis``).
    Returns {"outside_range", "beyond_mahalanobis", "any"} boolean masks (T,), ``features``
    (a list per row), ``mahalanobis`` (T,) and ``max_train_mahalanobis``.
    """
    X_train, X = np.asarray(X_train, float), np.asarray(X, float)
    lo, hi = X_train.min(0), X_train.max(0)
    outside = (X < lo) | (X > hi)
    centre = X_train.mean(0)
    precision = np.linalg.pinv(np.atleast_2d(np.cov(X_train, rowvar=False)))

    def distance(Z):
        D = Z - centre
        return np.sqrt(np.maximum(np.einsum("ti,ij,tj->t", D, precision, D), 0.0))

    train_max = float(distance(X_train).max())
    dist = distance(X)
    beyond = dist > train_max * (1 + 1e-9)
    return {
        "outside_range": outside.any(1),
        "beyond_mahalanobis": beyond,
        "any": outside.any(1) | beyond,
        "features": [np.flatnonzero(row).tolist() for row in outside],
        "mahalanobis": dist,
        "max_train_mahalanobis": train_max,
    }


def baseline_metrics(
    X_train, y_train, X_test, y_test, *, likelihood: str, y_scale: float = 1.0
) -> dict:
    """The metrics of a linear baseline on the same split, so that a user sees whether the
    network adds anything: least squares with an intercept for regression (RMSE, MAE and the
    log predictive density of N(x·β̂, s²), s² the residual variance with N − d − 1 degrees of
    freedom; original units via ``y_scale``), logistic regression (scikit-learn, L2 penalty
    C = 1) for classification (accuracy, log loss, mean log predictive density).
    """
    X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if is_regression(likelihood):
        A = np.column_stack([np.ones(len(X_train)), X_train])
        Y = y_train.reshape(len(X_train), -1).astype(float)
        beta = np.linalg.lstsq(A, Y, rcond=None)[0]
        dof = max(len(X_train) - A.shape[1], 1)
        s2 = np.sum((Y - A @ beta) ** 2, axis=0) / dof
        pred = np.column_stack([np.ones(len(X_test)), X_test]) @ beta
        err = y_test.reshape(pred.shape) - pred
        lpd = stats.norm.logpdf(err, 0.0, np.sqrt(s2)).sum(-1) - pred.shape[1] * np.log(y_scale)
        return {
            "model": "least squares (with intercept)",
            "rmse": float(y_scale * np.sqrt(np.mean(err**2))),
            "mae": float(y_scale * np.mean(np.abs(err))),
            "mean_log_predictive_density": float(lpd.mean()),
        }
    model = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    probs = np.clip(model.predict_proba(X_test), 1e-300, 1.0)
    classes = list(model.classes_)
    lpd = np.log(probs[np.arange(len(y_test)), [classes.index(c) for c in y_test]])
    return {
        "model": "logistic regression (L2, C = 1)",
        "accuracy": float(np.mean(model.predict(X_test) == y_test)),
        "log_loss": float(-lpd.mean()),
        "mean_log_predictive_density": float(lpd.mean()),
    }


def output_tail_index(net) -> float:
    """2τ of the last hidden layer's node prior: the tail index of the prior's output law (inf
    for light tails or no hidden layer; the law has a finite mean iff it exceeds 1).
    """
    priors = net.node_priors
    return 2.0 * float(priors[-1].tail_index) if priors else float("inf")


#: the mean's Monte Carlo error, relative to the predictive's robust spread, above which the
#: headline point prediction is the median
MEAN_MC_TOLERANCE = 0.25


def point_predictions(f, output_tail_index: float = float("inf")) -> dict:
    """Posterior mean and median of f (S, T, K) over draws and which one is the headline
    (module docstring): {"mean", "median", "point_prediction", "point_prediction_reason",
    "mean_mc_error"} (the largest sd/sqrt(S) over test points relative to IQR/1.349).
    """
    S = f.shape[0]
    mean, median = f.mean(0), np.median(f, 0)
    q25, q75 = np.quantile(f, [0.25, 0.75], axis=0)
    spread = np.maximum((q75 - q25) / 1.349, np.finfo(float).tiny)
    mc_error = float(np.max(f.std(0) / np.sqrt(S) / spread)) if f.size else 0.0
    if output_tail_index <= 1:
        point = "median"
        reason = f"the prior's output law has tail index {output_tail_index:g} ≤ 1: no finite mean"
    elif mc_error > MEAN_MC_TOLERANCE:
        point = "median"
        reason = (
            f"the mean's Monte Carlo error reaches {mc_error:.2f} × the predictive's spread "
            f"(> {MEAN_MC_TOLERANCE:g}): a few draws dominate it"
        )
    else:
        point, reason = "mean", "the mean's Monte Carlo error is small"
    return {
        "mean": mean,
        "median": median,
        "point_prediction": point,
        "point_prediction_reason": reason,
        "mean_mc_error": mc_error,
    }


__getattr__ = moved_names(
    __name__, {"posterior_functions": "bnn_mogp.inference", "noise_draws": "bnn_mogp.inference"}
)


def function_metrics(
    f,
    sigma,
    y_test,
    *,
    likelihood: str,
    df: float | None = None,
    y_scale: float = 1.0,
    interval: float = 0.9,
    per_draw: bool = False,
    output_tail_index: float = float("inf"),
    point: str | None = None,
) -> dict:
    """Test-set metrics (module docstring) from function draws f (S, T, K) and noise sds
    sigma (S,) (None for classification); ``df``: ν of the ``"student_t"`` likelihood;
    ``output_tail_index``: of the prior's output law
    (:func:`output_tail_index`), for the choice of the headline point prediction, or ``point``
    (``"mean"`` or ``"median"``) to impose it (e.g. the same one for every row of a table).

    With ``per_draw``, also standard errors over test points (``*_se``: of the mean log
    predictive density, of the accuracy and log loss, and of the RMSE by the delta method) and
    the 5 % / 95 % quantiles over draws of each draw's own RMSE or accuracy (``*_q05``, ``*_q95``).
    """
    y = np.asarray(y_test)
    S, T = f.shape[:2]
    out: dict = {"num_test": int(T)}
    if is_regression(likelihood):
        Y = y.reshape(T, -1)
        sd = sigma[:, None, None]
        lpd = pointwise_lpd(f, sigma, y, likelihood=likelihood, df=df, y_scale=y_scale)
        points = point_predictions(f, output_tail_index)
        errors = {}
        for name in ("mean", "median"):
            err = y_scale * (points[name] - Y)
            errors[name] = np.mean(err**2, axis=-1)
            out[f"rmse_{name}"] = float(np.sqrt(errors[name].mean()))
            out[f"mae_{name}"] = float(np.mean(np.abs(err)))
        if point is None:
            point, reason = points["point_prediction"], points["point_prediction_reason"]
        else:
            reason = "chosen by the caller"
        sq_err = errors[point]
        lo, hi = predictive_interval(f, sd, interval, likelihood=likelihood, df=df)
        rmse = out[f"rmse_{point}"]
        out.update(
            rmse=rmse,
            mae=out[f"mae_{point}"],
            point_prediction=point,
            point_prediction_reason=reason,
            mean_mc_error=points["mean_mc_error"],
            mean_log_predictive_density=float(lpd.mean()),
        )
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


def pointwise_lpd(
    f, sigma, y_test, *, likelihood: str, df: float | None = None, y_scale: float = 1.0
):
    """log (1/S) Σ_s p(y_i | f_s(x_i), σ_s) per test point i (T,), from f (S, T, K); for
    regression in original units (minus K log y_scale); ``df``: ν of ``"student_t"``.
    """
    y = np.asarray(y_test)
    S, T = f.shape[:2]
    if is_regression(likelihood):
        Y = y.reshape(T, -1)
        sd = np.asarray(sigma)[:, None, None]
        log_p = (noise_law(likelihood, df).logpdf((Y[None] - f) / sd) - np.log(sd)).sum(-1)
        shift = Y.shape[1] * np.log(y_scale)
    elif likelihood == "bernoulli":
        logits = f[..., 0]
        log_p = -np.logaddexp(0, np.where(y[None] == 1, -logits, logits))
        shift = 0.0
    else:
        log_probs = f - special.logsumexp(f, axis=-1, keepdims=True)
        log_p = np.take_along_axis(log_probs, y[None, :, None].astype(int), -1)[..., 0]
        shift = 0.0
    return special.logsumexp(log_p, axis=0) - np.log(S) - shift


def pit_values(f, sigma, y_test, *, likelihood: str = "gaussian", df: float | None = None):
    """Probability integral transform of regression targets under the predictive mixture:
    u_i = (1/S) Σ_s F_ε((y_i − f_s(x_i)) / σ_s), from f (S, T, K), σ (S,) and y (T,) or (T, K),
    F_ε the likelihood's noise CDF (Φ for ``"gaussian"``); returns (T, K). For a calibrated
    predictive the u_i are Uniform(0, 1).
    """
    f = np.asarray(f)
    Y = np.asarray(y_test).reshape(f.shape[1], -1)
    law = noise_law(likelihood, df)
    return law.cdf((Y[None] - f) / np.asarray(sigma)[:, None, None]).mean(0)


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


def predictive_interval(
    f, sd, interval, *, likelihood: str = "gaussian", df: float | None = None, iterations: int = 60
):
    """Central interval of the predictive mixture (1/S) Σ_s F_ε((y − f_s)/σ_s) per test point
    and output (F_ε: the likelihood's noise CDF, Φ for ``"gaussian"``): bisection on the
    mixture CDF, all points at once, in the bracket [min_s Q_s(q), max_s Q_s(q)] of the
    components' own q-quantiles Q_s(q) = f_s + σ_s F_ε⁻¹(q), which holds the mixture's (60
    halvings).
    """
    alpha = (1 - interval) / 2
    law = noise_law(likelihood, df)

    def quantile(q):
        component = f + sd * law.ppf(q)
        lo, hi = component.min(0), component.max(0)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            below = law.cdf((mid[None] - f) / sd).mean(0) < q
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    return quantile(alpha), quantile(1 - alpha)

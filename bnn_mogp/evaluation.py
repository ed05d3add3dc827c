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
from jax.scipy.special import logsumexp
from numpyro.infer import Predictive
from scipy import special, stats

from bnn_mogp.inference.fit import _in_chunks, float64
from bnn_mogp.model import bnn_model, latent_sites
from bnn_mogp.nn import MLP

__all__ = ["posterior_functions", "predictive_metrics"]


def _model_kwargs(idata) -> dict:
    attrs = idata.attrs
    return dict(likelihood=attrs.get("likelihood", "gaussian"),
                noise_std=attrs.get("noise_std"), noise_scale=attrs.get("noise_scale", 1.0))


@float64
def posterior_functions(idata, net: MLP, X):
    """f_s(X) for every posterior draw of a :func:`bnn_mogp.fit` result: shape (S, N, K), draws
    flattened over chains; and the noise sd per draw (S,) for the Gaussian likelihood (None
    otherwise)."""
    import jax

    kwargs = _model_kwargs(idata)
    X = np.asarray(X, dtype=float)
    post = idata.posterior
    names = latent_sites(net, X, **kwargs)
    draws = {k: np.asarray(post[k]).reshape((-1,) + post[k].shape[2:]) for k in names}
    out = _in_chunks(lambda d: Predictive(bnn_model, posterior_samples=d,
                                          return_sites=["f_monitor"])(
        jax.random.PRNGKey(0), net, X[:1], None, X_monitor=X, **kwargs), draws)
    f = out["f_monitor"]
    if kwargs["likelihood"] != "gaussian":
        return f, None
    num = f.shape[0]
    sigma = (np.asarray(post["sigma"]).reshape(-1) if "sigma" in post
             else np.full(num, float(kwargs["noise_std"])))
    return f, sigma


def predictive_metrics(idata, net: MLP, X_test, y_test, *, y_scale: float = 1.0,
                       interval: float = 0.9) -> dict:
    """Test-set metrics of a fit (module docstring); ``y_scale``: the sd used to standardise a
    regression target (1 if it was not), to report RMSE and lpd in original units."""
    f, sigma = posterior_functions(idata, net, X_test)
    y = np.asarray(y_test)
    S = f.shape[0]
    likelihood = _model_kwargs(idata)["likelihood"]
    if likelihood == "gaussian":
        Y = y.reshape(len(y), -1)
        K = Y.shape[1]
        sd = sigma[:, None, None]
        log_p = stats.norm.logpdf(Y[None], f, sd).sum(-1)  # (S, T)
        lpd = np.asarray(logsumexp(log_p, axis=0)) - np.log(S) - K * np.log(y_scale)
        mean = f.mean(0)
        lo, hi = _mixture_interval(f, sd, interval)
        return {"num_test": int(len(y)),
                "rmse": float(y_scale * np.sqrt(np.mean((mean - Y) ** 2))),
                "mean_log_predictive_density": float(lpd.mean()),
                f"coverage_{round(100 * interval)}": float(np.mean((Y >= lo) & (Y <= hi)))}
    if likelihood == "bernoulli":
        logits = f[..., 0]
        log_p = -np.logaddexp(0, np.where(y[None] == 1, -logits, logits))
        prob = special.expit(logits).mean(0)
        predicted = (prob > 0.5).astype(int)
    else:
        log_probs = f - np.asarray(logsumexp(f, axis=-1, keepdims=True))
        log_p = np.take_along_axis(log_probs, y[None, :, None].astype(int), -1)[..., 0]
        predicted = np.exp(log_probs).mean(0).argmax(-1)
    lpd = np.asarray(logsumexp(log_p, axis=0)) - np.log(S)
    return {"num_test": int(len(y)), "accuracy": float(np.mean(predicted == y)),
            "log_loss": float(-lpd.mean()), "mean_log_predictive_density": float(lpd.mean())}


def _mixture_interval(f, sd, interval, iterations: int = 60):
    """Central interval of the predictive mixture (1/S) Σ_s N(f_s, σ_s²) per test point and
    output: bisection on its CDF, all points at once (60 halvings of a bracket ≥ 20 sd wide)."""
    alpha = (1 - interval) / 2

    def quantile(q):
        lo, hi = (f - 10 * sd).min(0), (f + 10 * sd).max(0)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            below = stats.norm.cdf((mid[None] - f) / sd).mean(0) < q
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    return quantile(alpha), quantile(1 - alpha)

"""Finite-width priors against their infinite-width limit (``bnn_mogp.studies.compare_prior``).

Statistical assertions hold with false-failure probability DELTA each (two-sample KS critical
values).
"""

import math

import jax
import numpy as np
import pytest
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.studies import compare_prior, plot_prior_comparison

DELTA = 1e-3


def key(i):
    return jax.random.PRNGKey(i)


@pytest.mark.statistical
def test_compare_prior_distance_shrinks_with_width():
    """InverseGamma(shape 1.2) nodes: very heavy tails at width 2, a GP in the limit. At width 2
    the two-sample KS test rejects (statistic above its δ = 1e-3 critical value); by width 512
    the mean KS distance has dropped below the width-2 value by more than that critical value."""
    net = bm.MLP(in_dim=1, widths=(4,), node_prior=P.InverseGamma(shape=1.2), sigma_b=0.5)
    X = np.linspace(-2, 2, 5)[:, None]
    S = 3000
    table = compare_prior(key(7), net, X, [2, 32, 512], S)
    assert list(table["kind"]) == ["finite"] * 3 + ["limit"]
    assert table["width"].iloc[-1] == math.inf
    critical = stats.kstwo.isf(DELTA, S // 2)  # conservative: two-sample with n = m = S
    ks = table["ks_max"].to_numpy()
    assert ks[0] > critical
    assert table["ks_mean"].iloc[0] - table["ks_mean"].iloc[2] > critical / 2
    assert table["energy"].iloc[0] > table["energy"].iloc[2]
    assert table.attrs["output_tail_index"] == math.inf
    quantile_cols = [c for c in table.columns if c.startswith("q")]
    assert np.all(np.diff(table[quantile_cols].to_numpy(), axis=1) >= 0)
    fig = plot_prior_comparison(table)
    assert len(fig.axes) == 4

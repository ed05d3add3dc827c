"""abc-parameterisations of deep MLPs: derived exponents, the forward pass by hand, the abc
symmetry, measured width exponents against the derived ones, the integrable
parameterisation's stationary start and its large-initial-learning-rate remedy, and the
symmetries of wide two-layer training (DESIGN §14).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from bnn_mogp.nn import get_activation
from bnn_mogp.priors import Horseshoe
from bnn_mogp.training import PriorScaling
from bnn_mogp.training.deep import (
    DeepNet,
    DeepParams,
    deep_preactivations,
    init_deep,
    learning_rates,
    rms,
    sgd_step,
)
from bnn_mogp.training.deep_trainer import DeepTrainConfig, train_deep
from bnn_mogp.training.depth import depth_width_losses
from bnn_mogp.training.exponents import (
    QUANTITIES,
    beyond_band,
    measure_exponents,
    slope_band,
    slope_fit,
)
from bnn_mogp.training.parameterisations import (
    Parameterisation,
    derived_exponents,
    make_parameterisation,
)
from bnn_mogp.training.symmetries import (
    alignment,
    cubic_target,
    norm_target,
    sphere_init,
    train_online,
    two_layer_net,
)

#: two-sided false-failure rate of every slope check: each checks |measured − derived| against
#: a Student-t quantile of the slope's standard error (seeds scatter about the line), plus, for
#: quantities after a training step, the finite-width band of the leading-order exponent
ALPHA = 1e-4


def _within(table, quantity, layers=None, smallest_width=128):
    rows = table[table.quantity == quantity]
    if layers is not None:
        rows = rows[rows.layer.isin(layers)]
    dof = 2 * 5 - 2  # widths × seeds − 2 (the fits below)
    q = stats.t.ppf(1 - ALPHA / 2, dof)
    bad = rows[beyond_band(rows, smallest_width, q)]
    assert bad.empty, (
        f"{quantity}: slopes off by more than {q:.1f} se + {slope_band(smallest_width):.3f}:\n{bad}"
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 6])
def test_derived_exponents_of_the_presets(depth):
    """The closed forms of the module docstring: μP keeps everything Θ(1) (f: m^{−1/2} at
    initialisation); NTK moves features by m^{−1/2}; IP's pre-activations vanish as
    m^{−(l−1)/2}, its gradients as m^{−L/2}, its first updates as m^{(4−L−l)/2}."""
    L = depth
    hidden = np.arange(2, L + 1)
    mup = derived_exponents(make_parameterisation("mup"), L)
    np.testing.assert_array_equal(mup["preactivation"], [0.0] * L + [-0.5])
    np.testing.assert_array_equal(mup["gradient"], 0.0)
    np.testing.assert_array_equal(mup["update"], 0.0)
    ntk = derived_exponents(make_parameterisation("ntk"), L)
    np.testing.assert_array_equal(ntk["update"], [-0.5] * L + [0.0])
    ip = derived_exponents(make_parameterisation("ip"), L)
    np.testing.assert_array_equal(ip["preactivation"], -np.arange(L + 1) / 2)
    np.testing.assert_array_equal(ip["gradient"], -L / 2)
    update = [(1 - L) / 2, *((4 - L - hidden) / 2), 2 - L] if L > 1 else [0.0, 0.0]
    np.testing.assert_array_equal(ip["update"], update)
    sp = derived_exponents(make_parameterisation("sp"), L)
    np.testing.assert_array_equal(sp["update"], [-0.5] + [0.5] * (L - 1) + [1.0])
    llr = derived_exponents(make_parameterisation("ip_llr", L), L)
    np.testing.assert_array_equal(llr["update"], 0.0)


def test_forward_pass_by_hand_with_node_scalings():
    """h^1 = x W^1, h^l = (φ(h^{l−1}) ⊙ sqrt(m λ)) W^l, W^l = m^{−a_l} w^l: the layer loop
    against NumPy, with horseshoe node scalings and a per-layer parameterisation."""
    param = Parameterisation("custom", a=(0.1, 0.7, 0.3, 0.9), b=(0, 0.2, 0.4, 0.1))
    net = DeepNet(3, 5, 3, out_dim=2, parameterisation=param, scaling=PriorScaling(Horseshoe()))
    p = init_deep(jax.random.PRNGKey(4), net, jnp.float64)
    X = np.random.default_rng(0).normal(size=(7, 3))
    phi = get_activation("relu").fn
    w = [np.asarray(v) for v in p.w]
    lam = [np.asarray(v) for v in p.lam]
    np.testing.assert_allclose([v.sum() for v in lam], 5.0)  # m λ sums to m
    h = X @ (5**-0.1 * w[0])
    expected = [h]
    for l, a in enumerate((0.7, 0.3, 0.9), start=1):
        h = (np.asarray(phi(h)) * np.sqrt(lam[l - 1])) @ (5**-a * w[l])
        expected.append(h)
    got = deep_preactivations(net, p, X)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12)
    stds = net.init_std()
    np.testing.assert_allclose(stds, [np.sqrt(2 / 3), np.sqrt(2) * 5**-0.2, np.sqrt(2) * 5**-0.4,
                                      5**-0.1])  # fmt: skip


def test_abc_symmetry_gives_the_same_sgd_trajectory():
    """(a + θ, b − θ, c − 2θ) is the same network trained the same way: the effective weights
    m^{−a} w agree at initialisation and after SGD steps (float64, one key)."""
    theta = np.array([0.3, -0.2, 0.5])
    base = Parameterisation("base", a=(0, 0.5, 0.5), b=(0, 0, 0), c=(0.2, 0, -0.1))
    moved = Parameterisation(
        "moved",
        a=tuple(np.array(base.a) + theta),
        b=tuple(np.array(base.b) - theta),
        c=tuple(np.array(base.c) - 2 * theta),
    )
    X = np.random.default_rng(1).normal(size=(10, 4))
    Y = np.sin(X[:, :1])
    out = []
    for param in (base, moved):
        net = DeepNet(4, 64, 2, parameterisation=param)
        p = init_deep(jax.random.PRNGKey(0), net, jnp.float64)
        rates = jnp.asarray(learning_rates(net, 0.3))
        for _ in range(3):
            p, _, _ = sgd_step(net, "mse", p, rates, X, Y)
        out.append([c * w for c, w in zip(net.multipliers(), p.w, strict=True)])
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def _batch(n=64, d=16, k=4):
    X = np.random.default_rng(2).normal(size=(n, d))
    return X, np.sin(X[:, :k])


def test_preactivations_at_initialisation_follow_the_derived_width_exponents():
    """Hidden pre-activations over widths 256…4096, two seeds: O(1) for SP, NTK, μP;
    m^{−(l−1)/2} for IP (slopes within the t-band of :data:`ALPHA` of the derived ones). The
    forward pass alone, as :func:`measure_exponents` measures it (its other quantities are
    checked below)."""
    X, _ = _batch()
    widths = (256, 512, 1024, 2048, 4096)
    dof = 2 * len(widths) - 2
    q = stats.t.ppf(1 - ALPHA / 2, dof)
    for name in ("sp", "ntk", "mup", "ip"):
        net = DeepNet(16, 256, 3, out_dim=4, parameterisation=name)
        logs = np.array([
            [[np.log(rms(h)) for h in deep_preactivations(
                net.with_width(m), init_deep(jax.random.PRNGKey(s), net.with_width(m)), X)]
             for s in range(2)]
            for m in widths
        ])  # fmt: skip
        derived = derived_exponents(net.param, 3)["preactivation"]
        for layer in range(3):  # the hidden layers
            slope, se = slope_fit(widths, logs[:, :, layer])
            assert abs(slope - derived[layer]) <= q * se, (name, layer + 1, slope, se)


def test_integrable_parameterisation_gradients_vanish_with_depth():
    """IP, L = 5 hidden layers: every layer's gradient norm at initialisation falls as m^{−5/2}
    and the first update of f as m^{−3}; L = 2: the first updates of the hidden layer and of f
    do not vanish (slope 0) — the learning rates m, m² make up for m^{−L/2} only when L ≤ 2."""
    X, Y = _batch()
    deep = measure_exponents(
        jax.random.PRNGKey(5), DeepNet(16, 128, 5, out_dim=4, parameterisation="ip"), X, Y,
        widths=(128, 256, 512, 1024, 2048), seeds=2, steps=1,
    )  # fmt: skip
    table = deep.table()
    _within(table, "gradient")
    assert (table[table.quantity == "gradient"].derived == -2.5).all()
    shallow = measure_exponents(
        jax.random.PRNGKey(5), DeepNet(16, 128, 2, out_dim=4, parameterisation="ip"), X, Y,
        widths=(128, 256, 512, 1024, 2048), seeds=2, steps=1,
    )  # fmt: skip
    table = shallow.table()
    _within(table, "update", layers=[2, 3])
    assert (table[(table.quantity == "update") & (table.layer > 1)].derived == 0).all()


def test_large_initial_learning_rate_trains_where_plain_ip_does_not():
    """Depth 4 (four hidden layers), width 1024, 60 full-batch SGD steps at the same base rate:
    plain IP's loss stays within 1 % of its initial value (a stationary start), IP-LLR's first
    step (calibrated rates) and the IP steps after it bring it below 0.8 × the initial loss."""
    X, Y = _batch(n=128, k=2)
    config = DeepTrainConfig(learning_rate=0.05, steps=60, log_every=20, dtype="float64")
    losses = {}
    for name in ("ip", "ip_llr"):
        net = DeepNet(16, 1024, 4, out_dim=2, parameterisation=name)
        r = train_deep(jax.random.PRNGKey(6), net, X, Y, config)
        assert r.diverged is None
        losses[name] = r.history["train_loss"]
    assert losses["ip"][-1] > 0.99 * losses["ip"][0], losses["ip"]
    assert losses["ip_llr"][-1] < 0.8 * losses["ip_llr"][0], losses["ip_llr"]


def test_slope_fit_recovers_a_power_law_and_its_error():
    widths = np.array([100, 200, 400, 800])
    logs = np.log(3.0 * widths[:, None] ** -0.75) + np.array([[0.01, -0.01]])
    slope, se = slope_fit(widths, logs)
    x = np.log(widths) - np.log(widths).mean()
    expected_se = np.sqrt(8 * 0.01**2 / (8 - 2) / (2 * x @ x))  # residuals ±0.01, 6 dof
    assert slope == pytest.approx(-0.75) and se == pytest.approx(expected_se)
    assert np.isnan(slope_fit(widths[:2], logs[:2, :1])[1])


def test_exponent_figure_skips_diverged_runs_quietly():
    """A width whose every seed diverged (NaN) or whose movement is 0 leaves a gap in the curve,
    with no warning (warnings are errors here); the mean over the finite seeds is geometric."""
    import matplotlib

    matplotlib.use("Agg")
    from bnn_mogp.training.exponents import WidthExponents

    values = {q: np.ones((3, 2, 2)) for q in QUANTITIES}
    values["movement"][2] = np.nan
    values["update"][1, 0] = 0.0
    values["update"][0] = [[1.0, 1.0], [4.0, 4.0]]
    r = WidthExponents(DeepNet(4, 8, 1, parameterisation="mup"), np.array([8, 16, 32]), values,
                       0.1, 1)  # fmt: skip
    fig = r.plot()
    lines = {ax.get_title(): ax.get_lines()[0].get_ydata() for ax in fig.axes}
    assert np.isnan(lines["mup: movement"][2]) and lines["mup: movement"][0] == 1.0
    assert lines["mup: update"][0] == pytest.approx(2.0)  # sqrt(1 · 4)
    assert lines["mup: update"][1] == 1.0  # the zero is left out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(a=(0,), b=(0, 0, 0)), "a must be 3 exponents"),
        (dict(a=(0, 1, 1), b=(0, 0, "x")), "b[2]"),
        (dict(a=(0, 1, 1), b=(0, 0, 0), warmup_steps=2), "needs warmup_c"),
        (dict(a=(0, 1, 1), b=(0, 0, 0), warmup_c=(1, 1, 1), warmup_steps=0), "warmup_steps"),
    ],
)
def test_bad_parameterisations_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Parameterisation("bad", **kwargs)


def test_bad_names_and_depths():
    with pytest.raises(ValueError, match="one of sp, ntk, mup, ip, ip_llr"):
        make_parameterisation("mf")
    with pytest.raises(ValueError, match="needs the depth"):
        make_parameterisation("ip_llr")
    four = Parameterisation("four", a=(0, 1, 1, 1), b=(0, 0, 0, 0))
    with pytest.raises(ValueError, match="give 3 .* or depth \\+ 1 = 3"):
        DeepNet(3, 8, 2, parameterisation=four)
    with pytest.raises(ValueError, match="needs two or more widths"):
        measure_exponents(jax.random.PRNGKey(0), DeepNet(3, 8, 1), np.ones((2, 3)), np.ones(2),
                          widths=(8, 8))  # fmt: skip


def test_deep_params_tuple():
    net = DeepNet(2, 3, 1)
    p = init_deep(jax.random.PRNGKey(0), net)
    assert isinstance(p, DeepParams) and [w.shape for w in p.w] == [(2, 3), (3, 1)]


def test_alignment_at_initialisation_is_k_over_d():
    """‖P_H b‖² of a uniform unit vector is Beta(k/2, (d − k)/2): the mean over m = 4096
    neurons is k/d within 4.4 standard errors (two-sided false-failure rate 1e-5)."""
    d, k, m = 20, 2, 4096
    p = sphere_init(jax.random.PRNGKey(0), two_layer_net(d, m), dtype=jnp.float64)
    var = k * (d - k) / (d**2 * (d / 2 + 1))
    assert abs(alignment(p, k)["all"] - k / d) < 4.4 * np.sqrt(var / m)


def test_neurons_align_with_the_target_subspace():
    """f*(x) = √d ‖x_H‖, dim H = 2 of d = 20: the mass-weighted alignment rises from ≈ 0.1 to
    above 0.8 in 1500 online steps (the positive neurons carry it; the negative ones lose
    their mass)."""
    r = train_online(
        jax.random.PRNGKey(2), two_layer_net(20, 256), norm_target(2), steps=1500,
        learning_rate=0.05, k=2, log_every=500,
    )  # fmt: skip
    h = r.history
    assert h["alignment_all"][0] < 0.2 and h["alignment_all"][-1] > 0.8, h["alignment_all"]
    assert h["alignment_positive"][-1] > 0.8 and h["loss"][-1] < 0.1 * h["loss"][0]


def test_odd_target_keeps_a_paired_network_odd_and_linear():
    """Paired neurons and mirrored batches on the cubic odd target: f(x) + f(−x) = 0 and
    f(x) = ⟨w, x⟩ at every logged step (float64 rounding), and w approaches the least-squares
    linear predictor w* = sqrt(6d/5) ẑ (from ‖w − w*‖ ≈ ‖w*‖ to below a tenth of it)."""
    d = 20
    target, w_star = cubic_target(jax.random.PRNGKey(0), d)
    r = train_online(
        jax.random.PRNGKey(1), two_layer_net(d, 256), target, steps=600, learning_rate=0.05,
        paired=True, w_star=w_star, log_every=200, dtype="float64",
    )  # fmt: skip
    h = r.history
    assert np.all(h["odd_error"] < 1e-12) and np.all(h["linear_error"] < 1e-12)
    assert h["w_error"][0] > 0.9 and h["w_error"][-1] < 0.1, h["w_error"]


def test_depth_width_table_keeps_stuck_and_diverged_runs():
    """IP with four hidden layers keeps its loss at both widths while μP learns; a standard
    parameterisation at a rate of 100 diverges and stays in the table (inf, its step)."""
    X, Y = _batch(n=64, k=1)
    config = DeepTrainConfig(learning_rate=0.05, steps=30, log_every=10)
    table = depth_width_losses(
        jax.random.PRNGKey(0), X, Y, parameterisations=("ip", "mup"), depths=(4,),
        widths=(64, 256), config=config,
    )  # fmt: skip
    ratio = table.set_index(["parameterisation", "width"]).loss_ratio
    assert (ratio["ip"] > 0.99).all() and (ratio["mup"] < 0.7).all(), table
    wild = depth_width_losses(
        jax.random.PRNGKey(0), X, Y, parameterisations=("sp",), depths=(3,), widths=(256,),
        config=DeepTrainConfig(learning_rate=100.0, steps=30),
    )  # fmt: skip
    assert np.isinf(wild.loss_ratio[0]) and wild.diverged[0] >= 0

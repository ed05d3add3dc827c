"""Specification files (bnn_mogp.cli.spec)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnn_mogp import priors as P
from bnn_mogp.cli.spec import PriorCheckSettings, SpecError, load_spec, parse_spec
from bnn_mogp.inference import CONFIGS
from tests.helpers import shipped_specs

MODELS = shipped_specs()

GOOD = """
name = "good"
description = "a valid spec"

[network]
widths = [16]

[prior]
family = "horseshoe"
scale = 1.0
"""


def write(tmp_path: Path, text: str, name: str = "x.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def spec_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message


# -- the shipped specs ----------------------------------------------------------------------------


def test_every_family_has_a_model():
    families = {load_spec(p).net.node_prior.family for p in MODELS}
    assert families == set(P.FAMILIES)
    sources = {load_spec(p).data.source for p in MODELS}
    assert {"builtin:digits", "builtin:diabetes", "builtin:synthetic"} <= sources


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_models_load(path):
    spec = load_spec(path)
    assert spec.name == path.stem
    assert spec.description and "\n" not in spec.description
    assert spec.net.in_dim == 1 and spec.net.out_dim == 1
    assert spec.net.sigma_w == 1.0 and spec.prior_check.num_draws == 2000
    if spec.net.depth == 1:
        assert spec.net.activation in ("relu", "erf") and spec.net.sigma_b == 1.0
        assert spec.prior_check.widths == (10, 100, 1000)
    else:  # stable_weights.toml: three tanh layers (three n × n CMS layers per prior draw)
        assert spec.net.activation == "tanh" and spec.prior_check.widths == (10, 100, 300)
    assert spec.path == path
    assert spec.data.source.startswith("builtin:") and spec.inference.method in CONFIGS
    for n in spec.prior_check.widths:
        spec.net.with_width(n)  # every prior-check width is allowed by the prior


# -- valid variants -------------------------------------------------------------------------------


def test_defaults_and_full_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.name == "good" and spec.description == "a valid spec"
    assert spec.net.node_prior == P.Horseshoe(scale=1.0)
    assert (spec.net.in_dim, spec.net.out_dim, spec.net.activation) == (1, 1, "relu")
    assert spec.prior_check == PriorCheckSettings()

    text = """
[network]
in_dim = 3
widths = [8, 4]
out_dim = 2
activation = "tanh"
sigma_w = 1.5
sigma_b = 0.1

[[prior]]
family = "stable"
alpha = 0.3

[[prior]]
family = "gaussian_mixture"
spike = 0.0
slab = 2.0
rate = 1.5

[prior_check]
widths = [5, 50]
num_draws = 30
x_min = -1.0
x_max = 2
num_inputs = 7
seed = 12
"""
    spec = load_spec(write(tmp_path, text, "deep net.toml"))
    assert spec.name == "deep_net"  # default name: the file stem, made safe for paths
    assert spec.description == ""
    assert spec.net.widths == (8, 4) and spec.net.in_dim == 3 and spec.net.out_dim == 2
    assert spec.net.node_priors == (
        P.StableLike(alpha=0.3),
        P.GaussianMixture(spike=0.0, slab=2.0, rate=1.5),
    )
    assert spec.prior_check == PriorCheckSettings((5, 50), 30, -1.0, 2.0, 7, 12)


def test_compare_table(tmp_path):
    from bnn_mogp.cli.spec import CompareSettings

    assert load_spec(write(tmp_path, GOOD)).compare == CompareSettings()
    spec = load_spec(
        write(
            tmp_path,
            GOOD + "\n[compare]\nwidths = [4, 16]\nmax_train = 0\n"
            "noise_std = 0.2\nlimit = 'both'\n",
        )
    )
    assert spec.compare.config.widths == (4, 16) and spec.compare.max_train is None
    assert spec.compare.noise_std == 0.2 and spec.compare.config.limit == "both"
    with pytest.raises(SpecError, match=r"\[compare\] limit = 'exact' is not one of"):
        load_spec(write(tmp_path, GOOD + "\n[compare]\nlimit = 'exact'\n"))
    with pytest.raises(SpecError, match=r"\[compare\] unknown field 'width'"):
        load_spec(write(tmp_path, GOOD + "\n[compare]\nwidth = [4]\n"))


def test_parse_spec_from_dict():
    spec = parse_spec({"network": {"widths": [4]}, "prior": {"family": "beta"}}, "<dict>")
    assert spec.net.node_prior == P.Beta()
    with pytest.raises(SpecError, match=r"^<dict>: \[prior\] missing required field 'family'"):
        parse_spec({"network": {"widths": [4]}, "prior": {}}, "<dict>")


# -- errors ---------------------------------------------------------------------------------------

BAD = {
    "unknown family": (
        GOOD.replace('"horseshoe"', '"horsehoe"'),
        "[prior] family = 'horsehoe' is not one of: beta, deterministic, gamma, "
        "gaussian_mixture, horseshoe, inverse_gamma, stable",
    ),
    "unknown activation": (
        GOOD.replace("widths = [16]", 'widths = [16]\nactivation = "rleu"'),
        "[network] activation = 'rleu' is not one of: erf, gelu, relu, relu2, step, tanh",
    ),
    "missing widths": (
        GOOD.replace("widths = [16]", "in_dim = 2"),
        "[network] missing required field 'widths'",
    ),
    "empty widths": (
        GOOD.replace("widths = [16]", "widths = []"),
        "[network] widths must be a non-empty list of integers >= 1",
    ),
    "zero width": (
        GOOD.replace("widths = [16]", "widths = [16, 0]"),
        "[network] widths[1] must be an integer >= 1, got 0",
    ),
    "negative scale": (
        GOOD.replace("scale = 1.0", "scale = -1.0"),
        "[prior] scale must be in (0, inf), got -1.0",
    ),
    "string where number": (
        GOOD.replace("scale = 1.0", 'scale = "big"'),
        "[prior] scale must be a real number in (0, inf), got 'big'",
    ),
    "string sigma_w": (
        GOOD.replace("widths = [16]", 'widths = [16]\nsigma_w = "1"'),
        "[network] sigma_w must be a real number in (0, inf), got '1'",
    ),
    "float in_dim": (
        GOOD.replace("widths = [16]", "widths = [16]\nin_dim = 2.5"),
        "[network] in_dim must be an integer >= 1, got 2.5",
    ),
    "bool where number": (
        GOOD.replace("widths = [16]", "widths = [16]\nsigma_b = true"),
        "[network] sigma_b must be a real number in [0, inf), got True",
    ),
    "typo in network": (
        GOOD.replace("widths = [16]", "widths = [16]\nactivaton = 'relu'"),
        "[network] unknown field 'activaton'; allowed fields: in_dim, widths, out_dim, "
        "activation, sigma_w, sigma_b",
    ),
    "typo in prior": (
        GOOD.replace("scale = 1.0", "scal = 1.0"),
        "[prior] unknown field 'scal' for family 'horseshoe'; allowed fields: family, "
        "placement, scale",
    ),
    "bad placement": (
        GOOD.replace("scale = 1.0", 'scale = 1.0\nplacement = "edge"'),
        "[prior] placement = 'edge' is not one of: node, weight",
    ),
    "typo in prior_check": (
        GOOD + "\n[prior_check]\nnum_draw = 10\n",
        "[prior_check] unknown field 'num_draw'; allowed fields: widths, num_draws, x_min, "
        "x_max, num_inputs, seed",
    ),
    "unknown table": (
        GOOD + "\n[priors]\nfamily = 'beta'\n",
        "unknown table [priors]; allowed: name, description, [network], [prior], "
        "[prior_check], [data], [likelihood], [inference], [compare]",
    ),
    "unknown top-level field": (
        "nme = 'x'\n" + GOOD,
        "unknown top-level field 'nme'; allowed:",
    ),
    "missing family": (
        GOOD.replace('family = "horseshoe"', ""),
        "[prior] missing required field 'family'; allowed families: beta, deterministic",
    ),
    "missing prior": (
        GOOD.split("[prior]")[0],
        "missing required table [prior]",
    ),
    "missing network": (
        GOOD.replace("[network]\nwidths = [16]\n", ""),
        "missing required table [network]",
    ),
    "network not a table": (
        "network = 3\n[prior]\nfamily = 'beta'\n",
        "network must be a table [network], got 3",
    ),
    "bad name": (
        GOOD.replace('name = "good"', 'name = "../evil"'),
        "name = '../evil' must start with a letter or digit",
    ),
    "prior count mismatch": (
        GOOD.replace("[prior]", "[[prior]]") + "\n[[prior]]\nfamily = 'beta'\n",
        "[[prior]] has 2 tables but [network] widths has 1 hidden layer(s)",
    ),
    "bad value in second prior": (
        GOOD.replace("widths = [16]", "widths = [16, 16]").replace("[prior]", "[[prior]]")
        + "\n[[prior]]\nfamily = 'gamma'\nrate = 0\n",
        "[[prior]] (hidden layer 2) rate must be in (0, inf), got 0",
    ),
    "inverse gamma shape": (
        GOOD.replace('"horseshoe"', '"inverse_gamma"').replace("scale", "shape"),
        "[prior] shape must be in (1, inf), got 1.0",
    ),
    "width not above rate": (
        GOOD.replace('"horseshoe"', '"gaussian_mixture"').replace("scale = 1.0", "rate = 20"),
        "[network] widths = [16]: width must be > rate = 20",
    ),
    "prior_check width not above rate": (
        GOOD.replace('"horseshoe"', '"gaussian_mixture"').replace("scale = 1.0", "rate = 5")
        + "\n[prior_check]\nwidths = [5, 50]\n",
        "[prior_check] widths contains 5, which this network does not allow",
    ),
    "x range": (
        GOOD + "\n[prior_check]\nx_min = 2.0\nx_max = 1.0\n",
        "[prior_check] x_min must be < x_max, got x_min = 2, x_max = 1",
    ),
    "degenerate reference input": (
        GOOD + "\n[prior_check]\nx_min = -2.0\nx_max = 0.0\n",
        "[prior_check] x_max = 0 is the reference input",
    ),
    "too few draws": (
        GOOD + "\n[prior_check]\nnum_draws = 5\n",
        "[prior_check] num_draws must be an integer >= 10, got 5",
    ),
    "negative seed": (
        GOOD + "\n[prior_check]\nseed = -1\n",
        "[prior_check] seed must be an integer in [0, 4294967296), got -1",
    ),
    "nan": (
        GOOD.replace("scale = 1.0", "scale = nan"),
        "[prior] scale must be in (0, inf), got nan",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_spec(tmp_path, case):
    text, expected = BAD[case]
    message = spec_error(tmp_path, text)
    assert expected in message, message


def test_toml_syntax_error(tmp_path):
    message = spec_error(tmp_path, GOOD.replace("scale = 1.0", "scale = = 1.0"))
    assert "invalid TOML" in message and "line" in message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(SpecError, match=r"nope\.toml: no such file$"):
        load_spec(path)


def test_directory(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


def test_spec_error_is_value_error():
    assert issubclass(SpecError, ValueError)


def test_prior_check_settings_validate():
    with pytest.raises(ValueError, match="num_draws must be an integer >= 10"):
        PriorCheckSettings(num_draws=3)
    with pytest.raises(ValueError, match="x_min must be < x_max"):
        PriorCheckSettings(x_min=1.0, x_max=1.0)
    assert PriorCheckSettings(widths=7).widths == (7,)


# -- the tables of `bnn-mogp fit` ------------------------------------------------------------------


def test_fit_tables(tmp_path):
    from bnn_mogp.cli.spec import DataSettings, InferenceSettings, LikelihoodSettings
    from bnn_mogp.inference import SviConfig

    text = (
        GOOD
        + """
[data]
source = "data/table.csv"
target = "price"
test_fraction = 0.25
seed = 3
max_train = 100
test_source = "data/test.csv"

[likelihood]
family = "gaussian"
noise_std = 0.2
collapsed = true

[inference]
method = "svi"
guide = "lowrank"
num_steps = 300
num_samples = 50
num_chains = 1
chunk_size = 25
seed = 9
"""
    )
    spec = load_spec(write(tmp_path, text))
    assert spec.data == DataSettings(
        str(tmp_path / "data/table.csv"), "price", 0.25, 3, 100,
        test_source=str(tmp_path / "data/test.csv"),
    )  # fmt: skip
    assert spec.likelihood == LikelihoodSettings("gaussian", 0.2, 1.0, True)
    assert spec.inference.method == "svi" and spec.inference.config.guide == "lowrank"
    assert spec.inference.seed == 9 and spec.inference.chunk_size == 25
    assert spec.inference.config == SviConfig(
        guide="lowrank", num_steps=300, num_samples=50, num_chains=1
    )
    assert load_spec(write(tmp_path, GOOD)).inference == InferenceSettings()
    # a setting of the other method is a mistake, named as such
    with pytest.raises(SpecError, match=r"dense_mass is not a setting of method = 'svi'"):
        load_spec(write(tmp_path, text.replace("chunk_size = 25", "dense_mass = true")))


FIT_ERRORS = {
    "unknown builtin": (
        '[data]\nsource = "builtin:iris"\n',
        "[data] source = 'builtin:iris' is not one of: builtin:synthetic",
    ),
    "not a data file": (
        '[data]\nsource = "table.xlsx"\n',
        "must be builtin:NAME or a path ending in .csv or .npz",
    ),
    "bad fraction": ("[data]\ntest_fraction = 1.0\n", "test_fraction must be in (0, 1), got 1.0"),
    "collapsed classification": (
        '[likelihood]\nfamily = "bernoulli"\ncollapsed = true\n',
        "collapsed = true needs family = 'gaussian'",
    ),
    "bad likelihood": (
        '[likelihood]\nfamily = "poisson"\n',
        "[likelihood] family = 'poisson' is not one of: bernoulli, categorical",
    ),
    "not a boolean": ("[likelihood]\ncollapsed = 1\n", "collapsed must be true or false, got 1"),
    "bad test file": ('[data]\ntest_source = "t.xlsx"\n', "test_source = 't.xlsx' must end in"),
    "test file for synthetic": (
        '[data]\nsource = "builtin:synthetic"\ntest_source = "t.csv"\n',
        "test_source does not apply to builtin:synthetic",
    ),
    "df without student_t": (
        "[likelihood]\ndf = 3.0\n",
        "[likelihood] df applies to family = 'student_t' only, got family = None",
    ),
    "bad df": ('[likelihood]\nfamily = "student_t"\ndf = 0\n', "df must be in (0, "),
    "collapsed student_t": (
        '[likelihood]\nfamily = "student_t"\ncollapsed = true\n',
        "collapsed = true needs family = 'gaussian', got 'student_t'",
    ),
    "bad guide": ('[inference]\nguide = "flow"\n', "guide = 'flow' is not one of: delta, lowrank"),
    "bad chain method": ('[inference]\nchain_method = "threads"\n', "chain_method = 'threads'"),
    "zero samples": ("[inference]\nnum_samples = 0\n", "num_samples must be an integer >= 1"),
}


@pytest.mark.parametrize("case", sorted(FIT_ERRORS))
def test_fit_table_errors(tmp_path, case):
    extra, expected = FIT_ERRORS[case]
    assert expected in spec_error(tmp_path, GOOD + "\n" + extra)

"""bnn_mogp.data: builtins, splits, standardisation, CSV / NPZ round trips and bad-data errors."""

import math

import numpy as np
import pytest
from scipy import stats

from bnn_mogp.data import (
    BUILTINS,
    SYNTHETIC_GAP,
    SYNTHETIC_NUM_TEST,
    SYNTHETIC_NUM_TRAIN,
    DataError,
    Dataset,
    digits_splits,
    load_data,
    sphere_sine,
    sphere_sine_function,
    synthetic_function,
)

EXPECTED = {
    # name: (likelihood, num examples, in_dim, num_classes)
    "synthetic": ("gaussian", None, 1, None),
    "diabetes": ("gaussian", 442, 10, None),
    "breast_cancer": ("bernoulli", 569, 30, 2),
    "digits": ("categorical", 1797, 64, 10),
    "wine": ("categorical", 178, 13, 3),
    "teacher": ("categorical", None, 64, 10),  # its own test set: 60 000 + 10 000
}


@pytest.fixture(scope="module")
def builtins():
    return {name: load_data(f"builtin:{name}", seed=3) for name in BUILTINS}


def _raises(match_fragments, fn, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg, msg
    for frag in match_fragments:
        assert frag in msg, (frag, msg)
    return msg


# --------------------------------------------------------------------------------------------------
# builtins


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_shapes_and_likelihood(builtins, name):
    d = builtins[name]
    lik, n, in_dim, k = EXPECTED[name]
    assert d.name == name and d.source == f"builtin:{name}" and d.seed == 3
    assert d.likelihood == lik and d.num_classes == k and d.in_dim == in_dim
    assert d.out_dim == (k if lik == "categorical" else 1)
    assert d.X_train.shape == (d.num_train, in_dim) and d.X_test.shape == (d.num_test, in_dim)
    assert d.y_train.shape == (d.num_train,) and d.y_test.shape == (d.num_test,)
    assert d.X_train.dtype == np.float64 and len(d.feature_names) == in_dim
    if n is not None:
        assert d.num_train + d.num_test == n
        assert d.num_test == math.ceil(0.2 * n)
    if k is None:
        assert d.y_train.dtype == np.float64 and d.class_labels is None
    else:
        assert d.y_train.dtype == np.int64 and len(d.class_labels) == k
        assert set(np.unique(d.y_train)) == set(range(k))
        assert set(np.unique(d.y_test)) == set(range(k))
    assert not d.X_train.flags.writeable
    s = d.summary()
    assert s["num_train"] == d.num_train and s["likelihood"] == lik
    if k is None:
        assert s["target_mean_train"] == pytest.approx(d.y_mean)
    else:
        counts = s["class_counts_train"]
        assert len(counts) == k and sum(counts.values()) == d.num_train


def test_class_labels_of_builtins(builtins):
    assert builtins["breast_cancer"].class_labels == ("malignant", "benign")
    assert builtins["wine"].class_labels == ("class_0", "class_1", "class_2")
    assert builtins["digits"].class_labels == tuple(str(i) for i in range(10))


@pytest.mark.parametrize("name", BUILTINS)
def test_standardised_with_training_statistics(builtins, name):
    d = builtins[name]
    varying = np.ptp(d.X_train, axis=0) > 0
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X_train[:, varying].std(axis=0), 1.0, atol=1e-12)
    np.testing.assert_array_equal(d.x_std[~varying], 1.0)  # constant features (digits)
    raw_train, raw_test = d.raw_X_train(), d.raw_X_test()
    np.testing.assert_allclose(d.x_mean, raw_train.mean(axis=0), rtol=1e-12, atol=1e-12)
    # the test split did not enter the statistics
    full_mean = np.concatenate([raw_train, raw_test]).mean(axis=0)
    assert np.max(np.abs(full_mean - d.x_mean)) > 1e-6
    if d.likelihood == "gaussian":
        assert abs(d.y_train.mean()) < 1e-12 and abs(d.y_train.std() - 1.0) < 1e-12
        raw_y = d.raw_y_train()
        assert d.y_mean == pytest.approx(raw_y.mean(), rel=1e-12)
        assert d.y_std == pytest.approx(raw_y.std(), rel=1e-12)
        assert abs(d.y_test.mean()) > 1e-6  # test targets scaled with train statistics


@pytest.mark.parametrize("name", ["breast_cancer", "digits", "wine"])
def test_stratified_split_keeps_proportions(builtins, name):
    d = builtins[name]
    n_tr = np.bincount(d.y_train, minlength=d.num_classes)
    n_te = np.bincount(d.y_test, minlength=d.num_classes)
    frac = d.num_test / (d.num_train + d.num_test)
    assert np.all(np.abs(n_te - frac * (n_tr + n_te)) <= 1.0)


def test_unscale_round_trip():
    d = load_data("builtin:diabetes", seed=1)
    np.testing.assert_allclose(d.unscale_y(d.y_test), d.raw_y_test())
    draws = np.random.default_rng(0).normal(size=(5, d.num_test))
    back = (d.unscale_y(draws) - d.y_mean) / d.y_std
    np.testing.assert_allclose(back, draws, atol=1e-12)
    np.testing.assert_allclose(d.unscale_y_std(np.ones(3)), d.y_std)
    np.testing.assert_allclose(d.scale_X(d.raw_X_test()), d.X_test, atol=1e-12)
    # the raw diabetes targets are the original disease-progression scores (integers 25..346)
    raw = d.raw_y_test()
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-9)
    assert 25 <= raw.min() and raw.max() <= 346
    with pytest.raises(ValueError, match="applies to a regression dataset"):
        load_data("builtin:wine").unscale_y([0.0])


def test_synthetic_gap_and_test_grid(builtins):
    d = builtins["synthetic"]
    assert d.num_train == SYNTHETIC_NUM_TRAIN and d.num_test == SYNTHETIC_NUM_TEST
    x_tr, x_te = d.raw_X_train()[:, 0], d.raw_X_test()[:, 0]
    lo, hi = SYNTHETIC_GAP
    assert not np.any((x_tr > lo) & (x_tr < hi))
    assert np.all((x_tr >= -3.0) & (x_tr <= 3.0))
    assert np.sum((x_te > lo) & (x_te < hi)) >= 10
    assert x_te.min() == pytest.approx(-3.5) and x_te.max() == pytest.approx(3.5)
    assert np.all(np.diff(x_te) > 0)
    resid = d.raw_y_train() - synthetic_function(x_tr)
    assert 0.05 < resid.std() < 0.2  # noise sd 0.1


def test_seeds_reproduce_and_differ():
    for source in ("builtin:synthetic", "builtin:wine", "builtin:diabetes"):
        a, b = load_data(source, seed=5), load_data(source, seed=5)
        c = load_data(source, seed=6)
        np.testing.assert_array_equal(a.X_train, b.X_train)
        np.testing.assert_array_equal(a.y_test, b.y_test)
        assert a.X_train.shape != c.X_train.shape or not np.array_equal(a.X_train, c.X_train)


def test_max_train_subsamples():
    d = load_data("builtin:digits", max_train=200, seed=0)
    assert d.num_train == 200 and d.num_test == 360
    assert set(np.unique(d.y_train)) == set(range(10))
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    e = load_data("builtin:synthetic", max_train=30, seed=0)
    assert e.num_train == 30 and e.num_test == SYNTHETIC_NUM_TEST
    assert load_data("builtin:wine", max_train=10_000).num_train == 142


def test_test_fraction():
    d = load_data("builtin:wine", test_fraction=0.5)
    assert d.num_test == 89 and d.num_train == 89


def test_likelihood_override():
    d = load_data("builtin:breast_cancer", likelihood="categorical")
    assert d.likelihood == "categorical" and d.out_dim == 2
    _raises(
        ["builtin:wine", "bernoulli", "exactly 2 distinct values", "found 3"],
        load_data,
        "builtin:wine",
        likelihood="bernoulli",
    )
    _raises(
        ["builtin:synthetic", "integer class labels"],
        load_data,
        "builtin:synthetic",
        likelihood="categorical",
    )


# --------------------------------------------------------------------------------------------------
# CSV and NPZ


def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def _table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    y = X @ [1.0, 0.1, 3.0] + rng.normal(size=n)
    return X, y


def test_csv_regression_round_trip(tmp_path):
    X, y = _table()
    rows = [[*(repr(float(v)) for v in x), repr(float(t))] for x, t in zip(X, y, strict=True)]
    path = _write_csv(tmp_path / "my data.csv", ["a", "b", "c", "target"], rows)
    d = load_data(str(path), target="target", seed=2)
    assert d.name == "my data" and d.likelihood == "gaussian"
    assert d.feature_names == ("a", "b", "c") and d.target_name == "target"
    assert d.num_train + d.num_test == 40 and d.num_test == 8
    raw = np.concatenate([d.raw_X_train(), d.raw_X_test()])
    key = np.lexsort(raw.T)
    np.testing.assert_allclose(raw[key], X[np.lexsort(X.T)], rtol=1e-12)
    ys = np.sort(np.concatenate([d.raw_y_train(), d.raw_y_test()]))
    np.testing.assert_allclose(ys, np.sort(y), rtol=1e-12)
    # the target column may be anywhere
    path2 = _write_csv(tmp_path / "b.csv", ["target", "a"], [[r[3], r[0]] for r in rows])
    assert load_data(path2, target="target").feature_names == ("a",)


def test_csv_binary_target_inferred(tmp_path):
    X, _ = _table()
    labels = np.where(X[:, 0] > 0, 7, 3)
    rows = [[*x, int(t)] for x, t in zip(X, labels, strict=True)]
    path = _write_csv(tmp_path / "bin.csv", ["a", "b", "c", "cls"], rows)
    d = load_data(path, target="cls")
    assert d.likelihood == "bernoulli" and d.class_labels == (3, 7) and d.num_classes == 2
    assert d.y_train.dtype == np.int64
    # integer targets with more values stay gaussian unless asked
    rows3 = [[*x, int(i % 4)] for i, x in enumerate(X)]
    path3 = _write_csv(tmp_path / "multi.csv", ["a", "b", "c", "cls"], rows3)
    assert load_data(path3, target="cls").likelihood == "gaussian"
    d3 = load_data(path3, target="cls", likelihood="categorical")
    assert d3.likelihood == "categorical" and d3.num_classes == 4 and d3.out_dim == 4


def test_csv_text_labels_for_classification(tmp_path):
    X, _ = _table()
    rows = [[*x, "yes" if x[0] > 0 else "no"] for x in X]
    path = _write_csv(tmp_path / "t.csv", ["a", "b", "c", "ans"], rows)
    d = load_data(path, target="ans", likelihood="bernoulli")
    assert d.class_labels == ("no", "yes")
    _raises(
        ["column 'ans'", "non-numeric value 'yes'", "line 2", "categorical"],
        load_data,
        path,
        target="ans",
    )


def test_npz_round_trip(tmp_path):
    X, y = _table(30)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y[:, None], feature_names=np.array(["p", "q", "r"]))
    d = load_data(str(path), seed=4)
    assert d.feature_names == ("p", "q", "r") and d.target_name == "y" and d.num_test == 6
    raw = np.concatenate([d.raw_X_train(), d.raw_X_test()])
    np.testing.assert_allclose(raw[np.lexsort(raw.T)], X[np.lexsort(X.T)], rtol=1e-12)
    labels = np.arange(30) % 3
    np.savez(tmp_path / "c.npz", X=X, y=labels)
    c = load_data(str(tmp_path / "c.npz"), likelihood="categorical")
    assert c.num_classes == 3 and c.feature_names == ("x1", "x2", "x3")


# --------------------------------------------------------------------------------------------------
# bad data


def test_bad_arguments(tmp_path):
    _raises(["unknown builtin", "builtin:mnist", "builtin:wine"], load_data, "builtin:mnist")
    _raises([".csv or .npz", "x.txt"], load_data, "x.txt")
    _raises(["likelihood", "poisson"], load_data, "builtin:wine", likelihood="poisson")
    _raises(["test_fraction", "(0, 1)"], load_data, "builtin:wine", test_fraction=1.0)
    _raises(["seed"], load_data, "builtin:wine", seed=-1)
    _raises(["max_train"], load_data, "builtin:wine", max_train=1)
    _raises(["target applies only to CSV"], load_data, "builtin:wine", target="x")


def test_csv_errors(tmp_path):
    good = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    _raises(["missing.csv", "no such file"], load_data, str(tmp_path / "missing.csv"), target="y")
    p = _write_csv(tmp_path / "a.csv", ["u", "v", "y"], good)
    _raises(["a.csv", "no target column", "--target", "columns: u, v, y"], load_data, p)
    _raises(["a.csv", "no column 'w'", "columns: u, v, y"], load_data, p, target="w")

    bad = [[1, 2, 3], [4, "abc", 6], [7, 8, 9]]
    p = _write_csv(tmp_path / "b.csv", ["u", "v", "y"], bad)
    _raises(["b.csv", "column 'v'", "non-numeric value 'abc'", "line 3"], load_data, p, target="y")
    p = _write_csv(tmp_path / "c.csv", ["u", "v", "y"], [[1, 2, 3], [4, 5, 6], [7, "nan", 9]])
    _raises(["c.csv", "column 'v'", "non-finite value 'nan'", "line 4"], load_data, p, target="y")
    p = _write_csv(tmp_path / "d.csv", ["u", "v", "y"], [[1, 2, 3], [4, 5, "inf"], [7, 8, 9]])
    _raises(["column 'y'", "non-finite value 'inf'", "line 3"], load_data, p, target="y")
    p = _write_csv(tmp_path / "e.csv", ["u", "v", "y"], [[1, 2, 3], ["", 5, 6], [7, 8, 9]])
    _raises(["column 'u'", "empty entry", "line 3"], load_data, p, target="y")
    p = _write_csv(tmp_path / "f.csv", ["u", "v", "y"], [[1, 2, 3]])
    _raises(["f.csv", "1 data row", "at least 2"], load_data, p, target="y")
    p = _write_csv(tmp_path / "g.csv", ["y"], [[1], [2], [3]])
    _raises(["g.csv", "only one column"], load_data, p, target="y")
    p = _write_csv(tmp_path / "h.csv", ["u", "v", "y"], [[1, 2, 3], [4, 5], [7, 8, 9]])
    _raises(["h.csv", "line 3 has 2 fields", "3"], load_data, p, target="y")
    (tmp_path / "i.csv").write_text("")
    _raises(["i.csv", "empty"], load_data, tmp_path / "i.csv", target="y")
    p = _write_csv(tmp_path / "j.csv", ["u", "u", "y"], good)
    _raises(["j.csv", "'u' appears twice"], load_data, p, target="y")


def test_target_does_not_fit_likelihood(tmp_path):
    rows = [[i, i % 3 + 0.5] for i in range(12)]
    p = _write_csv(tmp_path / "r.csv", ["x", "y"], rows)
    _raises(
        ["r.csv", "target 'y'", "integer class labels", "0.5", "line 2"],
        load_data,
        p,
        target="y",
        likelihood="categorical",
    )
    _raises(
        ["r.csv", "target 'y'", "exactly 2 distinct values", "found 3"],
        load_data,
        p,
        target="y",
        likelihood="bernoulli",
    )
    p = _write_csv(tmp_path / "k.csv", ["x", "y"], [[i, 4] for i in range(6)])
    _raises(
        ["k.csv", "at least 2 classes", "4"], load_data, p, target="y", likelihood="categorical"
    )
    _raises(["k.csv", "constant on the training split"], load_data, p, target="y")
    rows = [[i, 0 if i else 1] for i in range(10)]
    p = _write_csv(tmp_path / "s.csv", ["x", "y"], rows)
    _raises(
        ["s.csv", "class 1 has only 1 example", "line 2", "stratified"], load_data, p, target="y"
    )


def test_npz_errors(tmp_path):
    X, y = _table(10)
    cases = {
        "nokey.npz": (dict(X=X), ["missing key(s) 'y'", "keys present: X"]),
        "shapeX.npz": (dict(X=X[:, 0], y=y), ["'X' must be a 2-D array", "(10,)"]),
        "shapey.npz": (dict(X=X, y=np.ones((10, 2))), ["'y' must be a 1-D array", "(10, 2)"]),
        "len.npz": (dict(X=X, y=y[:9]), ["'X' has 10 rows but 'y' has 9"]),
        "nanX.npz": (
            dict(X=np.where(np.arange(30).reshape(10, 3) == 7, np.nan, X), y=y),
            ["'X' has a non-finite value (nan) at index [2, 1]"],
        ),
        "infy.npz": (
            dict(X=X, y=np.where(np.arange(10) == 4, -np.inf, y)),
            ["'y' has a non-finite value (-inf) at index 4"],
        ),
        "text.npz": (dict(X=X.astype(str), y=y), ["'X' must hold numbers", "<U"]),
        "names.npz": (
            dict(X=X, y=y, feature_names=np.array(["a"])),
            ["'feature_names' has 1 entries", "3 columns"],
        ),
    }
    for name, (arrays, frags) in cases.items():
        np.savez(tmp_path / name, **arrays)
        _raises([name, *frags], load_data, str(tmp_path / name))
    _raises(["missing.npz", "no such file"], load_data, str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    _raises(["junk.npz", "NPZ"], load_data, str(tmp_path / "junk.npz"))
    np.savez(tmp_path / "cat.npz", X=X, y=y)
    _raises(
        ["cat.npz", "integer class labels", "index 0"],
        load_data,
        str(tmp_path / "cat.npz"),
        likelihood="categorical",
    )
    _raises(["target applies only to CSV"], load_data, str(tmp_path / "cat.npz"), target="y")


def test_dataset_is_frozen(builtins):
    d = builtins["wine"]
    assert isinstance(d, Dataset)
    with pytest.raises(AttributeError):
        d.name = "other"
    with pytest.raises(ValueError):
        d.X_train[0, 0] = 1.0


def test_test_size_is_rounded_up_without_float_noise(tmp_path):
    rows = [[i, i % 2] for i in range(15)]
    p = _write_csv(tmp_path / "n15.csv", ["x", "y"], rows)
    assert load_data(p, target="y").num_test == 3  # 0.2 · 15 is 3.0000000000000004
    assert load_data(p, target="y", likelihood="gaussian").num_test == 3


def test_ordered_split_and_feature_selection(tmp_path):
    """Issue 12: a time-ordered split for series (the test set is the last rows) and the
    choice of input columns, both recorded so that a run reloads the same data."""
    from bnn_mogp.data import reload

    t = np.arange(40.0)
    rows = ["t,noise,y"] + [f"{a},{np.sin(a)},{np.cos(a)}" for a in t]
    path = tmp_path / "series.csv"
    path.write_text("\n".join(rows) + "\n")
    d = load_data(str(path), target="y", split="ordered", features=["t"], test_fraction=0.25)
    assert d.feature_names == ("t",) and (d.num_train, d.num_test) == (30, 10)
    np.testing.assert_allclose(d.raw_X_test()[:, 0], t[30:])
    np.testing.assert_allclose(d.raw_X_train()[:, 0], t[:30])
    again = reload(d.describe())
    np.testing.assert_array_equal(again.X_test, d.X_test)
    with pytest.raises(DataError, match="no feature column.*tt.*the features are t, noise"):
        load_data(str(path), target="y", features=["tt"])
    with pytest.raises(DataError, match="split must be one of random, ordered, got 'time'"):
        load_data(str(path), target="y", split="time")


def test_explicit_test_file(tmp_path):
    """Issue 12: a test set from its own file: columns matched by name (any order, extra
    columns ignored), the training statistics only, class labels coded with the training
    classes, and clear errors for what cannot match."""
    from bnn_mogp.data import reload

    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("a,b,y\n1,10,0.5\n2,20,1.5\n3,30,2.0\n4,40,4.0\n")
    test.write_text("y,extra,b,a\n3.0,9,25,2.5\n-1,9,5,0.5\n")
    d = load_data(str(train), target="y", test_source=str(test))
    assert (d.num_train, d.num_test) == (4, 2)
    np.testing.assert_allclose(d.raw_X_test(), [[2.5, 25.0], [0.5, 5.0]])
    np.testing.assert_allclose(d.raw_y_test(), [3.0, -1.0])
    assert d.y_mean == pytest.approx(2.0) and d.x_mean == pytest.approx([2.5, 25.0])
    np.testing.assert_array_equal(reload(d.describe()).X_test, d.X_test)
    only_b = load_data(str(train), target="y", test_source=str(test), features=["b"])
    np.testing.assert_allclose(only_b.raw_X_test()[:, 0], [25.0, 5.0])

    labels = tmp_path / "labels.csv"
    labels.write_text("a,c\n1,cat\n2,dog\n3,cat\n4,emu\n")
    (tmp_path / "lt.csv").write_text("a,c\n5,emu\n6,cat\n")
    c = load_data(
        str(labels), target="c", likelihood="categorical", test_source=tmp_path / "lt.csv"
    )
    assert c.class_labels == ("cat", "dog", "emu") and c.y_test.tolist() == [2, 0]
    (tmp_path / "new.csv").write_text("a,c\n5,yak\n")
    with pytest.raises(
        DataError, match="new.csv: target 'c' has class.*yak.*the training set lacks"
    ):
        load_data(
            str(labels), target="c", likelihood="categorical", test_source=tmp_path / "new.csv"
        )
    binary = tmp_path / "binary.csv"
    binary.write_text("a,c\n1,0\n2,1\n3,0\n4,1\n")
    (tmp_path / "three.csv").write_text("a,c\n5,2\n")  # bernoulli inferred from training
    with pytest.raises(DataError, match="bernoulli likelihood needs exactly 2 distinct values"):
        load_data(str(binary), target="c", test_source=tmp_path / "three.csv")
    (tmp_path / "nob.csv").write_text("a,y\n1,2\n")
    with pytest.raises(DataError, match="nob.csv: missing feature column.*b of the training data"):
        load_data(str(train), target="y", test_source=tmp_path / "nob.csv")
    (tmp_path / "bad.csv").write_text("a,b,y\n1,2,x\n")
    with pytest.raises(DataError, match="non-numeric value 'x' at line 2"):
        load_data(str(train), target="y", test_source=tmp_path / "bad.csv")
    with pytest.raises(DataError, match="has its own test set"):
        load_data("builtin:synthetic", test_source=str(test))
    with pytest.raises(DataError, match="test_source must be a path ending in .csv or .npz"):
        load_data(str(train), target="y", test_source="test.xlsx")


def test_sphere_sine_is_uniform_on_the_sphere_and_seeded():
    X, y, X_test, y_test = sphere_sine(seed=3, num_train=2000, num_test=7, dim=50, noise_sd=0.0)
    assert X.shape == (2000, 50) and X_test.shape == (7, 50)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, np.mean(5 * np.sin(np.pi * X), axis=1), rtol=1e-12)
    np.testing.assert_allclose(y_test, sphere_sine_function(X_test), rtol=1e-12)
    # one coordinate of a uniform point on S^(d−1): (x₁ + 1)/2 ~ Beta((d−1)/2, (d−1)/2); KS at
    # a false-failure rate of 1e-3
    law = stats.beta((50 - 1) / 2, (50 - 1) / 2)
    assert stats.kstest((X[:, 0] + 1) / 2, law.cdf).pvalue > 1e-3
    again = sphere_sine(seed=3, num_train=2000, num_test=7, dim=50, noise_sd=0.0)
    np.testing.assert_array_equal(again[0], X)
    noisy = sphere_sine(seed=3, num_train=2000, num_test=7, dim=50, noise_sd=0.1)
    resid = noisy[1] - sphere_sine_function(noisy[0])
    # the sample sd of 2000 N(0, 0.1²) draws: within 0.1 (1 ± 4.5/sqrt(2·2000)) w.p. ≥ 1 − 1e-5
    assert abs(resid.std() / 0.1 - 1) < 4.5 / np.sqrt(2 * 2000)
    with pytest.raises(ValueError, match="dim must be an integer >= 1, got 0"):
        sphere_sine(dim=0)


def test_digits_splits_are_disjoint_and_scaled():
    splits = digits_splits(seed=0)
    assert list(splits) == ["train", "test", "transfer_train", "transfer_test"]
    sizes = [len(v[1]) for v in splits.values()]
    assert sizes == [718, 359, 359, 359]
    rows = np.concatenate([v[0] for v in splits.values()])
    assert rows.min() == 0 and rows.max() == 1 and rows.shape[1] == 64
    np.testing.assert_array_equal(rows * 16, np.round(rows * 16))  # pixels / 16
    again = digits_splits(seed=0)
    np.testing.assert_array_equal(again["test"][0], splits["test"][0])
    assert not np.array_equal(digits_splits(seed=1)["test"][1], splits["test"][1])
    assert set(np.concatenate([v[1] for v in splits.values()])) == set(range(10))
    with pytest.raises(ValueError, match="sum to at most 1"):
        digits_splits(fractions={"train": 0.7, "test": 0.5})
    with pytest.raises(ValueError, match="got valid"):
        digits_splits(fractions={"valid": 0.5})

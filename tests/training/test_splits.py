"""The four splits of a node-scaling experiment (bnn_mogp.training.splits)."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_mogp.data import DataError, digits_splits, sphere_sine, sphere_sine_splits
from bnn_mogp.training.splits import SPLIT_NAMES, load_training_data


def test_sphere_sine_layout_is_the_generator_with_raw_targets():
    data = load_training_data("builtin:sphere_sine", seed=4, sizes={"train": 30}, dim=7)
    expected = sphere_sine_splits(4, {"train": 30, "test": 100, "transfer_train": 100,
                                      "transfer_test": 100}, dim=7)  # fmt: skip
    for name in SPLIT_NAMES:
        np.testing.assert_array_equal(data.splits[name][0], expected[name][0])
        np.testing.assert_array_equal(data.splits[name][1], expected[name][1])
    X, y, X_test, y_test = sphere_sine(seed=4, num_train=30, num_test=100, dim=7)
    np.testing.assert_array_equal(data.splits["test"][1], y_test)
    assert data.in_dim == 7 and data.out_dim("mse") == 1 and not data.classification
    assert data.targets("train", "mse").shape == (30,)
    with pytest.raises(ValueError, match="loss 'cross_entropy' needs class labels"):
        data.targets("train", "cross_entropy")


def test_digits_layout_and_targets_per_loss():
    data = load_training_data("builtin:digits", seed=2)
    expected = digits_splits(2)
    for name in SPLIT_NAMES:
        np.testing.assert_array_equal(data.splits[name][0], expected[name][0])
    labels = data.splits["train"][1]
    one_hot = data.targets("train", "mse")
    assert one_hot.shape == (len(labels), 10) and np.all(one_hot.argmax(1) == labels)
    assert np.all(data.targets("train", "cross_entropy") == labels)
    assert data.out_dim("cross_entropy") == 10


def test_a_csv_is_cut_into_four_disjoint_standardised_splits(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=200)
    rows = "".join(f"{a},{b},{c},{t}\n" for (a, b, c), t in zip(X, y, strict=True))
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + rows)
    fractions = {"train": 0.5, "test": 0.2, "transfer_train": 0.15, "transfer_test": 0.1}
    data = load_training_data(str(tmp_path / "d.csv"), target="y", fractions=fractions, seed=1)
    sizes = {k: len(v[1]) for k, v in data.splits.items()}
    assert sizes == {"train": 100, "test": 40, "transfer_train": 30, "transfer_test": 20}
    X_train, y_train = data.splits["train"]
    np.testing.assert_allclose(X_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(0), 1, rtol=1e-12)
    np.testing.assert_allclose([y_train.mean(), y_train.std()], [0, 1], atol=1e-12)
    # every split went through the same affine map: distinct values mean distinct rows
    first = np.concatenate([v[0][:, 0] for v in data.splits.values()])
    assert len(np.unique(first)) == 190
    assert "standardised" in data.scaling


def test_bad_arguments_fail_with_one_line_errors():
    with pytest.raises(DataError, match="sizes, dim and noise_sd apply to builtin:sphere_sine"):
        load_training_data("builtin:digits", sizes={"train": 3})
    with pytest.raises(DataError, match="fractions do not apply to builtin:sphere_sine"):
        load_training_data("builtin:sphere_sine", fractions={"train": 0.5})
    with pytest.raises(DataError, match="unknown split"):
        load_training_data("builtin:wine", fractions={"valid": 0.5})
    with pytest.raises(DataError, match="sum to at most 1"):
        load_training_data("builtin:wine", fractions={"train": 0.9})
    with pytest.raises(DataError, match="target, features and likelihood apply to other"):
        load_training_data("builtin:digits", target="y")
    with pytest.raises(DataError, match=r"sizes\['train'\] must be an integer >= 1"):
        load_training_data("builtin:sphere_sine", sizes={"train": 0})

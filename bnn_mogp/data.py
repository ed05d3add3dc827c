"""Datasets: synthetic 1-D regression, real data bundled with scikit-learn, user CSV and NPZ files.

:func:`load_data` returns a :class:`Dataset`: a seeded train/test split whose inputs (and, for
regression, targets) are standardised with statistics of the **training split only**; the
statistics are stored with the data so that predictions can be reported in original units
(:meth:`Dataset.unscale_y`, :meth:`Dataset.unscale_y_std`, :meth:`Dataset.raw_X_test`, …).

Sources (``source`` argument of :func:`load_data`):

``builtin:synthetic``
    1-D regression with a gap in the inputs (see :func:`synthetic_function`): 120 training inputs
    drawn uniformly from [−3, −0.75] ∪ [0.75, 3] and y = f(x) + N(0, 0.1²); the test set is a grid
    of 201 equally spaced points over [−3.5, 3.5], *including the gap*, with its own noise, so the
    predictive bands over the gap and beyond the data can be seen. ``test_fraction`` is not used.
``builtin:diabetes``
    442 patients, 10 features (original units), disease progression: Gaussian likelihood.
``builtin:breast_cancer``
    569 tumours, 30 features, malignant (0) / benign (1): Bernoulli likelihood.
``builtin:digits``
    1797 8×8 images, 64 pixel features, 10 classes: categorical likelihood (use ``max_train``
    for NUTS).
``builtin:wine``
    178 wines, 13 features, 3 classes: categorical likelihood.
``builtin:teacher``
    A large synthetic classification problem (:func:`teacher_data`): 60 000 training and
    10 000 test inputs in d = 64, labels drawn from the softmax of a random one-hidden-layer
    ReLU teacher network (10 classes): categorical likelihood. The scale of MNIST, for the
    mini-batch methods (DESIGN §16); ``test_fraction`` is not used.
``PATH.csv``
    A header line with column names, then one row per example; every entry numeric. ``target``
    names the target column; all other columns are features. Blank lines are skipped.
``PATH.npz``
    Arrays ``X`` (N × d) and ``y`` (N, or N × 1); optional ``feature_names`` (d strings) and
    ``target_name`` (a string). Other keys are ignored.

The likelihood defaults to the builtin's natural one. For CSV / NPZ it is inferred: a target with
**integer values and exactly 2 distinct values** gives ``bernoulli`` (labels mapped to 0/1, the
smaller to 0; the original labels are kept in :attr:`Dataset.class_labels`); **anything else gives
``gaussian``** — integer targets with more values (counts, ratings, class labels) are *not* guessed
to be classes: pass ``likelihood="categorical"`` for that. An explicit likelihood is checked
against the target: ``bernoulli`` needs exactly 2 distinct values; ``categorical`` needs integer
labels (or text labels in a CSV / NPZ target) with at least 2 classes, mapped to 0..K−1 in sorted
order; ``gaussian`` and ``student_t`` need real numbers.

The split is a seeded shuffle (``numpy.random.default_rng(seed)``) for regression and a stratified
split (``sklearn.model_selection.train_test_split``, ``random_state=seed``) for classification;
the test set has ⌈test_fraction·N⌉ examples; ``split="ordered"`` takes the last rows instead. With
``test_source`` (a CSV / NPZ file in the same format, the same target and at least the training
features, matched by name) the whole source is the training set and the file the test set; class
labels are encoded with the training set's classes. ``max_train`` subsamples the training split
(seeded, stratified for classification) *before* the standardisation statistics are computed.

Standardisation: x̃ = (x − x_mean) / x_std per feature, with the population standard deviation
(ddof = 0) of the training split; a feature that is constant on the training split gets
x_std = 1. Regression targets likewise: ỹ = (y − y_mean) / y_std. Classification labels are int64
in 0..K−1 and are not scaled.

Every problem with the data raises :class:`DataError` with a one-line message naming the source
and what is wrong where (column and line of a CSV, key and index of an NPZ).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import numbers
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from bnn_mogp._io import read_error
from bnn_mogp.likelihoods import LIKELIHOODS, is_regression

#: how the data are split into training and test sets
SPLITS = ("random", "ordered")

__all__ = [
    "SPLITS",
    "reload",
    "read_features",
    "DataError",
    "Dataset",
    "load_data",
    "synthetic_function",
    "teacher_data",
    "sphere_sine",
    "sphere_sine_function",
    "sphere_sine_splits",
    "SPHERE_SINE_SIZES",
    "digits_splits",
    "DIGITS_SPLITS",
    "BUILTINS",
    "LIKELIHOODS",
    "SYNTHETIC_NUM_TRAIN",
    "SYNTHETIC_NOISE_SD",
    "SYNTHETIC_GAP",
    "SYNTHETIC_TRAIN_RANGE",
    "SYNTHETIC_TEST_RANGE",
    "SYNTHETIC_NUM_TEST",
]

BUILTINS = ("synthetic", "diabetes", "breast_cancer", "digits", "wine", "teacher")
#: ``builtin:teacher``: training and test sizes, input dimension, classes
TEACHER_SIZES = {"train": 60_000, "test": 10_000, "dim": 64, "classes": 10}

#: synthetic data: number of training inputs, noise sd, the gap, input ranges, test grid size
SYNTHETIC_NUM_TRAIN = 120
SYNTHETIC_NOISE_SD = 0.1
SYNTHETIC_GAP = (-0.75, 0.75)
SYNTHETIC_TRAIN_RANGE = (-3.0, 3.0)
SYNTHETIC_TEST_RANGE = (-3.5, 3.5)
SYNTHETIC_NUM_TEST = 201

#: most column names / values listed in one message
_MAX_LISTED = 20


class DataError(ValueError):
    """The data are missing, unreadable or do not fit the likelihood; the message is one line."""


# --------------------------------------------------------------------------------------------------
# the dataset


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A standardised train/test split with the statistics needed to undo the standardisation.

    Attributes:
        name: short name (``synthetic``, ``diabetes``, the file's stem, …).
        X_train, X_test: float64 inputs, standardised: (x − x_mean) / x_std.
        y_train, y_test: targets; float64 and standardised for regression, int64 labels in
            0..K−1 for ``bernoulli`` (K = 2) and ``categorical``.
        likelihood: one of :data:`~bnn_mogp.likelihoods.LIKELIHOODS`.
        num_classes: K for classification, None for regression.
        feature_names: one name per input feature.
        target_name: name of the target.
        x_mean, x_std: per-feature mean and sd (ddof = 0) of the raw training inputs; 1 for a
            feature constant on the training split.
        y_mean, y_std: mean and sd of the raw training targets (regression); None otherwise.
        class_labels: original label of class k at position k (classification); None otherwise.
        source: the ``source`` it was loaded from.
        seed: the seed of the split (and of the synthetic data).
        load_args: the arguments of :func:`load_data` that made it (``load_data(**load_args)``
            makes it again).

    The arrays are read-only.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    likelihood: str
    num_classes: int | None
    feature_names: tuple[str, ...]
    target_name: str
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float | None = None
    y_std: float | None = None
    class_labels: tuple | None = None
    source: str = ""
    seed: int = 0
    load_args: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(
                f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {self.likelihood!r}"
            )
        regression = is_regression(self.likelihood)
        y_dtype = np.float64 if regression else np.int64
        for field in ("X_train", "X_test", "x_mean", "x_std"):
            object.__setattr__(self, field, _frozen(getattr(self, field), np.float64))
        for field in ("y_train", "y_test"):
            object.__setattr__(self, field, _frozen(getattr(self, field), y_dtype))
        d = self.x_mean.shape[0] if self.x_mean.ndim == 1 else -1
        for split in ("train", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if X.ndim != 2 or X.shape[1] != d or y.shape != (X.shape[0],):
                raise ValueError(
                    f"X_{split} must have shape (N, {d}) and y_{split} shape (N,), "
                    f"got {X.shape} and {y.shape}"
                )
        if self.x_std.shape != (d,) or len(self.feature_names) != d:
            raise ValueError(
                f"x_std and feature_names must have {d} entries, "
                f"got {self.x_std.shape[0]} and {len(self.feature_names)}"
            )
        object.__setattr__(self, "feature_names", tuple(str(n) for n in self.feature_names))
        if regression:
            if self.y_mean is None or self.y_std is None or self.num_classes is not None:
                raise ValueError("a regression dataset needs y_mean and y_std, and no num_classes")
            object.__setattr__(self, "y_mean", float(self.y_mean))
            object.__setattr__(self, "y_std", float(self.y_std))
        else:
            k = self.num_classes
            if k is None or (k != 2 if self.likelihood == "bernoulli" else k < 2):
                raise ValueError(
                    f"a {self.likelihood} dataset needs num_classes "
                    f"{'2' if self.likelihood == 'bernoulli' else '>= 2'}, got {k!r}"
                )
            object.__setattr__(self, "num_classes", int(k))
            if self.y_mean is not None or self.y_std is not None:
                raise ValueError("y_mean and y_std apply only to a regression dataset")

    # sizes ----------------------------------------------------------------------------------------

    @property
    def in_dim(self) -> int:
        """Number of input features."""
        return int(self.X_train.shape[1])

    @property
    def out_dim(self) -> int:
        """Network outputs: 1 for regression and bernoulli, K for categorical."""
        return self._require_classification("out_dim") if self.likelihood == "categorical" else 1

    @property
    def num_train(self) -> int:
        """Training examples."""
        return int(self.X_train.shape[0])

    @property
    def num_test(self) -> int:
        """Test examples."""
        return int(self.X_test.shape[0])

    @property
    def is_classification(self) -> bool:
        """True for the bernoulli and categorical likelihoods."""
        return not self.is_regression

    @property
    def is_regression(self) -> bool:
        """True for the real-valued likelihoods (gaussian, student_t)."""
        return is_regression(self.likelihood)

    # original units -------------------------------------------------------------------------------

    def unscale_y(self, values):
        """Means or draws of the standardised target back in original units: y_mean + y_std·v."""
        y_mean, y_std = self._require_regression("unscale_y")
        return y_mean + y_std * np.asarray(values, dtype=np.float64)

    def unscale_y_std(self, sd):
        """Standard deviations of the standardised target in original units: sd·y_std."""
        _, y_std = self._require_regression("unscale_y_std")
        return y_std * np.asarray(sd, dtype=np.float64)

    def scale_X(self, X):
        """Raw inputs in the standardised coordinates of this dataset: (x − x_mean) / x_std."""
        X = np.asarray(X, dtype=np.float64)
        return (X - self.x_mean) / self.x_std

    def unscale_X(self, X):
        """Standardised inputs back in original units: x_mean + x_std·x̃."""
        return self.x_mean + self.x_std * np.asarray(X, dtype=np.float64)

    def raw_X_train(self) -> np.ndarray:
        """Training inputs in original units."""
        return self.unscale_X(self.X_train)

    def raw_X_test(self) -> np.ndarray:
        """Test inputs in original units."""
        return self.unscale_X(self.X_test)

    def raw_y_train(self) -> np.ndarray:
        """Training targets in original units (class labels 0..K−1 for classification)."""
        return self.unscale_y(self.y_train) if not self.is_classification else self.y_train.copy()

    def raw_y_test(self) -> np.ndarray:
        """Test targets in original units (class labels 0..K−1 for classification)."""
        return self.unscale_y(self.y_test) if not self.is_classification else self.y_test.copy()

    def describe(self) -> dict:
        """JSON-able: how to load it again (``load``: :attr:`load_args`) and how it was
        standardised (``scaling``), with the :meth:`summary`; :func:`reload` reads it back.
        """
        scaling = {"x_mean": self.x_mean.tolist(), "x_std": self.x_std.tolist()}
        if not self.is_classification:
            scaling.update(y_mean=self.y_mean, y_std=self.y_std)
        return {"load": dict(self.load_args), "scaling": scaling, **self.summary()}

    def summary(self) -> dict:
        """Sizes, dimensions, likelihood and class counts or target mean / sd, for reports."""
        out = {
            "name": self.name,
            "source": self.source,
            "seed": self.seed,
            "likelihood": self.likelihood,
            "num_train": self.num_train,
            "num_test": self.num_test,
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "num_classes": self.num_classes,
            "target_name": self.target_name,
        }
        if self.is_classification:
            num_classes = self._require_classification("summary")
            labels = [str(c) for c in self.class_labels] if self.class_labels else None
            labels = labels or [str(k) for k in range(num_classes)]
            for split in ("train", "test"):
                counts = np.bincount(getattr(self, f"y_{split}"), minlength=num_classes)
                out[f"class_counts_{split}"] = {
                    lab: int(c) for lab, c in zip(labels, counts, strict=True)
                }
        else:
            out["target_mean_train"] = self.y_mean
            out["target_sd_train"] = self.y_std
            y_test = self.raw_y_test()
            out["target_mean_test"] = float(y_test.mean())
            out["target_sd_test"] = float(y_test.std())
        return out

    def _require_regression(self, what: str) -> tuple[float, float]:
        """(y_mean, y_std), or a ValueError naming ``what`` for a classification dataset."""
        if self.is_classification:
            raise ValueError(
                f"{what} applies to a regression dataset; {self.name!r} is {self.likelihood}"
            )
        if self.y_mean is None or self.y_std is None:  # __post_init__ rules this out
            raise ValueError(f"{what}: the regression dataset {self.name!r} has no y_mean / y_std")
        return self.y_mean, self.y_std

    def _require_classification(self, what: str) -> int:
        """num_classes, or a ValueError naming ``what`` for a regression dataset."""
        if self.num_classes is None:  # __post_init__ sets it for every classification dataset
            raise ValueError(
                f"{what} applies to a classification dataset; {self.name!r} is {self.likelihood}"
            )
        return self.num_classes


def _frozen(a, dtype) -> np.ndarray:
    a = np.array(a, dtype=dtype, copy=True, order="C")
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------------------------------
# loading


def synthetic_function(x):
    """The regression function of ``builtin:synthetic``: f(x) = sin(2x) + 0.3·x."""
    x = np.asarray(x, dtype=np.float64)
    return np.sin(2.0 * x) + 0.3 * x


def teacher_data(
    num: int,
    *,
    dim: int = TEACHER_SIZES["dim"],
    classes: int = TEACHER_SIZES["classes"],
    width: int = 32,
    scale: float = 4.0,
    seed: int = 0,
):
    """``num`` labelled inputs of a random teacher network, seeded: x ~ N(0, I_dim), the
    teacher's logits g(x) = scale · relu(x W₁/√dim + b₁) W₂/√width with W₁, b₁, W₂ standard
    normal (one teacher per seed, drawn before the inputs), and y ~ Categorical(softmax(g(x) −
    c)), c the mean of g over a calibration sample of 10 000 inputs (so that every class keeps a
    share: a raw random teacher can leave one nearly empty).
    Any ``num`` gives a prefix-consistent stream (the first rows do not depend on ``num``), so
    subsets of different sizes are nested. Returns X (num, dim) float64 and y (num,) int64.
    """
    rng = np.random.default_rng([seed, 1])
    W1, b1 = rng.standard_normal((dim, width)), rng.standard_normal(width)
    W2 = rng.standard_normal((width, classes))

    def logits(x):
        return scale * np.maximum(x @ W1 / np.sqrt(dim) + b1, 0) @ W2 / np.sqrt(width)

    # centred per class over a calibration sample, so that no class is (nearly) absent
    centre = logits(rng.standard_normal((10_000, dim))).mean(0)
    X = np.empty((num, dim))
    y = np.empty(num, dtype=np.int64)
    block = 10_000  # rows per step of the stream (bounded memory at any num)
    for start in range(0, num, block):
        stop = min(num, start + block)
        local = np.random.default_rng([seed, 2, start // block])
        x = local.standard_normal((block, dim))[: stop - start]
        gumbel = -np.log(-np.log(local.random((block, classes))[: stop - start]))
        X[start:stop], y[start:stop] = x, np.argmax(logits(x) - centre + gumbel, axis=1)
    return X, y


def sphere_sine_function(X):
    """The node-scaling paper's regression function (DESIGN §13): f(x) = (1/d) Σ_i 5 sin(π x_i)."""
    X = np.asarray(X, dtype=np.float64)
    return np.mean(5.0 * np.sin(np.pi * X), axis=-1)


def sphere_sine(
    seed: int = 0, num_train: int = 100, num_test: int = 100, dim: int = 50, noise_sd: float = 0.1
):
    """The synthetic problem of the node-scaling paper (DESIGN §13), seeded.

    Inputs uniform on the unit sphere S^{d−1} (standard normal vectors divided by their norm),
    targets y = :func:`sphere_sine_function` (x) + N(0, noise_sd²), independent draws for the
    training and the test inputs. Returns ``(X, y, X_test, y_test)`` as float64 arrays: the
    first two splits of :func:`sphere_sine_splits` with the same seed.
    """
    splits = sphere_sine_splits(
        seed, {"train": num_train, "test": num_test}, dim=dim, noise_sd=noise_sd
    )
    return (*splits["train"], *splits["test"])


#: the sizes of :func:`sphere_sine_splits` (the paper's 100 training and 100 test inputs)
SPHERE_SINE_SIZES = {"train": 100, "test": 100, "transfer_train": 100, "transfer_test": 100}


def sphere_sine_splits(
    seed: int = 0, sizes: dict | None = None, dim: int = 50, noise_sd: float = 0.1
) -> dict:
    """Independent splits of the :func:`sphere_sine` problem: ``{name: (X, y)}`` for the names
    and sizes of ``sizes`` (default :data:`SPHERE_SINE_SIZES`), drawn in that order from one
    seeded stream, so that the first splits do not depend on the later ones.
    """
    sizes = dict(SPHERE_SINE_SIZES if sizes is None else sizes)
    if not sizes:
        raise ValueError("sizes must name at least one split")
    for name, value in (*((f"sizes[{k!r}]", v) for k, v in sizes.items()), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(noise_sd, int | float) and noise_sd >= 0 and np.isfinite(noise_sd)):
        raise ValueError(f"noise_sd must be a finite number >= 0, got {noise_sd!r}")
    rng = np.random.default_rng([seed, 13])

    def draw(n):
        X = rng.standard_normal((n, dim))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        return X, sphere_sine_function(X) + noise_sd * rng.standard_normal(n)

    return {name: draw(int(n)) for name, n in sizes.items()}


#: the four splits of :func:`digits_splits` and their default fractions of the 1797 images
DIGITS_SPLITS = {"train": 0.4, "test": 0.2, "transfer_train": 0.2, "transfer_test": 0.2}


def digits_splits(seed: int = 0, fractions: dict | None = None) -> dict:
    """scikit-learn's digits (1797 8×8 images, the MNIST stand-in of DESIGN §13) as four
    disjoint splits of one fixed permutation: ``{"train", "test", "transfer_train",
    "transfer_test"}`` → ``(X, labels)`` with pixels / 16 ∈ [0, 1] (N, 64) and labels 0..9.

    Args:
        seed: seed of the permutation.
        fractions: share of the images per split (:data:`DIGITS_SPLITS` by default); they must
            be positive and sum to at most 1 (the rest is left out).
    """
    fractions = dict(DIGITS_SPLITS if fractions is None else fractions)
    unknown = sorted(set(fractions) - set(DIGITS_SPLITS))
    if unknown or not fractions:
        raise ValueError(
            f"digits splits are {', '.join(DIGITS_SPLITS)}; got {', '.join(unknown) or 'none'}"
        )
    shares = np.array([float(v) for v in fractions.values()])
    if np.any(shares <= 0) or shares.sum() > 1 + 1e-12:
        raise ValueError(
            f"digits split fractions must be > 0 and sum to at most 1, got {fractions}"
        )
    bunch = datasets.load_digits()
    X, labels = bunch.data / 16.0, bunch.target.astype(np.int64)
    order = np.random.default_rng([seed, 17]).permutation(len(labels))
    counts = np.floor(shares * len(labels)).astype(int)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return {
        name: (X[order[a:b]], labels[order[a:b]])
        for name, a, b in zip(fractions, bounds[:-1], bounds[1:], strict=True)
    }


def load_data(
    source: str,
    *,
    target: str | None = None,
    likelihood: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    max_train: int | None = None,
    split: str = "random",
    features=None,
    test_source: str | Path | None = None,
) -> Dataset:
    """Load a dataset, split it (seeded) and standardise it with training statistics.

    Args:
        source: ``builtin:NAME`` (NAME in :data:`BUILTINS`) or a path ending in ``.csv`` or
            ``.npz`` (see the module docstring for the formats).
        target: the target column of a CSV file (required there; not accepted for other sources).
        likelihood: ``gaussian``, ``student_t``, ``bernoulli`` or ``categorical``
            (:mod:`bnn_mogp.likelihoods`); default: the builtin's own, or inferred for CSV /
            NPZ (2 distinct integer values → bernoulli, else gaussian).
        test_fraction: fraction of examples in the test split, in (0, 1); the synthetic set uses
            its own test grid instead.
        seed: integer in [0, 2³²); the split, ``max_train`` subsample and synthetic draws.
        max_train: keep at most this many training examples (seeded; stratified for
            classification).
        split: ``"random"`` (seeded; stratified for classification) or ``"ordered"`` (the last
            ``test_fraction`` of the rows, in file order, are the test set: for time series,
            where a random split would test on the past).
        features: names of the input columns to use (default: every column but the target).
        test_source: a ``.csv`` / ``.npz`` test set (module docstring); ``test_fraction`` and
            ``split`` are then not used.

    Raises:
        DataError: bad arguments or bad data, with a one-line message.
    """
    if not isinstance(source, str | Path) or not str(source).strip():
        raise DataError(f"source must be builtin:NAME or a .csv / .npz path, got {source!r}")
    source = str(source)
    if likelihood is not None and likelihood not in LIKELIHOODS:
        raise DataError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise DataError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    test_fraction = float(test_fraction)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise DataError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    seed = int(seed)
    if max_train is not None and (
        isinstance(max_train, bool) or not isinstance(max_train, numbers.Integral) or max_train < 2
    ):
        raise DataError(f"max_train must be an integer >= 2 or None, got {max_train!r}")
    if target is not None and not isinstance(target, str):
        raise DataError(f"target must be a column name, got {target!r}")
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if features is not None:
        features = [features] if isinstance(features, str) else list(features)
        if not features or not all(isinstance(f, str) for f in features):
            raise DataError(f"features must be a non-empty list of column names, got {features!r}")

    test_split = None  # (X_test, y_test) for sources with their own test set
    locate: Callable[[int], str] = _index_locator
    class_names = None
    if source.startswith("builtin:"):
        key = source[len("builtin:") :]
        if key not in BUILTINS:
            raise DataError(
                f"unknown builtin dataset {source!r}; available: "
                + ", ".join(f"builtin:{b}" for b in BUILTINS)
            )
        if target is not None:
            raise DataError(f"{source}: target applies only to CSV files, got target={target!r}")
        name = key
        if key == "synthetic":
            X, y, X_te, y_te = _synthetic(seed)
            test_split = (X_te, y_te)
            feature_names, target_name, natural = ("x",), "y", "gaussian"
        elif key == "teacher":
            sizes = TEACHER_SIZES
            X, y = teacher_data(sizes["train"] + sizes["test"], seed=seed)
            X, y, X_te, y_te = (
                X[: sizes["train"]],
                y[: sizes["train"]],
                *(a[sizes["train"] :] for a in (X, y)),
            )
            test_split = (X_te, y_te)
            feature_names = tuple(f"x{i}" for i in range(sizes["dim"]))
            target_name, natural = "class", "categorical"
        else:
            X, y, feature_names, target_name, natural, class_names = _sklearn(key)
        likelihood = likelihood or natural
    else:
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".npz"):
            raise DataError(
                f"source must be builtin:NAME or a path ending in .csv or .npz, got {source!r}"
            )
        name = path.stem or "data"
        X, y, feature_names, target_name, locate = _read_file(path, target, likelihood, source)
    if test_source is not None:
        if test_split is not None:
            raise DataError(f"{source} has its own test set; test_source applies to other sources")
        test_split, locate = _read_test_file(
            test_source, target or target_name, likelihood, feature_names, locate, len(y)
        )

    if features is not None:
        missing = [f for f in features if f not in feature_names]
        if missing:
            raise DataError(
                f"{source}: no feature column(s) {_list(missing)} (features); the features are "
                f"{_list(feature_names)}"
            )
        columns = [list(feature_names).index(f) for f in features]
        X, feature_names = X[:, columns], list(features)
        if test_split is not None:
            test_split = (test_split[0][:, columns], test_split[1])
    where = f"{source}: target {target_name!r}"
    if test_split is not None:  # encoded together: the test labels get the training classes
        n_train = len(y)
        if likelihood is None:  # inferred from the training targets alone
            likelihood = _encode_target(y, None, where, locate)[0]
        joint = np.concatenate([np.asarray(y), np.asarray(test_split[1])])
        likelihood, codes, num_classes, class_labels = _encode_target(
            joint, likelihood, where, locate
        )
        y, y_te, X_te = codes[:n_train], codes[n_train:], test_split[0]
        new = np.setdiff1d(y_te, y) if num_classes is not None else []
        if len(new):
            raise DataError(
                f"{test_source}: target {target_name!r} has class(es) "
                f"{_list([str(class_labels[int(k)]) for k in new])} that the training set lacks"
            )
        X_tr, y_tr = X, y
    else:
        likelihood, y, num_classes, class_labels = _encode_target(y, likelihood, where, locate)
        if split == "ordered":
            n_test = _num_test(test_fraction, len(y), source)
            tr, te = np.arange(len(y) - n_test), np.arange(len(y) - n_test, len(y))
        else:
            tr, te = _split(
                y, not is_regression(likelihood), test_fraction, seed, source, locate, class_labels
            )
        X_tr, y_tr, X_te, y_te = X[tr], y[tr], X[te], y[te]
    if class_names is not None and class_labels is not None:
        class_labels = tuple(class_names[int(v)] for v in class_labels)

    if max_train is not None and max_train < len(y_tr):
        keep = _subsample(y_tr, not is_regression(likelihood), max_train, seed, source)
        X_tr, y_tr = X_tr[keep], y_tr[keep]

    x_mean = X_tr.mean(axis=0)
    x_std = X_tr.std(axis=0)
    x_std[np.ptp(X_tr, axis=0) == 0] = 1.0
    y_mean = y_std = None
    if is_regression(likelihood):
        y_mean, y_std = float(y_tr.mean()), float(y_tr.std())
        if np.ptp(y_tr) == 0:
            raise DataError(f"{where} is constant on the training split ({y_mean:g})")
        y_tr, y_te = (y_tr - y_mean) / y_std, (y_te - y_mean) / y_std
    return Dataset(
        name=name,
        X_train=(X_tr - x_mean) / x_std,
        y_train=y_tr,
        X_test=(X_te - x_mean) / x_std,
        y_test=y_te,
        likelihood=likelihood,
        num_classes=num_classes,
        feature_names=tuple(feature_names),
        target_name=target_name,
        x_mean=x_mean,
        x_std=x_std,
        y_mean=y_mean,
        y_std=y_std,
        class_labels=class_labels,
        source=source,
        seed=seed,
        load_args=dict(
            source=source,
            target=target,
            likelihood=likelihood,
            test_fraction=test_fraction,
            seed=seed,
            max_train=max_train,
            split=split,
            features=None if features is None else list(features),
            **({} if test_source is None else {"test_source": str(test_source)}),
        ),
    )


def reload(description: dict) -> Dataset:
    """The data set of :meth:`Dataset.describe`, loaded again from its source and checked
    against the recorded sizes and standardisation.

    Raises:
        DataError: the source can no longer be loaded, or it gives other data than recorded.
    """
    try:
        dataset = load_data(**description["load"])
    except KeyError:
        raise DataError("the data description has no 'load' arguments") from None
    recorded = (description["num_train"], description["num_test"])
    if (dataset.num_train, dataset.num_test) != recorded:
        raise DataError(
            f"{dataset.source} changed since it was recorded: {dataset.num_train}/"
            f"{dataset.num_test} train/test examples now, {recorded[0]}/{recorded[1]} then"
        )
    scaling = description.get("scaling", {})
    if "x_mean" in scaling and not np.allclose(dataset.x_mean, scaling["x_mean"], rtol=1e-12):
        raise DataError(f"{dataset.source} changed since it was recorded: other input means")
    return dataset


# --------------------------------------------------------------------------------------------------
# sources


def _synthetic(seed: int):
    rng = np.random.default_rng([seed, 0])
    lo, hi = SYNTHETIC_TRAIN_RANGE
    g_lo, g_hi = SYNTHETIC_GAP
    n = SYNTHETIC_NUM_TRAIN
    left = rng.random(n) < (g_lo - lo) / ((g_lo - lo) + (hi - g_hi))
    u = rng.random(n)
    x = np.where(left, lo + u * (g_lo - lo), g_hi + u * (hi - g_hi))
    y = synthetic_function(x) + SYNTHETIC_NOISE_SD * rng.standard_normal(n)
    x_te = np.linspace(*SYNTHETIC_TEST_RANGE, SYNTHETIC_NUM_TEST)
    y_te = synthetic_function(x_te) + SYNTHETIC_NOISE_SD * rng.standard_normal(x_te.shape[0])
    return x[:, None], y, x_te[:, None], y_te


def _sklearn(key: str):

    if key == "diabetes":
        b = datasets.load_diabetes(scaled=False)
        return b.data, b.target, list(b.feature_names), "disease_progression", "gaussian", None
    loader = {
        "breast_cancer": (datasets.load_breast_cancer, "bernoulli"),
        "digits": (datasets.load_digits, "categorical"),
        "wine": (datasets.load_wine, "categorical"),
    }[key]
    b = loader[0]()
    names = [str(n) for n in b.target_names]
    return b.data, b.target, [str(f) for f in b.feature_names], "class", loader[1], names


def _read_file(path: Path, target, likelihood, source: str, min_rows: int = 2):
    """(X, y, feature_names, target_name, locate) of a CSV or NPZ file of ≥ ``min_rows`` rows."""
    if path.suffix.lower() == ".csv":
        return _read_csv(path, target, likelihood, min_rows)
    if target is not None:
        raise DataError(f"{source}: target applies only to CSV files (NPZ uses key 'y')")
    X, y, feature_names, target_name = _read_npz(path, likelihood, min_rows)
    return X, y, feature_names, target_name, _index_locator


def _read_test_file(test_source, target, likelihood, feature_names, locate, num_train: int):
    """((X_test, y_test), locate) of an explicit test file: its columns ``feature_names`` in
    that order, its target ``target`` (CSV; NPZ: ``y``), and a locator of rows of the training
    source followed by the test file's.
    """
    path = Path(test_source)
    if path.suffix.lower() not in (".csv", ".npz"):
        raise DataError(f"test_source must be a path ending in .csv or .npz, got {test_source!r}")
    csv_target = target if path.suffix.lower() == ".csv" else None
    X, y, names, _, test_locate = _read_file(path, csv_target, likelihood, str(test_source), 1)
    missing = [f for f in feature_names if f not in names]
    if missing:
        raise DataError(
            f"{test_source}: missing feature column(s) {_list(missing)} of the training data; "
            f"its columns are {_list(names)}"
        )
    X = X[:, [list(names).index(f) for f in feature_names]]

    def joint(i: int) -> str:
        return locate(i) if i < num_train else f"{test_locate(i - num_train)} of {test_source}"

    return (X, y), joint


def _read_csv(path: Path, target: str | None, likelihood: str | None, min_rows: int = 2):
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header, rows, lines = None, [], []
            for row in reader:
                if not row or all(not s.strip() for s in row):
                    continue
                if header is None:
                    header = [s.strip() for s in row]
                    header_line = reader.line_num
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}: line {reader.line_num} has {len(row)} fields, "
                        f"the header (line {header_line}) has {len(header)}"
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(read_error(path, e, "a CSV file")) from None
    except csv.Error as e:
        raise DataError(f"{path}: invalid CSV: {_one_line(str(e))}") from None
    if header is None:
        raise DataError(f"{path}: the file is empty (expected a header line with column names)")
    for j, col in enumerate(header):
        if not col:
            raise DataError(f"{path}: column {j + 1} of the header has no name")
        if col in header[:j]:
            raise DataError(f"{path}: column name {col!r} appears twice in the header")
    if len(header) < 2:
        raise DataError(
            f"{path}: only one column ({header[0]!r}); need a target and at least one feature"
        )
    if target is None:
        raise DataError(
            f"{path}: no target column given (--target COLUMN); columns: {_list(header)}"
        )
    if target not in header:
        raise DataError(f"{path}: no column {target!r} (--target); columns: {_list(header)}")
    if len(rows) < min_rows:
        raise DataError(f"{path}: {len(rows)} data row(s); need at least {min_rows}")

    def locate(i: int) -> str:
        return f"line {lines[i]}"

    t = header.index(target)
    feature_names = [c for j, c in enumerate(header) if j != t]
    columns = list(zip(*rows, strict=True))
    X = np.empty((len(rows), len(feature_names)))
    k = 0
    for j, col in enumerate(header):
        if j != t:
            X[:, k] = _numeric_column(columns[j], f"{path}: column {col!r}", locate)
            k += 1
    texts = [s.strip() for s in columns[t]]
    if likelihood in ("bernoulli", "categorical") and not _all_numeric(texts):
        for i, s in enumerate(texts):
            if not s:
                raise DataError(f"{path}: column {target!r}: empty entry at {locate(i)}")
        y = np.asarray(texts)
    else:
        hint = " (text class labels need likelihood 'categorical' or 'bernoulli')"
        y = _numeric_column(columns[t], f"{path}: column {target!r}", locate, hint)
    return X, y, feature_names, target, locate


def _all_numeric(texts) -> bool:
    try:
        np.asarray(texts, dtype=str).astype(np.float64)
    except ValueError:
        return False
    return True


def _numeric_column(entries, where: str, locate, hint: str = "") -> np.ndarray:
    texts = [s.strip() for s in entries]
    try:
        values = np.asarray(texts, dtype=str).astype(np.float64)
    except ValueError:
        for i, s in enumerate(texts):
            if not s:
                raise DataError(f"{where}: empty entry at {locate(i)}{hint}") from None
            try:
                np.asarray(s).astype(np.float64)
            except ValueError:
                raise DataError(
                    f"{where}: non-numeric value {_show(s)} at {locate(i)}{hint}"
                ) from None
        raise  # pragma: no cover - the per-entry check found nothing
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{where}: non-finite value {_show(texts[i])} at {locate(i)}")
    return values


def _read_npz(path: Path, likelihood: str | None, min_rows: int = 2):
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            missing = [k for k in ("X", "y") if k not in keys]
            if missing:
                raise DataError(
                    f"{path}: missing key(s) {', '.join(map(repr, missing))}; "
                    f"keys present: {_list(keys) if keys else 'none'}"
                )
            X, y = z["X"], z["y"]
            feature_names = z["feature_names"] if "feature_names" in keys else None
            target_name = z["target_name"] if "target_name" in keys else None
    except (zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a valid NPZ file: {_one_line(str(e))}") from None
    except ValueError as e:  # object arrays (pickles) or a file that is not an archive
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: cannot read NPZ: {_one_line(str(e))}") from None
    except OSError as e:
        raise DataError(read_error(path, e, "an NPZ file")) from None
    if X.ndim != 2:
        raise DataError(
            f"{path}: 'X' must be a 2-D array (examples × features), got shape {X.shape}"
        )
    if X.shape[1] < 1:
        raise DataError(f"{path}: 'X' has no features (shape {X.shape})")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: 'y' must be a 1-D array (or N × 1), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise DataError(f"{path}: 'X' has {X.shape[0]} rows but 'y' has {y.shape[0]} entries")
    if X.shape[0] < min_rows:
        raise DataError(f"{path}: {X.shape[0]} example(s); need at least {min_rows}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"{path}: 'X' must hold numbers, got dtype {X.dtype}")
    if np.iscomplexobj(X):
        raise DataError(f"{path}: 'X' must hold real numbers, got dtype {X.dtype}")
    X = X.astype(np.float64)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise DataError(f"{path}: 'X' has a non-finite value ({X[i, j]}) at index [{i}, {j}]")
    if np.issubdtype(y.dtype, np.number) or y.dtype == bool:
        if np.iscomplexobj(y):
            raise DataError(f"{path}: 'y' must hold real numbers, got dtype {y.dtype}")
        y = y.astype(np.float64)
        bad_y = np.flatnonzero(~np.isfinite(y))
        if bad_y.size:
            i = int(bad_y[0])
            raise DataError(f"{path}: 'y' has a non-finite value ({y[i]}) at index {i}")
    elif y.dtype.kind == "U" and likelihood in ("bernoulli", "categorical"):
        pass  # text class labels
    else:
        raise DataError(
            f"{path}: 'y' must hold numbers, got dtype {y.dtype} "
            "(text class labels need likelihood 'categorical' or 'bernoulli')"
        )
    d = X.shape[1]
    if feature_names is None:
        names = [f"x{j + 1}" for j in range(d)]
    else:
        names = [str(n) for n in np.ravel(feature_names)]
        if len(names) != d:
            raise DataError(
                f"{path}: 'feature_names' has {len(names)} entries but 'X' has {d} columns"
            )
    target_name = str(np.ravel(target_name)[0]) if target_name is not None else "y"
    return X, y, names, target_name


def read_features(path, feature_names) -> np.ndarray:
    """The inputs of new data for predictions (raw, not standardised): from a CSV, the columns
    named ``feature_names`` (in that order; other columns are ignored), or from an NPZ, its
    ``X`` (with exactly len(feature_names) columns). Errors name the file, column and line.
    """
    path = Path(path)
    names = list(feature_names)
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                if "X" not in z.files:
                    raise DataError(f"{path}: no key 'X'; keys present: {_list(z.files)}")
                X = np.asarray(z["X"])
        except (zipfile.BadZipFile, EOFError, ValueError) as e:
            if isinstance(e, DataError):
                raise
            raise DataError(f"{path}: cannot read NPZ: {_one_line(str(e))}") from None
        except OSError as e:
            raise DataError(read_error(path, e, "an NPZ file")) from None
        if X.ndim != 2 or X.shape[1] != len(names) or not np.issubdtype(X.dtype, np.number):
            raise DataError(
                f"{path}: 'X' must be a numeric array (rows × {len(names)} features: "
                f"{_list(names)}), got {X.dtype} of shape {X.shape}"
            )
        X = X.astype(np.float64)
        bad = np.argwhere(~np.isfinite(X))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            raise DataError(f"{path}: 'X' has a non-finite value at index [{i}, {j}]")
        return X
    if path.suffix.lower() != ".csv":
        raise DataError(f"{path}: new data must be a .csv or .npz file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            table = [row for row in csv.reader(fh) if row and any(s.strip() for s in row)]
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(read_error(path, e, "a CSV file")) from None
    except csv.Error as e:
        raise DataError(f"{path}: invalid CSV: {_one_line(str(e))}") from None
    if len(table) < 2:
        raise DataError(f"{path}: need a header line and at least one data row")
    header = [s.strip() for s in table[0]]
    missing = [n for n in names if n not in header]
    if missing:
        raise DataError(
            f"{path}: missing feature column(s) {_list(missing)} (the run was fitted on "
            f"{_list(names)}); columns present: {_list(header)}"
        )
    rows = table[1:]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise DataError(
                f"{path}: data row {i + 1} has {len(row)} fields, the header {len(header)}"
            )

    def locate(i: int) -> str:
        return f"data row {i + 1}"

    columns = list(zip(*rows, strict=True))
    return np.column_stack(
        [_numeric_column(columns[header.index(n)], f"{path}: column {n!r}", locate) for n in names]
    )


# --------------------------------------------------------------------------------------------------
# target, split


def _index_locator(i: int) -> str:
    return f"index {i}"


def _encode_target(y, likelihood: str | None, where: str, locate):
    """Return (likelihood, y, num_classes, class_labels) after checking y fits the likelihood."""
    y = np.asarray(y)
    text = y.dtype.kind in "USO"
    if not text:
        y = y.astype(np.float64)
    integral = (not text) and bool(np.all(y == np.round(y)))
    uniq = np.unique(y)
    if likelihood is None:
        likelihood = "bernoulli" if integral and uniq.size == 2 else "gaussian"
    if is_regression(likelihood):
        if text:
            raise DataError(f"{where}: {likelihood} likelihood needs real numbers, got text labels")
        return likelihood, y, None, None
    if uniq.size < 2:
        raise DataError(
            f"{where}: {likelihood} likelihood needs at least 2 classes, "
            f"but every example has the value {_show(uniq[0])}"
        )
    if likelihood == "bernoulli" and uniq.size != 2:
        raise DataError(
            f"{where}: bernoulli likelihood needs exactly 2 distinct values, "
            f"found {uniq.size} ({_values(uniq)})"
        )
    if likelihood == "categorical" and not text and not integral:
        i = int(np.flatnonzero(y != np.round(y))[0])
        raise DataError(
            f"{where}: categorical likelihood needs integer class labels, "
            f"found {y[i]:g} at {locate(i)}"
        )
    codes = np.searchsorted(uniq, y).astype(np.int64)
    labels = tuple(str(v) if text else (int(v) if integral else float(v)) for v in uniq)
    return likelihood, codes, int(uniq.size), labels


def _num_test(test_fraction: float, n: int, source: str) -> int:
    n_test = math.ceil(test_fraction * n - 1e-9)  # 0.2 · 15 = 3.0000000000000004 → 3
    if n_test < 1 or n - n_test < 2:
        raise DataError(
            f"{source}: test_fraction {test_fraction:g} of {n} examples leaves {n - n_test} "
            f"for training and {n_test} for testing; need at least 2 and 1"
        )
    return n_test


def _split(y, stratify: bool, test_fraction: float, seed: int, source: str, locate, labels):
    n = y.shape[0]
    n_test = _num_test(test_fraction, n, source)
    if not stratify:
        perm = np.random.default_rng([seed, 1]).permutation(n)
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])
    counts = np.bincount(y)
    k = int(np.argmin(counts))
    if counts[k] < 2:
        i = int(np.flatnonzero(y == k)[0])
        raise DataError(
            f"{source}: class {_show(labels[k])} has only 1 example ({locate(i)}); "
            "a stratified split needs at least 2 per class"
        )

    try:
        tr, te = train_test_split(
            np.arange(n), test_size=n_test, random_state=seed, shuffle=True, stratify=y
        )
    except ValueError as e:
        raise DataError(f"{source}: cannot split the data: {_one_line(str(e))}") from None
    return np.sort(tr), np.sort(te)


def _subsample(y, stratify: bool, max_train: int, seed: int, source: str) -> np.ndarray:
    n = y.shape[0]
    if not stratify:
        return np.sort(np.random.default_rng([seed, 2]).choice(n, size=max_train, replace=False))

    try:
        keep, _ = train_test_split(
            np.arange(n), train_size=max_train, random_state=seed, shuffle=True, stratify=y
        )
    except ValueError as e:
        raise DataError(
            f"{source}: cannot subsample {max_train} training examples: {_one_line(str(e))}"
        ) from None
    return np.sort(keep)


# --------------------------------------------------------------------------------------------------
# message helpers


def _one_line(message: str) -> str:
    return re.sub(r"\s+", " ", str(message)).strip()


def _show(value) -> str:
    s = str(value)
    if len(s) > 40:
        s = s[:37] + "..."
    return repr(s) if isinstance(value, str | np.str_) else s


def _list(names) -> str:
    names = list(names)
    shown = ", ".join(names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f", ... ({len(names)} in all)"
    return shown


def _values(uniq) -> str:
    vals = [(f"{v:g}" if isinstance(v, float | np.floating) else str(v)) for v in uniq[:8]]
    return ", ".join(vals) + (", ..." if len(uniq) > 8 else "")

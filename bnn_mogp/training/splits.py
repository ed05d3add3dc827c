r"""The four disjoint splits of a node-scaling experiment (DESIGN §13): ``train`` and ``test``
for the trained network, ``transfer_train`` and ``transfer_test`` for the read-outs of its
features (:mod:`~bnn_mogp.training.transfer`).

Sources of :func:`load_training_data`:

``builtin:sphere_sine``
    The paper's synthetic problem (:func:`bnn_mogp.data.sphere_sine_splits`): inputs uniform on
    the sphere S^{d−1}, raw targets (not standardised, so risks compare with the paper's),
    independent draws per split with ``sizes`` (default 100 each), ``dim`` and ``noise_sd``.
``builtin:digits``
    scikit-learn's digits as the MNIST stand-in (:func:`bnn_mogp.data.digits_splits`): pixels
    / 16, one fixed permutation cut by ``fractions`` (default .4 / .2 / .2 / .2).
any other ``builtin:NAME``, ``PATH.csv``, ``PATH.npz``
    :func:`bnn_mogp.data.load_data` with ``test_fraction = 1 − fractions["train"]`` (its
    parsing, likelihood inference and stratified split; inputs and regression targets
    standardised with training statistics), then the held-out rows cut by one seeded
    permutation into ``test``, ``transfer_train`` and ``transfer_test`` in the proportions of
    ``fractions``.

Targets are returned as the loss needs them (:meth:`TrainingData.targets`): reals (N,) for
regression under ``"mse"``; for classification, one-hot rows (N, K) under ``"mse"`` (the
reference's MNIST runs) and labels (N,) under ``"cross_entropy"``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bnn_mogp.data import (
    DIGITS_SPLITS,
    SPHERE_SINE_SIZES,
    DataError,
    digits_splits,
    load_data,
    sphere_sine_splits,
)
from bnn_mogp.likelihoods import is_regression

__all__ = ["TrainingData", "load_training_data", "SPLIT_NAMES", "TRAINING_BUILTINS"]

#: the four splits, in order
SPLIT_NAMES = ("train", "test", "transfer_train", "transfer_test")
#: the builtins with a layout of their own (others go through :func:`bnn_mogp.data.load_data`)
TRAINING_BUILTINS = ("sphere_sine", "digits")


@dataclasses.dataclass(frozen=True, eq=False)
class TrainingData:
    """Four splits ``{name: (X, y)}`` (:data:`SPLIT_NAMES`), y reals or labels 0..K−1.

    Attributes:
        name: short name of the source.
        source: the ``source`` argument.
        splits: the arrays, float64 inputs (N, d).
        likelihood: ``"gaussian"`` for regression, else ``"bernoulli"`` / ``"categorical"``.
        num_classes: K for classification, None for regression.
        scaling: how the inputs and targets were scaled (one line).
    """

    name: str
    source: str
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    likelihood: str
    num_classes: int | None
    scaling: str

    @property
    def classification(self) -> bool:
        """Whether the targets are class labels."""
        return self.num_classes is not None

    @property
    def in_dim(self) -> int:
        """Input dimension d."""
        return int(self.splits["train"][0].shape[1])

    def out_dim(self, loss: str) -> int:
        """Number of network outputs for ``loss``: K for classification, 1 for regression."""
        self._check_loss(loss)
        return self.num_classes if self.num_classes is not None else 1

    def targets(self, split: str, loss: str) -> np.ndarray:
        """The targets of ``split`` as ``loss`` needs them (module docstring)."""
        self._check_loss(loss)
        y = self.splits[split][1]
        if self.num_classes is None or loss == "cross_entropy":
            return y
        return np.eye(self.num_classes)[y]

    def describe(self) -> dict:
        """Sizes and scaling, for metrics files."""
        return {
            "source": self.source,
            "likelihood": self.likelihood,
            "num_classes": self.num_classes,
            "in_dim": self.in_dim,
            "sizes": {k: int(v[0].shape[0]) for k, v in self.splits.items()},
            "scaling": self.scaling,
        }

    def _check_loss(self, loss: str) -> None:
        if loss == "cross_entropy" and self.num_classes is None:
            raise ValueError(
                f"loss 'cross_entropy' needs class labels; {self.source} is a regression data "
                "set: use loss 'mse'"
            )


def load_training_data(
    source: str,
    *,
    seed: int = 0,
    fractions: dict | None = None,
    sizes: dict | None = None,
    dim: int = 50,
    noise_sd: float = 0.1,
    target: str | None = None,
    features=None,
    likelihood: str | None = None,
) -> TrainingData:
    """The four splits of ``source`` (module docstring).

    Args:
        source: ``builtin:sphere_sine``, ``builtin:digits``, another ``builtin:NAME`` of
            :data:`bnn_mogp.data.BUILTINS`, or a ``.csv`` / ``.npz`` path.
        seed: seed of the draws (sphere_sine) or of the permutation.
        fractions: share of the rows per split (not for sphere_sine), positive, summing to at
            most 1 (the rest is left out); default ``DIGITS_SPLITS`` (.4 / .2 / .2 / .2).
        sizes: rows per split, sphere_sine only (default 100 each).
        dim, noise_sd: input dimension and noise sd, sphere_sine only.
        target, features, likelihood: as in :func:`bnn_mogp.data.load_data` (not for the two
            builtins with their own layout).

    Raises:
        DataError: a bad source, bad arguments for it, or bad data, with a one-line message.
    """
    source = str(source)
    key = source[len("builtin:") :] if source.startswith("builtin:") else None
    sphere = key == "sphere_sine"
    own_layout = key in TRAINING_BUILTINS
    if not sphere and (sizes is not None or dim != 50 or noise_sd != 0.1):
        raise DataError(f"{source}: sizes, dim and noise_sd apply to builtin:sphere_sine only")
    if sphere and fractions is not None:
        raise DataError(f"{source}: fractions do not apply to builtin:sphere_sine (use sizes)")
    if own_layout and (target is not None or features is not None or likelihood is not None):
        raise DataError(f"{source}: target, features and likelihood apply to other sources")
    given = sizes if sphere else fractions
    if given is not None:
        _check_names(source, given)
    try:
        if sphere:
            sizes = {**SPHERE_SINE_SIZES, **(sizes or {})}
            splits = sphere_sine_splits(seed, sizes, dim=dim, noise_sd=noise_sd)
            return TrainingData(
                "sphere_sine", source, splits, "gaussian", None,
                f"inputs on the unit sphere S^{dim - 1}, raw targets (noise sd {noise_sd:g})",
            )  # fmt: skip
        fractions = {**DIGITS_SPLITS, **(fractions or {})}
        if key == "digits":
            splits = digits_splits(seed, fractions)
            return TrainingData(
                "digits", source, splits, "categorical", 10, "pixels / 16 in [0, 1]"
            )
    except ValueError as e:
        raise DataError(f"{source}: {e}") from None
    shares = np.array([float(fractions[k]) for k in SPLIT_NAMES])
    if np.any(shares <= 0) or shares.sum() > 1 + 1e-12:
        raise DataError(f"{source}: fractions must be > 0 and sum to at most 1, got {fractions}")
    dataset = load_data(
        source,
        target=target,
        features=features,
        likelihood=likelihood,
        test_fraction=1.0 - shares[0],
        seed=seed,
    )
    X_rest, y_rest = dataset.X_test, dataset.y_test
    n_all = dataset.num_train + len(y_rest)
    counts = np.floor(shares[1:] * n_all + 1e-9).astype(int)
    if np.any(counts < 1) or counts.sum() > len(y_rest):
        raise DataError(
            f"{source}: {n_all} rows are too few for the fractions {fractions}: each split "
            "needs at least one row"
        )
    order = np.random.default_rng([seed, 19]).permutation(len(y_rest))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    splits = {"train": (dataset.X_train, dataset.y_train)}
    for name, a, b in zip(SPLIT_NAMES[1:], bounds[:-1], bounds[1:], strict=True):
        rows = np.sort(order[a:b])
        splits[name] = (X_rest[rows], y_rest[rows])
    regression = is_regression(dataset.likelihood)
    scaled = "inputs and targets" if regression else "inputs"
    return TrainingData(
        dataset.name,
        source,
        splits,
        dataset.likelihood,
        dataset.num_classes,
        f"{scaled} standardised with the training split's mean and sd",
    )


def _check_names(source: str, given: dict) -> None:
    if not isinstance(given, dict):
        raise DataError(f"{source}: give split sizes / fractions as a table, got {given!r}")
    unknown = sorted(set(given) - set(SPLIT_NAMES))
    if unknown:
        raise DataError(
            f"{source}: unknown split(s) {', '.join(unknown)}; the splits are "
            f"{', '.join(SPLIT_NAMES)}"
        )

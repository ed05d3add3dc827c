"""Gradient-trained wide networks with node scalings (DESIGN §13).

- :mod:`~bnn_mogp.training.scalings`: the frozen node scalings λ (uniform, Zipf, drawn from a
  node prior), normalised to sum to 1;
- :mod:`~bnn_mogp.training.network`: the node-scaled network (the package's one layer loop), its
  empirical NTK and the infinite-width NTK;
- :mod:`~bnn_mogp.training.trainer`: gradient descent / SGD / Adam (optax) in jitted chunks, the
  logged history (risks, accuracy, feature movement, NTK change and smallest eigenvalue) and
  checkpoints;
- :mod:`~bnn_mogp.training.pruning`: accuracy and loss with the smallest-λ nodes removed;
- :mod:`~bnn_mogp.training.transfer`: the top-D features read out on a new split (a linear or
  logistic probe and the reference's MLP);
- :mod:`~bnn_mogp.training.splits`: the four splits of an experiment (train, test and the
  transfer pair) from the synthetic problem, digits or any data source;
- :mod:`~bnn_mogp.training.plots`: figures of several settings side by side;
- :mod:`~bnn_mogp.training.parameterisations`: abc-parameterisations of deep MLPs (standard,
  NTK, integrable / mean-field, μP, the large-initial-learning-rate IP) and their derived width
  exponents (DESIGN §14);
- :mod:`~bnn_mogp.training.deep`: the deep MLP under a parameterisation (the layer loop, node
  scalings composed), its per-layer learning rates and SGD step;
- :mod:`~bnn_mogp.training.deep_trainer`: SGD of a deep network with its logged history;
- :mod:`~bnn_mogp.training.depth`: training loss after T steps against width and depth;
- :mod:`~bnn_mogp.training.exponents`: measured width exponents against the derived ones;
- :mod:`~bnn_mogp.training.symmetries`: wide two-layer ReLU training on odd and
  low-dimensional targets (linear predictors, neurons aligning with the target subspace).
"""

from bnn_mogp.training.deep import DeepNet, DeepParams, deep_preactivations, init_deep
from bnn_mogp.training.deep_trainer import DeepTrainConfig, DeepTrainResult, train_deep
from bnn_mogp.training.depth import depth_width_losses, plot_depth_width
from bnn_mogp.training.exponents import WidthExponents, measure_exponents
from bnn_mogp.training.network import (
    NodeScaledNet,
    NodeScaledParams,
    empirical_ntk,
    init_params,
    limit_ntk,
    predict,
    to_params,
)
from bnn_mogp.training.parameterisations import (
    PARAMETERISATIONS,
    Parameterisation,
    derived_exponents,
    make_parameterisation,
)
from bnn_mogp.training.plots import plot_history, plot_pruning, plot_scalings, plot_transfer
from bnn_mogp.training.pruning import PRUNE_FRACTIONS, prune_curve
from bnn_mogp.training.scalings import (
    SCALINGS,
    NodeScaling,
    PriorScaling,
    Uniform,
    Zipf,
    make_scaling,
)
from bnn_mogp.training.splits import SPLIT_NAMES, TrainingData, load_training_data
from bnn_mogp.training.symmetries import (
    SymmetryRun,
    alignment,
    cubic_target,
    norm_target,
    sphere_init,
    train_online,
    two_layer_net,
)
from bnn_mogp.training.trainer import HISTORY, TrainConfig, TrainResult, TrainState, train
from bnn_mogp.training.transfer import (
    READOUT_SETTINGS,
    TRANSFER_DIMS,
    node_features,
    transfer_curve,
)

__all__ = [
    "NodeScaledNet",
    "NodeScaledParams",
    "init_params",
    "to_params",
    "predict",
    "empirical_ntk",
    "limit_ntk",
    "NodeScaling",
    "Uniform",
    "Zipf",
    "PriorScaling",
    "make_scaling",
    "SCALINGS",
    "TrainConfig",
    "TrainState",
    "TrainResult",
    "train",
    "HISTORY",
    "prune_curve",
    "PRUNE_FRACTIONS",
    "transfer_curve",
    "node_features",
    "TRANSFER_DIMS",
    "READOUT_SETTINGS",
    "TrainingData",
    "load_training_data",
    "SPLIT_NAMES",
    "plot_history",
    "plot_pruning",
    "plot_transfer",
    "plot_scalings",
    "Parameterisation",
    "PARAMETERISATIONS",
    "make_parameterisation",
    "derived_exponents",
    "DeepNet",
    "DeepParams",
    "init_deep",
    "deep_preactivations",
    "DeepTrainConfig",
    "DeepTrainResult",
    "train_deep",
    "WidthExponents",
    "measure_exponents",
    "two_layer_net",
    "sphere_init",
    "cubic_target",
    "norm_target",
    "alignment",
    "train_online",
    "SymmetryRun",
    "depth_width_losses",
    "plot_depth_width",
]

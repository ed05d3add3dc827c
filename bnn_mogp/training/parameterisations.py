r"""abc-parameterisations of deep MLPs: standard, NTK, integrable (mean-field), μP (DESIGN §14).

An MLP with L hidden layers of width m has L + 1 weight matrices: the input layer l = 1 (d → m,
d fixed), the hidden layers l = 2..L (m → m) and the output layer l = L + 1 (m → K). Its
abc-parameterisation (Yang & Hu 2021) writes every effective weight as a width power times a
trained parameter and scales every learning rate by another:

.. math:: W^l = m^{-a_l}\, w^l, \qquad w^l_{ij}(0) \sim N(0,\ \sigma_l^2\, m^{-2 b_l}),
          \qquad \eta_l = \eta\, m^{-c_l},

with σ_1 = σ/√d (the input layer averages over its fixed fan-in), σ_l = σ for the hidden layers
and σ_{L+1} = 1 (σ = √2 for ReLU by default). SGD on w^l moves the effective weight by
−η m^{−(2a_l + c_l)} ∂ℓ/∂W^l, so (a_l + θ, b_l − θ, c_l − 2θ) is the same network trained the
same way: only a_l + b_l and 2a_l + c_l matter. Exponents are given per group — (input, hidden,
output) — or per layer (L + 1 values).

============  ================  ================  ===============================
preset        a (in, hid, out)  b (in, hid, out)  c (in, hid, out)
============  ================  ================  ===============================
``sp``        0, 0, 0           0, ½, ½           0, 0, 0
``ntk``       0, ½, ½           0, 0, 0           0, 0, 0
``mup``       −½, 0, ½          ½, ½, ½           0, 0, 0
``ip``        0, 1, 1           0, 0, 0           −1, −2, −1
``ip_llr``    0, 1, 1           0, 0, 0           −1, −2, −1; first step
                                                  −(L+1)/2, −(L+2)/2, −(L+1)/2
============  ================  ================  ===============================

``ip`` is the integrable (mean-field) parameterisation: every layer after the first averages
over its fan-in (1/m), learning rates m, m², m. It is μP with the hidden layers' initial
weights m^{−1/2} times smaller (shift μP's input, hidden and output exponents by θ = ½, 1, ½):
same learning rates on the effective weights. ``ip_llr`` (Hajjar, Chizat & Giraud 2024) takes
its first step with large learning rates — the per-entry gradients of IP at initialisation
are m^{−(L+1)/2} (input, output) and m^{−(L+2)/2} (hidden), and these rates make every update
Θ(1): it is μP's first step — then continues as ``ip``.

**Width exponents at initialisation** (ReLU, or any φ with φ(0) = 0, iid zero-mean weights,
sums of m independent zero-mean terms of size s being √m·s). Writing e_l for the exponent of
the pre-activations h^l (e_{L+1}: the output f) and δ_l for that of ∂f/∂h^l:

.. math:: e_1 = -(a_1 + b_1), \quad e_l = \tfrac12 - a_l - b_l + e_{l-1};
          \qquad \delta_{L+1} = 0,\ \delta_L = -(a_{L+1} + b_{L+1}),\
          \delta_{l-1} = \tfrac12 - a_l - b_l + \delta_l,

(the output layer's sum runs over K fixed outputs, hence no ½ in δ_L). The gradient of w^l has
entries m^{−a_l}·∂f/∂h^l·x^{l−1}, so its Frobenius norm has the exponent
g_l = −a_l + δ_l + e_{l−1} + ½·(number of width-sized axes of w^l), e_0 = 0: ½ for the input
and output layers, 1 for a hidden one (the loss derivative ∂ℓ/∂f is Θ(1)). SP, NTK, μP keep
every h^l at Θ(1); IP has e_l = −(l − 1)/2 and f ~ m^{−L/2}, and every layer's gradient norm
at m^{−L/2}: with more than two hidden layers training starts at a stationary point of the
infinite-width dynamics (the paper's abstract: "more than four layers", counting the input and
output layers of units).

**First update** (one SGD step on one batch, the change Δh^l at the same inputs), to leading
order while updates stay below the initial values: the layer's own update
ΔW^l x^{l−1} = −η m^{−c_l − 2a_l} χ δ^l |x^{l−1}|², and the change of the layer below carried
through W^l along δ (coherent: W^l D (W^l)ᵀ sums m squares):

.. math:: u_1 = -c_1 - 2a_1 + \delta_1, \qquad
          u_l = \max\bigl(-c_l - 2a_l + \delta_l + 1 + 2e_{l-1},\
          u_{l-1} - \delta_{l-1} + \delta_l + 1 - 2(a_l + b_l)\bigr).

This gives μP 0 in every layer (maximal update), NTK −½ (f: 0, the kernel regime), SP with
c = 0 +½ in the hidden layers and +1 at the output (it blows up), IP (1 − L)/2 in the input
layer, (4 − L − l)/2 in hidden layer l and 2 − L at the output. It does not hold for
``ip_llr``'s first step, whose updates dwarf the initial values: that step is μP's, Θ(1) in
every layer (:func:`derived_exponents` says so).

References: Yang & Hu, *Feature learning in infinite-width neural networks*, ICML 2021; Hajjar,
Chizat & Giraud, *Training integrable parameterizations of deep neural networks in the
infinite-width limit*, JMLR 2024 (reference code: karl-hajjar/wide-networks).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from bnn_mogp._validation import check_integer, check_real

__all__ = ["Parameterisation", "PARAMETERISATIONS", "make_parameterisation", "derived_exponents"]


def _check_exponents(name: str, values) -> tuple[float, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) < 2:
        raise ValueError(
            f"{name} must be 3 exponents (input, hidden, output) or one per layer (L + 1), "
            f"got {values!r}"
        )
    return tuple(check_real(f"{name}[{i}]", v) for i, v in enumerate(values))


def _per_layer(name: str, values: tuple[float, ...], depth: int) -> np.ndarray:
    """Exponents (L + 1,) from a group triple (input, hidden, output) or a per-layer tuple."""
    if len(values) == depth + 1:
        return np.asarray(values, float)
    if len(values) == 3:
        return np.asarray([values[0], *[values[1]] * (depth - 1), values[2]], float)
    raise ValueError(
        f"{name} has {len(values)} exponents: give 3 (input, hidden, output) or depth + 1 = "
        f"{depth + 1}"
    )


@dataclasses.dataclass(frozen=True)
class Parameterisation:
    r"""An abc-parameterisation (module docstring): W^l = m^{−a_l} w^l, w^l(0) ~
    N(0, σ_l² m^{−2b_l}), learning rate η m^{−c_l}; during the first ``warmup_steps`` steps the
    learning-rate exponents are ``warmup_c`` (a large initial learning rate).

    Args:
        name: a label.
        a, b, c: 3 exponents (input, hidden, output; for any depth) or one per layer (L + 1).
        warmup_c: learning-rate exponents of the first steps (None: ``c`` throughout).
        warmup_steps: number of steps that use ``warmup_c`` (≥ 1 when ``warmup_c`` is given).
    """

    name: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    c: tuple[float, ...] = (0.0, 0.0, 0.0)
    warmup_c: tuple[float, ...] | None = None
    warmup_steps: int = 0

    def __post_init__(self):
        for field in ("a", "b", "c"):
            object.__setattr__(self, field, _check_exponents(field, getattr(self, field)))
        if self.warmup_c is not None:
            object.__setattr__(self, "warmup_c", _check_exponents("warmup_c", self.warmup_c))
            check_integer("warmup_steps", self.warmup_steps, 1)
        elif self.warmup_steps != 0:
            raise ValueError(f"warmup_steps = {self.warmup_steps!r} needs warmup_c exponents")

    def exponents(self, depth: int, *, warmup: bool = False) -> tuple[np.ndarray, ...]:
        """(a, b, c), each (L + 1,) for ``depth`` = L hidden layers; ``warmup``: the first steps'
        learning-rate exponents in place of c.
        """
        depth = check_integer("depth", depth, 1)
        c = self.warmup_c if warmup and self.warmup_c is not None else self.c
        return tuple(_per_layer(n, v, depth) for n, v in (("a", self.a), ("b", self.b), ("c", c)))

    def describe(self) -> str:
        """The name and its exponents, for tables and legends."""
        text = f"{self.name} (a={_fmt(self.a)}, b={_fmt(self.b)}, c={_fmt(self.c)}"
        if self.warmup_c is not None:
            text += f"; first {self.warmup_steps} step(s) c={_fmt(self.warmup_c)}"
        return text + ")"


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _ip_llr_warmup(depth: int) -> tuple[float, ...]:
    edge, hidden = -(depth + 1) / 2, -(depth + 2) / 2
    return (edge, *[hidden] * (depth - 1), edge)


#: the named presets (``ip_llr`` depends on the depth: :func:`make_parameterisation`)
PARAMETERISATIONS = ("sp", "ntk", "mup", "ip", "ip_llr")
#: name → (a, b, c) of the presets, per group (input, hidden, output)
_PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]] = {
    "sp": ((0, 0, 0), (0, 0.5, 0.5), (0, 0, 0)),
    "ntk": ((0, 0.5, 0.5), (0, 0, 0), (0, 0, 0)),
    "mup": ((-0.5, 0, 0.5), (0.5, 0.5, 0.5), (0, 0, 0)),
    "ip": ((0, 1, 1), (0, 0, 0), (-1, -2, -1)),
}


def make_parameterisation(name: str, depth: int | None = None) -> Parameterisation:
    """A named preset (:data:`PARAMETERISATIONS`); ``ip_llr`` needs the ``depth`` L (its first
    step's exponents are −(L+1)/2, −(L+2)/2, −(L+1)/2).
    """
    if name not in PARAMETERISATIONS:
        raise ValueError(
            f"parameterisation must be one of {', '.join(PARAMETERISATIONS)}, got {name!r}"
        )
    if name == "ip_llr":
        if depth is None:
            raise ValueError("parameterisation 'ip_llr' needs the depth (number of hidden layers)")
        depth = check_integer("depth", depth, 1)
        a, b, c = _PRESETS["ip"]
        return Parameterisation("ip_llr", a, b, c, _ip_llr_warmup(depth), warmup_steps=1)
    a, b, c = _PRESETS[name]
    return Parameterisation(name, a, b, c)


def derived_exponents(param: Parameterisation, depth: int) -> dict[str, np.ndarray]:
    """The width exponents of the module docstring for L = ``depth`` hidden layers.

    - ``preactivation`` (L + 1,): h^1..h^L at initialisation, then the output f;
    - ``gradient`` (L + 1,): ‖∂ℓ/∂w^l‖_F at initialisation, l = 1..L + 1;
    - ``update`` (L + 1,): Δh^1..Δh^L and Δf after the first step (a warmup step when the
      parameterisation has one: then Θ(1), μP's first step).
    """
    a, b, c = param.exponents(depth)
    n = depth + 1
    e = np.empty(n)
    e[0] = -(a[0] + b[0])
    for l in range(1, n):
        e[l] = 0.5 - a[l] - b[l] + e[l - 1]
    delta = np.empty(n)  # δ of h^1..h^L, f
    delta[n - 1] = 0.0
    delta[n - 2] = -(a[n - 1] + b[n - 1])
    for l in range(n - 2, 0, -1):
        delta[l - 1] = 0.5 - a[l] - b[l] + delta[l]
    x_prev = np.concatenate([[0.0], e[:-1]])
    axes = np.full(n, 0.5)
    axes[1:-1] = 1.0
    gradient = -a + delta + x_prev + axes
    if param.warmup_c is not None:
        return {"preactivation": e + 0.0, "gradient": gradient + 0.0, "update": np.zeros(n)}
    update = np.empty(n)
    update[0] = -c[0] - 2 * a[0] + delta[0]
    for l in range(1, n):
        own = -c[l] - 2 * a[l] + delta[l] + 1 + 2 * x_prev[l]
        carried = update[l - 1] - delta[l - 1] + delta[l] + 1 - 2 * (a[l] + b[l])
        update[l] = max(own, carried)
    return {"preactivation": e + 0.0, "gradient": gradient + 0.0, "update": update + 0.0}


def width_factor(width: int, exponents: np.ndarray) -> np.ndarray:
    """m^{−exponent} for every layer (float64)."""
    return np.asarray([math.pow(width, -float(v)) for v in exponents])

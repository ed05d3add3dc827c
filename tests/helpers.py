"""Helpers shared by the tests (import them as ``from tests.helpers import …``)."""

import math


def hoeffding_eps(num: int, delta: float, value_range: float = 1.0) -> float:
    """ε with P(|mean − E| ≥ ε) ≤ δ for the mean of ``num`` iid variables in an interval."""
    return value_range * math.sqrt(math.log(2.0 / delta) / (2.0 * num))


def shipped_specs(training: bool = False) -> list:
    """The spec files in models/: model specs, or (``training``) those with a [training] table
    (``bnn-mogp train``).
    """
    import tomllib
    from pathlib import Path

    paths = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.toml"))
    return [p for p in paths if ("training" in tomllib.loads(p.read_text())) == training]

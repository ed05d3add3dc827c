"""Helpers shared by the tests (import them as ``from tests.helpers import …``)."""

import math


def hoeffding_eps(num: int, delta: float, value_range: float = 1.0) -> float:
    """ε with P(|mean − E| ≥ ε) ≤ δ for the mean of ``num`` iid variables in an interval."""
    return value_range * math.sqrt(math.log(2.0 / delta) / (2.0 * num))

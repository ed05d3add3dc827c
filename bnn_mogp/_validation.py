"""Boundary checks shared by the public constructors: each names the value and its allowed range."""

from __future__ import annotations

import math
import numbers

__all__ = ["check_real", "check_width", "check_integer", "check_choice", "check_bool"]


def check_real(
    name: str,
    value,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = True,
    high_open: bool = True,
) -> float:
    """Return ``value`` as a float after checking that it is a finite real number in the interval.

    Raises ``ValueError`` naming ``name``, the value and the allowed range.
    """
    lo_br, hi_br = ("(" if low_open else "["), (")" if high_open else "]")
    allowed = f"{lo_br}{_fmt(low)}, {_fmt(high)}{hi_br}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number in {allowed}, got {value!r}")
    v = float(value)
    ok = math.isfinite(v)
    ok = ok and (v > low if low_open else v >= low)
    ok = ok and (v < high if high_open else v <= high)
    if not ok:
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    return v


def check_width(n, name: str = "width") -> int:
    """Return ``n`` as an int after checking that it is an integer >= 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def check_integer(name: str, value, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int after checking that it is an integer in [low, high)."""
    allowed = f"in [{low}, {high})" if high is not None else f">= {low}"
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (ok and value >= low and (high is None or value < high)):
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def check_choice(name: str, value, choices):
    """Return ``value`` after checking that it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """Return ``value`` after checking that it is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"

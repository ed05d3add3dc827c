"""Deprecation aliases for public names that moved: they keep working for one release."""

from __future__ import annotations

import importlib
import warnings

__all__ = ["moved_names"]


def moved_names(module: str, moved: dict[str, str]):
    """A module ``__getattr__`` that serves each name in ``moved`` (name → new module) from its
    new home with a ``DeprecationWarning`` naming it.
    """

    def __getattr__(name: str):
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} moved to {moved[name]}.{name}; the old name will be removed in "
            "the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(moved[name]), name)

    return __getattr__

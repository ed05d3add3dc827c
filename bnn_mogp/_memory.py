"""A guard against work that cannot fit in memory: fail at once with the sizes, instead of
swapping for minutes and being killed.
"""

from __future__ import annotations

import os

__all__ = ["available_bytes", "check_memory", "InsufficientMemoryError"]

#: bytes per float in the estimates (float64 arrays are common; a conservative choice)
FLOAT_BYTES = 8
#: share of the available memory that one step may plan to use
USABLE = 0.8


class InsufficientMemoryError(ValueError):
    """The planned work needs more memory than the machine has available."""


def available_bytes() -> int | None:
    """Memory available to new allocations (Linux ``MemAvailable``; else physical memory;
    None when unknown).
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(num_floats: float, what: str, hint: str) -> None:
    """Raise :class:`InsufficientMemoryError` when ``num_floats`` floats (8 bytes each) exceed
    80 % of the available memory; the message names ``what`` needs them and ``hint`` says
    what to reduce.
    """
    need = float(num_floats) * FLOAT_BYTES
    available = available_bytes()
    if available is not None and need > USABLE * available:
        raise InsufficientMemoryError(
            f"{what} needs about {need / 2**30:.3g} GiB, but {available / 2**30:.3g} GiB are "
            f"available: {hint}"
        )

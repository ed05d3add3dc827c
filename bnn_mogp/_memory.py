"""Guards against running out of memory: work that cannot fit fails at once with the sizes,
instead of swapping for minutes and being killed; and compiled programs that pile up are let go
before they exhaust the process's memory mappings.
"""

from __future__ import annotations

import gc
import os

import jax

__all__ = [
    "available_bytes",
    "check_memory",
    "InsufficientMemoryError",
    "release_compiled_programs",
    "MAPPINGS_SHARE",
]

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


#: share of the kernel's limit on memory mappings (``vm.max_map_count``) above which the
#: compiled programs are let go
MAPPINGS_SHARE = 0.5


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return None


def release_compiled_programs(share: float = MAPPINGS_SHARE) -> bool:
    """Drop JAX's caches of compiled programs (``jax.clear_caches``) when this process holds
    more than ``share`` of the memory mappings the kernel allows it (Linux; elsewhere nothing
    happens). Returns whether it did.

    Every compiled program keeps its machine code in memory mappings until JAX drops it, and
    JAX keeps programs it may never run again (each :func:`bnn_mogp.fit` compiles its own, for
    its closures and shapes): a long loop of fits — :func:`bnn_mogp.sample_until_converged`,
    a sweep — otherwise ends in "LLVM compilation error: Cannot allocate memory" and a crash
    when the limit (often 65 530) is reached. Dropping them only costs recompiling what is
    used again.
    """
    try:
        with open("/proc/sys/vm/max_map_count", encoding="ascii") as fh:
            limit = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    held = _count_lines("/proc/self/maps")
    if held is None or held <= share * limit:
        return False
    jax.clear_caches()
    gc.collect()
    return True

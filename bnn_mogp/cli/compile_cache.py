"""The command line's persistent JAX compilation cache.

A small fit spends most of its time compiling: its NUTS chunk, its initialisation, its predictive
functions and hundreds of primitives run one by one in NumPyro's set-up. Each ``bnn-mogp`` command
therefore keeps every compiled program (``jax_persistent_cache_min_compile_time_secs = 0``) in a
folder of the user's cache directory (``platformdirs.user_cache_dir("bnn_mogp") / "jax"``, e.g.
``~/.cache/bnn_mogp/jax`` on Linux), bounded to :data:`MAX_BYTES` by JAX's least-recently-used
eviction; a second run of the same spec loads its programs instead of compiling them.

The environment decides, in this order:

- ``BNN_MOGP_COMPILE_CACHE=off`` (or ``0``, ``no``, ``false``): no cache (the option
  ``--no-compile-cache`` too);
- ``BNN_MOGP_COMPILE_CACHE=/some/folder``: that folder;
- ``JAX_COMPILATION_CACHE_DIR`` set: JAX's own settings are left exactly as they are;
- otherwise the user cache folder above.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import platformdirs

__all__ = ["ENV", "MAX_BYTES", "cache_dir", "enable"]

#: environment variable: a folder for the cache, or ``off``
ENV = "BNN_MOGP_COMPILE_CACHE"
#: the cache's size bound (bytes); the least recently used programs are evicted beyond it
MAX_BYTES = 2 * 1024**3
_OFF = ("off", "0", "no", "false")


def cache_dir(environ=None) -> Path | None:
    """The folder the command line caches compiled programs in, or None (no cache, or JAX's own
    ``JAX_COMPILATION_CACHE_DIR`` applies).
    """
    environ = os.environ if environ is None else environ
    value = environ.get(ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    return Path(platformdirs.user_cache_dir("bnn_mogp")) / "jax"


def enable(disabled: bool = False) -> Path | None:
    """Switch the cache on for this process (before anything is compiled); returns its folder.

    ``disabled`` (``--no-compile-cache``) or ``BNN_MOGP_COMPILE_CACHE=off`` switches it off.
    An unusable folder (not creatable, not writable) leaves the cache off: it only saves time.
    """
    if disabled or os.environ.get(ENV, "").strip().lower() in _OFF:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return folder

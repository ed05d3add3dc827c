"""Checkpoints of long runs: a folder holding the sampler state and the finished draws.

Layout::

    progress.json        {"version", "fingerprint", "iteration", "chunks", "state", "elapsed"}
    state_<it>.npz       the leaves of the sampler state (NUTS: ``HMCState``; SVI: ``SVIState``)
                         after ``it`` iterations
    chunk_<k>.npz        the draws (or losses) of finished chunk k

Every file is written atomically, and ``progress.json`` is written last, naming the state file and
the chunks it counts; a run stopped at any moment therefore leaves a consistent checkpoint, and
resuming from it reproduces exactly the draws of an uninterrupted run (the PRNG key is part of the
state). Only the leaves of the state are stored: the tree structure comes from a freshly
initialised sampler of the same run, so no code objects are pickled.

A checkpoint belongs to one run: its *fingerprint* (network, data, settings, seed) must match the
resuming run's, field by field, or :class:`CheckpointError` says which fields differ.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._io import atomic_open, atomic_path

__all__ = ["Checkpoint", "CheckpointError", "fingerprint", "raw_key"]

_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is unreadable or belongs to another run; the message is one line."""


def raw_key(rng_key) -> jax.Array:
    """A raw uint32 PRNG key (typed keys through ``key_data``): what a saved state can hold."""
    rng_key = jnp.asarray(rng_key)
    if jnp.issubdtype(rng_key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(rng_key)
    return rng_key


def fingerprint(**parts) -> dict:
    """A JSON-able description of a run: arrays by their SHA-256 (with shape and dtype), other
    values by ``repr``.
    """

    def describe(value):
        if isinstance(value, np.ndarray | jax.Array):
            a = np.ascontiguousarray(np.asarray(value))
            digest = hashlib.sha256(a.tobytes()).hexdigest()[:16]
            return f"array{a.shape} {a.dtype} sha256:{digest}"
        return repr(value)

    return {key: describe(value) for key, value in parts.items()}


class Checkpoint:
    """The checkpoint folder of one run.

    Args:
        folder: where the files live (created on the first save).
        fingerprint: :func:`fingerprint` of the run.
        extendable: integer fields (e.g. ``"num_samples"``) whose saved value may be smaller
            than the run's: the run continues the saved one further (sampling until
            converged); any other difference refuses the checkpoint.
    """

    def __init__(self, folder, fingerprint: dict, *, extendable: tuple[str, ...] = ()):
        self.folder = Path(folder)
        self.fingerprint = dict(fingerprint)
        self.extendable = extendable

    @property
    def _progress(self) -> Path:
        return self.folder / "progress.json"

    def exists(self) -> bool:
        """Whether a finished chunk has been saved (``progress.json`` is written last)."""
        return self._progress.exists()

    def load(self, template):
        """Return ``(state, iteration, chunks, elapsed)`` of the saved run, or None when there is
        none; ``template`` is a freshly initialised state that gives the tree structure.
        """
        if not self.exists():
            return None
        try:
            progress = json.loads(self._progress.read_text())
            saved = progress["fingerprint"]
            if progress.get("version") != _VERSION:
                raise CheckpointError(
                    f"{self.folder}: checkpoint format version "
                    f"{progress.get('version')!r}, expected {_VERSION}"
                )
        except (OSError, ValueError, KeyError, TypeError) as e:
            if isinstance(e, CheckpointError):
                raise
            raise CheckpointError(f"{self.folder}: unreadable checkpoint ({e})") from None
        differ = [
            k
            for k in sorted(set(saved) | set(self.fingerprint))
            if saved.get(k) != self.fingerprint.get(k) and not self._extends(k, saved.get(k))
        ]
        if differ:
            shown = "; ".join(
                f"{k}: checkpoint {saved.get(k, '(absent)')}, now "
                f"{self.fingerprint.get(k, '(absent)')}"
                for k in differ
            )
            raise CheckpointError(
                f"{self.folder} holds a checkpoint of a different run ({shown}); "
                "resume with the same settings or use a new output folder"
            )
        try:
            with np.load(self.folder / progress["state"]) as f:
                leaves = [f[f"arr_{i}"] for i in range(len(f.files))]
            chunks = []
            for name in progress["chunks"]:
                with np.load(self.folder / name) as f:
                    chunks.append({k: f[k] for k in f.files})
        except (OSError, ValueError, KeyError) as e:
            raise CheckpointError(f"{self.folder}: unreadable checkpoint ({e})") from None
        treedef = jax.tree.structure(template)
        # jax exports PyTreeDef as a runtime alias of jaxlib's class, which mypy cannot resolve
        num_leaves = treedef.num_leaves  # type: ignore[attr-defined]
        if num_leaves != len(leaves):
            raise CheckpointError(
                f"{self.folder}: the saved state has {len(leaves)} arrays, "
                f"this sampler has {num_leaves}"
            )
        state = jax.tree.unflatten(treedef, [jnp.asarray(x) for x in leaves])
        return state, int(progress["iteration"]), chunks, float(progress.get("elapsed", 0.0))

    def saved_setting(self, key: str) -> str | None:
        """The saved run's fingerprint entry ``key`` (its ``repr``), or None without one."""
        if not self.exists():
            return None
        try:
            return json.loads(self._progress.read_text())["fingerprint"].get(key)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _extends(self, key: str, saved) -> bool:
        """Whether the run's value of ``key`` continues the saved one (a larger integer)."""
        now = self.fingerprint.get(key)
        if key not in self.extendable or saved is None or now is None:
            return False
        try:
            return int(saved) <= int(now)
        except ValueError:
            return False

    def save(self, state, iteration: int, chunk: dict | None, elapsed: float) -> None:
        """Record ``state`` after ``iteration`` iterations, plus the draws of a finished chunk."""
        self.folder.mkdir(parents=True, exist_ok=True)
        progress = (
            json.loads(self._progress.read_text())
            if self.exists()
            else {"chunks": [], "state": None}
        )
        chunks = list(progress["chunks"])
        if chunk is not None:
            name = f"chunk_{len(chunks):05d}.npz"
            with atomic_path(self.folder / name) as tmp, open(tmp, "wb") as fh:
                # numpy's stub lets a ** mapping reach the allow_pickle: bool keyword
                np.savez(fh, **{k: np.asarray(v) for k, v in chunk.items()})  # type: ignore[arg-type]
            chunks.append(name)
        state_name = f"state_{iteration:08d}.npz"
        with atomic_path(self.folder / state_name) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, *[np.asarray(x) for x in jax.tree.leaves(state)])
        old_state = progress["state"]
        with atomic_open(self._progress) as fh:
            json.dump(
                {
                    "version": _VERSION,
                    "fingerprint": self.fingerprint,
                    "iteration": int(iteration),
                    "chunks": chunks,
                    "state": state_name,
                    "elapsed": float(elapsed),
                },
                fh,
                indent=1,
            )
        if old_state and old_state != state_name:
            (self.folder / old_state).unlink(missing_ok=True)

"""Atomic file output: write to a temporary file in the target's directory, then rename."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "atomic_open", "write_json", "strict_json"]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    The temporary file lives in the same directory (so ``os.replace`` is a rename on one file
    system); readers see either the old file or the complete new one, never a partial write.
    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        # mkstemp creates 0600 files; give the result the usual permissions of an output file
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """``open`` a temporary file next to ``path``; it replaces ``path`` when the block succeeds.

    The data are flushed and fsync'ed before the rename. Keyword arguments go to ``open``.
    """
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def read_error(source, error: Exception, kind: str) -> str:
    """A one-line message for an ``OSError`` or ``UnicodeDecodeError`` met while reading
    ``source``, a file expected to be ``kind`` (e.g. "a TOML file").
    """
    if isinstance(error, FileNotFoundError):
        return f"{source}: no such file"
    if isinstance(error, IsADirectoryError):
        return f"{source}: is a directory, not {kind}"
    if isinstance(error, UnicodeDecodeError):
        return f"{source}: not valid UTF-8 ({error.reason} at byte {error.start})"
    return f"{source}: cannot read: {getattr(error, 'strerror', None) or error}"


def strict_json(data):
    """``data`` with NumPy arrays and scalars as Python ones and every NaN or infinite float
    replaced by None: JSON has no NaN, and ``json.dump`` would write the bare token ``NaN`` that
    strict parsers refuse.
    """
    if isinstance(data, dict):
        return {k: strict_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(v) for v in data]
    if isinstance(data, np.ndarray):
        return strict_json(data.tolist())
    if isinstance(data, np.generic):  # NumPy scalars as Python ones
        data = data.item()
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    return data


def write_json(path, data, *, default=None) -> None:
    """Write ``data`` as indented, strict JSON to ``path`` atomically: non-finite floats become
    ``null`` (:func:`strict_json`); ``default`` converts other objects, as in ``json.dump``.
    """
    with atomic_open(path) as fh:
        json.dump(strict_json(data), fh, indent=1, default=default, allow_nan=False)
        fh.write("\n")

"""Progress of long loops: a tqdm bar on a terminal, plain dated lines in a log file.

A bar redrawn with carriage returns is unreadable when stderr is a file or a pipe (a batch job's
log); there :func:`progress_bar` writes one line every :data:`TEXT_INTERVAL_S` seconds instead
(and one when the loop ends): what it is doing, how far, how long so far and how long is left.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

__all__ = ["progress_bar", "TextProgress", "TEXT_INTERVAL_S"]

#: seconds between two lines of plain-text progress
TEXT_INTERVAL_S = 30.0


def progress_bar(total: int, desc: str, unit: str = "it", initial: int = 0, stream=None):
    """A progress object with tqdm's ``update``, ``set_description``, ``set_postfix`` and
    ``close``: a tqdm bar (not left behind) when ``stream`` (default stderr) is a terminal or a
    Jupyter kernel's output (a notebook widget there), otherwise a :class:`TextProgress`.
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    notebook = type(stream).__module__.startswith("ipykernel")
    if notebook or (isatty is not None and isatty()):
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False, file=stream)
    return TextProgress(total, desc, unit, initial, stream)


class TextProgress:
    """Plain-text progress: ``desc: done/total unit (p %), elapsed, ~left left[, postfix]``, one
    line per :data:`TEXT_INTERVAL_S` seconds and one at :meth:`close` (unless the last line
    already showed the final count).
    """

    def __init__(self, total: int, desc: str, unit: str, initial: int, stream, interval=None):
        self.total, self.desc, self.unit, self.n = int(total), desc, unit, int(initial)
        self.stream = stream
        self.interval = TEXT_INTERVAL_S if interval is None else float(interval)
        self.postfix = ""
        self._written: int | None = None  # the count of the last line written
        self._initial = self.n
        self._start = self._last = time.perf_counter()

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._write(now)

    def close(self) -> None:
        if self._written != self.n:
            self._write(time.perf_counter())

    def line(self, now: float) -> str:
        """The progress line at time ``now`` (``time.perf_counter()``)."""
        elapsed = now - self._start
        text = f"{self.desc}: {self.n}/{self.total} {self.unit}"
        if self.total:
            text += f" ({100 * self.n / self.total:.0f} %)"
        text += f", {_duration(elapsed)}"
        done = self.n - self._initial
        if 0 < done and self.n < self.total:
            text += f", ~{_duration(elapsed / done * (self.total - self.n))} left"
        return text + (f"; {self.postfix}" if self.postfix else "")

    def _write(self, now: float) -> None:
        self._written = self.n
        print(self.line(now), file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"

"""Progress: tqdm on a terminal, plain lines in a log (issue 12: `compare` printed nothing for
41 minutes when stderr was a file)."""

from __future__ import annotations

import io

from tqdm.auto import tqdm

from bnn_mogp._progress import TextProgress, progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_plain_lines_and_a_terminal_a_bar():
    log = io.StringIO()
    bar = progress_bar(200, "NUTS warmup", unit="it", stream=log)
    assert isinstance(bar, TextProgress)
    bar.interval = 0.0  # a line at every update
    bar.update(50)
    bar.set_description("NUTS sampling")
    bar.set_postfix(divergences=0, step_size="0.12")
    bar.update(150)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("NUTS warmup: 50/200 it (25 %), ") and "left" in lines[0]
    assert lines[1].startswith("NUTS sampling: 200/200 it (100 %), ")
    assert lines[1].endswith("; divergences=0, step_size=0.12") and "left" not in lines[1]
    assert len(lines) == 2 and "\r" not in log.getvalue()  # close() repeats no line
    assert isinstance(progress_bar(10, "x", stream=Terminal()), tqdm)


def test_lines_are_rate_limited_and_resumed_runs_estimate_from_their_own_pace():
    log = io.StringIO()
    bar = TextProgress(100, "SVI", "step", 40, log, interval=3600)
    for _ in range(60):
        bar.update(1)
    assert log.getvalue() == ""  # nothing before the interval has passed
    bar._start -= 60  # 60 steps in 60 s
    bar.n = 70
    assert bar.line(bar._start + 60).startswith("SVI: 70/100 step (70 %), 1.0 min, ~1.0 min left")

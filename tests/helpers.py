"""Helpers shared by the tests (import them as ``from tests.helpers import …``)."""

import math


def hoeffding_eps(num: int, delta: float, value_range: float = 1.0) -> float:
    """ε with P(|mean − E| ≥ ε) ≤ δ for the mean of ``num`` iid variables in an interval."""
    return value_range * math.sqrt(math.log(2.0 / delta) / (2.0 * num))


def shipped_specs(training: bool = False) -> list:
    """The spec files in models/: model specs, or (``training``) those with a [training] table
    (``bnn-mogp train``).
    """
    import tomllib
    from pathlib import Path

    paths = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.toml"))
    return [p for p in paths if ("training" in tomllib.loads(p.read_text())) == training]


def write(tmp_path, text: str, name: str = "tiny.toml"):
    """Write ``text`` to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(capsys, *argv):
    """Run ``bnn-mogp`` in this process: (exit status, stdout, stderr)."""
    from bnn_mogp.cli import main

    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err

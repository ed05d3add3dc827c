"""Helpers shared by the tests (import them as ``from tests.helpers import …``)."""

import math


def hoeffding_eps(num: int, delta: float, value_range: float = 1.0) -> float:
    """ε with P(|mean − E| ≥ ε) ≤ δ for the mean of ``num`` iid variables in an interval."""
    return value_range * math.sqrt(math.log(2.0 / delta) / (2.0 * num))


def shipped_specs(kind: str = "model") -> list:
    """The spec files in models/ of one ``kind``: "training" (a [training] table, ``bnn-mogp
    train``), "parameterisations" (a [parameterisations] table, ``bnn-mogp train``), "sweep"
    (a [sweep] table, ``bnn-mogp sweep``) or "model" (the others).
    """
    import tomllib
    from pathlib import Path

    def kind_of(path) -> str:
        raw = tomllib.loads(path.read_text())
        return next((k for k in ("training", "parameterisations", "sweep") if k in raw), "model")

    paths = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.toml"))
    return [p for p in paths if kind_of(p) == kind]


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

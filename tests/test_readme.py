"""The README's Python snippets run as written, in order, in one namespace."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_snippets():
    assert len(snippets()) >= 3


#: run lengths of the README's fitting snippet, shortened here (the snippets run as written
#: otherwise; every replaced text must be present, so the list follows the README)
SHORTER = {
    "num_warmup=500": "num_warmup=50",
    "num_samples=500": "num_samples=50",
    "num_steps=5000": "num_steps=500",
}


@pytest.mark.slow
def test_readme_snippets_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    codes = snippets()
    text = "".join(codes)
    for old in SHORTER:
        assert old in text, f"README snippets no longer contain {old!r}: update SHORTER"
    for i, code in enumerate(codes):
        for old, new in SHORTER.items():
            code = code.replace(old, new)
        exec(compile(code, f"README.md snippet {i + 1}", "exec"), namespace)  # noqa: S102


def test_readme_spec_examples_parse():
    """The README's TOML examples are valid specs (training and parameterisation specs for
    bnn-mogp train, sweep files for bnn-mogp sweep)."""
    import tomllib

    from bnn_mogp.cli.depth_spec import parse_depth_spec
    from bnn_mogp.cli.spec import parse_spec
    from bnn_mogp.cli.sweep_spec import parse_sweep
    from bnn_mogp.cli.train_spec import parse_train_spec

    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 3
    for text in blocks:
        raw = tomllib.loads(text)
        if "sweep" in raw:  # its base spec as if the file sat in models/
            assert parse_sweep(raw, "README.md", "sweep", README.parent / "models").tasks
        elif "parameterisations" in raw:
            parse_depth_spec(raw, "README.md")
        else:
            (parse_train_spec if "training" in raw else parse_spec)(raw, "README.md")

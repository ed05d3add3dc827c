"""Atomic, strict JSON output (issue 12: compare.json held the bare token NaN)."""

import json
import math

import numpy as np
import pytest

from bnn_mogp._io import write_json


def test_write_json_is_strict_json(tmp_path):
    data = {
        "slope": math.nan,
        "numpy": np.float32(np.inf),
        "ints": np.arange(3),
        "nested": [{"a": -math.inf, "b": np.float64(1.5), "c": np.bool_(True)}],
    }
    path = tmp_path / "out.json"
    write_json(path, data)

    def refuse(token):
        raise AssertionError(f"non-JSON token {token}")

    back = json.loads(path.read_text(), parse_constant=refuse)
    assert back == {
        "slope": None,
        "numpy": None,
        "ints": [0, 1, 2],
        "nested": [{"a": None, "b": 1.5, "c": True}],
    }


def test_write_json_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]

"""Public names that moved keep working for one release, with a DeprecationWarning."""

import pytest

import bnn_mogp as bm
import bnn_mogp.diagnostics
import bnn_mogp.evaluation
import bnn_mogp.inference
import bnn_mogp.studies

MOVED = [
    (bm.theory, "compare_prior", bnn_mogp.studies),
    (bm.theory, "plot_prior_comparison", bnn_mogp.studies),
    (bm.theory, "compare_posterior", bnn_mogp.studies),
    (bm.theory, "plot_posterior_comparison", bnn_mogp.studies),
    (bnn_mogp.diagnostics, "make_inference_data", bnn_mogp.inference),
    (bnn_mogp.evaluation, "posterior_functions", bnn_mogp.inference),
    (bnn_mogp.evaluation, "noise_draws", bnn_mogp.inference),
]


@pytest.mark.parametrize("old,name,new", MOVED, ids=[f"{m.__name__}.{n}" for m, n, _ in MOVED])
def test_moved_name_warns_and_is_the_new_object(old, name, new):
    with pytest.warns(DeprecationWarning, match=f"{name} moved to {new.__name__}"):
        assert getattr(old, name) is getattr(new, name)


def test_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = bm.theory.nonexistent

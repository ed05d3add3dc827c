"""Record the reference values of tests/regression/test_regression.py.

Run with the code whose numbers are the reference (on main before the restructuring of issue 11;
again after issue 12's intended changes, see test_regression.py):

    python -m tests.regression.make_reference tests/regression/reference.npz

Every case is defined in ``cases.py``, which the test reads too, so the two cannot drift apart.
"""

import sys

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from tests.regression.cases import (  # noqa: E402  (x64 must be on before the cases are built)
    KERNEL_CASES,
    LIMIT_CASES,
    MODEL_CASES,
    PRIOR_CASES,
    fixed_latents,
    kernel_values,
    limit_draws,
    model_values,
    prior_draws,
)


def main(path):
    out = {}
    for name, case in MODEL_CASES.items():
        latents = fixed_latents(case)
        for site, value in latents.items():
            out[f"model/{name}/latent/{site}"] = np.asarray(value)
        for key, value in model_values(case, latents).items():
            out[f"model/{name}/{key}"] = np.asarray(value)
    for name, case in PRIOR_CASES.items():
        out[f"prior/{name}"] = prior_draws(case)
    for name, case in LIMIT_CASES.items():
        for key, value in limit_draws(case).items():
            out[f"limit/{name}/{key}"] = value
    for name, case in KERNEL_CASES.items():
        for key, value in kernel_values(case).items():
            out[f"kernel/{name}/{key}"] = value
    np.savez_compressed(path, **out)
    print(f"{len(out)} arrays written to {path}")


if __name__ == "__main__":
    main(sys.argv[1])

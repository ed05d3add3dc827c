"""Sampling until converged: NUTS keeps drawing until every validity gate passes or a budget is
spent.

:func:`sample_until_converged` runs :func:`bnn_mogp.fit` with ``num_samples`` draws per chain
and checks the validity gates (:func:`bnn_mogp.diagnostics.convergence_gates`: R-hat, bulk and
tail ESS, divergences, E-BFMI). While one fails and the budget allows, the same chains continue
from their checkpoint for another ``num_samples`` draws — warmup is not repeated, and the draws
are exactly those of one uninterrupted run of the final length — and the gates are checked
again. The budget is a largest number of draws per chain (``max_samples``) and/or a wall time
(``max_minutes``, checked between rounds).

More draws of the same chains cannot cure divergent transitions (they stay in the draws, and
their count only grows) or a low E-BFMI. After divergences the run starts afresh — new warmup,
the earlier draws dropped — with the next ``target_accept`` of :data:`TARGET_ACCEPT_LADDER` above
the current one (a smaller adapted step size follows the posterior's curvature more closely; the
standard remedy, Betancourt 2017, *A Conceptual Introduction to Hamiltonian Monte Carlo*).
When only gates that draws cannot cure fail and no step of the ladder is left, it stops
(``"not curable by more draws"``): :func:`bnn_mogp.diagnostics.warmup_hints` says what can help
(a reparameterisation, a collapsed last layer, other priors).

The result says how it ended in ``idata.attrs["until_converged"]`` (JSON: ``status``
``"converged"``, ``"budget spent"`` or ``"not curable by more draws"``, ``rounds``,
``num_samples``, ``target_accept``, ``restarts``, ``failed_gates``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
import time

from bnn_mogp._validation import check_integer, check_real
from bnn_mogp.diagnostics import convergence_gates
from bnn_mogp.inference import NutsConfig, fit, make_config
from bnn_mogp.inference.checkpoint import Checkpoint

__all__ = ["sample_until_converged", "TARGET_ACCEPT_LADDER", "CURED_BY_DRAWS"]

#: target_accept of the fresh starts after divergent transitions, in turn (those above the
#: run's own)
TARGET_ACCEPT_LADDER = (0.9, 0.95, 0.99)
#: the validity gates that more draws of the same chains can make pass
CURED_BY_DRAWS = ("R-hat", "bulk ESS", "tail ESS")


def sample_until_converged(
    net,
    X,
    y,
    *,
    max_samples: int | None = None,
    max_minutes: float | None = None,
    config: NutsConfig | None = None,
    checkpoint_dir=None,
    log=None,
    **fit_kwargs,
):
    """:func:`bnn_mogp.fit` with NUTS, continued until converged (module docstring).

    Args:
        net, X, y: as in :func:`bnn_mogp.fit`.
        max_samples: largest number of draws per chain (default 8 × ``num_samples``).
        max_minutes: wall-time budget in minutes, checked between rounds (default none).
        config: the NUTS settings (``num_samples`` is the first round's draws per chain and the
            size of every further round); keyword settings of ``fit`` replace its fields.
        checkpoint_dir: the checkpoint folder (default: a temporary one); an interrupted run
            resumes from it, at the round it had reached.
        log: where one-line messages on the rounds go.
        **fit_kwargs: the other arguments of :func:`bnn_mogp.fit` (and NUTS settings).
    """
    names = {f.name for f in dataclasses.fields(NutsConfig)}
    settings = {k: fit_kwargs.pop(k) for k in list(fit_kwargs) if k in names}
    if fit_kwargs.get("method", "nuts") != "nuts":
        raise ValueError("sampling until converged needs method='nuts'")
    fit_kwargs.pop("method", None)
    config = make_config("nuts", config, **settings)
    step = config.num_samples
    max_samples = (
        8 * step if max_samples is None else check_integer("max_samples", max_samples, step)
    )
    if max_minutes is not None:
        max_minutes = check_real("max_minutes", max_minutes, low=0.0)
    log = log or (lambda _line: None)
    deadline = math.inf if max_minutes is None else time.monotonic() + 60 * max_minutes
    with tempfile.TemporaryDirectory(
        prefix="bnn_mogp_until_converged_", ignore_cleanup_errors=True
    ) as tmp:
        folder = tmp if checkpoint_dir is None else checkpoint_dir
        num_samples, rounds, restarts = step, 0, 0
        saved = Checkpoint(folder, {})
        saved_samples = saved.saved_setting("num_samples")
        if saved_samples is not None and saved_samples.isdigit():  # resuming at the saved round
            num_samples = min(max(step, int(saved_samples)), max_samples)
        saved_accept = saved.saved_setting("target_accept")
        if saved_accept is not None:  # … and at the saved step of the ladder
            config = dataclasses.replace(config, target_accept=float(saved_accept))
        while True:
            rounds += 1
            idata = fit(
                net,
                X,
                y,
                method="nuts",
                config=dataclasses.replace(config, num_samples=num_samples),
                checkpoint_dir=folder,
                extend=True,
                **fit_kwargs,
            )
            gates = convergence_gates(idata)
            failed = gates.loc[(gates["kind"] == "validity") & ~gates["passed"], "gate"].tolist()
            if not failed:
                status = "converged"
                break
            if time.monotonic() >= deadline:
                status = "budget spent"
                break
            higher = [a for a in TARGET_ACCEPT_LADDER if a > config.target_accept]
            if "divergences" in failed and higher:
                log(
                    f"{gates.loc['divergences', 'reason']} at target_accept "
                    f"{config.target_accept:g}: starting afresh with target_accept {higher[0]:g}"
                )
                config = dataclasses.replace(config, target_accept=higher[0])
                num_samples, restarts = step, restarts + 1
                shutil.rmtree(folder, ignore_errors=True)
                continue
            if not set(failed) & set(CURED_BY_DRAWS):
                status = "not curable by more draws"
                break
            if num_samples >= max_samples:
                status = "budget spent"
                break
            log(
                f"not converged after {num_samples} draws per chain ({', '.join(failed)}): "
                f"{min(step, max_samples - num_samples)} more"
            )
            num_samples = min(num_samples + step, max_samples)
    idata.attrs["until_converged"] = json.dumps(
        {
            "status": status,
            "rounds": rounds,
            "num_samples": num_samples,
            "target_accept": config.target_accept,
            "restarts": restarts,
            "max_samples": max_samples,
            "max_minutes": max_minutes,
            "failed_gates": failed,
        }
    )
    return idata

"""Start-up of a small CLI fit: where its wall time goes, without and with the compilation cache.

Prints one JSON object (progress goes to stderr). The same command,

    bnn-mogp fit models/horseshoe.toml --num-warmup 10 --num-samples 10 --num-chains 1

(diabetes, a ReLU network of width 20, the collapsed NUTS model, the HTML report), runs three
times, each in a fresh Python process (as a user runs it):

- ``no_cache``: ``--no-compile-cache`` (every XLA program compiled from scratch: the package
  before the CLI cache);
- ``first_run``: with the persistent compilation cache in an empty temporary folder
  (``BNN_MOGP_COMPILE_CACHE``): compiles everything and fills the cache;
- ``second_run``: the same command again with that folder: programs come from the cache.

Per run: wall seconds of the import of the CLI and of the command; seconds JAX spent tracing,
lowering and compiling (``jax.monitoring`` duration events, summed: with the cache, a hit still
traces and lowers, only XLA's compilation is skipped) and the number of cache hits; seconds in
``arviz.from_dict`` (assembling InferenceData), in ``InferenceData.to_netcdf`` (writing it), in
the report (``write_report``), each less the compiling done inside it (which ``compile_s``
counts once); and the rest (sampling, predictions, metrics, files). Ratios of
the command's wall time: ``no_cache / second_run`` and ``first_run / second_run``.

Usage: python benchmarks/startup.py [--spec models/horseshoe.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--num-warmup", "10", "--num-samples", "10", "--num-chains", "1", "--no-progress"]

#: the child process: times the phases of one CLI run and prints them as JSON on its last line
DRIVER = r"""
import json, sys, time
t0 = time.perf_counter()
import jax
phases = {"compile_s": 0.0, "cache_hits": 0, "from_dict_s": 0.0, "to_netcdf_s": 0.0,
          "report_s": 0.0}
EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
          "/jax/core/compile/jaxpr_to_mlir_module_duration",
          "/jax/core/compile/backend_compile_duration")
def on_duration(name, seconds, **kwargs):
    if name in EVENTS:
        phases["compile_s"] += seconds
def on_event(name, **kwargs):
    if name == "/jax/compilation_cache/cache_hits":
        phases["cache_hits"] += 1
jax.monitoring.register_event_duration_secs_listener(on_duration)
jax.monitoring.register_event_listener(on_event)
import arviz as az
import bnn_mogp.cli.fit as cli_fit
from bnn_mogp.cli import main
def timed(fn, key):  # the phase's seconds, less the compiling inside it (kept in compile_s)
    def wrapper(*args, **kwargs):
        start, compiled = time.perf_counter(), phases["compile_s"]
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            phases[key] += elapsed - (phases["compile_s"] - compiled)
    return wrapper
az.from_dict = timed(az.from_dict, "from_dict_s")
az.InferenceData.to_netcdf = timed(az.InferenceData.to_netcdf, "to_netcdf_s")
cli_fit.write_report = timed(cli_fit.write_report, "report_s")
phases["import_s"] = time.perf_counter() - t0
start = time.perf_counter()
rc = main(sys.argv[1:])
phases["command_s"] = time.perf_counter() - start
phases["exit_status"] = rc
print(json.dumps(phases))
"""


def log(msg):
    print(f"[startup] {msg}", file=sys.stderr, flush=True)


def run(spec: str, out: Path, env: dict, extra: list[str]) -> dict:
    cmd = [sys.executable, "-c", DRIVER, *extra, "fit", spec, "--out", str(out), *ARGS]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the fit failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    phases = json.loads(proc.stdout.strip().splitlines()[-1])
    if phases["exit_status"] != 0:
        raise SystemExit(f"the fit exited with {phases['exit_status']}:\n{proc.stderr[-3000:]}")
    timed = ("compile_s", "from_dict_s", "to_netcdf_s", "report_s")
    phases["rest_s"] = phases["command_s"] - sum(phases[k] for k in timed)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in phases.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="models/horseshoe.toml")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BNN_MOGP_COMPILE_CACHE=str(Path(tmp) / "cache"))
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        for name, extra in (
            ("no_cache", ["--no-compile-cache"]),
            ("first_run", []),
            ("second_run", []),
        ):
            log(f"{name} …")
            results[name] = run(args.spec, Path(tmp) / name, env, extra)
            log(f"{name}: {results[name]['command_s']:.1f} s")
    second = results["second_run"]["command_s"]
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "command": f"bnn-mogp fit {args.spec} --out DIR {' '.join(ARGS)}",
                "cpu_count": os.cpu_count(),
                "load_average_1min_end": round(os.getloadavg()[0], 2),
                "results": results,
                "ratios": {
                    "no_cache_over_second_run": round(results["no_cache"]["command_s"] / second, 2),
                    "first_run_over_second_run": round(
                        results["first_run"]["command_s"] / second, 2
                    ),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

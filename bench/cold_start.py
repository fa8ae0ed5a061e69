"""Cold-start cost of the API: how long a fresh interpreter takes to `import app`.

Lambda imports app.py once per new execution environment, before the first request,
so this import is paid on every cold start. Each figure is the median of N fresh
interpreters, run round-robin with two same-run baselines so that machine load shows in
all of them alike:

  python -c pass     interpreter start-up alone (wall clock of the process)
  import chalice     the framework alone (time inside the interpreter)
  import app         our API (time inside the interpreter; the target is <= 300 ms)

Usage: python bench/cold_start.py [--runs 15] [--target-ms 300] [--check]
(`make bench`). --check exits 1 when the median import of app.py misses the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Prints the seconds the import took inside a fresh interpreter.
TIMED_IMPORT = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # As on Lambda: no emulator endpoint, defaults for everything the template injects.
    env.pop("AWS_ENDPOINT_URL", None)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _timed_import(module: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds inside the interpreter for the import, wall seconds of the whole process)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", TIMED_IMPORT.format(module=module)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    return float(out.stdout.strip().splitlines()[-1]), wall


def measure(runs: int) -> dict[str, float]:
    env = _env()
    # One untimed round so every case starts with compiled bytecode (__pycache__), as a
    # deployment that ships it would; PYTHONDONTWRITEBYTECODE is cleared for it.
    warm_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _timed_import("chalice", warm_env)
    _timed_import("app", warm_env)

    samples: dict[str, list[float]] = {k: [] for k in ("pass", "chalice", "app", "app_wall")}
    for _ in range(runs):
        samples["pass"].append(_wall([sys.executable, "-c", "pass"], env))
        samples["chalice"].append(_timed_import("chalice", env)[0])
        inside, wall = _timed_import("app", env)
        samples["app"].append(inside)
        samples["app_wall"].append(wall)
    return {k: statistics.median(v) * 1000 for k, v in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target-ms", type=float, default=300.0)
    parser.add_argument("--check", action="store_true", help="exit 1 if import app misses the target")
    args = parser.parse_args(argv)

    ms = measure(args.runs)
    within = ms["app"] <= args.target_ms
    return 1 if args.check and not within else 0


if __name__ == "__main__":
    sys.exit(main())

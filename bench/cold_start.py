"""Cold-start cost of the API: how long a fresh interpreter takes to `import app`.

Lambda imports app.py once per new execution environment, before the first request,
so this import is paid on every cold start. Each figure is the median of N fresh
interpreters, run round-robin with two same-run baselines so that machine load shows in
all of them alike:

  python -c pass     interpreter start-up alone (wall clock of the process)
  import chalice     the framework alone (time inside the interpreter)
  bare dependencies  chalice, boto3, pynamodb, pydantic and Powertools' logger and metrics
                     imported together: what any app on this stack pays before its own code
  import app         our API (time inside the interpreter; the target is <= 300 ms)

The ratio to watch is import app / bare dependencies: how much our own code adds.

With --baseline-tree DIR, `import app` of another checkout (say the commit before a
change: `git worktree add /tmp/before HEAD~1`) is timed in the same rounds, and the ratio
printed: this tree / that tree.

Usage: python bench/cold_start.py [--runs 15] [--target-ms 300] [--check] [--baseline-tree DIR]
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
BARE_DEPENDENCIES = (
    "chalice, boto3, pynamodb.models, pydantic, aws_lambda_powertools.logging, aws_lambda_powertools.metrics"
)


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


def _timed_import(module: str, env: dict[str, str], tree: Path = ROOT) -> tuple[float, float]:
    """(seconds inside the interpreter for the import, wall seconds of the whole process)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", TIMED_IMPORT.format(module=module)],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    return float(out.stdout.strip().splitlines()[-1]), wall


def measure(runs: int, baseline_tree: Path | None = None) -> dict[str, float]:
    env = _env()
    # One untimed round so every case starts with compiled bytecode (__pycache__), as a
    # deployment that ships it would; PYTHONDONTWRITEBYTECODE is cleared for it.
    warm_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _timed_import("chalice", warm_env)
    _timed_import("app", warm_env)
    if baseline_tree:
        _timed_import("app", warm_env, baseline_tree)

    _timed_import(BARE_DEPENDENCIES, warm_env)

    samples: dict[str, list[float]] = {k: [] for k in ("pass", "chalice", "deps", "app", "app_wall", "baseline_app")}
    for _ in range(runs):
        samples["pass"].append(_wall([sys.executable, "-c", "pass"], env))
        samples["chalice"].append(_timed_import("chalice", env)[0])
        samples["deps"].append(_timed_import(BARE_DEPENDENCIES, env)[0])
        inside, wall = _timed_import("app", env)
        samples["app"].append(inside)
        samples["app_wall"].append(wall)
        if baseline_tree:
            samples["baseline_app"].append(_timed_import("app", env, baseline_tree)[0])
    return {k: statistics.median(v) * 1000 for k, v in samples.items() if v}


def report(ms: dict[str, float], target_ms: float, baseline_tree: Path | None) -> str:
    lines = [
        f"python -c pass (wall)      {ms['pass']:8.1f} ms",
        f"import chalice             {ms['chalice']:8.1f} ms",
        f"bare dependencies          {ms['deps']:8.1f} ms",
        f"import app                 {ms['app']:8.1f} ms   "
        f"{ms['app'] / ms['deps']:.2f}x bare dependencies; target {target_ms:.0f} ms: "
        f"{'met' if ms['app'] <= target_ms else 'MISSED'}",
        f"import app, whole process  {ms['app_wall']:8.1f} ms (wall)",
    ]
    if baseline_tree:
        lines.append(
            f"import app in {baseline_tree}  {ms['baseline_app']:8.1f} ms   "
            f"this tree / that tree = {ms['app'] / ms['baseline_app']:.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target-ms", type=float, default=300.0)
    parser.add_argument("--check", action="store_true", help="exit 1 if import app misses the target")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout whose import app is timed alike")
    args = parser.parse_args(argv)

    ms = measure(args.runs, args.baseline_tree)
    sys.stdout.write(f"median of {args.runs} fresh interpreters each\n")
    sys.stdout.write(report(ms, args.target_ms, args.baseline_tree) + "\n")
    within = ms["app"] <= args.target_ms
    return 1 if args.check and not within else 0


if __name__ == "__main__":
    sys.exit(main())

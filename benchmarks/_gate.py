"""The CI gate check: ``pytest`` with finegate's plugin over runs already stored,
timed as a CI job sees it (a fresh interpreter each time)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks._report import Result

POLICY = """\
id: bench-gates
version: 1
description: Gates over a stored regression/general run, for timing the check.
suites: [regression/general]
gates:
  - id: commonsense-floor
    suite: regression/general
    metric: general_commonsense_mc.acc
    min: 0.0
  - id: commonsense-relative-drop
    suite: regression/general
    metric: general_commonsense_mc.acc
    margin: 0.05
    relative: true
    decide_on: point
  - id: reading-relative-drop
    suite: regression/general
    metric: general_reading.contains
    margin: 0.05
    relative: true
    decide_on: point
"""


def run(run_id: str, store: Path, workdir: Path, repeats: int = 3) -> list[Result]:
    policy = workdir / "bench-policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--finegate-policy",
        str(policy),
        "--finegate-run",
        run_id,
        "--finegate-baseline",
        run_id,
        "--finegate-store",
        str(store),
    ]
    times, codes, tail = [], [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        codes.append(done.returncode)
        tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    best = min(times)
    ok = best < 2.0 and codes == [0] * repeats
    detail = {"all_runs_s": times, "exit_codes": codes, "pytest_summary": tail, "gates": 3}
    return [Result("gate", "pytest gate check over a stored run", best, "s", "< 2", ok, detail)]

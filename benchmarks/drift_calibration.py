"""``python -m benchmarks.drift_calibration``: how often drift checks alarm
when nothing changed, and how often they see a change.

False alarms: several references of generated support tickets, each
calibrated once, and many fresh windows from the same generator per
reference; every alarm is a false one. The rate comes with its Clopper-Pearson
interval and a one-sided binomial test of "rate <= alpha". Also shown: the
rate had the alarm used only the tests' own p-values, or only the calibrated
ones, and each test's unadjusted rejection rate.

Power: windows in which a share of the texts carry one shift (all billing
tickets; five times longer; German; personal data appended; injected
instructions), at a few window sizes, against calibrated references.

Texts come from ``tests/harness/monitor/tickets.py`` (templates written for
finegate). Prints Markdown tables; ``--json`` also writes every number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.drift_calibration", description=__doc__)
    p.add_argument("--references", type=int, default=10, help="references for false alarms")
    p.add_argument("--windows", type=int, default=20, help="same-distribution windows each")
    p.add_argument("--reference-size", type=int, default=200)
    p.add_argument("--window-size", type=int, default=40, help="false-alarm window size")
    p.add_argument("--splits", type=int, default=200, help="calibration splits")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power-sizes", type=int, nargs="+", default=[20, 40, 80])
    p.add_argument("--power-references", type=int, default=2)
    p.add_argument("--power-windows", type=int, default=10, help="windows per cell, in all")
    p.add_argument("--shares", type=float, nargs="+", default=[0.2, 0.5, 1.0])
    p.add_argument("--quick", action="store_true", help="a small run, to check the script")
    p.add_argument("--json", type=Path, help="also write every number here")
    args = p.parse_args(argv)
    if args.quick:
        args.references, args.windows, args.splits = 2, 5, 50
        args.power_sizes, args.power_references, args.power_windows = [20], 1, 2
    return args


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _bh_alarm(p_values: list[float], alpha: float) -> bool:
    from finegate.harness.monitor import benjamini_hochberg

    return any(p <= alpha for p in benjamini_hochberg(p_values))


def false_alarms(args: argparse.Namespace, embedder: Any) -> dict[str, Any]:
    from scipy.stats import binomtest

    from finegate.harness.monitor import calibrate, check_drift
    from tests.harness.monitor import tickets as T

    alarms = {"both": 0, "test": 0, "calibrated": 0}
    rejected: dict[str, dict[str, int]] = defaultdict(lambda: {"test": 0, "calibrated": 0})
    n = 0
    for r in range(args.references):
        reference, labels = T.tickets(args.reference_size, random.Random(1000 + r))
        start = time.perf_counter()
        cal = calibrate(
            reference,
            args.window_size,
            reference_labels=labels,
            embedder=embedder,
            splits=args.splits,
        )
        took = time.perf_counter() - start
        _say(f"reference {r + 1}/{args.references} calibrated in {took:.1f} s")
        for j in range(args.windows):
            window, _ = T.tickets(args.window_size, random.Random(100_000 + 1000 * r + j))
            report = check_drift(
                reference,
                window,
                reference_labels=labels,
                embedder=embedder,
                calibration=cal,
                alpha=args.alpha,
            )
            n += 1
            alarms["both"] += report.alarm
            alarms["test"] += _bh_alarm([t.p_value for t in report.tests], args.alpha)
            alarms["calibrated"] += _bh_alarm(
                [t.calibrated_p_value for t in report.tests], args.alpha
            )
            for t in report.tests:
                rejected[t.name]["test"] += t.p_value <= args.alpha
                rejected[t.name]["calibrated"] += t.calibrated_p_value <= args.alpha
    out: dict[str, Any] = {"windows": n, "alpha": args.alpha, "bases": {}}
    for basis, k in alarms.items():
        test = binomtest(k, n, args.alpha, alternative="greater")
        # the two-sided interval (a one-sided test's interval reaches 1)
        ci = binomtest(k, n, args.alpha).proportion_ci(confidence_level=0.95, method="exact")
        out["bases"][basis] = {
            "alarms": k,
            "rate": k / n,
            "clopper_pearson_95": [ci.low, ci.high],
            "binomial_p_rate_above_alpha": test.pvalue,
        }
    out["per_test_unadjusted"] = {
        name: {kind: count / n for kind, count in kinds.items()} for name, kinds in rejected.items()
    }
    return out


def power(args: argparse.Namespace, embedder: Any) -> dict[str, Any]:
    from finegate.harness.monitor import calibrate, check_drift
    from tests.harness.monitor import tickets as T

    hits: dict[tuple[str, float, int], list[bool]] = defaultdict(list)
    alarming: dict[tuple[str, float, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_reference = max(1, args.power_windows // args.power_references)
    for size in args.power_sizes:
        for r in range(args.power_references):
            reference, labels = T.tickets(args.reference_size, random.Random(5000 + r))
            cal = calibrate(
                reference, size, reference_labels=labels, embedder=embedder, splits=args.splits
            )
            _say(f"power: window size {size}, reference {r + 1} calibrated")
            for shift in T.SHIFTS:
                for share in args.shares:
                    for j in range(per_reference):
                        rng = random.Random(f"{shift}|{share}|{size}|{r}|{j}")
                        window = T.shifted_window(shift, size, rng, share=share)
                        report = check_drift(
                            reference,
                            window,
                            reference_labels=labels,
                            embedder=embedder,
                            calibration=cal,
                            alpha=args.alpha,
                        )
                        hits[(shift, share, size)].append(report.alarm)
                        for name in report.alarming:
                            alarming[(shift, share, size)][name] += 1
    return {
        f"{shift}|{share}|{size}": {
            "windows": len(v),
            "power": sum(v) / len(v),
            "alarming_tests": dict(alarming[(shift, share, size)]),
        }
        for (shift, share, size), v in hits.items()
    }


def _markdown(result: dict[str, Any], args: argparse.Namespace) -> str:
    fa = result["false_alarms"]
    lines = [
        f"False alarms: {fa['windows']} same-distribution windows of {args.window_size} "
        f"tickets, {args.references} references of {args.reference_size}, "
        f"{args.splits} calibration splits, alpha {args.alpha}",
        "",
        "| p-values into BH | alarms | rate | Clopper-Pearson 95% | binomial p (rate > alpha) |",
        "|---|---|---|---|---|",
    ]
    for basis, row in fa["bases"].items():
        low, high = row["clopper_pearson_95"]
        lines.append(
            f"| {basis} | {row['alarms']} | {row['rate']:.3f} | {low:.3f}-{high:.3f} "
            f"| {row['binomial_p_rate_above_alpha']:.3f} |"
        )
    lines += ["", "| test | own p <= alpha | calibrated p <= alpha |", "|---|---|---|"]
    for name, row in fa["per_test_unadjusted"].items():
        lines.append(f"| {name} | {row['test']:.3f} | {row['calibrated']:.3f} |")
    sizes = args.power_sizes
    lines += [
        "",
        f"Power: alarm rate over {args.power_windows} windows per cell "
        f"({args.power_references} references of {args.reference_size})",
        "",
        "| shift | shifted share | " + " | ".join(f"window {s}" for s in sizes) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    shifts = dict.fromkeys(k.split("|")[0] for k in result["power"])
    for shift in shifts:
        for share in args.shares:
            cells = [result["power"][f"{shift}|{share}|{s}"]["power"] for s in sizes]
            lines.append(f"| {shift} | {share:g} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from finegate.harness.monitor import Embedder

    embedder = Embedder()
    start = time.perf_counter()
    result: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items() if k != "json"}}
    result["false_alarms"] = false_alarms(args, embedder)
    _say(f"false alarms done after {time.perf_counter() - start:.0f} s")
    result["power"] = power(args, embedder)
    result["seconds"] = time.perf_counter() - start
    print(_markdown(result, args))
    print(f"\n{result['seconds'] / 60:.1f} minutes")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

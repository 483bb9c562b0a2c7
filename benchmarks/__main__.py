"""``python -m benchmarks``: every benchmark in one process, a table, a JSON file.

Sections run in order: machine ceilings, scoring, generation, cache, gate,
training, serving (and, on request, the README's demo command end to end). ``--quick``
uses fewer documents and steps, for checking that the benchmarks work."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = ("scoring", "generation", "cache", "gate", "training", "serving")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer documents and steps")
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections only")
    p.add_argument("--batch-size", type=int, default=8, help="both engines' batch size")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per engine (best kept)")
    p.add_argument("--demo", action="store_true", help="also time `finegate demo` (~20 min)")
    p.add_argument(
        "--out", type=Path, default=Path("benchmarks/latest.json"), help="JSON results file"
    )
    return p.parse_args(argv)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _demo(workdir: Path) -> list:
    from benchmarks._report import Result

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "finegate.harness.cli", "demo", "--workdir", str(workdir / "demo")],
        check=False,
    )
    seconds = time.perf_counter() - start
    ok = done.returncode == 0 and seconds < 20 * 60
    detail = {"exit_code": done.returncode}
    return [Result("demo", "finegate demo, end to end", seconds / 60, "min", "< 20", ok, detail)]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")  # lm-eval's per-request bars
    import transformers

    transformers.utils.logging.disable_progress_bar()
    from benchmarks import _cache, _gate, _generation, _machine, _scoring, _serving, _training
    from benchmarks._model import embedded_model
    from benchmarks._report import markdown_table, print_table, write_json

    sections = set(args.only or SECTIONS)
    limits = {
        "scoring": 32 if args.quick else 131,
        "generation": 12 if args.quick else 48,
        "cache": 3 if args.quick else 8,
        "steps": 3 if args.quick else 6,
        "serving": 2 if args.quick else 6,
    }
    started = time.perf_counter()
    _say("measuring this machine's matmul peak and copy bandwidth")
    peak, bandwidth = _machine.matmul_peak_flops(), _machine.copy_bandwidth()
    machine = {
        **_machine.describe(),
        "matmul_peak_gflops": peak / 1e9,
        "copy_bandwidth_gb_s": bandwidth / 1e9,
    }
    model = embedded_model()
    machine["model"] = {"name": "smollm2-135m-instruct", "parameters": model.parameters}
    results = []
    with tempfile.TemporaryDirectory(prefix="finegate-bench-") as tmp:
        work = Path(tmp)
        if "scoring" in sections:
            _say(f"scoring: {limits['scoring']} documents, finegate and lm-eval hf")
            results += _scoring.run(
                model,
                limit=limits["scoring"],
                batch_size=args.batch_size,
                repeats=args.repeats,
                peak=peak,
            )
        if "generation" in sections:
            _say(f"generation: {limits['generation']} documents, four engines")
            results += _generation.run(
                model,
                limit=limits["generation"],
                batch_size=args.batch_size,
                repeats=args.repeats,
                bandwidth=bandwidth,
            )
        run_id = store = None
        if sections & {"cache", "gate"}:
            _say(f"cache: regression/general, {limits['cache']} documents per task, twice")
            cache_results, run_id, store = _cache.run(
                model, limit=limits["cache"], batch_size=args.batch_size, workdir=work
            )
            if "cache" in sections:
                results += cache_results
        if "gate" in sections and run_id and store:
            _say("gate: pytest over the stored run, three times")
            results += _gate.run(run_id, store, work)
        if "training" in sections:
            _say(f"training: {limits['steps']} steps each of lora, plain peft, dp-sgd")
            results += _training.run(
                model, steps=limits["steps"], batch_size=args.batch_size, workdir=work, peak=peak
            )
        if "serving" in sections:
            _say(f"serving: 8 callers x {limits['serving']} requests, with and without the log")
            results += _serving.run(
                model,
                callers=8,
                per_caller=limits["serving"],
                batch_size=args.batch_size,
                workdir=work,
            )
        if args.demo:
            _say("demo: finegate demo end to end")
            results += _demo(work)
    print_table(results)
    settings = {
        "quick": args.quick,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "limits": limits,
        "wall_s": time.perf_counter() - started,
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    write_json(args.out, machine, results, settings=settings)
    args.out.with_suffix(".md").write_text(markdown_table(results), encoding="utf-8")
    _say(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

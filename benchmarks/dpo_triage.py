"""DPO on SmolLM2 for support triage, end to end through finegate's own commands.

The measurement the training docs quote (run once, not in the test command):

1. an SFT LoRA (the demo recipe, 16 steps) on the support-triage train split;
2. its own samples on the train split (temperature 0.8, ``--samples`` seeds),
   scored against the reference category;
3. ``finegate prefs build --scored ... --metric category.accuracy``: a right against a
   wrong answer to the same ticket (train prompts only: the test split is
   never seen);
4. ``finegate train`` with method ``dpo`` from the SFT adapter (the reference
   is the SFT model);
5. the SFT and the DPO versions evaluated greedily on the test split and
   compared, paired (``finegate compare``).

    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.dpo_triage --workdir /tmp/dpo-triage
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "task" / "support_triage"
FINEGATE = [sys.executable, "-m", "finegate.harness.cli"]


def run(args: list[str], log: Path) -> str:
    started = time.perf_counter()
    done = subprocess.run([*FINEGATE, *args], capture_output=True, text=True)
    with log.open("a") as f:
        f.write(f"$ finegate {' '.join(args)}\n{done.stdout}\n{done.stderr[-4000:]}\n")
    if done.returncode not in (0, 1):
        raise SystemExit(f"finegate {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    print(
        f"  {time.perf_counter() - started:7.1f} s  finegate {' '.join(args[:3])} ...", flush=True
    )
    return done.stdout


def sampling_suite(folder: Path, seed: int, temperature: float) -> Path:
    """The triage suite on its train split, sampled, scored on the category only."""
    spec = yaml.safe_load((SUITE / "suite.yaml").read_text())
    spec["id"] = "task/support_triage-train-samples"
    spec["source"] = {"path": str(SUITE / spec["source"]["path"]), "split": "train"}
    spec["generation"] = {**spec.get("generation", {}), "temperature": temperature, "seed": seed}
    spec["scorers"] = [s for s in spec["scorers"] if s.get("as") == "category"]
    spec.pop("baseline_template", None)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default="/tmp/dpo-triage")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="train tickets sampled")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--sft", default=None, help="an SFT adapter folder to start from")
    parser.add_argument("--pairs-per-case", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None, help="default: one epoch")
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--stop-after", choices=["prefs"], default=None)
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    store, log = str(work / "fg.db"), work / "log.txt"
    timings: dict[str, float] = {}

    def stage(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 1)

    t = time.perf_counter()
    sft = Path(args.sft) if args.sft else work / "sft"
    if not args.sft:
        run(["train", "--recipe", str(ROOT / "train/recipes/demo-lora.yaml"), "-o", str(sft)], log)
    stage("sft_training_s", t)

    t = time.perf_counter()
    samples = []
    for seed in range(1, args.samples + 1):
        suite = sampling_suite(work / f"samples-{seed}", seed, args.temperature)
        label = f"sft-sample-{seed}"
        limit = ["--limit", str(args.limit)] if args.limit else []
        run(["eval", "--adapter", str(sft), "--suite", str(suite), "--label", label,
             "--store", store, *limit], log)  # fmt: skip
        samples.append(label)
    stage("sampling_s", t)

    t = time.perf_counter()
    pairs = work / "pairs.jsonl"
    scored = [a for s in samples for a in ("--scored", s)]
    out = run(["prefs", "build", *scored, "--metric", "category.accuracy", "-o", str(pairs),
               "--pairs-per-case", str(args.pairs_per_case), "--store", store, "--json"],
              log)  # fmt: skip
    built = json.loads(out)
    stage("prefs_build_s", t)
    if args.stop_after == "prefs":
        print(json.dumps({"pairs": built, "timings": timings}, indent=2))
        return

    t = time.perf_counter()
    recipe = {
        "id": "triage-dpo-measured",
        "method": "dpo",
        "base_model": "smollm2-135m-instruct",
        "data": {"path": str(pairs), "format": "preference", "pii": "pattern",
                 "splits": [0.9, 0.1, 0.0]},
        "training": {"epochs": 1, "batch_size": 4,
                     **({"max_steps": args.steps} if args.steps else {}),
                     "learning_rate": args.learning_rate, "max_length": 448,
                     "checkpoint_every": 10},
        "config": {"from_adapter": str(sft), "beta": args.beta},
    }  # fmt: skip
    (work / "dpo.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    dpo = work / "dpo"
    run(["train", "--recipe", str(work / "dpo.yaml"), "-o", str(dpo), "--json"], log)
    stage("dpo_training_s", t)

    t = time.perf_counter()
    run(["eval", "--adapter", str(sft), "--suite", "task/support_triage", "--label", "sft-test",
         "--store", store], log)  # fmt: skip
    run(["eval", "--adapter", str(dpo), "--suite", "task/support_triage", "--label", "dpo-test",
         "--store", store], log)  # fmt: skip
    stage("evaluation_s", t)
    comparison = json.loads(
        run(["compare", "sft-test", "dpo-test", "--store", store, "--json"], log)
    )
    deltas = {
        d["name"]: {k: d[k] for k in ("delta", "ci_low", "ci_high", "p_value", "n_paired", "test")}
        for d in comparison["deltas"]
        if d["name"] in ("category.accuracy", "category", "json_valid", "tokens.completion")
    }
    result = {"pairs": built, "timings": timings, "dpo_minus_sft": deltas}
    (work / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""`finegate eval --shard K/N`: slices of one evaluation written by separate
processes into a shared store (a real PostgreSQL server) make one run whose
records and metrics equal a single process's, timings aside."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from finegate.harness import Store, load_suite
from finegate.harness.run._runner import shard_of

from ..suite.test_lm_eval import tiny_smol  # noqa: F401  (a fixture)
from .test_runner import SUITE, make_suite

# the runner tests' suite, shorter answers, and a second score
GENERATION = SUITE.replace("max_new_tokens: 8", "max_new_tokens: 6") + (
    "  - {name: answer_tokens, as: tokens}\n"
)


def _eval(model, suite, store, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "finegate.harness.cli", "eval", "--model", str(model),
         "--suite", str(suite), "--store", store, "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _done(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


def _untimed(store: Store, run_id: str) -> list[dict]:
    records = []
    for r in store.records(run_id):
        output = {k: v for k, v in r["output"].items() if k != "latency_s"}
        kept = {k: v for k, v in r.items() if k not in ("run_id", "created_at")}
        records.append(kept | {"output": output})
    return records


def _metrics(store: Store, run_id: str) -> dict:
    return {s: [m.to_dict() for m in ms] for s, ms in store.metrics(run_id).items()}


def test_the_slices_are_disjoint_cover_the_suite_and_keep_its_order(tmp_path):
    suite = load_suite(make_suite(tmp_path / "s", n=11))
    slices = [shard_of(suite.cases, (k, 3)) for k in (1, 2, 3)]
    assert [len(s) for s in slices] == [4, 4, 3]
    assert sorted(c.id for s in slices for c in s) == sorted(c.id for c in suite.cases)
    assert [c.id for c in slices[1]] == ["c001", "c004", "c007", "c010"]


def test_two_shards_at_once_equal_one_process_on_a_generation_suite(tmp_path, tiny_llama, postgres):
    suite = make_suite(tmp_path / "s", n=12, yaml_text=GENERATION)
    single = _done(_eval(tiny_llama, suite, str(tmp_path / "one.db")))
    shared = postgres.new_database()
    shards = [_eval(tiny_llama, suite, shared, "--shard", f"{k}/2") for k in (1, 2)]
    results = [_done(p) for p in shards]
    assert len({r["run_id"] for r in results}) == 1  # both joined one run
    assert sorted(r["complete"] for r in results) == [False, True] or all(
        r["complete"] for r in results
    )
    one, many = Store(tmp_path / "one.db"), Store(shared)
    run_id = results[0]["run_id"]
    assert many.get_run(run_id)["status"] == "complete"
    assert _untimed(many, run_id) == _untimed(one, single["run_id"])
    assert _metrics(many, run_id) == _metrics(one, single["run_id"])


def test_shards_of_an_lm_eval_suite_complete_only_when_all_are_in(tmp_path, tiny_smol):  # noqa: F811
    """In one process, one shard after the other: the slices are of lm-eval's
    documents, and the run completes only with the last."""
    from finegate.harness import HFModel, RunOptions, run_suites
    from finegate.harness.suite import resolve_suite

    suite, system = resolve_suite("regression/general"), HFModel(str(tiny_smol))
    one, many = Store(tmp_path / "one.db"), Store(tmp_path / "shared.db")
    single = run_suites(system, [suite], one, RunOptions(limit=3, progress=False))

    def shard(k: int):
        return run_suites(system, [suite], many, RunOptions(limit=3, progress=False, shard=(k, 2)))

    first = shard(1)
    assert not first.complete and first.metrics == {}
    assert (first.cases_in, first.cases_total) == (6, 12)  # 4 tasks, 3 documents each
    assert many.get_run(first.run_id)["status"] == "running"
    again = shard(1)
    assert again.cases_in == 6 and again.timings["computed"] == 0  # nothing twice
    last = shard(2)
    assert last.complete and last.run_id == first.run_id
    assert _untimed(many, last.run_id) == _untimed(one, single.run_id)
    assert _metrics(many, last.run_id) == _metrics(one, single.run_id)


def test_two_ray_replicas_equal_one_process(tmp_path, tiny_smol):  # noqa: F811
    """The built-in executor on a local Ray instance: two model replicas as
    actors, one shard each, on a generation suite and an lm-eval suite at once."""
    suite = make_suite(tmp_path / "s", n=12, yaml_text=GENERATION)
    args = ("--suite", "regression/general", "--limit", "2")
    single = _done(_eval(tiny_smol, suite, str(tmp_path / "one.db"), *args))
    store = str(tmp_path / "ray.db")
    ray = _done(_eval(tiny_smol, suite, store, *args, "--executor", "ray", "--replicas", "2"))
    assert ray["complete"] and ray["timings"]["replicas"] == 2
    one, many = Store(tmp_path / "one.db"), Store(store)
    assert many.get_run(ray["run_id"])["status"] == "complete"
    assert len(many.records(ray["run_id"])) == 2 + 8  # 2 cases, 4 tasks x 2 documents
    assert _untimed(many, ray["run_id"]) == _untimed(one, single["run_id"])
    assert _metrics(many, ray["run_id"]) == _metrics(one, single["run_id"])


@pytest.mark.parametrize("bad", ["0/2", "3/2", "2", "a/b"])
def test_a_bad_shard_is_refused(bad, tmp_path):
    from click.testing import CliRunner

    from finegate.harness.cli import cli

    suite = make_suite(tmp_path / "s", n=2)
    result = CliRunner().invoke(cli, ["eval", "--suite", str(suite), "--shard", bad])
    assert result.exit_code == 2 and "give K/N with 1 <= K <= N" in result.output


def test_shards_cannot_start_separate_runs(tmp_path):
    from click.testing import CliRunner

    from finegate.harness.cli import cli

    suite = Path(make_suite(tmp_path / "s", n=2))
    result = CliRunner().invoke(
        cli, ["eval", "--suite", str(suite), "--shard", "1/2", "--no-resume"]
    )
    assert result.exit_code == 2 and "cannot go with --no-resume" in result.output

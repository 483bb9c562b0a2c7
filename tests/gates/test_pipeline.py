"""The whole pipeline on a real tiny model: prepare, train, evaluate, register, gate, promote."""

import json

from click.testing import CliRunner

from finegate.harness import Store
from finegate.harness import registry as audit
from finegate.harness.cli import cli

from ..train.conftest import arithmetic_rows, write_jsonl

SUITE = """\
id: test/arith
version: 1
kind: task
source: {path: cases.jsonl}
generation: {max_new_tokens: 4}
scorers:
  - {name: exact_match}
  - {name: answer_tokens, as: tokens}
"""


def _setup(tmp_path, tiny_llama, threshold, accuracy=0.0):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "suite.yaml").write_text(SUITE)
    cases = [
        {"id": f"a{i}", "input": f"Q{i}: what is {i} plus {i}?", "references": [str(2 * i)]}
        for i in range(100, 112)
    ]
    write_jsonl(tmp_path / "suite" / "cases.jsonl", cases)
    data = write_jsonl(tmp_path / "data.jsonl", arithmetic_rows(40))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"id: tiny\nmethod: lora\nbase_model: {tiny_llama}\n"
        f"data: {{path: {data}, pii: pattern}}\n"
        "training: {epochs: 1, batch_size: 8, learning_rate: 0.01}\n"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "id: tiny-policy\nversion: 1\nsuites: [test/arith]\ngates:\n"
        f"  - {{id: short, suite: test/arith, metric: tokens.completion, "
        f"max: {threshold}, decide_on: point, min_n: 12}}\n"  # a 12-case test suite
        "  - {id: no-worse, suite: test/arith, metric: exact_match, margin: 1.0, min_n: 12}\n"
        f"  - {{id: accurate, suite: test/arith, metric: exact_match, "
        f"min: {accuracy}, decide_on: point, min_n: 12}}\n"
    )
    _release(tmp_path, policy)
    return recipe, policy


def _release(tmp_path, policy):
    """A root key, a CI key, a trust root, and rules holding arith@staging to the
    policy against a prompted run of the base model."""
    from finegate.harness.registry.trust import create_key, load_public_key, write_trust_root

    keys = tmp_path / "keys"
    for name in ("root", "ci"):
        create_key(keys, name)
    write_trust_root(tmp_path / "trust.json", [load_public_key(keys / "root.pub.json")], 1)
    (tmp_path / "rules.yaml").write_text(
        "keyring:\n  people:\n    ci: {roles: [ci], keys: [keys/ci.pub.json]}\n"
        f"rules:\n  - {{model: arith, alias: staging, policy: {policy.name}, "
        "baseline: {prompted_base: true}}\n"
    )
    trust = ["--store", str(tmp_path / "fg.db"), "--trust-root", str(tmp_path / "trust.json")]
    for args in (
        [
            "rules",
            "sign",
            tmp_path / "rules.yaml",
            "--key",
            keys / "root.key",
            "-o",
            tmp_path / "r.json",
        ],
        ["rules", "apply", tmp_path / "r.json"],
    ):
        result = CliRunner().invoke(cli, [str(a) for a in args] + trust)
        assert result.exit_code == 0, result.output


def _pipeline(tmp_path, recipe, policy):
    return CliRunner().invoke(
        cli,
        [
            "pipeline",
            "--recipe",
            str(recipe),
            "--key",
            str(tmp_path / "keys" / "ci.key"),
            "--trust-root",
            str(tmp_path / "trust.json"),
            "--checkpoints",
            str(tmp_path / "checkpoints"),
            "--suite",
            str(tmp_path / "suite"),
            "--name",
            "arith",
            "--to",
            "staging",
            "--workdir",
            str(tmp_path / "work"),
            "--store",
            str(tmp_path / "fg.db"),
            "--json",
        ],
    )


def test_a_passing_candidate_is_trained_evaluated_registered_and_promoted(tmp_path, tiny_llama):
    recipe, policy = _setup(tmp_path, tiny_llama, threshold=100)
    result = _pipeline(tmp_path, recipe, policy)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["results"]
    assert set(data) == {"prepare", "train", "evaluate", "register", "gate", "promote", "report"}
    assert data["gate"]["verdicts"]["tiny"]["status"] == "pass"
    assert data["promote"]["promoted"]["tiny"]["version"] == "arith:1"
    report = (tmp_path / "work" / "report-tiny.html").read_text()
    assert data["report"]["reports"]["tiny"].endswith("report-tiny.html")
    assert "APPROVED by policy tiny-policy" in report and "arith:1" in report
    store = Store(tmp_path / "fg.db")
    runs = {r["kind"] for r in store.list_runs()}
    assert runs == {"baseline", "eval", "contamination"}
    actions = [r["action"] for r in audit.records(store)]
    assert actions == [
        "rules",
        "register",
        "attest:registration",
        "verdict",
        "attest:verdict",
        "attest:promotion",
        "promote",
    ]
    assert audit.verify(store).ok
    kept = data["promote"]["checkpoint"]
    assert kept.startswith(str(tmp_path / "checkpoints")) and kept.endswith(".checkpoint")
    proof = tmp_path / "work" / "report-tiny.html.proof.json"
    pub = tmp_path / "keys" / "ci.pub.json"
    command = f"finegate audit verify-proof {proof} --public-key {pub}"
    assert command in report and "Inclusion proof of the promotion (record 7)" in report
    checked = CliRunner().invoke(cli, command.split()[1:])
    assert checked.exit_code == 0 and "proven: record 7 (promote arith:1 by" in checked.output
    again = _pipeline(tmp_path, recipe, policy)  # every step is answered from the state file
    assert again.exit_code == 0 and again.stderr.count("done before: skipped") == 7
    contamination = data["prepare"]["datasets"]["tiny"]["contamination_runs"]["test/arith"]
    assert store.get_run(contamination)["kind"] == "contamination"
    write_jsonl(tmp_path / "data.jsonl", arithmetic_rows(48))  # the same recipe, other data
    stale = _pipeline(tmp_path, recipe, policy)
    assert stale.exit_code == 0 and "[prepare] what it reads changed" in stale.stderr
    assert "done before: skipped" not in stale.stderr
    redone = json.loads(stale.stdout)["results"]
    assert (
        redone["prepare"]["datasets"]["tiny"]["sha256"]
        != data["prepare"]["datasets"]["tiny"]["sha256"]
    )


def test_a_failing_candidate_is_not_promoted(tmp_path, tiny_llama):
    recipe, policy = _setup(tmp_path, tiny_llama, threshold=100, accuracy=0.99)
    result = _pipeline(tmp_path, recipe, policy)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["results"]
    assert data["gate"]["verdicts"]["tiny"]["status"] == "fail"
    assert data["promote"]["promoted"] == {}
    assert any(
        "blocking gates did not pass: accurate (fail)" in r
        for r in data["promote"]["refused"]["tiny"]
    )


def test_the_first_failing_step_stops_the_pipeline(tmp_path, tiny_llama):
    recipe, policy = _setup(tmp_path, tiny_llama, threshold=100)
    (tmp_path / "data.jsonl").write_text('{"prompt": "x"}\n')
    result = _pipeline(tmp_path, recipe, policy)
    assert result.exit_code == 2
    assert "pipeline stopped at step 'prepare'" in result.stderr
    assert "data.jsonl:1: completion: required field is missing" in result.stderr

"""A released model as a team has one: two versions of a tiny model (the base, and
the base with a LoRA adapter), each evaluated, registered, gated and signed, one
promoted to production and one to canary under signed release rules."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from finegate.harness import CallableSystem, RunOptions, Store, load_suite, run_suites

SUITE = """\
id: test/echo
version: 1
kind: task
source: {path: cases.jsonl}
generation: {max_new_tokens: 2}
scorers:
  - {name: latency}
"""

POLICY = """\
id: serve-policy
version: 1
suites: [test/echo]
gates:
  - {id: answers, suite: test/echo, metric: latency.p95, max: 1000}
"""


def rules_text(baseline: str) -> str:
    rule = "  - {{model: triage, alias: {alias}, policy: policy.yaml, baseline: {{run: {run}}}}}\n"
    return (
        "keyring:\n  people:\n    ci: {roles: [ci], keys: [keys/ci.pub.json]}\n"
        "    eve: {roles: [], keys: [keys/eve.pub.json]}\nrules:\n"
        + rule.format(alias="production", run=baseline)
        + rule.format(alias="canary", run=baseline)
    )


def _adapter(model_path: Path, folder: Path, init: Any = False) -> Path:
    """A LoRA adapter: random weights by default (its answers differ), or
    ``"small"``: B nudged off zero, so a real model still answers sensibly."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    config = LoraConfig(
        r=4,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights="gaussian" if init == "small" else init,
    )
    with warnings.catch_warnings():  # peft reads a property transformers renamed
        warnings.simplefilter("ignore", FutureWarning)
        tuned = get_peft_model(model, config)
    if init == "small":
        with torch.no_grad():
            for name, param in tuned.named_parameters():
                if "lora_B" in name:
                    param.normal_(0.0, 1e-3)
    tuned.save_pretrained(folder)
    return folder


@dataclass
class Released:
    folder: Path
    store_path: Path
    trust: Path
    checkpoints: Path
    model: Path
    adapter: Path

    def key(self, name: str) -> str:
        return str(self.folder / "keys" / f"{name}.key")

    def cli(self, *args: Any, trust: bool = True) -> tuple[int, str]:
        from click.testing import CliRunner

        from finegate.harness.cli import cli

        extra = ["--store", str(self.store_path)]
        if trust:
            extra += ["--trust-root", str(self.trust)]
        result = CliRunner().invoke(cli, [str(a) for a in args] + extra)
        return result.exit_code, result.output

    def promote(self, ref: str, alias: str) -> None:
        code, out = self.cli("promote", ref, "--to", alias, "--key", self.key("ci"))
        assert code == 0, out

    def rollback(self, alias: str) -> None:
        code, out = self.cli(
            "rollback", "--model", "triage", "--alias", alias, "--key", self.key("ci")
        )
        assert code == 0, out


def release(root: Path, model: str, model_path: Path, init: Any = False) -> Released:
    """``triage:1`` (the model) at production and ``triage:2`` (with an adapter) at
    canary, each evaluated, registered, gated and promoted with signed statements.
    The caller sets FINEGATE_CHECKPOINTS."""
    from finegate.harness import HFModel
    from finegate.harness.registry.trust import create_key, load_public_key, write_trust_root

    folder = root / "release"
    (root / "suite").mkdir()
    (root / "suite" / "suite.yaml").write_text(SUITE)
    rows = [{"id": f"c{i}", "input": f"say {i}"} for i in range(30)]
    (root / "suite" / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(root / "suite")
    store = Store(root / "fg.db")
    options = RunOptions(progress=False)
    adapter = _adapter(model_path, root / "adapter", init)
    plain = HFModel(model, device="cpu", dtype="float32")
    tuned = HFModel(model, adapter=str(adapter), device="cpu", dtype="float32")
    base = CallableSystem(lambda prompt: "ok", name="rules", version="1")
    baseline = run_suites(base, [suite], store, options).run_id
    run_ids = [run_suites(s, [suite], store, options).run_id for s in (plain, tuned)]
    for name in ("root", "ci", "eve"):
        create_key(folder / "keys", name)
    trust = folder / "trust-root.json"
    write_trust_root(trust, [load_public_key(folder / "keys" / "root.pub.json")], 1)
    (folder / "policy.yaml").write_text(POLICY)
    made = Released(folder, root / "fg.db", trust, root / "checkpoints", model_path, adapter)
    (folder / "rules.yaml").write_text(rules_text(baseline))
    steps = [
        (
            "rules",
            "sign",
            folder / "rules.yaml",
            "--key",
            made.key("root"),
            "-o",
            folder / "r.json",
        ),
        ("rules", "apply", folder / "r.json"),
    ]
    for run_id in run_ids:
        steps += [
            ("registry", "register", "triage", "--run", run_id, "--key", made.key("ci")),
            ("gate", "--policy", folder / "policy.yaml", "--run", run_id, "--baseline", baseline,
             "--key", made.key("ci")),
        ]  # fmt: skip
    for step in steps:
        code, out = made.cli(*step, trust=step[0] != "registry")
        assert code == 0, (step, out)
    made.promote("triage:1", "production")
    made.promote("triage:2", "canary")
    return made


@pytest.fixture(scope="module")
def released(tmp_path_factory, tiny_chat_llama) -> Iterator[Released]:
    root = tmp_path_factory.mktemp("released")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_CHECKPOINTS", str(root / "checkpoints"))
        yield release(root, str(tiny_chat_llama), tiny_chat_llama)

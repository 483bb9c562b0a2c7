"""The built-in pii/probes suite: its data, and its scorers on answers that leak or refuse."""

import json
from collections import Counter
from pathlib import Path

from finegate.harness import CallableSystem, Store
from finegate.harness.run import run_suites
from finegate.harness.suite import resolve_suite


def test_probes_are_many_varied_and_regenerate_identically():
    suite = resolve_suite("pii/probes")
    assert suite.config.kind == "pii" and len(suite.cases) == 147
    categories = Counter(c.labels["category"] for c in suite.cases)
    assert len(categories) == 11 and min(categories.values()) >= 10
    assert len({c.input for c in suite.cases}) == 147
    from finegate.suites import builtin_suites

    folder = builtin_suites()["pii/probes"].parent
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", folder / "_generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    lines = Path(folder / "probes.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(x) for x in lines] == gen.probes()


def test_leak_rates_per_type_and_category(tmp_path):
    suite = resolve_suite("pii/probes")

    def answer(prompt):
        text = prompt[-1].content
        if "phone number of" in text:
            return "You can call them on +1 415 555 0199."
        return "I can't share personal information about private individuals."

    run = run_suites(CallableSystem(answer, name="half"), [suite], Store(tmp_path / "s.db"))
    metrics = {m.name: m for m in run.metrics["pii/probes"]}
    leaking = sum("phone number of" in c.input for c in suite.cases)
    assert metrics["pii_leak"].value == leaking / 147 and metrics["pii_leak"].n == 147
    assert metrics["pii_identifiers.PHONE_NUMBER"].value == leaking / 147
    assert metrics["pii_identifiers"].value == leaking / 147
    assert metrics["pii_leak.category.medical"].value == 0.0
    assert metrics["pii_leak.category.medical"].n == 12
    assert metrics["pii_leak.category.contact_lookup"].n == 16

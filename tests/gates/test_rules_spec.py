"""A rules spec compiles into signed-ready rules, or every problem is named at once."""

from __future__ import annotations

import pytest

from finegate.gates import compile_rules, load_policy
from finegate.harness.core import InputError
from finegate.harness.registry.trust import create_key, rules_digest


def test_a_spec_compiles_with_the_policy_content_and_chains(tmp_path):
    create_key(tmp_path / "keys", "ci")
    spec = tmp_path / "rules.yaml"
    spec.write_text(
        "keyring:\n  people:\n    ci: {roles: [ci], keys: [keys/ci.pub.json]}\n"
        "rules:\n  - {model: m, alias: production, policy: regulated, baseline: {run: r1}}\n"
    )
    first = compile_rules(spec, None, "2026-12-07T00:00:00+00:00")
    pin = first.rules[0].policy
    assert (first.version, first.previous) == (1, None)
    assert pin.hash == load_policy("regulated").hash() and pin.content["id"] == "regulated"
    assert first.rule_for("m", "production").baseline.run == "r1"
    second = compile_rules(spec, first, "2026-12-08T00:00:00+00:00")
    assert (second.version, second.previous) == (2, rules_digest(first))


def test_every_problem_of_a_spec_is_located(tmp_path):
    spec = tmp_path / "rules.yaml"
    spec.write_text(
        "keyring:\n"
        "  people:\n"
        "    ci: {roles: [ci], keys: [keys/missing.pub.json]}\n"
        "rules:\n"
        "  - {model: m, alias: prod, policy: regulated, baseline: {run: r1}, promoters: [ops]}\n"
        "  - {model: m, alias: prod, policy: regulated, baseline: {run: r1, alias: production}}\n"
    )
    with pytest.raises(InputError) as caught:
        compile_rules(spec, None, "2026-12-07T00:00:00+00:00")
    text = str(caught.value)
    assert (
        f"{spec}:3: keyring.people.ci.keys[0]: keys/missing.pub.json: public key not found" in text
    )
    assert f"{spec}:5: rules[0].promoters: no one in the keyring holds ops" in text
    assert f"{spec}:6: rules[1].baseline: Value error, a baseline rule names exactly one" in text
    assert f"{spec}:6: rules[1]: a second rule for m@prod" in text

"""Attacks on a release, each through the attacker's own channel, each refused or
found with a message that names what was wrong.

Who attacks: a CI job author (chooses the command line: the policy, the baseline,
what to sign), someone with write access to the store (raw sqlite3) or to MLflow
(its client, writing tags and aliases), a holder of one approver key.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime

import pytest

from finegate.harness.registry import (
    open_registry,
    record_statement,
    registration_of,
    sign_verdict,
)
from finegate.harness.registry.trust import (
    create_key,
    current_rules,
    load_public_key,
    load_signer,
    load_trust_root,
    make_statement,
    sign,
    write_trust_root,
)

from ..audit_attacks import append_rules_record
from .conftest import RELEASE_POLICY, rules_text, write_policy


def _register(release, *run_ids, registry="store"):
    for run_id in run_ids:
        code, out = release.cli(
            "registry",
            "register",
            "triage",
            "--run",
            run_id,
            "--key",
            release.key("ci"),
            "--registry",
            registry,
            trust=False,
        )
        assert code == 0, out


def _gate(release, run_id, baseline=None, policy=None):
    return release.cli(
        "gate",
        "--policy",
        policy or release.policy,
        "--run",
        run_id,
        "--baseline",
        baseline or release.runs.baseline,
        "--key",
        release.key("ci"),
    )


def _approve(release, ref, who="ana", registry="store"):
    return release.cli(
        "approve", ref, "--key", release.key(who), "--reason", "read it", "--registry", registry
    )


def _promote(release, ref, registry="store"):
    return release.cli(
        "promote", ref, "--to", "production", "--key", release.key("ci"), "--registry", registry
    )


def _db(release):
    return sqlite3.connect(release.runs.store_path)


def _rewritten(text: str, change) -> str:
    """An envelope whose statement an attacker edited (the signatures left as they were)."""
    envelope = json.loads(text)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    change(statement)
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps(envelope)


# -- 1. the caller picks the policy -------------------------------------------------------


def test_the_caller_cannot_pick_the_policy(release, tmp_path):
    runs = release.runs
    _register(release, runs.weak)
    _approve(release, "triage:1")
    # a one-gate policy that anything passes, on the command line
    lax = write_policy(
        tmp_path / "lax.yaml",
        "  - {id: any, suite: test/triage, metric: category.accuracy, min: 0.0}\n",
    )
    code, out = release.cli(
        "promote", "triage:1", "--to", "production", "--policy", lax, "--key", release.key("ci")
    )
    assert code == 2 and "promote takes no policy: the release rules name the policy" in out
    # a copy of the pack that keeps its name and version but waives the failing gates
    copy = tmp_path / "copy.yaml"
    copy.write_text(
        "id: test-policy\nversion: 1\nsuites: [test/triage]\ngates:\n"
        + RELEASE_POLICY
        + "waivers:\n  - {gate: accuracy, owner: ci, reason: trust me, expires: 2099-01-01}\n"
        "  - {gate: not-worse, owner: ci, reason: trust me, expires: 2099-01-01}\n"
    )
    assert _gate(release, runs.weak, policy=copy)[0] == 0  # its own verdict passes...
    code, out = _promote(release, "triage:1")
    assert code == 1 and "no verdict of policy test-policy v1" in out  # ...and does not count
    assert "verdicts of other policies do not count: test-policy (" in out


# -- 2. the caller picks the baseline -----------------------------------------------------


def test_the_caller_cannot_pick_the_baseline(release):
    runs = release.runs
    _register(release, runs.good)
    _approve(release, "triage:1")
    assert _gate(release, runs.good, baseline=runs.good)[0] == 0  # against itself, it passes
    code, out = _promote(release, "triage:1")
    assert code == 1 and "the verdict's baseline is the candidate itself" in out
    assert f"the baseline must be run {runs.baseline}; the verdict's is {runs.good}" in out
    # a weaker baseline the rules do not name does not count either
    _gate(release, runs.good, baseline=runs.weak)
    code, out = _promote(release, "triage:1")
    assert (
        code == 1
        and f"the baseline must be run {runs.baseline}; the verdict's is {runs.weak}" in out
    )


# -- 3. approvals are free text ------------------------------------------------------------


def test_approvals_are_signatures_of_people_holding_the_role(release):
    runs = release.runs
    _register(release, runs.good)
    _gate(release, runs.good)
    code, out = release.cli("approve", "triage:1", "--by", "risk-officer", "--reason", "x")
    assert code == 2 and "No such option '--by'" in out
    with _db(release) as db:  # a name typed into the table
        db.execute(
            "INSERT INTO model_approvals (name, version, by, reason, at) VALUES "
            "('triage', 1, 'risk-officer', 'forged', '2026-12-07T00:00:00+00:00')"
        )
    assert _approve(release, "triage:1", who="eve")[0] == 0  # eve holds no role
    code, out = _promote(release, "triage:1")
    assert (
        code == 1
        and "no signed approval of triage:1 by a person holding the role risk-officer" in out
    )
    # the registrant may not approve: refused at once, and again at promotion when
    # the statement is signed past the command line
    code, out = _approve(release, "triage:1", who="ci")
    assert code == 2 and "ci registered this version and may not approve it too (four eyes)" in out
    rules = current_rules(runs.store, load_trust_root(release.trust))
    registration, _ = registration_of(runs.store, rules, "triage", 1)
    ci = load_signer(release.key("ci"))
    statement = make_statement(
        "approval",
        registration.digests,
        {
            "version": "triage:1",
            "reason": "me",
            "roles": ["risk-officer"],
            "created_at": datetime.now(UTC).isoformat(),
        },
    )
    record_statement(
        runs.store,
        sign(statement, [ci]),
        kind="approval",
        subject=registration.digests["fingerprint"],
        ref="triage:1",
        actor="ci",
    )
    code, out = _promote(release, "triage:1")
    assert (
        code == 1
        and "no signed approval of triage:1 by a person holding the role risk-officer" in out
    )
    assert _approve(release, "triage:1", who="ana")[0] == 0
    assert _promote(release, "triage:1")[0] == 0


def test_the_trainer_may_not_approve(release):
    runs = release.runs
    registry = open_registry(runs.store)
    version = registry.register(
        "triage",
        fingerprint=runs.store.get_run(runs.good)["fingerprint"],
        source=None,
        lineage={"training_manifest": {"trained_by": "ana"}},
        actor="ci",
    )
    from finegate.harness.registry import sign_registration

    sign_registration(
        runs.store,
        version,
        runs.store.get_run(runs.good),
        load_signer(release.key("ci")),
        actor="ci",
    )
    code, out = _approve(release, "triage:1", who="ana")
    assert code == 2 and "ana trained this version and may not approve it too (four eyes)" in out


def _all_pass(statement):
    gates = statement["predicate"]["gates"]
    statement["predicate"]["gates"] = {g: {**v, "status": "pass"} for g, v in gates.items()}


# -- 4. verdict rows are trusted ------------------------------------------------------------


def test_verdict_rows_and_statements_edited_in_the_store_do_not_count(release):
    runs = release.runs
    _register(release, runs.weak)
    _approve(release, "triage:1")
    assert _gate(release, runs.weak)[0] == 1
    with _db(release) as db:  # the verdict row, set to pass
        db.execute(
            "UPDATE verdicts SET status = 'pass', "
            "verdict_json = replace(verdict_json, '\"fail\"', '\"pass\"')"
        )
    code, out = _promote(release, "triage:1")
    assert code == 1 and "blocking gates did not pass: accuracy (fail)" in out
    with _db(release) as db:  # the signed statement's payload, rewritten to pass
        for sid, text in db.execute(
            "SELECT id, envelope_json FROM statements WHERE kind = 'verdict'"
        ).fetchall():
            db.execute(
                "UPDATE statements SET envelope_json = ? WHERE id = ?",
                (_rewritten(text, _all_pass), sid),
            )
    code, out = _promote(release, "triage:1")
    assert code == 1 and "is not signed by a key of ci: the signatures do not verify" in out


# -- a CI signature proves what it claims ---------------------------------------------------


def test_a_stale_verdict_is_caught_by_recomputation(release):
    runs = release.runs
    _register(release, runs.good)
    _approve(release, "triage:1")
    assert _gate(release, runs.good)[0] == 0
    with _db(release) as db:  # the records change after the verdict was signed
        db.execute(
            "UPDATE records SET scores_json = replace(scores_json, '1.0', '0.0') WHERE run_id = ?",
            (runs.good,),
        )
    code, out = _promote(release, "triage:1")
    assert code == 1 and f"the records of the candidate run {runs.good} changed after" in out
    verdict_id = runs.store.verdicts(run_id=runs.good)[0]["id"]
    code, out = release.cli("verdict", "verify", verdict_id)
    assert code == 1 and "changed after the verdict" in out


def test_a_verdict_the_records_do_not_support_is_refused_though_signed_by_ci(release):
    runs = release.runs
    _register(release, runs.weak)
    _approve(release, "triage:1")
    assert _gate(release, runs.weak)[0] == 1
    honest = runs.store.verdicts(run_id=runs.weak)[0]
    forged = {
        **honest,
        "id": "forged",
        "status": "pass",
        "gates": [{**g, "status": "pass"} for g in honest["gates"]],
    }
    store = runs.store
    sign_verdict(
        store,
        forged,
        store.get_run(runs.weak),
        store.get_run(runs.baseline),
        load_signer(release.key("ci")),
        actor="ci",
    )
    code, out = _promote(release, "triage:1")
    assert code == 1 and "gate accuracy: the signed verdict says pass, the records say fail" in out
    code, out = release.cli("verdict", "verify", "forged")
    assert code == 1 and "gate not-worse: the signed verdict says pass, the records say fail" in out


# -- 5. MLflow tags and aliases are trusted -------------------------------------------------


@pytest.fixture(params=["embedded", "server"])
def mlflow_uri(request, tmp_path) -> str:
    """MLflow's embedded SQLite store, or the session's real ``mlflow server``."""
    if request.param == "server":
        return request.getfixturevalue("mlflow_server").uri
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_mlflow_tags_and_aliases_are_not_trusted(release, mlflow_uri):
    from mlflow import MlflowClient

    runs = release.runs
    uri = mlflow_uri
    registry, client = f"mlflow:{uri}", MlflowClient(tracking_uri=uri, registry_uri=uri)
    _register(release, runs.good, runs.weak, registry=registry)
    _gate(release, runs.good)
    # a forged approval tag
    client.set_model_version_tag(
        "triage", "1", "finegate.approval.1", json.dumps({"by": "risk-officer"})
    )
    code, out = _promote(release, "triage:1", registry=registry)
    assert code == 1 and "no signed approval of triage:1" in out
    _approve(release, "triage:1", registry=registry)
    assert _promote(release, "triage:1", registry=registry)[0] == 0
    # the weak version re-tagged with the vetted fingerprint
    good = client.get_model_version("triage", "1").tags["finegate.fingerprint"]
    client.set_model_version_tag("triage", "2", "finegate.fingerprint", good)
    code, out = _promote(release, "triage:2", registry=registry)
    assert code == 1 and "changed after registration" in out
    code, out = release.cli("registry", "verify", "--registry", registry)
    assert code == 1 and "triage:2: the registry gives fingerprint" in out
    client.set_model_version_tag(
        "triage", "2", "finegate.fingerprint", runs.store.get_run(runs.weak)["fingerprint"]
    )
    # the alias moved directly in MLflow
    client.set_registered_model_alias("triage", "production", "2")
    code, out = release.cli("registry", "verify", "--registry", registry)
    assert (
        code == 1
        and "triage@production: points at version 2 but the last signed move put 1 there" in out
    )
    code, out = release.cli(
        "rollback",
        "--model",
        "triage",
        "--alias",
        "production",
        "--key",
        release.key("ci"),
        "--registry",
        registry,
    )
    assert code == 1 and "it was moved outside finegate" in out
    client.set_registered_model_alias("triage", "production", "1")
    assert release.cli("registry", "verify", "--registry", registry)[0] == 0


def test_a_half_done_mlflow_move_is_recorded_first_and_completed(release, mlflow_uri, monkeypatch):
    from mlflow import MlflowClient

    runs = release.runs
    uri = mlflow_uri
    registry, client = f"mlflow:{uri}", MlflowClient(tracking_uri=uri, registry_uri=uri)
    _register(release, runs.good, registry=registry)
    _gate(release, runs.good)
    _approve(release, "triage:1", registry=registry)

    def down(*args, **kwargs):
        raise ConnectionError("MLflow is down")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", down)
    code, out = _promote(release, "triage:1", registry=registry)
    assert code == 2 and "is recorded but MLflow did not move the alias" in out
    monkeypatch.undo()
    assert "production" not in client.get_registered_model("triage").aliases
    code, out = release.cli("registry", "verify", "--registry", registry)
    assert code == 1 and "the signed move to version 1 was recorded but not made" in out
    code, out = release.cli("registry", "verify", "--repair", "--registry", registry)
    assert code == 0 and "repaired" in out
    assert int(client.get_model_version_by_alias("triage", "production").version) == 1
    assert release.cli("registry", "verify", "--registry", registry)[0] == 0


# -- the root of trust ----------------------------------------------------------------------


def test_the_rules_cannot_be_changed_by_writing_the_store(release):
    runs = release.runs
    _register(release, runs.weak)
    _approve(release, "triage:1")
    _gate(
        release,
        runs.weak,
        policy=write_policy(
            release.folder / "lax.yaml",
            "  - {id: any, suite: test/triage, metric: category.accuracy, min: 0.0}\n",
        ),
    )
    with _db(release) as db:  # point the rule at the lax policy, in the stored rules
        text = db.execute("SELECT envelope_json FROM release_rules").fetchone()[0]

        def weaker(statement):
            statement["predicate"]["rules"][0]["baseline"] = {"run": runs.weak}
            _subject_matches(statement)

        db.execute("UPDATE release_rules SET envelope_json = ?", (_rewritten(text, weaker),))
    code, out = _promote(release, "triage:1")
    assert code == 2 and "release rules version 1" in out and "were rewritten" in out
    # new rules signed by a key that is not the root
    with _db(release) as db:
        db.execute("UPDATE release_rules SET envelope_json = ?", (text,))
    spec = release.folder / "mine.yaml"
    spec.write_text(rules_text(f"{{run: {runs.weak}}}", policy="lax.yaml"))
    release.cli(
        "rules", "sign", spec, "--key", release.key("eve"), "-o", release.folder / "mine.json"
    )
    code, out = release.cli("rules", "apply", release.folder / "mine.json")
    assert code == 2 and "the new release rules" in out and "do not verify" in out
    with _db(release) as db:  # a version with its audit record gone: the log no longer extends
        db.execute("DELETE FROM audit_log WHERE subject = 'release-rules'")
    code, out = _promote(release, "triage:1")
    assert code == 1 and "the audit log is broken at record" in out
    code, out = release.cli("rules", "show")
    assert code == 2 and "release rules version 1" in out and "has no audit record" in out


def test_a_revoked_key_signs_nothing_after_its_revocation(release):
    runs = release.runs
    _register(release, runs.good)
    _approve(release, "triage:1")
    since = datetime.now(UTC).isoformat()
    spec = rules_text(f"{{run: {runs.baseline}}}").replace(
        "rules:\n",
        f"  revoked:\n    - {{key: keys/ci.pub.json, since: '{since}', reason: laptop lost}}\n"
        "rules:\n",
    )
    assert release.rules(spec)[0] == 0
    assert _gate(release, runs.good)[0] == 0  # ci still signs: its signature no longer counts
    code, out = _promote(release, "triage:1")
    assert code == 1 and "revoked since" in out


def test_rotating_the_root_key_needs_the_rules_signed_again(release):
    folder = release.folder
    old = folder / "old-trust-root.json"
    old.write_text(release.trust.read_text())
    create_key(folder / "keys", "root2")
    write_trust_root(release.trust, [load_public_key(folder / "keys" / "root2.pub.json")], 1)
    code, out = release.cli("rules", "show")
    assert code == 2 and "the signatures do not verify" in out
    spec, r2 = folder / "rules.yaml", folder / "r2.json"
    new_root = str(folder / "keys" / "root2.key")
    code, out = release.cli("rules", "sign", spec, "--key", new_root, "-o", r2)
    assert code == 2 and "--previous-trust-root" in out  # which root signed version 1?
    previous = ("--previous-trust-root", old)
    code, out = release.cli("rules", "sign", spec, "--key", new_root, "-o", r2, *previous)
    assert code == 0 and "version 2 follows version 1 and takes the rules over" in out, out
    assert release.cli("rules", "apply", r2)[0] == 2  # apply checks version 1's root too
    assert release.cli("rules", "apply", r2, *previous)[0] == 0
    code, out = release.cli("rules", "show")
    assert code == 0 and "release rules version 2" in out
    # the old root cannot sign a version 3 any more
    code, out = release.cli("rules", "sign", spec, "--key", release.key("root"), "-o", folder / "3")
    assert release.cli("rules", "apply", folder / "3")[0] == 2
    # version 1, signed by the old root, is still held to the chain: an edit is found
    with _db(release) as db:
        text = db.execute("SELECT envelope_json FROM release_rules WHERE version = 1").fetchone()[0]
        db.execute(
            "UPDATE release_rules SET envelope_json = ? WHERE version = 1",
            (_rewritten(text, _backdated),),
        )
    code, out = release.cli("rules", "show")
    assert code == 2 and "version 2" in out and "does not follow version 1" in out


def _backdated(statement) -> None:
    """Version 1's text changed, its subject digest made to match."""
    statement["predicate"]["created_at"] = "2020-01-01T00:00:00+00:00"
    _subject_matches(statement)


def _subject_matches(statement) -> None:
    from finegate.harness.registry.trust import ReleaseRules, rules_digest

    digest = rules_digest(ReleaseRules.model_validate(statement["predicate"]))
    statement["subject"] = [{"name": "finegate/rules", "digest": {"sha256": digest}}]


def test_k_of_n_root_signatures(release):
    folder = release.folder
    create_key(folder / "keys", "root2")
    roots = [load_public_key(folder / "keys" / f"{n}.pub.json") for n in ("root", "root2")]
    old = folder / "old-trust-root.json"
    old.write_text(release.trust.read_text())
    write_trust_root(release.trust, roots, 2)
    spec, one, two = folder / "rules.yaml", folder / "one.json", folder / "two.json"
    previous = ("--previous-trust-root", old)
    sign = ("rules", "sign", spec, "--key", release.key("root"), "-o", one, *previous)
    assert release.cli(*sign)[0] == 0
    code, out = release.cli("rules", "apply", one, *previous)
    assert code == 2 and "2 needed" in out
    assert (
        release.cli("rules", "sign", one, "--key", str(folder / "keys" / "root2.key"), "-o", two)[0]
        == 0
    )
    assert release.cli("rules", "apply", two, *previous)[0] == 0


def test_a_version_no_root_signed_is_never_followed(release):
    """A row written into the store as version 2 (chained, logged, signed by eve)
    looks like the history before a root rotation: the new root must not take
    over from it."""
    from finegate.gates._rules_spec import compile_rules
    from finegate.harness.registry.trust import (
        load_signer,
        rules_digest,
        rules_statement,
        sign,
        stored_rules,
    )
    from finegate.harness.store import Store

    folder = release.folder
    store = Store(release.runs.store_path)
    spec = folder / "eve.yaml"
    spec.write_text(rules_text(f"{{run: {release.runs.weak}}}"))
    forged = compile_rules(str(spec), stored_rules(store), "2026-12-01T00:00:00+00:00")
    envelope = sign(rules_statement(forged), [load_signer(release.key("eve"))])
    with _db(release) as db:
        db.execute(
            "INSERT INTO release_rules (version, created_at, envelope_json) VALUES (2, ?, ?)",
            (forged.created_at, json.dumps(envelope)),
        )
    append_rules_record(store, 2, rules_digest(forged))
    old = folder / "old-trust-root.json"
    old.write_text(release.trust.read_text())
    create_key(folder / "keys", "root2")
    write_trust_root(release.trust, [load_public_key(folder / "keys" / "root2.pub.json")], 1)
    previous = ("--previous-trust-root", old)
    out3 = folder / "r3.json"
    code, out = release.cli(
        "rules",
        "sign",
        folder / "rules.yaml",
        "--key",
        str(folder / "keys" / "root2.key"),
        "-o",
        out3,
        *previous,
    )
    assert code == 2 and "release rules version 2" in out and "the previous root" in out


# -- the envelopes are standard -------------------------------------------------------------


def test_a_statement_verifies_with_securesystemslib_itself(release):
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError

    runs = release.runs
    _register(release, runs.good)
    _gate(release, runs.good)
    with _db(release) as db:
        text = db.execute("SELECT envelope_json FROM statements WHERE kind = 'verdict'").fetchone()[
            0
        ]
    ci = load_public_key(release.folder / "keys" / "ci.pub.json")
    envelope = Envelope.from_dict(json.loads(text))
    assert list(envelope.verify([ci.key], 1)) == [ci.keyid]
    statement = json.loads(envelope.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://finegate.dev/attestation/verdict/v1"
    fingerprint = runs.store.get_run(runs.good)["fingerprint"]
    assert statement["subject"] == [
        {"name": "finegate/fingerprint", "digest": {"sha256": fingerprint}}
    ]
    eve = load_public_key(release.folder / "keys" / "eve.pub.json")
    with pytest.raises(VerificationError, match="Found: 0, Expected 1"):
        Envelope.from_dict(json.loads(text)).verify([eve.key], 1)


def test_a_pipeline_decides_promotion_again_after_a_new_approval(release):
    """A pipeline whose promotion was refused for want of an approval must not
    answer the next run from its state file once the approval is signed."""
    from finegate.gates._steps import release_content
    from finegate.harness.pipeline import PipelineContext

    _register(release, release.runs.good)
    context = PipelineContext(
        {"store": str(release.runs.store_path), "trust_root": str(release.trust)}
    )
    before = release_content(context)
    assert before is not None and before["approvals"] == []
    assert _approve(release, "triage:1")[0] == 0
    after = release_content(context)
    assert after is not None and len(after["approvals"]) == 1
    assert after["rules"] == before["rules"] and after != before


def test_a_bundle_does_not_vouch_for_a_statement_made_after_its_keys_revocation(release, tmp_path):
    from click.testing import CliRunner

    from finegate.harness.cli import cli

    runs = release.runs
    _register(release, runs.good)
    _approve(release, "triage:1")
    since = datetime.now(UTC).isoformat()
    spec = rules_text(f"{{run: {runs.baseline}}}").replace(
        "rules:\n", f"  revoked:\n    - {{key: keys/ci.pub.json, since: '{since}'}}\nrules:\n"
    )
    assert release.rules(spec)[0] == 0
    assert _gate(release, runs.good)[0] == 0  # signed by ci, after its revocation
    bundle = tmp_path / "bundle.json"
    code, out = release.cli(
        "audit", "export", "-o", bundle, "--key", release.key("root"), trust=False
    )
    assert code == 0, out
    verify = ["audit", "verify", "--bundle", str(bundle), "--trust-root", str(release.trust)]
    result = CliRunner().invoke(cli, verify)
    assert result.exit_code == 1 and "revoked since" in result.output

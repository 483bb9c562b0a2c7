"""What a production monitor's signed verdict may do, as the release rules say:
roll the canary back (the one move without approval) and, where the rules
require it, be needed to promote the canary to production.

Who might get around it: the holder of the monitor key (promotes, rolls
production back, or signs a move of its own making), a CI job author (rolls the
canary back with the CI key, promotes without the canary stage or with a verdict
of another policy or an old production), one whose honest key signs a verdict
the request log does not support. Real keys, a real store, real signatures;
the systems are rules (no model).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from finegate.gates import check_policy, compile_rules, load_policy, recheck_verdict
from finegate.harness import CallableSystem, RunOptions, load_suite, run_suites
from finegate.harness.core import InputError, sha256_json
from finegate.harness.registry import (
    PromotionRefused,
    alias_movers,
    audited_holder,
    open_registry,
    promote,
    records,
    register_run,
    registration_of,
    roll_back_canary,
    rollback,
    sign_approval,
    sign_monitor_verdict,
    sign_verdict,
    verify_registry,
)
from finegate.harness.registry._acts import sign_alias_move
from finegate.harness.registry.trust import (
    BaselineRule,
    KeyEntry,
    Keyring,
    MonitorRule,
    Person,
    PolicyPin,
    ReleaseRules,
    Rule,
    create_key,
    current_rules,
    load_public_key,
    load_signer,
    make_statement,
    rules_digest,
    rules_statement,
    sign,
    store_rules,
    write_trust_root,
)
from finegate.harness.serve import AliasSource
from finegate.harness.store import Store, now_iso

SUITE = """\
id: test/triage
version: 1
kind: task
source: {path: cases.jsonl}
scorers:
  - {name: label_accuracy, as: category, args: {label: category}}
"""
POLICY = """\
id: release-policy
version: 1
suites: [test/triage]
gates:
  - {id: accuracy, suite: test/triage, metric: category.accuracy, min: 0.5}
  - {id: risk-approval, check: approval, approvers: [risk-officer]}
"""
CATEGORIES = ["billing", "shipping", "account_access"]
PEOPLE = {"ci": ["ci"], "ana": ["risk-officer"], "mon": ["monitor"], "root": []}


def _pin(content: dict[str, Any]) -> PolicyPin:
    return PolicyPin(
        id=content["id"],
        version=str(content["version"]),
        hash=sha256_json(content),
        content=content,
    )


WATCH = _pin({"id": "canary-watch", "version": "1", "monitor": {"gates": [{"id": "errors"}]}})
OTHER_WATCH = _pin({"id": "canary-watch", "version": "2", "monitor": {"gates": [{"id": "cost"}]}})


def _system(wrong_every: int) -> CallableSystem:
    def answer(prompt):
        i = int(prompt[-1].content.split()[-1])
        return "wrong" if i % wrong_every == 0 else CATEGORIES[i % 3]

    return CallableSystem(answer, name=f"rules-{wrong_every}", version=str(wrong_every))


@dataclass
class Release:
    """triage:1 at production (it passed its canary stage first), triage:2 at
    canary, triage:3 registered, gated and approved but never at canary."""

    folder: Path
    store: Store
    registry: Any
    trust: Any
    keys: dict[str, Any]
    policy: PolicyPin
    baseline: str
    checkpoints: Path
    log: dict[str, str] = field(default_factory=dict)  # report id -> what the request log gives

    @property
    def rules(self) -> ReleaseRules:
        return current_rules(self.store, self.trust)

    def adopt(self, monitor: MonitorRule | None) -> ReleaseRules:
        """A new version of the rules, signed by the root: triage@canary, and
        triage@production watched by ``monitor``."""
        keyring = Keyring(
            people={
                name: Person(
                    roles=roles,
                    keys=[KeyEntry(keyid=k.keyid, key=k.key.to_dict())],
                )
                for name, roles in PEOPLE.items()
                for k in [load_public_key(self.folder / "keys" / f"{name}.pub.json")]
            }
        )
        current = current_rules(self.store, self.trust)
        baseline = BaselineRule(run=self.baseline)
        rules = ReleaseRules(
            version=current.version + 1 if current else 1,
            previous=rules_digest(current) if current else None,
            created_at=now_iso(),
            keyring=keyring,
            rules=[
                Rule(model="triage", alias="canary", policy=self.policy, baseline=baseline),
                Rule(
                    model="triage",
                    alias="production",
                    policy=self.policy,
                    baseline=baseline,
                    monitor=monitor,
                ),
            ],
        )
        envelope = sign(rules_statement(rules), [self.keys["root"]])
        return store_rules(self.store, envelope, self.trust, actor="root")

    def registration(self, version: int) -> Any:
        found, why = registration_of(self.store, self.rules, "triage", version)
        assert found is not None, why
        return found

    def recheck(self, verdict: Any, pin: PolicyPin) -> list[str]:
        return recheck_verdict(
            self.store, verdict.predicate, verdict.digests, pin.content, pin.hash
        )

    def monitor_recheck(self, verdict: Any, pin: PolicyPin) -> list[str]:
        """What the monitor's recomputation from the request log finds: the status
        the log gives for the verdict's report, under the pinned policy."""
        predicate = verdict.predicate
        if predicate["policy"]["hash"] != pin.hash:
            return ["the monitor verdict is not of the policy the rules pin"]
        logged = self.log.get(predicate["report"])
        if logged != predicate["status"]:
            return [f"the request log gives {logged}, the verdict says {predicate['status']}"]
        return []

    def watch(
        self,
        canary: int,
        production: int | None,
        status: str,
        *,
        pin: PolicyPin = WATCH,
        signer: str = "mon",
        logged: str | None = None,
    ) -> str:
        """A monitor verdict about ``triage:canary`` against ``triage:production``,
        signed by ``signer``; the request log gives ``logged`` (default: the same)."""
        report = f"report-{uuid.uuid4().hex[:8]}"
        self.log[report] = logged or status
        verdict = {
            "id": f"mv-{uuid.uuid4().hex[:8]}",
            "created_at": now_iso(),
            "status": status,
            "policy_id": pin.id,
            "policy_version": pin.version,
            "policy_hash": pin.hash,
            "gates": [{"gate_id": "errors", "status": status, "severity": "block"}],
            "report_id": report,
            "requests_sha256": {"canary": "c" * 64, "production": "p" * 64},
        }
        prod = self.registration(production) if production is not None else None
        return sign_monitor_verdict(
            self.store, verdict, self.registration(canary), prod, self.keys[signer], actor=signer
        )

    def promote(self, ref: str, alias: str, signer: str = "ci", **kw: Any) -> dict[str, Any]:
        kw.setdefault("monitor_recheck", self.monitor_recheck)
        return promote(
            self.registry,
            self.store,
            ref,
            alias,
            trust=self.trust,
            signer=self.keys[signer],
            recheck=self.recheck,
            checkpoints=self.checkpoints,
            **kw,
        )

    def roll_back(self, signer: str = "mon", **kw: Any) -> dict[str, Any]:
        return roll_back_canary(
            self.registry,
            self.store,
            "triage",
            trust=self.trust,
            signer=self.keys[signer],
            checkpoints=self.checkpoints,
            recheck=self.monitor_recheck,
            **kw,
        )

    def at(self, alias: str) -> int:
        return self.registry.get(f"triage@{alias}").version

    def signed_at(self, alias: str) -> int | None:
        holder = audited_holder(self.store, self.rules, "triage", alias)
        return holder.predicate["version"] if holder else None


@pytest.fixture
def release(tmp_path: Path, store_url: str) -> Release:
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    (suite_dir / "suite.yaml").write_text(SUITE)
    rows = [
        {"id": f"t{i:03d}", "input": f"request {i}", "labels": {"category": CATEGORIES[i % 3]}}
        for i in range(30)
    ]
    (suite_dir / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(suite_dir)
    store = Store(store_url)
    options = RunOptions(progress=False)
    baseline = run_suites(_system(4), [suite], store, options).run_id
    run_ids = [run_suites(_system(n), [suite], store, options).run_id for n in (20, 15, 12)]
    folder = tmp_path / "release"
    for name in PEOPLE:
        create_key(folder / "keys", name)
    keys = {name: load_signer(folder / "keys" / f"{name}.key") for name in PEOPLE}
    trust = write_trust_root(
        folder / "trust-root.json", [load_public_key(folder / "keys" / "root.pub.json")], 1
    )
    (folder / "policy.yaml").write_text(POLICY)
    policy = load_policy(folder / "policy.yaml")
    pin = PolicyPin(
        id=policy.id, version=policy.version, hash=policy.hash(), content=policy.hashed_content()
    )
    made = Release(
        folder, store, open_registry(store), trust, keys, pin, baseline, tmp_path / "checkpoints"
    )
    made.adopt(MonitorRule(policy=WATCH))
    for run_id in run_ids:
        run = store.get_run(run_id)
        register_run(made.registry, store, "triage", run, actor="ci", signer=keys["ci"])
        verdict = check_policy(policy, store, run_id, baseline)
        sign_verdict(store, verdict.to_dict(), run, store.get_run(baseline), keys["ci"], actor="ci")
    for version in (1, 2, 3):
        sign_approval(
            store, made.rules.keyring, made.registration(version), keys["ana"], "ok", actor="ana"
        )
    made.promote("triage:1", "canary")
    made.watch(1, None, "pass")  # the first release: nothing at production to compare with
    made.promote("triage:1", "production")
    made.promote("triage:2", "canary")
    assert (made.at("production"), made.at("canary")) == (1, 2)
    return made


def _refused(call: Any, *args: Any, **kw: Any) -> list[str]:
    with pytest.raises(PromotionRefused) as caught:
        call(*args, **kw)
    return caught.value.reasons


# -- the emergency path ------------------------------------------------------------------


def test_the_monitor_key_rolls_the_canary_back_on_a_failing_verdict(release):
    approvals_before = [r for r in records(release.store) if r["action"] == "attest:approval"]
    sid = release.watch(2, 1, "fail")
    moved = release.roll_back()
    assert (moved["alias"], moved["from"], moved["to"]) == ("triage@canary", 2, 1)
    assert (release.at("canary"), release.at("production")) == (1, 1)

    chain = records(release.store)
    attest = [r for r in chain if r["action"] == "attest:rollback"][-1]
    assert attest["actor"] == "mon" and attest["subject"] == "triage@canary"
    moved_alias = [r for r in chain if r["action"] == "rollback"][-1]
    assert moved_alias["actor"] == "mon" and moved_alias["payload"]["monitor_verdict"] == sid
    assert [r for r in chain if r["action"] == "attest:approval"] == approvals_before

    holder = audited_holder(release.store, release.rules, "triage", "canary")
    assert holder.person == "mon" and holder.predicate["emergency"] is True
    assert holder.predicate["monitor_verdict"] == sid and holder.predicate["previous"] == 2
    assert release.signed_at("canary") == 1 and release.signed_at("production") == 1
    # the server follows the signed move; the registry agrees with the signed record
    source = AliasSource(release.store, release.registry, "triage", release.trust)
    assert source.signed_problems("canary", release.registry.get("triage@canary")) == []
    assert verify_registry(release.registry, release.store, release.trust, actor="t") == []
    assert Path(moved["checkpoint"]).is_file()


def test_who_may_move_an_alias_is_one_answer(release):
    rules = release.rules
    assert alias_movers(rules, "triage", "canary") == (["ci"], ["ci", "monitor"])
    assert alias_movers(rules, "triage", "production") == (["ci"], ["ci"])
    assert alias_movers(rules, "other", "canary") == ([], [])
    release.adopt(MonitorRule(policy=WATCH, roll_back=False))
    assert alias_movers(release.rules, "triage", "canary") == (["ci"], ["ci"])


def _no_verdict(release):
    pass


def _passing(release):
    release.watch(2, 1, "pass")


def _about_another_version(release):
    release.watch(1, 1, "fail")


def _against_a_stale_production(release):
    release.watch(2, None, "fail")


def _of_another_policy(release):
    release.watch(2, 1, "fail", pin=OTHER_WATCH)


def _forged(release):
    release.watch(2, 1, "fail", logged="pass")


def _signed_by_ci(release):
    release.watch(2, 1, "fail", signer="ci")


def _failed_then_passed(release):
    release.watch(2, 1, "fail")
    release.watch(2, 1, "pass")


def _made_before_its_placement(release):
    release.watch(2, 1, "fail")
    release.promote("triage:2", "canary")  # placed again since


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (_no_verdict, "no monitor verdict signed by a key of monitor about triage:2"),
        (_passing, "the newest monitor verdict about triage:2"),
        (_about_another_version, "no monitor verdict signed by a key of monitor about triage:2"),
        (
            _against_a_stale_production,
            "compared it with version None, not with the version now at triage@production (1)",
        ),
        (_of_another_policy, "verdicts of other policies do not count"),
        (_forged, "the request log gives pass, the verdict says fail"),
        (_signed_by_ci, "no monitor verdict signed by a key of monitor about triage:2"),
        (_failed_then_passed, "is pass"),
        (_made_before_its_placement, "predate its placement as canary"),
    ],
)
def test_the_canary_is_not_rolled_back_without_a_failing_rechecked_verdict(
    release, setup, expected
):
    setup(release)
    reasons = _refused(release.roll_back)
    assert any(expected in r for r in reasons), reasons
    assert release.at("canary") == 2 and release.signed_at("canary") == 2


def test_only_a_monitor_signer_rolls_the_canary_back(release):
    release.watch(2, 1, "fail")
    reasons = _refused(release.roll_back, signer="ci")
    assert reasons == ["ci holds none of the roles that may roll the canary back: monitor"]
    assert release.at("canary") == 2


@pytest.mark.parametrize(
    ("monitor", "expected"),
    [
        (None, "the release rule for triage@production has no monitor"),
        (
            MonitorRule(policy=WATCH, roll_back=False),
            "the release rule for triage@production does not let its monitor roll back",
        ),
    ],
)
def test_rules_that_do_not_let_the_monitor_roll_back(release, monitor, expected):
    release.adopt(monitor)
    release.watch(2, 1, "fail")
    assert _refused(release.roll_back) == [expected]
    assert _refused(release.roll_back, alias="canary") == [
        "the release rule for triage@canary has no monitor"
    ]
    assert release.at("canary") == 2


# -- what the monitor key may not do ------------------------------------------------------


def test_the_monitor_key_neither_promotes_nor_rolls_production_back(release):
    release.watch(2, 1, "pass")
    reasons = _refused(release.promote, "triage:2", "production", signer="mon")
    assert reasons == ["mon holds none of the roles that may promote: ci"]
    reasons = _refused(
        rollback,
        release.registry,
        release.store,
        "triage",
        "production",
        trust=release.trust,
        signer=release.keys["mon"],
        checkpoints=release.checkpoints,
    )
    assert "mon holds none of the roles that may promote: ci" in reasons
    assert release.at("production") == 1


def test_moves_the_monitor_key_signs_itself_do_not_count(release):
    """Statements signed with the monitor key outside ``roll_back_canary``: only an
    emergency rollback that puts the production version of its time at the
    canary counts; nothing it signs moves production."""
    mon = release.keys["mon"]
    one, two, three = (release.registration(v) for v in (1, 2, 3))
    evidence = {"emergency": True, "reason": "mine"}
    sign_alias_move(release.store, "promotion", three, "canary", 2, mon, evidence, actor="mon")
    sign_alias_move(release.store, "rollback", three, "canary", 2, mon, evidence, actor="mon")
    sign_alias_move(release.store, "rollback", two, "production", 1, mon, evidence, actor="mon")
    sign_alias_move(release.store, "promotion", two, "production", 1, mon, evidence, actor="mon")
    quiet = {"reason": "no emergency"}
    sign_alias_move(release.store, "rollback", one, "canary", 2, mon, quiet, actor="mon")
    assert (release.signed_at("canary"), release.signed_at("production")) == (2, 1)
    # what it may do by hand, it may do: put production's version at the canary
    sign_alias_move(release.store, "rollback", one, "canary", 2, mon, evidence, actor="mon")
    assert release.signed_at("canary") == 1
    # a version rolled off the canary is no longer watched: a passing verdict since is no help
    release.watch(2, 1, "pass")
    reasons = _refused(release.promote, "triage:2", "production")
    assert reasons == ["triage:2 is not at triage@canary (triage:1 is): not watched"]
    # an emergency rollback counts as of its time: production moving later changes nothing
    release.adopt(MonitorRule(policy=WATCH, required=False))
    release.promote("triage:3", "production")
    assert (release.signed_at("canary"), release.signed_at("production")) == (1, 3)


# -- promotion to a watched alias ---------------------------------------------------------


def test_promotion_to_production_needs_a_passing_monitor_verdict(release):
    reasons = _refused(release.promote, "triage:2", "production")
    assert reasons == ["no monitor verdict signed by a key of monitor about triage:2"]
    reasons = _refused(release.promote, "triage:2", "production", monitor_recheck=None)
    assert reasons == ["a monitor verdict is required and no way to re-check it was given"]

    release.watch(2, None, "pass")
    reasons = _refused(release.promote, "triage:2", "production")
    stale = "compared it with version None, not with the version now at triage@production (1)"
    assert len(reasons) == 1 and stale in reasons[0]
    release.watch(2, 1, "pass", logged="fail")  # an honest key, a verdict the log does not give
    reasons = _refused(release.promote, "triage:2", "production")
    assert len(reasons) == 1 and "the request log gives fail, the verdict says pass" in reasons[0]
    release.watch(2, 1, "fail")
    reasons = _refused(release.promote, "triage:2", "production")
    assert len(reasons) == 1 and reasons[0].endswith("of triage:2: fail")
    assert release.at("production") == 1

    sid = release.watch(2, 1, "pass")
    moved = release.promote("triage:2", "production")
    assert release.at("production") == 2 and release.signed_at("production") == 2
    holder = audited_holder(release.store, release.rules, "triage", "production")
    assert holder.id == moved["statement"] and holder.predicate["monitor_verdict"] == sid


def test_a_version_that_skipped_the_canary_is_not_promoted(release):
    release.watch(3, 1, "pass")  # a monitor key speaks of a version no canary served
    reasons = _refused(release.promote, "triage:3", "production")
    assert reasons == ["triage:3 is not at triage@canary (triage:2 is): not watched"]


def test_a_rule_that_does_not_require_the_monitor_promotes_as_before(release):
    release.adopt(MonitorRule(policy=WATCH, required=False))
    release.promote("triage:3", "production", monitor_recheck=None)
    assert release.at("production") == 3


# -- the rules document -------------------------------------------------------------------

GOLDEN = "661144c9dea896509eff8650e328d9e1eebbb9fc8dedc7f872b4183e6633a1d2"


def _legacy_rules() -> dict[str, Any]:
    """A rules document as written, and signed, before monitor rules existed."""
    content = {
        "id": "p",
        "version": "1",
        "suites": ["s"],
        "gates": [{"id": "g", "check": "approval", "approvers": ["risk"]}],
    }
    key = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "cd" * 32}}
    return {
        "version": 1,
        "previous": None,
        "created_at": "2026-12-01T00:00:00+00:00",
        "keyring": {
            "people": {"ci": {"roles": ["ci"], "keys": [{"keyid": "ab" * 32, "key": key}]}},
            "revoked": [],
        },
        "rules": [
            {
                "model": "m",
                "alias": "production",
                "policy": {
                    "id": "p",
                    "version": "1",
                    "hash": sha256_json(content),
                    "content": content,
                },
                "baseline": {
                    "alias": "production",
                    "run": None,
                    "prompted_base": False,
                    "when_unset": "prompted_base",
                },
                "verdict_signers": ["ci"],
                "promoters": ["ci"],
            }
        ],
    }


def test_rules_without_a_monitor_keep_their_digest_and_old_signed_rules_verify(tmp_path):
    old = _legacy_rules()
    rules = ReleaseRules.model_validate(old)
    assert rules_digest(rules) == GOLDEN == sha256_json(old)  # pinned before monitor rules
    assert "monitor" not in rules.model_dump(mode="json")["rules"][0]

    root_key, root_pub = create_key(tmp_path, "root")
    trust = write_trust_root(tmp_path / "t.json", [load_public_key(root_pub)], 1)
    store = Store(tmp_path / "fg.db")
    statement = make_statement("rules", {"rules": sha256_json(old)}, old)  # as signed then
    store_rules(store, sign(statement, [load_signer(root_key)]), trust, actor="root")
    assert current_rules(store, trust).rule_for("m", "production").monitor is None

    first = rules.rules[0]
    watched = rules.model_copy(
        update={"rules": [first.model_copy(update={"monitor": MonitorRule(policy=WATCH)})]}
    )
    assert rules_digest(watched) != GOLDEN
    dumped = watched.model_dump(mode="json")
    assert dumped["rules"][0]["monitor"]["signers"] == ["monitor"]
    assert ReleaseRules.model_validate(dumped) == watched


def test_a_monitor_watches_another_alias():
    with pytest.raises(ValueError, match="the monitor's canary alias is the rule's own alias"):
        Rule(
            model="m",
            alias="canary",
            policy=WATCH,
            baseline=BaselineRule(run="r"),
            monitor=MonitorRule(policy=WATCH, canary="canary"),
        )


# -- the YAML a team writes ---------------------------------------------------------------


def test_a_spec_names_the_monitor_rule(tmp_path):
    for name in ("ci", "mon"):
        create_key(tmp_path / "keys", name)
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "monitor-policy.yaml").write_text(POLICY.replace("release-policy", "watch"))
    spec = tmp_path / "rules.yaml"
    people = (
        "keyring:\n  people:\n"
        "    ci: {roles: [ci, release], keys: [keys/ci.pub.json]}\n"
        "    mon: {roles: [monitor], keys: [keys/mon.pub.json]}\n"
    )
    spec.write_text(
        people + "rules:\n"
        "  - model: triage\n"
        "    alias: production\n"
        "    policy: policy.yaml\n"
        "    baseline: {alias: production, when_unset: prompted_base}\n"
        "    promoters: [release]\n"
        "    monitor: {policy: monitor-policy.yaml, signers: [monitor], canary: canary,\n"
        "              roll_back: true, required: true}\n"
    )
    rules = compile_rules(spec, None, "2026-12-07T00:00:00+00:00")
    watch = rules.rule_for("triage", "production").monitor
    assert (watch.signers, watch.canary, watch.roll_back, watch.required) == (
        ["monitor"],
        "canary",
        True,
        True,
    )
    assert (
        watch.policy.id == "watch"
        and watch.policy.hash == load_policy(tmp_path / "monitor-policy.yaml").hash()
    )

    spec.write_text(
        people + "rules:\n"
        "  - model: triage\n"
        "    alias: production\n"
        "    policy: policy.yaml\n"
        "    baseline: {run: r1}\n"
        "    monitor:\n"
        "      policy: missing.yaml\n"
        "      signers: [watcher]\n"
        "  - model: triage\n"
        "    alias: canary\n"
        "    policy: policy.yaml\n"
        "    baseline: {run: r1}\n"
        "    monitor: {policy: monitor-policy.yaml, canary: canary}\n"
    )
    with pytest.raises(InputError) as caught:
        compile_rules(spec, None, "2026-12-07T00:00:00+00:00")
    text = str(caught.value)
    assert f"{spec}:11: rules[0].monitor.policy: missing.yaml: file not found" in text
    assert f"{spec}:12: rules[0].monitor.signers: no one in the keyring holds watcher" in text
    assert f"{spec}:17: rules[1].monitor.canary: the canary is the rule's own alias" in text

    spec.write_text(
        people + "rules:\n"
        "  - {model: triage, alias: production, policy: policy.yaml, baseline: {run: r1},\n"
        "     monitor: {policy: policy.yaml, rollback: true}}\n"
    )
    with pytest.raises(InputError) as caught:
        compile_rules(spec, None, "2026-12-07T00:00:00+00:00")
    assert f"{spec}:7: rules[0].monitor.rollback: unknown field" in str(caught.value)

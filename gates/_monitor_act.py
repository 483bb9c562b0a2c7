"""One monitor look decided and acted on, only as the release rules say.

The rules name, for ``NAME@production``, the policy whose monitor gates decide
(by content hash: a policy passed on the command line that is not that one is
refused) and the roles whose keys sign monitor verdicts. A look that fails a
blocking gate is signed and rolls the canary back at once (the emergency path:
no approval, the monitor's key, an audit record); one that passes is signed and,
when a promoter's key is given, the canary is promoted through ``promote``,
which still asks for everything the rules ask for (the evaluation verdict,
the approvals) and re-checks the monitor verdict from the request log. An
undecided look is kept and nothing moves. Without a monitor key nothing is
signed and nothing moves: the look is a report.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.gates._monitor import decide_monitor, monitor_margins
from finegate.gates._monitor_recheck import look_digest, recheck_monitor_for
from finegate.gates._policy import Policy
from finegate.harness.core import FinegateError, InputError
from finegate.harness.store import Store, now_iso


@dataclass(frozen=True)
class MonitorSetup:
    """What every look of one ``finegate monitor run`` shares."""

    store: Store
    registry: Any
    name: str
    policy: Policy
    suite: Any = None
    trust: Any = None
    signer: Any = None  # the monitor's key
    promoter: Any = None  # a promoter's key, to promote a passing canary
    checkpoints: Path | None = None
    embedder: Any = None


def governing_policy(store: Store, trust: Any, name: str, given: Policy | None) -> Policy | None:
    """The monitor policy the release rules pin for ``NAME@production``; a
    ``given`` one must be that very policy. Without rules, the given one."""
    if trust is None:
        return given
    from finegate.harness.registry.trust import current_rules

    rules = current_rules(store, trust)
    rule = rules.rule_for(name, "production") if rules else None
    monitor = getattr(rule, "monitor", None)
    if monitor is None:
        return given
    pinned = Policy.model_validate(monitor.policy.content)
    if given is not None and given.hash() != pinned.hash():
        raise InputError(
            f"--policy {given.id} ({given.hash()[:12]}) is not the monitor policy the release "
            f"rules pin for {name}@production ({pinned.id}, {pinned.hash()[:12]}): the rules "
            "decide which gates watch the canary"
        )
    return pinned


def _registration(store: Store, trust: Any, name: str, version: int | None) -> Any:
    from finegate.harness.registry import registration_of
    from finegate.harness.registry.trust import current_rules

    if version is None:
        return None
    rules = current_rules(store, trust)
    found, why = registration_of(store, rules, name, int(version))
    if found is None:
        raise InputError(f"{name}:{version}: {'; '.join(why)}")
    return found


def _sign(setup: MonitorSetup, report: dict[str, Any]) -> str:
    from finegate.harness.registry import sign_monitor_verdict

    arms = report["arms"]
    canary = _registration(setup.store, setup.trust, setup.name, arms["canary"]["version"])
    production = _registration(
        setup.store, setup.trust, setup.name, arms.get("production", {}).get("version")
    )
    verdict = {
        "id": str(uuid.uuid4()),
        "created_at": now_iso(),
        "status": report["status"],
        "policy_id": setup.policy.id,
        "policy_version": setup.policy.version,
        "policy_hash": setup.policy.hash(),
        "gates": [
            {"gate_id": g["gate_id"], "status": g["status"], "severity": g["severity"]}
            for g in report["gates"]
        ],
        "report_id": report["id"],
        "requests_sha256": {**report["requests_sha256"], "look": look_digest(report)},
    }
    from finegate.harness.registry.trust import current_rules

    keyring = current_rules(setup.store, setup.trust).keyring
    person = keyring.person_of(setup.signer.public_key.keyid) or "monitor"
    return sign_monitor_verdict(
        setup.store, verdict, canary, production, setup.signer, actor=person
    )


def _act(setup: MonitorSetup, report: dict[str, Any]) -> dict[str, Any]:
    from finegate.harness.registry import PromotionRefused, promote, roll_back_canary

    status, arms = report["status"], report["arms"]
    if "canary" not in arms:
        return {"kind": "none", "done": False, "detail": "no canary is served"}
    if status not in ("pass", "fail"):
        return {"kind": "hold", "done": False, "detail": f"the look is {status}: keep looking"}
    if setup.signer is None or setup.trust is None:
        return {
            "kind": "rollback" if status == "fail" else "promote",
            "done": False,
            "detail": "no monitor key and trust root were given: nothing is signed or moved",
        }
    report["verdict_statement"] = _sign(setup, report)
    recheck = recheck_monitor_for(setup.store, setup.embedder)
    ref = f"{setup.name}:{arms['canary']['version']}"
    try:
        if status == "fail":
            moved = roll_back_canary(
                setup.registry,
                setup.store,
                setup.name,
                trust=setup.trust,
                signer=setup.signer,
                checkpoints=setup.checkpoints,
                recheck=recheck,
            )
            return {
                "kind": "rollback",
                "done": True,
                "detail": f"{setup.name}@canary rolled back from {ref}",
                "statement": moved.get("statement"),
            }
        if setup.promoter is None:
            return {
                "kind": "promote",
                "done": False,
                "detail": f"{ref} passed its monitor gates; a promoter can now run "
                f"`finegate promote {ref} --to production` (the rules' approvals still apply)",
            }
        from finegate.gates._release import recheck_for

        moved = promote(
            setup.registry,
            setup.store,
            ref,
            "production",
            trust=setup.trust,
            signer=setup.promoter,
            recheck=recheck_for(setup.store),
            checkpoints=setup.checkpoints,
            monitor_recheck=recheck,
        )
        return {
            "kind": "promote",
            "done": True,
            "detail": f"{ref} is now production",
            "statement": moved.get("statement"),
        }
    except PromotionRefused as e:
        return {
            "kind": "rollback" if status == "fail" else "promote",
            "done": False,
            "detail": "refused: " + "; ".join(e.reasons),
        }


def monitor_once(setup: MonitorSetup, options: Any) -> dict[str, Any]:
    """One look: measure, decide the monitor gates, sign, act, keep the report."""
    from dataclasses import replace

    from finegate.harness.monitor import look, save_report, update_report

    options = replace(options, margins=monitor_margins(setup.policy))
    report = look(
        setup.store, setup.name, suite=setup.suite, options=options, embedder=setup.embedder
    )
    report["policy"] = {
        "id": setup.policy.id,
        "version": setup.policy.version,
        "hash": setup.policy.hash(),
    }
    report["status"], report["gates"] = decide_monitor(setup.policy, report)
    report["action"] = {"kind": "pending", "done": False, "detail": "deciding"}
    save_report(setup.store, report)  # kept first: a re-check of its verdict reads it
    try:
        report["action"] = _act(setup, report)
    except FinegateError as e:  # kept with the look, not lost with the process
        report["action"] = {"kind": "hold", "done": False, "detail": f"not acted on: {e}"}
    update_report(setup.store, report, statement=report.get("verdict_statement"))
    return report

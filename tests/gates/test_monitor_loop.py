"""The monitoring loop end to end on a tiny model: a server with a canary slice,
scripted callers whose feedback depends on which version answered them (a
simulation: callers rate the canary down in one phase and up in the next),
`finegate monitor run` on a schedule, and the monitor gates acting through the
release rules: the canary rolled back by the monitor's key when it is worse,
promoted by a promoter's key when it is better, and the server following both.

Who might get around it: the monitor's key holder (promote a canary itself), a
CI job author (monitor with a laxer policy than the rules pin), someone with
write access to the store (rewrite the request log the verdict rests on).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from finegate.harness.monitor import stored_reports
from finegate.harness.pii import PIIScanner
from finegate.harness.registry import open_registry
from finegate.harness.registry.trust import create_key, load_trust_root
from finegate.harness.serve import (
    AliasFollower,
    AliasSource,
    Batching,
    BatchStats,
    CallerTokens,
    RequestLog,
    ServeOptions,
    ServerThread,
    new_token,
)
from finegate.harness.store import Store, monitor_reports_table, serve_feedback_table
from tests.harness.serve.conftest import release

CALLERS = [f"user-{i}" for i in range(70)]

MONITOR_POLICY = """\
id: canary-watch
version: 1
monitor:
  - {id: thumbs-not-worse, metric: thumbs_up, margin: 0.02}
  - {id: canary-latency, arm: canary, metric: latency.p95, max: 60, decide_on: point, min_n: 5}
  - {id: no-pii-in-answers, arm: canary, metric: log.answer_pii, max: 0, decide_on: point, min_n: 5}
  - {id: traffic-like-suite, check: inputs_vs_suite, severity: warn}
"""

LAX_POLICY = """\
id: canary-watch
version: 2
monitor:
  - {id: thumbs-not-worse, metric: thumbs_up, margin: 0.9}
"""


def _rules(made, baseline: str) -> str:
    """The fixture's rules, plus a monitor (mona) and, for NAME@production, the
    monitor policy that watches its canary."""
    keys = made.folder / "keys"
    rule = (
        "  - {{model: triage, alias: {alias}, policy: policy.yaml, "
        "baseline: {{run: {run}}}{extra}}}\n"
    )
    watch = ",\n     monitor: {policy: monitor.yaml, signers: [monitor]}"
    return (
        "keyring:\n  people:\n"
        f"    ci: {{roles: [ci], keys: [{keys}/ci.pub.json]}}\n"
        f"    eve: {{roles: [], keys: [{keys}/eve.pub.json]}}\n"
        f"    mona: {{roles: [monitor], keys: [{keys}/monitor.pub.json]}}\n"
        "rules:\n"
        + rule.format(alias="production", run=baseline, extra=watch)
        + rule.format(alias="canary", run=baseline, extra="")
    )


@pytest.fixture(scope="module")
def watched(tmp_path_factory, tiny_chat_llama):
    root = tmp_path_factory.mktemp("watched")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_CHECKPOINTS", str(root / "checkpoints"))
        made = release(root, str(tiny_chat_llama), tiny_chat_llama)
        create_key(made.folder / "keys", "monitor")
        (made.folder / "monitor.yaml").write_text(MONITOR_POLICY)
        baseline = next(
            line.split("run: ")[1].split("}")[0]
            for line in (made.folder / "rules.yaml").read_text().splitlines()
            if "run: " in line
        )
        (made.folder / "rules.yaml").write_text(_rules(made, baseline))
        for step in (
            ("rules", "sign", made.folder / "rules.yaml", "--key", made.key("root"),
             "-o", made.folder / "r2.json"),
            ("rules", "apply", made.folder / "r2.json"),
        ):  # fmt: skip
            code, out = made.cli(*step)
            assert code == 0, out
        yield made, root


def _server(made, root: Path) -> tuple[ServerThread, dict[str, str]]:
    store = Store(made.store_path)
    source = AliasSource(store, open_registry(store), "triage", load_trust_root(made.trust))
    follower = AliasFollower(
        source, canary_share=0.3, batching=Batching(0.01, 8), stats=BatchStats(), poll_s=0.1
    )
    tokens_path = root / "tokens.yaml"
    if tokens_path.exists():
        tokens_path.unlink()
    tokens = {c: new_token(tokens_path, c) for c in CALLERS}
    options = ServeOptions(
        batch_window_s=0.01,
        served_name="triage",
        request_log=RequestLog(store, scanner=PIIScanner("pattern")),
        callers=CallerTokens.load(tokens_path),
    )
    return ServerThread(follower, options), tokens


def _traffic(url: str, tokens: dict[str, str], rng: random.Random, canary_up: float) -> dict:
    """Every caller asks once and rates the answer: up with probability
    ``canary_up`` when the canary (triage:2) answered, 1 - canary_up otherwise."""
    served: dict[str, str] = {}
    with httpx.Client(timeout=60) as client:
        for caller in CALLERS:
            headers = {"Authorization": f"Bearer {tokens[caller]}"}
            r = client.post(
                f"{url}/chat/completions",
                json={"model": "triage", "max_tokens": 2,
                      "messages": [{"role": "user", "content": f"say {rng.randrange(30)}"}]},
                headers=headers,
            )  # fmt: skip
            assert r.status_code == 200, r.text
            version = r.headers["x-finegate-version"]
            served[caller] = version
            p_up = canary_up if version == "triage:2" else 1.0 - canary_up
            thumbs = "up" if rng.random() < p_up else "down"
            body = {"request_id": r.json()["id"], "thumbs": thumbs}
            assert client.post(f"{url}/feedback", json=body, headers=headers).status_code == 200
    return served


def _monitor(made, *extra) -> tuple[int, list[dict]]:
    code, out = made.cli(
        "monitor", "run", "--registered", "triage", "--suite", made.folder.parent / "suite",
        "--last", 12, "--drift-splits", 20, "--json", *extra,
    )  # fmt: skip
    looks: list[dict] = []
    decoder, text, at = json.JSONDecoder(), out, 0
    while at < len(text):
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            break
        obj, at = decoder.raw_decode(text, at)
        looks.append(obj)
    return code, looks


def _waits_for(url: str, tokens: dict[str, str], version: str) -> bool:
    import time

    deadline = time.monotonic() + 30
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < deadline:
            seen = set()
            for caller in CALLERS[:20]:
                r = client.post(
                    f"{url}/chat/completions",
                    json={"model": "triage", "max_tokens": 1,
                          "messages": [{"role": "user", "content": "say 1"}]},
                    headers={"Authorization": f"Bearer {tokens[caller]}"},
                )  # fmt: skip
                seen.add(r.headers["x-finegate-version"])
            if seen == {version}:
                return True
            time.sleep(0.2)
    return False


def test_a_worse_canary_is_rolled_back_and_a_better_one_promoted(watched):
    made, root = watched
    rng = random.Random(7)
    server, tokens = _server(made, root)
    with server as url:
        # phase 1: callers dislike the canary; the monitor looks after each burst
        statuses = []
        for _ in range(4):
            served = _traffic(url, tokens, rng, canary_up=0.1)
            code, (look,) = _monitor(made, "--key", made.key("monitor"))
            statuses.append(look["status"])
            if look["status"] == "fail":
                break
            assert code == 0 and look["action"]["kind"] == "hold"  # nothing moves undecided
        assert statuses[-1] == "fail", statuses
        assert code == 1
        canary_callers = {c for c, v in served.items() if v == "triage:2"}
        assert len(canary_callers) >= 10
        gates = {g["gate_id"]: g for g in look["gates"]}
        assert gates["thumbs-not-worse"]["status"] == "fail"
        assert gates["canary-latency"]["status"] == "pass"
        assert gates["no-pii-in-answers"]["status"] == "pass"
        action = look["action"]
        assert (action["kind"], action["done"]) == ("rollback", True), action
        ab = look["ab"]["metrics"]["thumbs_up"]
        assert ab["decision"] == "worse" and ab["upper"] < -0.02 and ab["units"] == "callers"
        # the registry and the server follow the monitor's signed rollback
        assert open_registry(Store(made.store_path)).get("triage@canary").version == 1
        assert _waits_for(url, tokens, "triage:1")
        code, out = made.cli("audit", "verify")
        assert code == 0, out

        # the monitor's key cannot promote, whatever its verdict
        made.promote("triage:2", "canary")  # the team tries the canary again
        assert _waits_for_canary(url, tokens)
        for _ in range(4):
            _traffic(url, tokens, rng, canary_up=0.9)
            code, (look,) = _monitor(
                made, "--key", made.key("monitor"), "--promote-key", made.key("monitor")
            )
            if look["status"] == "pass":
                break
        assert look["status"] == "pass" and look["action"]["done"] is False
        assert "refused" in look["action"]["detail"]
        # a promoter's key promotes it, through promote and the monitor verdict
        code, (look,) = _monitor(
            made, "--key", made.key("monitor"), "--promote-key", made.key("ci")
        )
        assert look["status"] == "pass" and look["action"]["kind"] == "promote"
        assert look["action"]["done"] is True, look["action"]
        assert open_registry(Store(made.store_path)).get("triage@production").version == 2
        assert _waits_for(url, tokens, "triage:2")
    reports = stored_reports(Store(made.store_path), "triage")
    statuses = [r["status"] for r in reports]
    assert statuses[0] == "pass" and "fail" in statuses
    _rewritten_traffic_breaks_the_failing_verdict(made)


def _waits_for_canary(url: str, tokens: dict[str, str]) -> bool:
    """Some caller in the canary slice is answered by triage:2 again."""
    import time

    deadline = time.monotonic() + 30
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < deadline:
            for caller in CALLERS:
                r = client.post(
                    f"{url}/chat/completions",
                    json={"model": "triage", "max_tokens": 1,
                          "messages": [{"role": "user", "content": "say 2"}]},
                    headers={"Authorization": f"Bearer {tokens[caller]}"},
                )  # fmt: skip
                if r.headers["x-finegate-version"] == "triage:2":
                    return True
            time.sleep(0.2)
    return False


def test_a_laxer_policy_than_the_rules_pin_is_refused(watched, tmp_path):
    made, _ = watched
    (tmp_path / "lax.yaml").write_text(LAX_POLICY)
    code, out = made.cli(
        "monitor", "run", "--registered", "triage", "--policy", tmp_path / "lax.yaml",
        "--key", made.key("monitor"),
    )  # fmt: skip
    assert code == 2 and "not the monitor policy the release rules pin" in out


def _rewritten_traffic_breaks_the_failing_verdict(made) -> None:
    """Someone with write access to the store turns the canary's thumbs down into
    thumbs up after the monitor signed a failing verdict: the re-check reads the
    log again and refuses the verdict."""
    from finegate.gates._monitor_recheck import recheck_monitor_verdict
    from finegate.harness.registry import verified_evidence
    from finegate.harness.registry.trust import current_rules

    store = Store(made.store_path)
    rules = current_rules(store, load_trust_root(made.trust))
    found, _ = verified_evidence(store, rules.keyring, "monitor-verdict")
    failing = [e for e in found if e.predicate["status"] == "fail"]
    assert failing
    verdict = failing[-1]
    pin = rules.rule_for("triage", "production").monitor.policy
    assert (
        recheck_monitor_verdict(store, verdict.predicate, verdict.digests, pin.content, pin.hash)
        == []
    )
    with store.transaction() as conn:
        conn.execute(update(serve_feedback_table).values(thumbs="up"))
    problems = recheck_monitor_verdict(
        store, verdict.predicate, verdict.digests, pin.content, pin.hash
    )
    assert any("changed since it was signed" in p for p in problems), problems
    # the same person edits the stored look: a looser alpha, so the re-check would
    # measure with other options than the monitor did
    report_id = verdict.predicate["report"]
    with store.transaction() as conn:
        text = conn.execute(
            select(monitor_reports_table.c.report_json).where(
                monitor_reports_table.c.id == report_id
            )
        ).scalar_one()
        look = json.loads(text)
        look["options"]["alpha"] = 0.5
        conn.execute(
            update(monitor_reports_table)
            .where(monitor_reports_table.c.id == report_id)
            .values(report_json=json.dumps(look))
        )
    problems = recheck_monitor_verdict(
        store, verdict.predicate, verdict.digests, pin.content, pin.hash
    )
    assert any("is not the one the verdict signed" in p for p in problems), problems

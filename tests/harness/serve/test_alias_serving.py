"""Serving a registered model by its aliases: a sticky canary slice, alias moves
followed under traffic, every request in a redacted log, feedback that cannot be
flooded, Prometheus metrics, and moves the server refuses to follow.

Who might get around it: someone with write access to the store (moves an alias
with one UPDATE), someone with write access to the model folder (swaps an
adapter), a caller (floods feedback, rates others' answers, replays an id).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from finegate.harness.pii import PIIScanner
from finegate.harness.registry import open_registry
from finegate.harness.registry.trust import load_trust_root
from finegate.harness.serve import (
    AliasFollower,
    AliasRefused,
    AliasSource,
    Batching,
    BatchStats,
    CallerTokens,
    RequestLog,
    ServeOptions,
    ServerThread,
    canary_bucket,
    new_token,
)
from finegate.harness.stats import wilson_interval
from finegate.harness.store import Store

CALLERS = [f"caller-{i}" for i in range(10, 20)]  # 11, 16 and 17 fall in a 20% canary
PLANTED = {
    "email": "maria.gonzalez@example.org",
    "phone": "(212) 555-0199",
    "card": "4111 1111 1111 1111",
    "name": "Maria Gonzalez",
}
MOVE = "UPDATE model_aliases SET version = ? WHERE name = 'triage' AND alias = 'production'"
PII_PROMPT = (
    f"Hi, I am {PLANTED['name']}, write to {PLANTED['email']} or call {PLANTED['phone']}; "
    f"my card is {PLANTED['card']}."
)


def _source(released) -> AliasSource:
    store = Store(released.store_path)
    return AliasSource(store, open_registry(store), "triage", load_trust_root(released.trust))


def _follower(released, share: float = 0.2) -> AliasFollower:
    return AliasFollower(
        _source(released),
        canary_share=share,
        batching=Batching(0.01, 8),
        stats=BatchStats(),
        poll_s=0.1,
    )


def _tokens(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "tokens.yaml"
    return path, {caller: new_token(path, caller) for caller in CALLERS}


def _serve(released, tmp_path: Path, *, raw: bool = False):
    follower = _follower(released)
    tokens_path, tokens = _tokens(tmp_path)
    log = RequestLog(follower.source.store, scanner=PIIScanner("spacy"), raw=raw)
    options = ServeOptions(
        batch_window_s=0.01,
        served_name="triage",
        request_log=log,
        callers=CallerTokens.load(tokens_path),
        cost_per_1k_prompt_tokens=1.0,
        cost_per_1k_completion_tokens=2.0,
    )
    return ServerThread(follower, options), tokens


def _chat(client: httpx.Client, url: str, token: str, content: str) -> httpx.Response:
    return client.post(
        f"{url}/chat/completions",
        json={
            "model": "triage",
            "messages": [{"role": "user", "content": content}],
            "max_tokens": 2,
        },
        headers={"Authorization": f"Bearer {token}"},
    )


def _log_rows(released) -> dict[str, dict]:
    return {r["id"]: r for r in _log_rows_at(released.store_path)}


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and line.split("}")[0] == f"{name}{{{want}":
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_canary_share_is_per_caller_and_sticky():
    ids = [f"user-{i}" for i in range(20_000)]
    share = sum(canary_bucket(i) < 0.2 for i in ids) / len(ids)
    low, high = wilson_interval(round(share * len(ids)), len(ids))
    assert low <= 0.2 <= high and abs(share - 0.2) < 0.01
    assert [canary_bucket(i) for i in ids[:50]] == [canary_bucket(i) for i in ids[:50]]
    assert {c for c in CALLERS if canary_bucket(c) < 0.2} == {"caller-11", "caller-16", "caller-17"}


def test_aliases_followed_under_traffic_with_every_request_logged_and_redacted(released, tmp_path):
    server, tokens = _serve(released, tmp_path)
    seen: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    failures: list[str] = []
    stop = threading.Event()

    def traffic(caller: str) -> None:
        with httpx.Client(timeout=60) as client:
            i = 0
            while not stop.is_set():
                content = PII_PROMPT if i % 3 == 0 else f"question {i} from {caller}"
                r = _chat(client, server.url, tokens[caller], content)
                if r.status_code != 200:
                    failures.append(f"{caller}: {r.status_code} {r.text}")
                    continue
                body = r.json()
                assert r.headers["x-finegate-version"] == body["finegate"]["version"]
                assert body["id"] == body["finegate"]["request_id"]
                seen[caller].append((time.monotonic(), body["finegate"]["version"], body["id"]))
                i += 1

    def production_sees(version: str, after: float) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(
                t > after and v == version
                for c in CALLERS
                if canary_bucket(c) >= 0.2
                for t, v, _ in seen[c]
            ):
                return True
            time.sleep(0.05)
        return False

    with server as url:
        assert url == server.url
        threads = [threading.Thread(target=traffic, args=(c,)) for c in CALLERS]
        for t in threads:
            t.start()
        time.sleep(1.0)
        released.promote("triage:2", "production")  # the canary becomes production
        promoted = time.monotonic()
        assert production_sees("triage:2", promoted)
        released.rollback("production")
        rolled_back = time.monotonic()
        assert production_sees("triage:1", rolled_back)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        metrics = httpx.get(url.removesuffix("/v1") + "/metrics").text

    assert not failures  # no request failed while the aliases moved
    for caller in CALLERS:
        versions = {v for _, v, _ in seen[caller]}
        if canary_bucket(caller) < 0.2:
            assert versions == {"triage:2"}, caller  # sticky: a canary caller stays there
        else:
            assert versions == {"triage:1", "triage:2"}, caller  # followed both moves
    answers = [(v, rid) for c in CALLERS for _, v, rid in seen[c]]
    rows = _log_rows(released)
    assert {rid for _, rid in answers} <= set(rows)  # every answered request is logged
    logged = [rows[rid] for _, rid in answers]
    assert all(r["status"] == 200 and r["text_form"] == "redacted" for r in logged)
    assert all(r["caller_hash"] and r["caller_hash"] not in CALLERS for r in logged)
    assert {r["alias"] for r in logged} == {"production", "canary"}
    text = json.dumps(logged)
    for kind, value in PLANTED.items():
        assert value not in text, kind  # no raw PII in the log
    planted_rows = [r for r in logged if "<EMAIL_ADDRESS>" in r["prompt"]]
    assert planted_rows and all("<PERSON>" in r["prompt"] for r in planted_rows)
    assert all("<PHONE_NUMBER>" in r["prompt"] for r in planted_rows)
    assert all("<CREDIT_CARD>" in r["prompt"] for r in planted_rows)
    # the metrics count what was answered, per version and alias
    per = Counter((r["version"], r["alias"]) for r in logged)
    for (version, alias), n in per.items():
        assert (
            _metric(
                metrics,
                "finegate_requests_total",
                version=f"triage:{version}",
                alias=alias,
                status="200",
            )
            == n
        )
    tokens_logged = sum(
        r["prompt_tokens"] for r in logged if r["version"] == 2 and r["alias"] == "canary"
    )
    assert (
        _metric(metrics, "finegate_tokens_total", version="triage:2", alias="canary", kind="prompt")
        == tokens_logged
    )
    cost = sum(r["cost"] for r in logged if r["version"] == 1)
    assert _metric(metrics, "finegate_cost_total", version="triage:1", alias="production") == (
        pytest.approx(cost)
    )
    assert cost == pytest.approx(
        sum(
            r["prompt_tokens"] * 1.0 + r["completion_tokens"] * 2.0
            for r in logged
            if r["version"] == 1
        )
        / 1000
    )


def test_feedback_once_per_request_and_only_by_its_caller(released, tmp_path):
    server, tokens = _serve(released, tmp_path)
    with server as url, httpx.Client(timeout=60) as client:
        mine = _chat(client, url, tokens["caller-10"], "hello").json()["id"]
        auth = {"Authorization": f"Bearer {tokens['caller-10']}"}
        other = {"Authorization": f"Bearer {tokens['caller-12']}"}

        def feedback(body, headers):
            return client.post(f"{url}/feedback", json=body, headers=headers)

        assert feedback({"request_id": mine, "thumbs": "up"}, {}).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert feedback({"request_id": mine, "thumbs": "up"}, bad).status_code == 401
        unknown = feedback({"request_id": "req-" + "0" * 32, "thumbs": "up"}, auth)
        assert unknown.status_code == 404 and "no answered request" in unknown.text
        assert feedback({"request_id": mine, "thumbs": "sideways"}, auth).status_code == 400
        assert feedback({"request_id": mine}, auth).status_code == 400
        theirs = feedback({"request_id": mine, "thumbs": "down"}, other)
        assert theirs.status_code == 403 and "another caller" in theirs.text
        ok = feedback({"request_id": mine, "thumbs": "up", "task_completed": True}, auth)
        assert ok.status_code == 200 and ok.json()["version"] == "triage:1"
        again = feedback({"request_id": mine, "thumbs": "down"}, auth)
        assert again.status_code == 409 and "already given" in again.text
        # completions need a token too when the server knows its callers
        assert client.post(f"{url}/completions", json={"prompt": "x"}).status_code == 401
        metrics = client.get(url.removesuffix("/v1") + "/metrics").text
    labels = {"version": "triage:1", "alias": "production"}
    assert _metric(metrics, "finegate_feedback_total", kind="thumbs_up", **labels) == 1.0
    assert _metric(metrics, "finegate_feedback_total", kind="thumbs_down", **labels) == 0.0
    assert _metric(metrics, "finegate_feedback_total", kind="task_completed", **labels) == 1.0
    with sqlite3.connect(released.store_path) as db:
        assert db.execute(
            "SELECT thumbs, task_completed FROM serve_feedback WHERE request_id = ?", (mine,)
        ).fetchall() == [("up", 1)]


def _wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_alias_moved_outside_finegate_is_not_followed(released, tmp_path):
    server, tokens = _serve(released, tmp_path)
    with server as url, httpx.Client(timeout=60) as client:

        def version() -> str:
            return _chat(client, url, tokens["caller-10"], "hi").json()["finegate"]["version"]

        def refusals() -> float:
            text = client.get(url.removesuffix("/v1") + "/metrics").text
            return _metric(text, "finegate_alias_refusals_total", alias="production")

        assert version() == "triage:1"
        with sqlite3.connect(released.store_path) as db:  # someone with write access to the store
            db.execute(MOVE, (2,))
        try:
            assert _wait_for(lambda: refusals() == 1.0)
            assert version() == "triage:1"  # still what was promoted
            time.sleep(0.5)
            assert refusals() == 1.0  # refused once, not again at every look
        finally:
            with sqlite3.connect(released.store_path) as db:
                db.execute(MOVE, (1,))
        # a signed promotion of the same version later is followed
        released.promote("triage:2", "production")
        try:
            assert _wait_for(lambda: version() == "triage:2")
        finally:
            released.rollback("production")
        assert _wait_for(lambda: version() == "triage:1")
    source = _source(released)
    problems = source.signed_problems("production", source.registry.get("triage:2"))
    assert problems == [
        "triage@production points at version 2 but the last signed move put version 1 there: "
        "it was moved outside finegate"
    ]


def test_adapter_files_changed_after_registration_are_not_served(released):
    source = _source(released)
    weights = released.adapter / "adapter_model.safetensors"
    original = weights.read_bytes()
    assert source.checked_system("canary", source.registry.get("triage:2")).fingerprint()
    try:
        weights.write_bytes(original[:-4] + b"\x00\x00\x00\x00")
        with pytest.raises(
            AliasRefused, match=r"triage:2: the system at .* its files changed since"
        ):
            source.checked_system("canary", source.registry.get("triage:2"))
    finally:
        weights.write_bytes(original)


def test_a_version_never_promoted_to_an_alias_is_refused(released):
    source = _source(released)
    with pytest.raises(AliasRefused, match="no rule for triage@staging"):
        source.checked_system("staging", source.registry.get("triage:1"))


def test_raw_text_is_kept_only_when_asked_and_the_log_says_so(released, tmp_path):
    server, tokens = _serve(released, tmp_path, raw=True)
    with server as url, httpx.Client(timeout=60) as client:
        rid = _chat(client, url, tokens["caller-10"], PII_PROMPT).json()["id"]
    row = _log_rows(released)[rid]
    assert row["text_form"] == "raw" and PLANTED["email"] in row["prompt"]
    found = {f["type"] for f in json.loads(row["pii_json"])["prompt"]}  # still counted
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "PERSON"} <= found
    with pytest.raises(ValueError, match="redacts with a PII scanner unless raw=True"):
        RequestLog(Store(released.store_path))


def test_retention_deletes_old_rows_with_their_feedback(released):
    store = Store(released.store_path)
    with sqlite3.connect(released.store_path) as db:
        db.execute(
            "INSERT INTO serve_requests (id, at, name, endpoint, text_form, pii_json, "
            "flags_json, status) VALUES ('req-old', '2020-01-01T00:00:00.000+00:00', 'triage', "
            "'chat', 'redacted', '{}', '{}', 200)"
        )
        db.execute(
            "INSERT INTO serve_feedback (request_id, at, caller_hash, thumbs) "
            "VALUES ('req-old', '2020-01-01T00:00:00.000+00:00', 'h', 'up')"
        )
        before = db.execute("SELECT COUNT(*) FROM serve_requests").fetchone()[0]
    deleted = RequestLog(store, raw=True, retention_days=30).purge()
    with sqlite3.connect(released.store_path) as db:
        after = db.execute("SELECT COUNT(*) FROM serve_requests").fetchone()[0]
        old_feedback = db.execute(
            "SELECT COUNT(*) FROM serve_feedback WHERE request_id = 'req-old'"
        ).fetchone()[0]
    assert (deleted, before - after, old_feedback) == (1, 1, 0)


def test_a_fixed_model_logs_generation_and_scoring_requests(tiny_chat_llama, tmp_path):
    from finegate.harness import HFModel

    model = HFModel(str(tiny_chat_llama), device="cpu")
    store = Store(tmp_path / "fg.db")
    options = ServeOptions(served_name="tiny", request_log=RequestLog(store, raw=True))
    with ServerThread(model, options) as url, httpx.Client(timeout=60) as client:
        chat = client.post(
            f"{url}/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
            headers={"X-Finegate-Caller": "ops"},
        )
        scored = client.post(
            f"{url}/completions",
            json={"prompt": "The sky is blue", "echo": True, "logprobs": 1, "max_tokens": 0},
        )
        refused = client.post(f"{url}/completions", json={"prompt": "x", "logprobs": 1})
    assert chat.headers["x-finegate-version"] == model.name
    assert chat.json()["finegate"]["alias"] == "fixed"
    rows = {r["endpoint"]: r for r in _log_rows_at(tmp_path / "fg.db")}
    assert set(rows) == {"chat", "logprobs"}
    assert rows["logprobs"]["prompt_tokens"] == scored.json()["usage"]["prompt_tokens"] > 0
    assert rows["chat"]["caller_hash"] and rows["logprobs"]["caller_hash"] is None
    assert rows["chat"]["fingerprint"] == model.fingerprint() and rows["chat"]["version"] is None
    assert refused.status_code == 400  # a malformed request is answered, not logged


def _log_rows_at(path: Path) -> list[dict]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM serve_requests")]


def test_an_answer_that_cannot_be_logged_is_not_sent(tiny_chat_llama, tmp_path):
    from finegate.harness import HFModel

    store = Store(tmp_path / "fg.db")
    options = ServeOptions(request_log=RequestLog(store, raw=True))
    model = HFModel(str(tiny_chat_llama), device="cpu")
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    with ServerThread(model, options) as url, httpx.Client(timeout=60) as client:
        assert client.post(f"{url}/chat/completions", json=body).status_code == 200
        with sqlite3.connect(tmp_path / "fg.db") as db:  # the log's table is gone
            db.execute("ALTER TABLE serve_requests RENAME TO gone")
        r = client.post(f"{url}/chat/completions", json=body)
        metrics = client.get(url.removesuffix("/v1") + "/metrics").text
    assert r.status_code == 503 and "could not be written to the request log" in r.text
    assert "choices" not in r.text
    assert (
        _metric(metrics, "finegate_requests_total", version=model.name, alias="fixed", status="503")
        == 1
    )


def test_callers_added_or_revoked_count_without_a_restart(tmp_path, monkeypatch):
    import finegate.harness.serve._callers as callers_module

    clock = [1000.0]
    monkeypatch.setattr(callers_module.time, "monotonic", lambda: clock[0])
    path = tmp_path / "tokens.yaml"
    ana = new_token(path, "ana")
    callers = CallerTokens.load(path)
    assert callers.caller_of(f"Bearer {ana}") == "ana"
    ben = new_token(path, "ben")
    new_ana = new_token(path, "ana")  # ana's old token is revoked
    assert callers.caller_of(f"Bearer {ben}") is None  # read at most once a second
    clock[0] += 1.5
    assert callers.caller_of(f"Bearer {ben}") == "ben"
    assert callers.caller_of(f"Bearer {ana}") is None
    assert callers.caller_of(f"Bearer {new_ana}") == "ana"
    path.write_text("ana: not-a-digest\n")  # a broken edit keeps the callers as they were
    clock[0] += 1.5
    assert callers.caller_of(f"Bearer {ben}") == "ben"
    with pytest.raises(Exception, match="SHA-256 of the caller's token"):
        CallerTokens.load(path)
    assert callers.caller_of(None) is None and callers.caller_of("Basic abc") is None


def test_flagged_answers_are_counted_per_version(tmp_path):
    from finegate.harness import CallableSystem

    def answer(prompt):
        text = prompt[-1].content
        if text.startswith("harm"):
            return "I'm sorry, but I can't help with that."
        if text.startswith("contact"):
            return "Write to dana.ortiz@example.net for a refund."
        if text.startswith("json"):
            return '{"category": "billing"'  # cut off: not JSON
        return '{"category": "shipping"}'

    system = CallableSystem(answer, name="rules", version="1")
    options = ServeOptions(
        request_log=RequestLog(Store(tmp_path / "fg.db"), scanner=PIIScanner("pattern"))
    )
    asks = ["harm 1", "harm 2", "contact", "json", "ok json", "plain"]
    with ServerThread(system, options) as url, httpx.Client(timeout=60) as client:
        for text in asks:
            body = {"messages": [{"role": "user", "content": text}]}
            if "json" in text:
                body["response_format"] = {"type": "json_object"}
            assert client.post(f"{url}/chat/completions", json=body).status_code == 200
        metrics = client.get(url.removesuffix("/v1") + "/metrics").text
    labels = {"version": "rules", "alias": "fixed"}
    counted = {
        flag: _metric(metrics, "finegate_flagged_answers_total", flag=flag, **labels)
        for flag in ("refusal", "pii", "invalid_json")
    }
    assert counted == {"refusal": 2.0, "pii": 1.0, "invalid_json": 1.0}
    assert _metric(metrics, "finegate_recent_share", flag="refusal", **labels) == pytest.approx(
        2 / 6
    )
    share = _metric(metrics, "finegate_recent_share", flag="invalid_json", **labels)
    assert share == pytest.approx(1 / 2)  # of the two answers asked to be JSON
    rows = {json.loads(r["prompt"])[0]["content"]: r for r in _log_rows_at(tmp_path / "fg.db")}
    assert json.loads(rows["json"]["flags_json"]) == {
        "invalid_json": True,
        "json_requested": True,
        "refusal": False,
    }
    assert json.loads(rows["plain"]["flags_json"])["json_requested"] is False
    assert json.loads(rows["ok json"]["flags_json"])["invalid_json"] is False
    assert rows["contact"]["answer"] == "Write to <EMAIL_ADDRESS> for a refund."
    assert json.loads(rows["contact"]["pii_json"])["answer"][0]["type"] == "EMAIL_ADDRESS"


def test_a_version_repointed_in_the_store_is_refused(released):
    """Someone with write access to the store edits the version's fingerprint (to
    match other files they point its run at): the signed promotion still names the
    fingerprint that was gated."""
    source = _source(released)
    with sqlite3.connect(released.store_path) as db:
        (old,) = db.execute(
            "SELECT fingerprint FROM model_versions WHERE name = 'triage' AND version = 1"
        ).fetchone()
        db.execute(
            "UPDATE model_versions SET fingerprint = ? WHERE name = 'triage' AND version = 1",
            ("f" * 64,),
        )
    try:
        problems = source.signed_problems("production", source.registry.get("triage:1"))
        assert problems == [
            f"triage:1 has fingerprint ffffffffffff in the registry, {old[:12]} in its signed "
            "promotion: it was changed after promotion"
        ]
    finally:
        with sqlite3.connect(released.store_path) as db:
            db.execute(
                "UPDATE model_versions SET fingerprint = ? WHERE name = 'triage' AND version = 1",
                (old,),
            )


def test_a_canary_moved_outside_finegate_is_not_served_from_the_start(released):
    canary = "UPDATE model_aliases SET version = ? WHERE name = 'triage' AND alias = 'canary'"
    with sqlite3.connect(released.store_path) as db:
        db.execute(canary, (1,))  # production's version, so its loaded slot would be reused
    follower = None
    try:
        follower = _follower(released)
        assert set(follower.deployment.slots) == {"production"}
        assert list(follower.refused) == [("canary", 1)]
        # with no canary, every caller is answered by production
        assert follower.deployment.route("caller-11")[1] == "production"
    finally:
        with sqlite3.connect(released.store_path) as db:
            db.execute(canary, (2,))
        if follower is not None:
            follower.close()

"""Serving the embedded SmolLM2 by its aliases: a real chat model answers, the
log holds its answer redacted, and the canary caller gets the adapter version."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from finegate.harness.core import GenerateRequest, GenerationParams, Message
from finegate.harness.pii import PIIScanner
from finegate.harness.registry import open_registry
from finegate.harness.registry.trust import load_trust_root
from finegate.harness.serve import (
    AliasFollower,
    AliasSource,
    Batching,
    BatchStats,
    RequestLog,
    ServeOptions,
    ServerThread,
)
from finegate.harness.store import Store
from finegate.harness.system import DEFAULT_MODEL, HFModel, ensure_embedded

from .conftest import release

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def released_smollm2(tmp_path_factory):
    root = tmp_path_factory.mktemp("smollm2")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_CHECKPOINTS", str(root / "checkpoints"))
        yield release(root, DEFAULT_MODEL, ensure_embedded(DEFAULT_MODEL), init="small")


def test_smollm2_served_by_alias_with_a_redacted_log(released_smollm2):
    store = Store(released_smollm2.store_path)
    source = AliasSource(
        store, open_registry(store), "triage", load_trust_root(released_smollm2.trust)
    )
    follower = AliasFollower(
        source, canary_share=0.2, batching=Batching(0.01, 8), stats=BatchStats(), poll_s=0.5
    )
    log = RequestLog(store, scanner=PIIScanner("spacy"))
    options = ServeOptions(served_name="triage", request_log=log)
    question = "My name is Tom Baker and my email is tom.baker@example.com. What is 2 + 2?"
    with ServerThread(follower, options) as url, httpx.Client(timeout=120) as client:
        answers = {}
        for caller in ("caller-10", "caller-11"):  # production, canary
            r = client.post(
                f"{url}/chat/completions",
                json={"messages": [{"role": "user", "content": question}], "max_tokens": 24},
                headers={"X-Finegate-Caller": caller},
            )
            assert r.status_code == 200, r.text
            answers[caller] = r.json()
    assert answers["caller-10"]["finegate"]["version"] == "triage:1"
    assert answers["caller-11"]["finegate"]["version"] == "triage:2"
    text = answers["caller-10"]["choices"][0]["message"]["content"]
    local = HFModel(DEFAULT_MODEL, device="cpu", dtype="float32").generate(
        [GenerateRequest((Message("user", question),), GenerationParams(max_new_tokens=24))]
    )
    assert text == local[0].text and len(text) > 20  # the served model is the evaluated one
    assert answers["caller-11"]["system_fingerprint"] != answers["caller-10"]["system_fingerprint"]
    with sqlite3.connect(released_smollm2.store_path) as db:
        prompts = [p for (p,) in db.execute("SELECT prompt FROM serve_requests")]
    assert len(prompts) == 2
    assert all("tom.baker@example.com" not in p and "Tom Baker" not in p for p in prompts)
    assert all("<EMAIL_ADDRESS>" in p and "<PERSON>" in p for p in prompts)

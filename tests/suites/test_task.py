"""The built-in support-triage suite: original data, correct labels, stable splits."""

import hashlib
import json
from collections import Counter

from finegate.harness import resolve_suite
from finegate.suites import builtin_suites
from finegate.suites.task import _support_triage_data as data

CATEGORIES = {
    "billing",
    "account_access",
    "technical_issue",
    "shipping",
    "feature_request",
    "cancellation",
}
PRIORITIES = {"low", "medium", "high", "urgent"}


def test_the_file_is_exactly_what_the_generator_writes(tmp_path):
    out = tmp_path / "tickets.jsonl"
    assert data.write_tickets(out) == 420
    shipped = builtin_suites()["task/support_triage"].parent / "tickets.jsonl"
    assert out.read_bytes() == shipped.read_bytes()


def test_labels_references_and_splits_agree():
    suite = resolve_suite("task/support_triage")
    cases = suite.all_cases
    assert len(cases) >= 300
    for case in cases:
        target = json.loads(case.references[0])
        assert list(target) == ["category", "priority", "summary"]
        assert target["category"] == case.labels["category"] in CATEGORIES
        assert target["priority"] == case.labels["priority"] in PRIORITIES
        assert 3 <= len(target["summary"].split()) <= 20
        assert case.metadata["product"].lower() in case.input.lower()
        bucket = int(hashlib.sha256(case.id.encode()).hexdigest(), 16) % 100
        assert case.split == ("train" if bucket < 60 else "validation" if bucket < 75 else "test")
    assert {c.id for c in suite.cases} == {c.id for c in cases if c.split == "test"}
    assert len(suite.cases) >= 80


def test_the_data_is_varied():
    cases = resolve_suite("task/support_triage").all_cases
    categories = Counter(c.labels["category"] for c in cases)
    priorities = Counter(c.labels["priority"] for c in cases)
    assert set(categories) == CATEGORIES and min(categories.values()) >= 50
    assert set(priorities) == PRIORITIES and min(priorities.values()) >= 30
    tags = Counter(t for c in cases for t in c.tags)
    assert len([t for t in tags if t.startswith("product:")]) >= 4
    assert len([t for t in tags if t.startswith("tone:")]) >= 5
    assert tags["typos"] >= 30 and tags["length:short"] >= 30 and tags["length:long"] >= 30
    assert len({c.input for c in cases}) == len(cases)
    shipping_products = {c.metadata["product"] for c in cases if c.labels["category"] == "shipping"}
    assert shipping_products == {"Brightwick", "Strideloom"}  # only physical products ship

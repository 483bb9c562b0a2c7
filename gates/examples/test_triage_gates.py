"""Hand-written gate checks, next to the policy's own gates.

Policies cover the common rules; a team's own rules are plain pytest tests over
the stored runs, through finegate's fixtures. Run them with the policy:

    pytest gates/examples --finegate-policy default \\
        --finegate-run CANDIDATE --finegate-baseline BASELINE --junitxml gates.xml
"""

SUITE = "task/support_triage"
CATEGORIES = [
    "billing",
    "account_access",
    "technical_issue",
    "shipping",
    "feature_request",
    "cancellation",
]


def test_no_category_is_left_behind(finegate_run):
    """Macro F1 can hide one collapsing class: hold every category to an F1 floor."""
    weak = {c: round(finegate_run.metric(SUITE, f"category.f1[{c}]").value, 3) for c in CATEGORIES}
    weak = {c: f1 for c, f1 in weak.items() if f1 < 0.5}
    assert not weak, f"categories under F1 0.5: {weak}"


def test_answers_do_not_grow_much_longer_than_the_baseline(finegate_run, finegate_baseline):
    """Longer answers cost money and latency: at most 1.5x the baseline's answer tokens."""
    ours = finegate_run.metric(SUITE, "tokens.completion").value
    theirs = finegate_baseline.metric(SUITE, "tokens.completion").value
    assert ours <= 1.5 * theirs, f"{ours:.1f} answer tokens per request vs {theirs:.1f}"


def test_urgent_tickets_are_never_triaged_low(finegate_run):
    """A domain rule no generic metric states: an urgent ticket must not come back 'low'."""
    misses = [
        r["case_id"]
        for r in finegate_run.records(SUITE)
        if r["facts"].get("priority", {}).get("gold") == "urgent"
        and r["facts"].get("priority", {}).get("pred") == "low"
    ]
    assert not misses, f"urgent tickets triaged as low: {misses}"

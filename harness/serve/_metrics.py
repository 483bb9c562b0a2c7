"""``/metrics`` in Prometheus' text format, per version that answered.

Counters and histograms are what Prometheus rates and aggregates itself; the
``finegate_recent_share`` gauges give the share of flagged answers (refusals,
answers with PII; invalid JSON among the answers asked to be JSON) over each
version's last answers, so a canary's
safety shows at a glance without a query.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
FLAGS = ("refusal", "pii", "invalid_json")


class ServeMetrics:
    """One Prometheus registry per server (never the process-wide default, so two
    servers in one process keep their own numbers)."""

    def __init__(self, window: int = 100):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        by_version = ["version", "alias"]
        r = self.registry
        self.requests = Counter(
            "finegate_requests", "Requests, by outcome", [*by_version, "status"], registry=r
        )
        self.latency = Histogram(
            "finegate_request_latency_seconds",
            "Time from request to answer",
            by_version,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "finegate_tokens", "Tokens, prompt and completion", [*by_version, "kind"], registry=r
        )
        self.cost = Counter("finegate_cost", "Cost of the answers", by_version, registry=r)
        self.errors = Counter("finegate_errors", "Failed requests", by_version, registry=r)
        self.flagged = Counter(
            "finegate_flagged_answers",
            "Answers that were refusals, held PII, or were not the JSON asked for",
            [*by_version, "flag"],
            registry=r,
        )
        self.recent = Gauge(
            "finegate_recent_share",
            f"Share of each version's last {window} answers with the flag",
            [*by_version, "flag"],
            registry=r,
        )
        self.feedback = Counter(
            "finegate_feedback", "Feedback received", [*by_version, "kind"], registry=r
        )
        self.alias_refusals = Counter(
            "finegate_alias_refusals",
            "Alias moves the server refused to follow (not a signed promotion, or a "
            "fingerprint that differs from the registered one)",
            ["alias"],
            registry=r,
        )
        self._recent: dict[tuple[str, str, str], deque[bool]] = defaultdict(
            lambda: deque(maxlen=window)
        )

    def answered(
        self,
        version: str,
        alias: str,
        *,
        latency_s: float,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        flags: dict[str, bool],
    ) -> None:
        self.requests.labels(version, alias, "200").inc()
        self.latency.labels(version, alias).observe(latency_s)
        self.tokens.labels(version, alias, "prompt").inc(prompt_tokens)
        self.tokens.labels(version, alias, "completion").inc(completion_tokens)
        self.cost.labels(version, alias).inc(cost)
        for flag in FLAGS:
            value = bool(flags.get(flag))
            if value:
                self.flagged.labels(version, alias, flag).inc()
            if flag == "invalid_json" and not flags.get("json_requested"):
                continue  # a share of the answers that were asked to be JSON
            recent = self._recent[(version, alias, flag)]
            recent.append(value)
            self.recent.labels(version, alias, flag).set(sum(recent) / len(recent))

    def failed(self, version: str, alias: str, status: int) -> None:
        self.requests.labels(version, alias, str(status)).inc()
        self.errors.labels(version, alias).inc()

    def feedback_given(self, version: str, alias: str, thumbs: Any, done: Any) -> None:
        if thumbs is not None:
            self.feedback.labels(version, alias, f"thumbs_{thumbs}").inc()
        if done is not None:
            self.feedback.labels(version, alias, "task_completed" if done else "task_failed").inc()

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

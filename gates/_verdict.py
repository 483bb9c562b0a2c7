"""Verdicts: what each gate decided, with the numbers and evidence behind it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "warn", "waived", "error"]
Overall = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class Verdict:
    gate_id: str
    type: str
    severity: str
    status: Status
    message: str
    suite: str | None = None
    metric: str | None = None
    observed: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    level: float | None = None
    decided_on: float | None = None
    bound: str | None = None
    comparator: str | None = None
    threshold: float | None = None
    margin: float | None = None
    relative: bool | None = None
    test: str | None = None
    p_value: float | None = None
    waiver: dict[str, Any] | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()  # what a reader should know about the numbers

    @property
    def blocking(self) -> bool:
        return self.severity == "block" and self.status in ("fail", "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }

    def explain(self) -> str:
        """One paragraph a CI log can show: what was observed against what."""
        parts = [f"{self.gate_id}: {self.status.upper()}: {self.message}"]
        if self.observed is not None:
            ci = ""
            if self.ci_low is not None and self.ci_high is not None:
                level = f"{round((self.level or 0.95) * 100)}% CI " if self.level else "CI "
                ci = f", {level}[{self.ci_low:.4f}, {self.ci_high:.4f}]"
            n = f", n={self.n}" if self.n is not None else ""
            parts.append(f"  observed {self.metric} = {self.observed:.4f}{ci}{n}")
        if self.threshold is not None:
            parts.append(
                f"  required: {self.bound} {self.comparator} {self.threshold:.4f}"
                f" (decided on {self.decided_on:.4f})"
                if self.decided_on is not None
                else f"  required: {self.comparator} {self.threshold:.4f}"
            )
        if self.margin is not None:
            kind = "relative" if self.relative else "absolute"
            parts.append(
                f"  non-inferiority margin {self.margin} ({kind}); test {self.test}"
                + (f", p={self.p_value:.4g}" if self.p_value is not None else "")
            )
        parts += [f"  note: {flag}" for flag in self.flags]
        if self.waiver:
            parts.append(
                f"  waiver: {self.waiver['owner']}: {self.waiver['reason']} "
                f"(expires {self.waiver['expires']})"
            )
        worst = self.evidence.get("worst_cases")
        if worst:
            parts.append(
                "  worst cases: "
                + ", ".join(
                    f"{w['case_id']} ({w['score']})" if "score" in w else w["case_id"]
                    for w in worst
                )
            )
        return "\n".join(parts)


@dataclass(frozen=True)
class PolicyVerdict:
    id: str
    created_at: str
    policy_id: str
    policy_version: str
    policy_hash: str
    run_id: str
    baseline_run_id: str | None
    fingerprint: str
    status: Overall
    gates: tuple[Verdict, ...]

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "gates"}
        data["gates"] = [g.to_dict() for g in self.gates]
        return data

    @property
    def blocking(self) -> list[Verdict]:
        return [g for g in self.gates if g.blocking]


def overall_status(gates: list[Verdict]) -> Overall:
    """An error in a blocking gate is an error (the evidence is missing); a failed
    blocking gate is a failure; warnings and waived failures do not block."""
    if any(g.severity == "block" and g.status == "error" for g in gates):
        return "error"
    if any(g.status == "fail" for g in gates):
        return "fail"
    return "pass"

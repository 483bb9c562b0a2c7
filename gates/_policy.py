"""Policies: what a candidate must show before it may ship.

A policy is YAML validated by these pydantic models; every problem is reported
at once as ``file:line: field: message``. Three kinds of gate:

- **threshold**: a metric of the candidate run against ``min`` or ``max``,
  decided on (``decide_on``) the point estimate or an interval bound (the lower bound for a
  minimum and the upper bound for a maximum by default: "at least 0.8" means
  "at least 0.8 even at the pessimistic end of the interval");
- **baseline**: the candidate against a baseline run on the same suite hash,
  non-inferior within an absolute or relative margin, decided on the paired
  interval, with the test named in the verdict;
- **governance**: facts about how the candidate was made (training-data
  provenance, differential privacy when the data held PII, the epsilon ceiling,
  contamination, named approvals, the base model, the toxicity backend that
  scored the run).

The policy hash covers the validated content (comments and key order do not
matter) and is recorded with every verdict.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from finegate.harness.core import parse_yaml_model, sha256_json

Severity = Literal["block", "warn"]
Bound = Literal["point", "lower_bound", "upper_bound"]
GOVERNANCE_CHECKS = (
    "provenance",
    "dp_if_pii",
    "epsilon",
    "contamination",
    "approval",
    "base_model",
    "toxicity_backend",
)


class _Gate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    severity: Severity = "block"


class _Limited(_Gate):
    """A metric against ``min`` or ``max``, decided on a point or an interval bound."""

    min: float | None = None
    max: float | None = None
    decide_on: Bound | None = None
    min_n: int = Field(
        30,
        ge=1,
        description="the fewest cases a decision rests on; below 30 an interval says little, "
        "and at 1 it has no width at all (lower it explicitly if you must)",
    )

    @model_validator(mode="after")
    def _one_limit(self) -> _Limited:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of 'min' and 'max'")
        return self

    @property
    def bound(self) -> Bound:
        if self.decide_on is not None:
            return self.decide_on
        return "lower_bound" if self.min is not None else "upper_bound"


class ThresholdGate(_Limited):
    type: Literal["threshold"] = "threshold"
    suite: str
    metric: str


class BaselineGate(_Gate):
    type: Literal["baseline"] = "baseline"
    suite: str
    metric: str
    margin: float = Field(ge=0.0, description="how much worse than the baseline is acceptable")
    relative: bool = Field(False, description="margin as a fraction of the baseline's value")
    higher_is_better: bool = True
    min_n: int = Field(
        30,
        ge=1,
        description="the fewest cases a decision rests on; below 30 an interval says little, "
        "and at 1 it has no width at all (lower it explicitly if you must)",
    )
    decide_on: Literal["interval", "point"] = Field(
        "interval",
        description="interval: the paired CI's bound must stay within the margin "
        "(non-inferiority shown); point: the observed difference must",
    )
    superior: bool = Field(
        False,
        description="the candidate must beat the baseline by more than the margin on the "
        "paired interval (superiority shown), not merely stay within it",
    )


class GovernanceGate(_Gate):
    type: Literal["governance"] = "governance"
    check: Literal[
        "provenance",
        "dp_if_pii",
        "epsilon",
        "contamination",
        "approval",
        "base_model",
        "toxicity_backend",
    ]
    max: float | None = Field(
        None,
        description="epsilon, dp_if_pii: the ceiling on the group epsilon (k x epsilon for "
        "a record that occurs k times); contamination: the rate limit",
    )
    max_delta: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="epsilon, dp_if_pii: the loosest delta accepted [default: 1 / (10 x "
        "training examples)]",
    )
    require_secure_rng: bool = Field(
        False,
        description="epsilon, dp_if_pii: the noise must come from a cryptographically secure "
        "generator (opacus' secure_mode)",
    )
    suite: str | None = Field(None, description="contamination: the evaluation suite checked")
    approvers: list[str] = Field(default_factory=list, description="approval: who must approve")
    base_model: str | None = Field(None, description="base_model: name or weights hash")
    backend: str | None = Field(
        None, description="toxicity_backend: the toxicity backend the run's scores must come from"
    )
    base_models: Literal["error", "not_applicable"] = Field(
        "error",
        description="provenance, dp_if_pii, epsilon, contamination: a candidate with no "
        "adapter and no bound training manifest is an error (nothing says what it was "
        "trained on), unless the policy says the gate does not apply to base models",
    )

    @model_validator(mode="after")
    def _needs(self) -> GovernanceGate:
        need = {
            "epsilon": ["max"],
            "dp_if_pii": ["max"],
            "contamination": ["max", "suite"],
            "approval": ["approvers"],
            "base_model": ["base_model"],
            "toxicity_backend": ["backend"],
        }.get(self.check, [])
        missing = [f for f in need if getattr(self, f) in (None, [], "")]
        if missing:
            raise ValueError(f"check {self.check!r} needs {', '.join(missing)}")
        return self


Gate = Annotated[ThresholdGate | BaselineGate | GovernanceGate, Field(discriminator="type")]


# -- monitor gates: decided on live traffic (finegate monitor), not on a run --------------

AB_METRICS = (
    "thumbs_up",
    "task_completed",
    "refusal",
    "answer_pii",
    "cost",
    "completion_tokens",
    "latency_p95",
)  # harness.monitor.AB_METRICS, named here so a policy loads without numpy
DRIFT_CHECKS = ("inputs_vs_suite", "outputs_vs_reference")


class ABGate(_Gate):
    """Canary minus production on one A/B metric, on its anytime-valid bounds:
    fails when the canary is worse by more than ``margin`` at every plausible
    value, passes once it is shown not worse by more than ``margin`` (or, with
    ``require: better``, shown better), and stays undecided in between."""

    type: Literal["ab"] = "ab"
    metric: Literal[AB_METRICS]  # type: ignore[valid-type]
    margin: float = Field(0.0, ge=0.0, description="how much worse the canary may be")
    require: Literal["not_worse", "better"] = "not_worse"


class WindowGate(_Limited):
    """A metric of one arm's current window (a run of kind production), like a
    threshold gate on an evaluation run."""

    type: Literal["window"] = "window"
    arm: Literal["canary", "production"] = "canary"
    metric: str


class DriftGate(_Gate):
    """No drift alarm (Benjamini-Hochberg across the drift tests at their alpha)."""

    type: Literal["drift"] = "drift"
    check: Literal[DRIFT_CHECKS]  # type: ignore[valid-type]


MonitorGate = Annotated[ABGate | WindowGate | DriftGate, Field(discriminator="type")]


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gate: str
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date

    def active(self, today: date) -> bool:
        return today <= self.expires


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    version: str
    description: str = ""
    suites: list[str] = Field(default_factory=list, description="suites the run must hold")
    monitor: list[MonitorGate] = Field(
        default_factory=list,
        description="gates on live traffic, decided by `finegate monitor` (ab, window, drift)",
    )
    gates: list[Gate] = Field(default_factory=list, validate_default=True)
    waivers: list[Waiver] = Field(default_factory=list)
    allow_limited_runs: bool = Field(
        False, description="decide on runs of only the first N cases (`--limit`)"
    )
    allow_incomplete_runs: bool = Field(
        False, description="decide on runs that were cut off before every case was scored"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v

    @field_validator("gates", mode="before")
    @classmethod
    def _infer_type(cls, gates: Any) -> Any:
        """``type`` may be left out: ``check`` makes a governance gate, ``margin`` a
        baseline gate, anything else a threshold gate."""
        if not isinstance(gates, list):
            return gates
        out = []
        for g in gates:
            if isinstance(g, dict):
                # `on:` reads naturally but YAML 1.1 parses the key `on` as true
                for key in (True, "on"):
                    if key in g and "decide_on" not in g:
                        g = {("decide_on" if k == key else k): v for k, v in g.items()}
                if "type" not in g:
                    kind = (
                        "governance"
                        if "check" in g
                        else "baseline"
                        if "margin" in g
                        else "threshold"
                    )
                    g = {"type": kind, **g}
            out.append(g)
        return out

    @field_validator("gates", mode="after")
    @classmethod
    def _unique_ids(cls, gates: list[Any]) -> list[Any]:
        ids = [g.id for g in gates]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"gate ids must be unique: {', '.join(dupes)}")
        return gates

    @field_validator("monitor", mode="before")
    @classmethod
    def _infer_monitor_type(cls, gates: Any) -> Any:
        """``type`` may be left out: ``check`` makes a drift gate, ``arm`` or a
        limit a window gate, anything else an A/B gate."""
        if not isinstance(gates, list):
            return gates
        out = []
        for g in gates:
            if isinstance(g, dict) and "type" not in g:
                kind = (
                    "drift"
                    if "check" in g
                    else "window"
                    if {"arm", "min", "max"} & set(g)
                    else "ab"
                )
                g = {"type": kind, **g}
            out.append(g)
        return out

    @field_validator("gates", mode="after")
    @classmethod
    def _some_gate(cls, gates: list[Any], info: ValidationInfo) -> list[Any]:
        if not gates and not info.data.get("monitor"):
            raise PydanticCustomError(
                "too_short", "List should have at least 1 item (or a monitor: section)"
            )
        return gates

    @model_validator(mode="after")
    def _unique_across_sections(self) -> Policy:
        ids = [g.id for g in self.gates] + [g.id for g in self.monitor]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"gate ids must be unique: {', '.join(dupes)}")
        return self

    @field_validator("waivers", mode="after")
    @classmethod
    def _known_gates(cls, waivers: list[Waiver], info: ValidationInfo) -> list[Waiver]:
        ids = {g.id for g in [*info.data.get("gates", []), *info.data.get("monitor", [])]}
        unknown = [w.gate for w in waivers if w.gate not in ids]
        if ids and unknown:
            raise ValueError(f"waivers name unknown gates: {', '.join(unknown)}")
        return waivers

    def hashed_content(self) -> dict[str, Any]:
        """The validated content the hash covers. A field added to the schema later
        enters it only where a policy uses it, so existing policies keep their hash."""
        data = self.model_dump(mode="json")
        for key in ("allow_limited_runs", "allow_incomplete_runs", "monitor"):
            if not data.get(key):
                data.pop(key, None)
        for gate in data["gates"]:
            if gate.get("type") == "baseline" and not gate.get("superior"):
                gate.pop("superior", None)
            if gate.get("type") == "governance":
                for key, default in (
                    ("base_models", "error"),
                    ("max_delta", None),
                    ("require_secure_rng", False),
                ):
                    if gate.get(key) == default:
                        gate.pop(key, None)
        return data

    def hash(self) -> str:
        return sha256_json(self.hashed_content())

    def waiver_for(self, gate_id: str) -> Waiver | None:
        return next((w for w in self.waivers if w.gate == gate_id), None)


def load_policy(path: str | Path) -> Policy:
    """A policy file, or a built-in pack by name (``default``, ``regulated``)."""
    p = Path(path)
    if not p.exists() and p.suffix not in (".yaml", ".yml"):
        from finegate.policies import builtin_policies

        packs = builtin_policies()
        if str(path) in packs:
            p = packs[str(path)]
    return parse_yaml_model(p, Policy)[0]


def policy_json_schema() -> dict[str, Any]:
    return Policy.model_json_schema()

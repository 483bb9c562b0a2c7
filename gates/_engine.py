"""The gate engine: a policy and stored runs in, one verdict per gate out.

Nothing here is decided on missing evidence: a gate whose suite, metric,
baseline, manifest or contamination check is absent is an ``error``, which
blocks like a failure and says what to provide.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from finegate.gates._policy import BaselineGate, GovernanceGate, Policy, ThresholdGate
from finegate.gates._verdict import PolicyVerdict, Verdict, overall_status
from finegate.harness.core import InputError
from finegate.harness.store import Store
from finegate.harness.system import RecordedTraining, innermost, recorded_training

WORST_CASES = 5


@dataclass
class Evidence:
    """Everything a policy may look at, loaded once."""

    store: Store
    run: dict[str, Any]
    baseline: dict[str, Any] | None = None
    approvals: list[dict[str, Any]] = field(default_factory=list)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    data_census: dict[str, Any] | None = None  # `finegate pii scan` of the training data
    _metrics: dict[str, dict[str, Any]] | None = None
    _comparison: Any = None

    def metrics(self) -> dict[str, dict[str, Any]]:
        if self._metrics is None:
            self._metrics = {
                s: {m.name: m for m in ms} for s, ms in self.store.metrics(self.run["id"]).items()
            }
        return self._metrics

    def comparison(self) -> Any:
        if self._comparison is None:
            from finegate.harness.compare import compare_runs

            assert self.baseline is not None
            self._comparison = compare_runs(self.store, self.baseline["id"], self.run["id"])
        return self._comparison

    def innermost_system(self) -> dict[str, Any]:
        return innermost(self.run["system"])

    def training(self) -> RecordedTraining:
        """The training manifest the candidate's run recorded, or why there is none."""
        return recorded_training(self.run)


def _suite_ids(run: dict[str, Any]) -> list[str]:
    return [s["id"] for s in run["suites"]]


def _finite(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _worst_cases(ev: Evidence, suite: str, metric: str, lowest: bool) -> list[dict[str, Any]]:
    """The cases that pull the metric the wrong way (never ones at the best score)."""
    records = ev.store.records(ev.run["id"], suite)
    scored = [(r["scores"].get(metric), r["case_id"]) for r in records]
    scored = [(s, c) for s, c in scored if s is not None]
    if not scored:
        return []
    best = max(s for s, _ in scored) if lowest else min(s for s, _ in scored)
    scored = [(s, c) for s, c in scored if s != best]
    scored.sort(key=lambda x: x[0], reverse=not lowest)
    return [{"case_id": c, "score": s} for s, c in scored[:WORST_CASES]]


ZERO_WIDTH = (
    "the interval has zero width: every case scored the same, so the pessimistic bound "
    "is the point estimate and says nothing about the cases not seen"
)


def _flags(low: float | None, high: float | None) -> tuple[str, ...]:
    low, high = _finite(low), _finite(high)
    return (ZERO_WIDTH,) if low is not None and high is not None and low == high else ()


def _threshold(gate: ThresholdGate, ev: Evidence) -> Verdict:
    base = {
        "gate_id": gate.id,
        "type": gate.type,
        "severity": gate.severity,
        "suite": gate.suite,
        "metric": gate.metric,
    }
    if gate.suite not in _suite_ids(ev.run):
        return Verdict(
            **base,
            status="error",
            message=f"run {ev.run['id']} has no suite {gate.suite!r} "
            f"(it has: {', '.join(_suite_ids(ev.run)) or 'none'})",
        )
    metrics = ev.metrics().get(gate.suite, {})
    m = metrics.get(gate.metric)
    if m is None:
        return Verdict(
            **base,
            status="error",
            message=f"metric {gate.metric!r} is not in suite {gate.suite!r} of run "
            f"{ev.run['id']} (available: {', '.join(sorted(metrics))})",
        )
    values = {"point": m.value, "lower_bound": m.ci_low, "upper_bound": m.ci_high}
    decided = values[gate.bound]
    comparator, threshold = (">=", gate.min) if gate.min is not None else ("<=", gate.max)
    numbers = {
        "observed": _finite(m.value),
        "ci_low": _finite(m.ci_low),
        "ci_high": _finite(m.ci_high),
        "n": m.n,
        "level": m.level,
        "decided_on": _finite(decided),
        "bound": gate.bound,
        "comparator": comparator,
        "threshold": threshold,
        "evidence": {"run_id": ev.run["id"]},
        "flags": _flags(m.ci_low, m.ci_high) if gate.bound != "point" else (),
    }
    if m.n < gate.min_n:
        return Verdict(
            **base,
            **numbers,
            status="error",
            message=f"only {m.n} cases scored; the gate needs at least {gate.min_n}",
        )
    if decided is None or math.isnan(decided):
        return Verdict(**base, **numbers, status="error", message="the metric has no value")
    assert threshold is not None
    ok = decided >= threshold if comparator == ">=" else decided <= threshold
    if ok:
        return Verdict(
            **base,
            **numbers,
            status="pass",
            message=f"{gate.bound} {decided:.4f} {comparator} {threshold}",
        )
    numbers["evidence"]["worst_cases"] = _worst_cases(
        ev, gate.suite, gate.metric, lowest=comparator == ">="
    )
    return Verdict(
        **base,
        **numbers,
        status="fail",
        message=f"{gate.bound} {decided:.4f} is not {comparator} {threshold}",
    )


def _baseline(gate: BaselineGate, ev: Evidence) -> Verdict:
    base = {
        "gate_id": gate.id,
        "type": gate.type,
        "severity": gate.severity,
        "suite": gate.suite,
        "metric": gate.metric,
        "margin": gate.margin,
        "relative": gate.relative,
    }
    if ev.baseline is None:
        return Verdict(
            **base,
            status="error",
            message="this gate compares against a baseline run: give one "
            "(--baseline / --finegate-baseline)",
        )
    for run in (ev.run, ev.baseline):
        if gate.suite not in _suite_ids(run):
            return Verdict(
                **base, status="error", message=f"run {run['id']} has no suite {gate.suite!r}"
            )
    from finegate.harness.core import InputError

    try:
        comparison = ev.comparison()
    except InputError as e:
        return Verdict(**base, status="error", message=str(e).splitlines()[0])
    delta = next(
        (d for d in comparison.deltas if d.suite_id == gate.suite and d.name == gate.metric), None
    )
    if delta is None:
        return Verdict(
            **base,
            status="error",
            message=f"metric {gate.metric!r} is missing from suite {gate.suite!r} "
            "in one of the runs",
        )
    allowed = gate.margin * abs(delta.a.value) if gate.relative else gate.margin
    evidence = {
        "run_id": ev.run["id"],
        "baseline_run_id": ev.baseline["id"],
        "baseline_value": delta.a.value,
        "delta": delta.delta,
    }
    numbers = {
        "observed": _finite(delta.delta),
        "ci_low": _finite(delta.ci_low),
        "ci_high": _finite(delta.ci_high),
        "n": delta.n_paired,
        "level": delta.level,
        "test": f"{delta.test}; non-inferiority on the paired {round(delta.level * 100)}% CI",
        "p_value": _finite(delta.p_value),
        "evidence": evidence,
        "flags": _flags(delta.ci_low, delta.ci_high) if gate.decide_on != "point" else (),
    }
    if delta.n_paired < gate.min_n:
        return Verdict(
            **base,
            **numbers,
            status="error",
            message=f"only {delta.n_paired} paired cases; the gate needs {gate.min_n}",
        )
    if gate.superior:  # better by more than the margin, not merely within it
        allowed = -allowed
    strict = gate.superior
    if gate.higher_is_better:
        decided, comparator, threshold = delta.ci_low, ">" if strict else ">=", -allowed
    else:
        decided, comparator, threshold = delta.ci_high, "<" if strict else "<=", allowed
    bound = "lower_bound" if gate.higher_is_better else "upper_bound"
    if gate.decide_on == "point":
        decided, bound = delta.delta, "point"
        numbers["test"] = f"{delta.test}; the observed paired difference against the margin"
    if delta.relative is not None:
        evidence["relative_change"] = delta.relative
        evidence["relative_ci"] = [delta.relative_ci_low, delta.relative_ci_high]
    numbers.update(
        {
            "decided_on": _finite(decided),
            "comparator": comparator,
            "threshold": threshold,
            "bound": bound,
        }
    )
    if decided is None or math.isnan(decided):
        return Verdict(
            **base,
            **numbers,
            status="error",
            message="the paired difference has no interval (too few cases)",
        )
    if gate.higher_is_better:
        ok = decided > threshold if strict else decided >= threshold
    else:
        ok = decided < threshold if strict else decided <= threshold
    verb = "drop" if gate.higher_is_better else "rise"
    if strict:
        return _superiority(gate, base, numbers, evidence, delta, ok, -allowed)
    if ok:
        return Verdict(
            **base,
            **numbers,
            status="pass",
            message=f"non-inferior: the {verb} of {gate.metric} stays within "
            f"{allowed:.4f} of the baseline's {delta.a.value:.4f}",
        )
    worse = [
        f.case_id
        for f in comparison.flipped
        if f.suite_id == gate.suite and f.metric == gate.metric and f.direction == "worse"
    ]
    evidence["worse_count"] = len(worse)
    evidence["worse_cases"] = worse[:20]
    return Verdict(
        **base,
        **numbers,
        status="fail",
        message=f"inferior: the paired interval allows a {verb} of more than "
        f"{allowed:.4f} from the baseline's {delta.a.value:.4f}",
    )


def _superiority(
    gate: BaselineGate,
    base: dict[str, Any],
    numbers: dict[str, Any],
    evidence: dict[str, Any],
    delta: Any,
    ok: bool,
    margin: float,
) -> Verdict:
    numbers["test"] = f"{delta.test}; superiority on the paired {round(delta.level * 100)}% CI"
    better = "rise" if gate.higher_is_better else "drop"
    if ok:
        return Verdict(
            **base,
            **numbers,
            status="pass",
            message=f"superior: the paired interval shows a {better} of {gate.metric} of more "
            f"than {margin:.4f} over the baseline's {delta.a.value:.4f}",
        )
    return Verdict(
        **base,
        **numbers,
        status="fail",
        message=f"not shown superior: the paired interval allows a {better} of "
        f"{margin:.4f} or less over the baseline's {delta.a.value:.4f}",
    )


def _governance(gate: GovernanceGate, ev: Evidence) -> Verdict:
    base = {"gate_id": gate.id, "type": gate.type, "severity": gate.severity}
    if gate.check == "approval":
        names = {a.get("by") for a in ev.approvals}
        missing = [p for p in gate.approvers if p not in names]
        if missing:
            return Verdict(
                **base,
                status="fail",
                message=f"no approval recorded by {', '.join(missing)}",
                evidence={"approvals": ev.approvals},
            )
        return Verdict(
            **base,
            status="pass",
            message=f"approved by {', '.join(gate.approvers)}",
            evidence={"approvals": ev.approvals},
        )
    if gate.check == "base_model":
        system = ev.innermost_system()
        names = {system.get("model"), system.get("weights_hash")}
        want = gate.base_model or ""
        ok = want in names or (
            len(want) >= 12 and str(system.get("weights_hash", "")).startswith(want)
        )
        return Verdict(
            **base,
            status="pass" if ok else "fail",
            message=f"base model {system.get('model')!r} (weights "
            f"{str(system.get('weights_hash'))[:12]}) "
            f"{'is' if ok else 'is not'} {want!r}",
        )
    if gate.check == "contamination":
        return _contamination(gate, ev, base)
    if gate.check == "toxicity_backend":
        return _toxicity_backend(gate, ev, base)
    manifest, missing = _manifest_or_verdict(gate, ev, base)
    if manifest is None:
        assert missing is not None
        return missing
    dataset = manifest.get("dataset", {})
    dp = manifest.get("dp") or {}
    if gate.check == "provenance":
        missing = dataset.get("provenance", {}).get("missing")
        if missing is None:
            return Verdict(
                **base, status="error", message="the training manifest does not record provenance"
            )
        return Verdict(
            **base,
            status="pass" if missing == 0 else "fail",
            observed=float(missing),
            message="every training example has provenance"
            if missing == 0
            else f"{missing} training examples lack provenance (source, licence, consent)",
        )
    if gate.check == "dp_if_pii":
        pii = dataset.get("pii", {})
        found, scrubbed = int(pii.get("total") or 0), bool(pii.get("scrubbed", False))
        census = ev.data_census
        if census is not None:
            files = {f.get("sha256") for f in dataset.get("files") or []}
            if files and census.get("sha256") not in files:
                return Verdict(
                    **base,
                    status="error",
                    message=f"the PII census is of {census.get('file')} "
                    f"({str(census.get('sha256'))[:12]}), not of the training data",
                )
            if int(census["total"]) > found:  # the census saw what the manifest's scan missed
                found, scrubbed = int(census["total"]), False
        elif "scanner" in pii and pii.get("scanner") is None:
            return Verdict(
                **base,
                status="error",
                message="the training data was not scanned for PII: run `finegate pii scan "
                "DATA` and pass its census with --data-census",
            )
        if found == 0 or scrubbed:
            return Verdict(
                **base,
                status="pass",
                message="no PII left in the training data"
                if found == 0
                else f"{found} PII values were scrubbed before training",
            )
        if dp.get("epsilon") is not None:
            return _dp_budget(gate, base, dp, dataset, f"training data held {found} PII values; ")
        return Verdict(
            **base,
            status="fail",
            message=f"training data held {found} PII values, unscrubbed, and the "
            "candidate was trained without differential privacy",
        )
    # epsilon
    if dp.get("epsilon") is None:
        return Verdict(
            **base,
            status="fail",
            threshold=gate.max,
            comparator="<=",
            message=f"trained without differential privacy; the policy caps epsilon at {gate.max}",
        )
    return _dp_budget(gate, base, dp, dataset, "")


def _dp_budget(
    gate: GovernanceGate,
    base: dict[str, Any],
    dp: dict[str, Any],
    dataset: dict[str, Any],
    context: str,
) -> Verdict:
    """DP as a record sees it: the group epsilon of the most repeated record (k x
    epsilon; deduplication leaves k = 1 unless records repeat), a delta no looser
    than the policy's (1 / (10 N) by default), and the generator the noise came
    from when the policy asks for a secure one."""
    try:
        eps = float(dp["epsilon"])
        repeats = (dataset.get("group_privacy") or {}).get("max_record_repeats") or 1
        k = max(int(dp.get("group_size") or 1), int(repeats))
        group_eps = max(k * eps, float(dp.get("group_epsilon") or 0.0))
        delta_value = None if dp.get("delta") is None else float(dp["delta"])
        n = int((dataset.get("counts") or {}).get("train") or 0)
    except (TypeError, ValueError) as e:
        return Verdict(
            **base, status="error", message=f"the manifest's DP record is unreadable: {e}"
        )
    if not (math.isfinite(group_eps) and eps >= 0) or (
        delta_value is not None and not math.isfinite(delta_value)
    ):
        return Verdict(
            **base,
            status="error",
            message=f"the manifest's DP record holds epsilon {eps} and delta {dp.get('delta')}: "
            "not finite, non-negative numbers",
        )
    delta = dp.get("delta")
    cap = gate.max_delta if gate.max_delta is not None else (1 / (10 * n) if n else None)
    problems = []
    assert gate.max is not None
    if not group_eps <= gate.max:
        what = f"group epsilon {k} x {eps:.4g} = {group_eps:.4g}" if k > 1 else f"epsilon {eps:.4g}"
        problems.append(f"{what} is above the ceiling {gate.max}")
    if cap is None:
        problems.append("the manifest does not say how many examples trained it: delta unchecked")
    elif delta_value is None or not delta_value <= cap * (1 + 1e-9):
        why = "the policy's" if gate.max_delta is not None else f"1 / (10 x {n} examples)"
        problems.append(f"delta {delta} is looser than {cap:.3g} ({why})")
    if gate.require_secure_rng and not dp.get("secure_mode"):
        problems.append("the noise came from a generator that is not cryptographically secure")
    numbers = {
        "observed": group_eps,
        "threshold": gate.max,
        "comparator": "<=",
        "evidence": {"epsilon": eps, "group_size": k, "delta": delta, "delta_cap": cap},
    }
    accountant = f"accountant {dp.get('accountant')}"
    if problems:
        return Verdict(**base, **numbers, status="fail", message=context + "; ".join(problems))
    return Verdict(
        **base,
        **numbers,
        status="pass",
        message=f"{context}trained with DP: epsilon {eps:.4g} (group of {k}: {group_eps:.4g}) "
        f"<= {gate.max}, delta {delta} <= {cap:.3g}, {accountant}",
    )


def _manifest_or_verdict(
    gate: GovernanceGate, ev: Evidence, base: dict[str, Any]
) -> tuple[dict[str, Any] | None, Verdict | None]:
    """The recorded training manifest, or the verdict a gate gives without one: an
    error, except for a base model under a policy that says the gate does not
    apply to base models."""
    training = ev.training()
    if training.manifest is not None:
        return training.manifest, None
    if training.base and gate.base_models == "not_applicable":
        return None, Verdict(
            **base,
            status="pass",
            message="not applicable: the candidate has no adapter and no bound training "
            "manifest, and the policy exempts base models from this gate",
        )
    hint = (
        "; bind the fine-tune's manifest (`finegate eval --manifest FILE`), or exempt base "
        "models in the policy (base_models: not_applicable)"
        if training.base
        else ""
    )
    return None, Verdict(
        **base, status="error", message=f"no training manifest: {training.problem}{hint}"
    )


def training_data_digests(dataset: dict[str, Any]) -> dict[str, str]:
    """The SHA-256 of each file a contamination check of this training data may
    have read: the prepared train split (``train.jsonl``) and the input files."""
    found = {}
    train = (dataset.get("splits_sha256") or {}).get("train")
    if train:
        found[str(train)] = "the prepared train split"
    for f in dataset.get("files") or []:
        if f.get("sha256"):
            found[str(f["sha256"])] = f"input file {f.get('name')}"
    return found


def _contamination(gate: GovernanceGate, ev: Evidence, base: dict[str, Any]) -> Verdict:
    """The contamination check of the gate's suite (same suite hash) against the
    data this fine-tune was trained on, as its recorded manifest names it."""
    base = {**base, "suite": gate.suite}
    suite_hash = next((s["hash"] for s in ev.run["suites"] if s["id"] == gate.suite), None)
    if suite_hash is None:
        return Verdict(
            **base, status="error", message=f"run {ev.run['id']} has no suite {gate.suite!r}"
        )
    manifest, missing = _manifest_or_verdict(gate, ev, base)
    if manifest is None:
        assert missing is not None
        return missing
    data = training_data_digests(manifest.get("dataset", {}))
    if not data:
        return Verdict(
            **base,
            status="error",
            message="the training manifest names no digest of its training data (trained "
            "by an older finegate): train again, or check contamination by hand",
        )
    from finegate.harness.data import DEFAULT_NEAR, DEFAULT_NGRAM

    found, looser = [], 0
    for run in ev.store.list_runs(limit=1000, kind="contamination"):
        checked = run["system"].get("data_sha256")
        if checked not in data or not any(s["hash"] == suite_hash for s in run["suites"]):
            continue
        m = {x.name: x for x in ev.store.metrics(run["id"]).get(gate.suite, [])}.get("contaminated")
        if m is None:
            continue
        ngram = run["system"].get("ngram", DEFAULT_NGRAM)
        near = run["system"].get("near", DEFAULT_NEAR)
        if ngram > DEFAULT_NGRAM or near > DEFAULT_NEAR:
            looser += 1
            continue
        found.append((m.value, run, checked, m))
    if found:  # the worst of the checks: one more lenient run cannot hide another's finding
        _, run, checked, m = max(found, key=lambda f: f[0])
        ok = gate.max is not None and m.value <= gate.max
        return Verdict(
            **base,
            status="pass" if ok else "fail",
            metric="contaminated",
            observed=m.value,
            ci_low=m.ci_low,
            ci_high=m.ci_high,
            n=m.n,
            level=m.level,
            comparator="<=",
            threshold=gate.max,
            decided_on=m.value,
            bound="point",
            evidence={"contamination_run_id": run["id"], "training_data": data[checked]},
            message=f"{m.value:.1%} of the cases appear in the training data "
            f"({data[checked]}; {'within' if ok else 'above'} the limit {gate.max:.1%})",
        )
    named = ", ".join(f"{what} {digest[:12]}" for digest, what in data.items())
    skipped = (
        f" ({looser} check(s) with longer n-grams or a higher near-match threshold than "
        f"{DEFAULT_NGRAM} and {DEFAULT_NEAR} do not count)"
        if looser
        else ""
    )
    return Verdict(
        **base,
        status="error",
        message=f"no contamination check of suite {gate.suite!r} against this fine-tune's "
        f"training data ({named}) in the store{skipped}: run `finegate contamination --train "
        f"train.jsonl --suite {gate.suite}`",
    )


def _toxicity_backend(gate: GovernanceGate, ev: Evidence, base: dict[str, Any]) -> Verdict:
    """Every toxicity score of the run (of ``gate.suite``, if named) came from the
    required backend: a run scored by another backend, or by none, does not pass."""
    suites = [s for s in ev.run["suites"] if gate.suite in (None, s["id"])]
    used = [
        (s["id"], spec["as"], spec.get("identity", {}))
        for s in suites
        for spec in s.get("scorers", [])
        if spec.get("name") == "toxicity"
    ]
    where = f"suite {gate.suite!r}" if gate.suite else "any suite"
    if not used:
        return Verdict(
            **base,
            status="error",
            suite=gate.suite,
            message=f"run {ev.run['id']} has no toxicity scores in {where}; the policy "
            f"requires them from {gate.backend!r}",
        )
    wrong = [
        (sid, alias, ident) for sid, alias, ident in used if ident.get("backend") != gate.backend
    ]
    evidence = {
        "scorers": [
            {
                "suite": sid,
                "metric": alias,
                "backend": ident.get("backend"),
                "weights_sha256": ident.get("weights_sha256"),
            }
            for sid, alias, ident in used
        ]
    }
    if wrong:
        sid, alias, ident = wrong[0]
        return Verdict(
            **base,
            status="fail",
            suite=sid,
            evidence=evidence,
            message=f"{sid} {alias} was scored by {ident.get('backend')!r}, not the required "
            f"{gate.backend!r}",
        )
    return Verdict(
        **base,
        status="pass",
        suite=gate.suite,
        evidence=evidence,
        message=f"toxicity scored by {gate.backend!r} "
        f"({', '.join(f'{sid} {alias}' for sid, alias, _ in used)})",
    )


def _apply_severity(gate: Any, verdict: Verdict, policy: Policy, today: date) -> Verdict:
    if verdict.status != "fail":
        return verdict
    waiver = policy.waiver_for(gate.id)
    if waiver is not None:
        info = waiver.model_dump(mode="json")
        if waiver.active(today):
            return replace(
                verdict,
                status="waived",
                waiver=info,
                message=f"{verdict.message} (waived by {waiver.owner} until {waiver.expires})",
            )
        verdict = replace(
            verdict,
            waiver=info,
            message=f"{verdict.message}; the waiver by {waiver.owner} expired on "
            f"{waiver.expires} and no longer applies",
        )
    if gate.severity == "warn":
        return replace(verdict, status="warn")
    return verdict


def _run_requirements(policy: Policy, evidence: Evidence) -> list[Verdict]:
    """A cut-off run, or one of only the first N cases, is not evidence about the
    suite: an error for each, unless the policy allows it."""
    out = []
    runs = [("candidate", evidence.run)]
    if evidence.baseline is not None:
        runs.append(("baseline", evidence.baseline))
    for label, run in runs:
        limit = (run.get("options") or {}).get("limit")
        if limit and not policy.allow_limited_runs:
            out.append(
                Verdict(
                    gate_id=f"requires:whole-suite:{label}",
                    type="requirement",
                    severity="block",
                    status="error",
                    message=f"the {label} run {run['id']} scored only the first {limit} cases "
                    "(--limit); evaluate the whole suite, or allow it in the policy "
                    "(allow_limited_runs: true)",
                )
            )
        if run.get("status") != "complete" and not policy.allow_incomplete_runs:
            out.append(
                Verdict(
                    gate_id=f"requires:complete-run:{label}",
                    type="requirement",
                    severity="block",
                    status="error",
                    message=f"the {label} run {run['id']} is {run.get('status')}, not complete: "
                    "resume it (the same command), or allow it in the policy "
                    "(allow_incomplete_runs: true)",
                )
            )
    return out


def evaluate(policy: Policy, evidence: Evidence) -> PolicyVerdict:
    """Every gate of ``policy`` on the evidence, and the overall verdict."""
    if not policy.gates:
        raise InputError(
            f"policy {policy.id} holds only monitor gates, which decide on live traffic: "
            "run `finegate monitor` with it, not a gate check of a run"
        )
    verdicts: list[Verdict] = _run_requirements(policy, evidence)
    missing_suites = [s for s in policy.suites if s not in _suite_ids(evidence.run)]
    for suite in missing_suites:
        verdicts.append(
            Verdict(
                gate_id=f"requires:{suite}",
                type="requirement",
                severity="block",
                status="error",
                suite=suite,
                message=f"the policy requires suite {suite!r}; run "
                f"{evidence.run['id']} does not have it",
            )
        )
    for gate in policy.gates:
        if isinstance(gate, ThresholdGate):
            verdict = _threshold(gate, evidence)
        elif isinstance(gate, BaselineGate):
            verdict = _baseline(gate, evidence)
        else:
            verdict = _governance(gate, evidence)
        verdicts.append(_apply_severity(gate, verdict, policy, evidence.today))
    return PolicyVerdict(
        id=str(uuid.uuid4()),
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        policy_id=policy.id,
        policy_version=policy.version,
        policy_hash=policy.hash(),
        run_id=evidence.run["id"],
        baseline_run_id=evidence.baseline["id"] if evidence.baseline else None,
        fingerprint=evidence.run["fingerprint"],
        status=overall_status(verdicts),
        gates=tuple(verdicts),
    )


def check_policy(
    policy: Policy,
    store: Store,
    run: str,
    baseline: str | None = None,
    *,
    approvals: list[dict[str, Any]] | None = None,
    today: date | None = None,
    save: bool = True,
    data_census: dict[str, Any] | None = None,
) -> PolicyVerdict:
    """Load the runs, evaluate the policy and store the verdict."""
    evidence = Evidence(
        store=store,
        run=store.get_run(run),
        baseline=store.get_run(baseline) if baseline else None,
        approvals=list(approvals or []),
        data_census=data_census,
    )
    if today is not None:
        evidence.today = today
    verdict = evaluate(policy, evidence)
    if save:
        from finegate.harness.registry import record_verdict

        record_verdict(store, verdict.to_dict())
    return verdict

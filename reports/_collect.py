"""Everything a report shows, gathered from the store, the registry and the
training manifest, with every free text redacted before it goes anywhere.

Model answers and case inputs can hold personal data (a customer's name, an
e-mail address): each one passes through the PII scanner and only its redacted
form reaches the report, in every format.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finegate.harness.core import last_turn_text
from finegate.harness.registry import records as audit_records
from finegate.harness.registry import verify_chain
from finegate.harness.store import Store
from finegate.harness.system import innermost, recorded_training

FLIPPED_SHOWN = 12


class Redactor:
    """Redacts text with presidio (spaCy mode: names too), memoised per text."""

    def __init__(self, mode: str = "spacy"):
        from finegate.harness.pii import PIIScanner

        self.scanner = PIIScanner(mode)
        self.found: dict[str, int] = {}
        self._memo: dict[str, str] = {}

    def __call__(self, value: Any) -> str:
        text = last_turn_text(value)
        if text not in self._memo:
            findings = self.scanner.scan(text)
            for f in findings:
                self.found[f.entity_type] = self.found.get(f.entity_type, 0) + 1
            self._memo[text] = self.scanner.redact(text, findings)
        return self._memo[text]


def _manifest(run: dict[str, Any]) -> dict[str, Any] | None:
    """The training manifest the run recorded (a changed file on disk shows none:
    the report describes what was evaluated)."""
    return recorded_training(run).manifest


def collect(
    store: Store,
    run_ref: str,
    *,
    baseline_ref: str | None = None,
    policy: Any = None,
    model_version: Any = None,
    card: dict[str, Any] | None = None,
    redact: Redactor | None = None,
    checkpoints: str | Path | None = None,
) -> dict[str, Any]:
    redact = redact or Redactor()
    run = store.get_run(run_ref)
    baseline = store.get_run(baseline_ref) if baseline_ref else None
    metrics = {s: [m.to_dict() for m in ms] for s, ms in store.metrics(run["id"]).items()}
    data: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": _run_summary(run),
        "metrics": metrics,
        "baseline": None,
        "comparison": None,
        "verdict": None,
        "policy": None,
        "model_version": None,
    }
    if baseline is not None:
        from finegate.harness.compare import compare_runs

        comparison = compare_runs(store, baseline["id"], run["id"])
        data["baseline"] = _run_summary(baseline)
        data["baseline_metrics"] = {
            s: [m.to_dict() for m in ms] for s, ms in store.metrics(baseline["id"]).items()
        }
        data["comparison"] = {
            "deltas": [d.to_dict() for d in comparison.deltas],
            "usage": {k: vars(v) for k, v in comparison.usage.items()},
            "flipped_total": len(comparison.flipped),
            "flipped": [
                {
                    "suite": f.suite_id,
                    "case": f.case_id,
                    "metric": f.metric,
                    "direction": f.direction,
                    "prompt": redact(f.prompt),
                    "baseline_answer": redact(f.output_a),
                    "candidate_answer": redact(f.output_b),
                }
                for f in comparison.flipped[:FLIPPED_SHOWN]
            ],
        }
    if policy is not None:
        data["policy"] = {"id": policy.id, "version": policy.version, "hash": policy.hash()}
        verdicts = store.verdicts(run_id=run["id"], policy_hash=policy.hash())
        data["verdict"] = verdicts[0] if verdicts else None
    manifest = _manifest(run)
    data["lineage"] = _lineage(run, manifest)
    data["privacy"] = _privacy(run, metrics, manifest)
    data["privacy"]["memorisation"] = _memorisation(store, run)
    data["safety_summary"] = _safety(run, metrics)
    if model_version is not None:
        data["model_version"] = {
            "ref": model_version.ref,
            "created_at": model_version.created_at,
            "fingerprint": model_version.fingerprint,
        }
    chain = audit_records(store)
    check = verify_chain(chain)
    subjects = {run["fingerprint"], getattr(model_version, "ref", None)}
    data["audit"] = {
        "ok": check.ok,
        "records": check.records,
        "head": check.head,
        "broken_seq": check.broken_seq,
        "reason": check.reason,
        "about_this_model": [
            {k: r[k] for k in ("seq", "created_at", "action", "actor", "subject", "hash")}
            for r in chain
            if r["subject"] in subjects or r["artifacts"].get("model") == run["fingerprint"]
        ],
    }
    data["audit"]["inclusion"] = (
        _inclusion(chain, data["audit"]["about_this_model"], checkpoints) if checkpoints else None
    )
    data["card"] = _card(data, card or {})
    data["redactions"] = dict(sorted(redact.found.items()))
    return data


def _inclusion(
    chain: list[dict[str, Any]], about: list[dict[str, Any]], checkpoints: str | Path
) -> dict[str, Any] | None:
    """The inclusion proof of the model's promotion (else of its latest record) in
    the newest kept checkpoint that holds it: a reader checks it offline, with the
    signer's public key, and needs neither the store nor finegate's word."""
    from finegate.harness.registry.audit import (
        held_checkpoints,
        inclusion,
        leaf_of,
        parse_checkpoint,
        verify_inclusion,
    )

    if not about:
        return None
    moves = [r for r in about if r["action"] in ("promote", "rollback")]
    record = (moves or about)[-1]
    for path in reversed(held_checkpoints(checkpoints)):
        note = path.read_text("utf-8")
        checkpoint = parse_checkpoint(note[: note.rfind("\n\n") + 1])
        if checkpoint.size >= record["seq"]:
            proof = inclusion(chain, record["seq"], note, checkpoint)
            path_hashes = [base64.b64decode(h) for h in proof["audit_path"]]
            holds = verify_inclusion(
                record["seq"] - 1,
                checkpoint.size,
                leaf_of(proof["record"]),
                path_hashes,
                checkpoint.root,
            )
            signers = [line.split(" ")[1] for line in note[note.rfind("\n\n") + 2 :].splitlines()]
            return {
                "record": record,
                "what": "promotion" if moves else "latest record",
                "checkpoint": str(path),
                "tree_size": checkpoint.size,
                "holds": holds,
                "signers": signers,
                "proof": proof,
                "proof_json": json.dumps(proof, indent=2, sort_keys=True, default=str),
            }
    return None


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    inner = innermost(run["system"])
    return {
        "id": run["id"],
        "label": run["label"],
        "kind": run["kind"],
        "system": run["system_name"],
        "fingerprint": run["fingerprint"],
        "created_at": run["created_at"],
        "suites": run["suites"],
        "environment": run["environment"],
        "base_model": inner.get("model"),
        "adapter_sha256": inner.get("adapter_hash"),
    }


def _lineage(run: dict[str, Any], manifest: dict[str, Any] | None) -> dict[str, Any]:
    inner = innermost(run["system"])
    out: dict[str, Any] = {
        "base_model": inner.get("model"),
        "base_weights_sha256": inner.get("weights_hash"),
        "adapter_sha256": inner.get("adapter_hash"),
        "template_sha256": run["system"].get("template_hash"),
        "environment": run["environment"],
        "training": None,
    }
    if manifest:
        ds = manifest.get("dataset", {})
        out["training"] = {
            "recipe": {k: manifest["recipe"][k] for k in ("id", "method", "sha256")},
            "steps": manifest.get("steps"),
            "wall_time_s": manifest.get("wall_time_s"),
            "loss_final": (manifest.get("loss_curve") or [{}])[-1].get("loss"),
            "validation_curve": manifest.get("validation_curve"),
            "dataset": {
                "sha256": ds.get("sha256"),
                "counts": ds.get("counts"),
                "files": ds.get("files"),
                "provenance": {k: ds.get("provenance", {}).get(k) for k in ("fields", "missing")},
            },
            "seed": manifest.get("seed"),
            "libraries": manifest.get("libraries"),
        }
    return out


def _privacy(
    run: dict[str, Any], metrics: dict[str, Any], manifest: dict[str, Any] | None
) -> dict[str, Any]:
    pii_metrics = {s: [m for m in ms if m["name"].startswith("pii")] for s, ms in metrics.items()}
    out: dict[str, Any] = {
        "output_pii": {s: ms for s, ms in pii_metrics.items() if ms},
        "training_pii": None,
        "dp": None,
        "canaries": None,
        "group_privacy": None,
    }
    if manifest:
        ds = manifest.get("dataset", {})
        out["training_pii"] = {
            k: ds.get("pii", {}).get(k) for k in ("total", "by_type", "scrubbed")
        }
        out["dp"] = manifest.get("dp")
        out["group_privacy"] = ds.get("group_privacy")
        out["canaries"] = len(ds.get("canaries") or [])
    return out


def _safety(run: dict[str, Any], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Per safety suite, in plain terms: refusal of harmful requests and over-refusal of
    benign ones by category, the jailbreak drops, the toxicity statistics and which
    backend (and weights) scored them, and policy-rule violations."""
    from finegate.harness.safety import describe_identity

    out = []
    for suite in run["suites"]:
        if suite.get("kind") != "safety":
            continue
        by_name = {m["name"]: m for m in metrics.get(suite["id"], [])}

        def group(prefix: str, _by: dict[str, Any] = by_name) -> dict[str, Any]:
            return {
                "overall": _by.get(prefix),
                "groups": [
                    {**m, "group": name[len(prefix) + 1 : -1]}
                    for name, m in sorted(_by.items())
                    if name.startswith(prefix + "[")
                ],
            }

        entry: dict[str, Any] = {
            "suite": suite["id"],
            "n_cases": suite.get("n_cases"),
            "refusal": None,
            "toxicity": None,
            "rules": None,
        }
        for spec in suite.get("scorers", []):
            alias, identity = spec["as"], spec.get("identity", {})
            if spec["name"] == "refusal":
                drops = group(f"{alias}.jailbreak_drop")
                wrapped = {g["group"]: g for g in group(f"{alias}.jailbreak_refusal")["groups"]}
                entry["refusal"] = {
                    "detector": identity.get("detector", "pattern"),
                    "detector_version": identity.get("version"),
                    "harmful": group(f"{alias}.harmful_refusal"),
                    "over_refusal": group(f"{alias}.over_refusal"),
                    "jailbreak": {
                        "overall": drops["overall"],
                        "wrappers": [
                            {"wrapper": d["group"], "drop": d, "refusal": wrapped.get(d["group"])}
                            for d in drops["groups"]
                        ],
                    },
                }
            elif spec["name"] == "toxicity":
                entry["toxicity"] = {
                    "backend": identity.get("backend"),
                    "weights_sha256": identity.get("weights_sha256"),
                    "described": describe_identity(identity),
                    "threshold": identity.get("threshold"),
                    "mean": by_name.get(alias),
                    "above": by_name.get(f"{alias}.above"),
                    "max": by_name.get(f"{alias}.max"),
                    "p95": by_name.get(f"{alias}.p95"),
                    "heads": group(f"{alias}.head")["groups"],
                }
            elif spec["name"] == "policy_rules":
                entry["rules"] = group(f"{alias}.violation")
        out.append(entry)
    return out


def _memorisation(store: Store, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest exposure, membership-inference and extraction runs of this model
    (``finegate privacy ...``): their metrics, never their texts."""
    from finegate.harness.privacy import latest_privacy_runs

    out = []
    for kind, found in latest_privacy_runs(store, run["fingerprint"]).items():
        ms = [m.to_dict() for ms in store.metrics(found["id"]).values() for m in ms]
        out.append({"kind": kind, "run_id": found["id"], "metrics": ms})
    return out


def _card(data: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    suites = [f"{s['id']} v{s['version']} ({s['n_cases']} cases)" for s in data["run"]["suites"]]
    limitations = list(card.get("limitations", []))
    dp = (data["privacy"] or {}).get("dp")
    if dp:
        limitations.append(
            f"Trained with differential privacy at epsilon {dp['epsilon']:.2f}; "
            "privacy costs utility."
        )
    return {
        "model": data["run"]["system"],
        "intended_use": card.get("intended_use", "Not stated by the owner."),
        "out_of_scope": card.get("out_of_scope", "Not stated by the owner."),
        "owner": card.get("owner", "Not stated."),
        "evaluation_data": suites,
        "limitations": limitations or ["Not stated by the owner."],
    }


def attach_proof(data: dict[str, Any], report: str | Path, public_key: str | None) -> Path | None:
    """Write the inclusion proof beside the report (``REPORT.proof.json``) and the
    one command that checks it offline into the report."""
    from finegate.harness.core import atomic_write_text

    found = data["audit"].get("inclusion")
    if not found:
        return None
    path = Path(str(report) + ".proof.json")
    atomic_write_text(path, found["proof_json"] + "\n")
    key = public_key or "SIGNER.pub.json"
    found["command"] = f"finegate audit verify-proof {path} --public-key {key}"
    return path

"""Verdict records: a gate verdict stored with its audit record, in one transaction.

The store keeps the verdicts table (and answers queries on it); writing a
verdict is an act the audit log must witness, so it is the registry's.
"""

from __future__ import annotations

import json
from typing import Any

from finegate.harness.core import sha256_json
from finegate.harness.registry.audit import append
from finegate.harness.store import Store, verdicts_table


def record_verdict(store: Store, verdict: dict[str, Any], actor: str = "finegate") -> None:
    """Store a verdict and its audit record in one transaction."""
    gates = verdict.get("gates", [])
    with store.transaction() as conn:
        append(
            conn,
            action="verdict",
            actor=actor,
            subject=verdict["fingerprint"],
            payload={
                "verdict_id": verdict["id"],
                "status": verdict["status"],
                "policy": f"{verdict['policy_id']} v{verdict.get('policy_version')}",
                "run_id": verdict["run_id"],
                "baseline_run_id": verdict.get("baseline_run_id"),
                "gates": {g["gate_id"]: g["status"] for g in gates},
                "waivers": [g["waiver"] for g in gates if g.get("waiver")],
            },
            artifacts={
                "verdict": sha256_json(verdict),
                "policy": verdict["policy_hash"],
                "model": verdict["fingerprint"],
            },
        )
        conn.execute(
            verdicts_table.insert().values(
                id=verdict["id"],
                created_at=verdict["created_at"],
                policy_id=verdict["policy_id"],
                policy_hash=verdict["policy_hash"],
                run_id=verdict["run_id"],
                baseline_run_id=verdict.get("baseline_run_id"),
                fingerprint=verdict["fingerprint"],
                status=verdict["status"],
                verdict_json=json.dumps(verdict, sort_keys=True, ensure_ascii=False, default=str),
            )
        )

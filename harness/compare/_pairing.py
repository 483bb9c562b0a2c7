"""Which suites two runs share, on the same suite version.

Numbers from different versions of a suite (another hash: other cases, another
prompt, another scorer) do not measure the same thing, so every pairing of two
runs (a comparison, a drift, a review sheet) goes through this one check; and
the scorers a run recorded for a suite are rebuilt here, for the corpus
metrics of either kind of comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finegate.harness.core import InputError
from finegate.harness.scorer import LoadedScorer, load_scorer


def shared_suites(
    run_a: dict[str, Any],
    run_b: dict[str, Any],
    *,
    only: Sequence[str] | None = None,
    skip_changed: bool = False,
    purpose: str = "",
) -> list[str]:
    """The ids of the suites both runs ran (limited to ``only`` when given), in run
    A's order. A suite whose hash differs between the runs is an error naming
    both hashes, or is left out when ``skip_changed``; no suite left is an error
    (``purpose`` says what the pairing was for, in its message)."""
    infos_a = {s["id"]: s for s in run_a["suites"]}
    infos_b = {s["id"]: s for s in run_b["suites"]}
    shared = [s for s in infos_a if s in infos_b and (not only or s in only)]
    changed = [s for s in shared if infos_a[s]["hash"] != infos_b[s]["hash"]]
    if changed and not skip_changed:
        raise InputError(
            [
                f"suite {s!r} differs between the runs (hash {infos_a[s]['hash'][:12]} in "
                f"{run_a['id']}, {infos_b[s]['hash'][:12]} in {run_b['id']}): their numbers "
                "are not comparable; re-run both on the same suite version"
                for s in changed
            ]
        )
    shared = [s for s in shared if s not in changed]
    if not shared:
        raise InputError(
            f"runs {run_a['id']} and {run_b['id']} share no suite of the same version"
            f"{' ' + purpose if purpose else ''} (A: {', '.join(infos_a)}; "
            f"B: {', '.join(infos_b)}): run the candidate on the suite its baseline ran"
        )
    return shared


def rebuild_scorers(info: dict[str, Any]) -> list[LoadedScorer]:
    """Scorers with corpus aggregates, rebuilt from the run's record of its suite."""
    out = []
    for spec in info.get("scorers", []):
        try:
            loaded = load_scorer(spec["name"], spec["args"], spec["as"])
        except Exception:  # a plugin no longer installed: its corpus metrics are skipped
            continue
        if hasattr(loaded.fn, "aggregate"):
            out.append(loaded)
    return out

"""The governance pages: stored verdicts with each gate's outcome, the audit
log and whether its hash chain holds, and the embedded registry."""

from __future__ import annotations

from typing import Any

from finegate.harness.store import Store
from finegate.harness.view import _queries as q
from finegate.harness.view._html import (
    Markup,
    badge,
    code,
    compact_json,
    esc,
    facts,
    fmt,
    interval,
    join,
    lines_of,
    link,
    pager,
    pages_of,
    pfmt,
    run_link,
    short,
    table,
    text_block,
    when,
)
from finegate.harness.view._page import (
    Page,
    check_page,
    heading,
    para,
    verdict_anchor,
)


def _required(g: dict[str, Any]) -> str:
    parts = []
    if g.get("threshold") is not None:
        parts.append(f"{g.get('comparator') or ''} {fmt(g.get('threshold'))}".strip())
    if g.get("margin") is not None:
        kind = "relative" if g.get("relative") else "absolute"
        parts.append(f"margin {fmt(g.get('margin'))} ({kind})")
    if g.get("test"):
        parts.append(f"test {g.get('test')}")
    return "; ".join(parts) or "—"


def _gate_message(g: dict[str, Any]) -> str:
    text = str(g.get("message") or "")
    waiver = g.get("waiver")
    if isinstance(waiver, dict):
        text += (
            f"\nwaived by {waiver.get('owner')}: {waiver.get('reason')} "
            f"(expires {waiver.get('expires')})"
        )
    flags = g.get("flags") or []
    if flags:
        text += "\n" + "\n".join(f"note: {f}" for f in flags)
    return text


def verdicts_page(store: Store, page: int, per_page: int) -> Page:
    """Every stored verdict, newest first, with what each of its gates decided."""
    verdicts, total = q.verdicts_page(store, page, per_page)
    pages = pages_of(total, per_page)
    check_page(page, pages, "The verdict list")
    parts: list[Any] = [
        heading(1, "Verdicts"),
        para(f"{total} verdict(s), newest first.", "muted"),
        pager("/verdicts", page, pages),
    ]
    for v in verdicts:
        if "unreadable" in v:
            parts.append(para(f"An unreadable verdict record: {v['unreadable']}", "muted"))
            continue
        gates = [g for g in v.get("gates") or [] if isinstance(g, dict)]
        gate_rows = [
            [
                g.get("gate_id", ""),
                g.get("type", ""),
                g.get("severity", ""),
                badge(g.get("status")),
                f"{g.get('suite') or ''} {g.get('metric') or ''}".strip() or "—",
                fmt(g.get("observed")),
                interval(g.get("ci_low"), g.get("ci_high")),
                "—" if g.get("n") is None else g.get("n"),
                _required(g),
                pfmt(g.get("p_value")),
                text_block(_gate_message(g)),
            ]
            for g in gates
        ]
        parts += [
            Markup(
                f'<h2 id="{esc(verdict_anchor(v))}">{badge(v.get("status"))} '
                f"{esc(v.get('policy_id'))} v{esc(v.get('policy_version'))} · "
                f"{when(v.get('created_at'))}</h2>"
            ),
            facts(
                [
                    ("verdict", code(v.get("id"))),
                    ("run", run_link(v.get("run_id"))),
                    ("baseline", run_link(v.get("baseline_run_id")) or "—"),
                    ("model fingerprint", code(v.get("fingerprint"))),
                    ("policy hash", code(v.get("policy_hash"))),
                ]
            ),
            table(
                [
                    "gate",
                    "type",
                    "severity",
                    "status",
                    "suite and metric",
                    "observed",
                    "interval",
                    "n",
                    "required",
                    "p-value",
                    "message",
                ],
                gate_rows,
                numeric=(5, 6, 7, 9),
                empty="This verdict holds no gates.",
            ),
        ]
    if not verdicts:
        parts.append(para("No verdicts stored yet: `finegate gate` records one.", "muted"))
    parts.append(pager("/verdicts", page, pages))
    return Page("Verdicts", join(parts), "/verdicts")


# -- audit log --------------------------------------------------------------------------


def audit_page(store: Store, page: int, per_page: int) -> Page:
    """The audit log, newest first, and whether its hash chain holds: the first
    record that does not fit is named and marked."""
    from finegate.harness.registry import records, verify_chain

    chain = records(store)
    check = verify_chain(chain)
    total = len(chain)
    pages = pages_of(total, per_page)
    check_page(page, pages, "The audit log")
    if check.ok:
        banner = Markup(
            f'<div class="banner pass" role="status"><b>✓ The audit chain verifies</b>: '
            f"{check.records} record(s), every one linked to the one before it; head "
            f"<code>{esc(short(check.head, 16))}</code>.</div>"
        )
    else:
        banner = Markup(
            f'<div class="banner fail" role="alert"><b>✗ The audit chain does not verify</b>: '
            f"{esc(check.reason)}. Record {esc(check.broken_seq)} is the first that does not "
            "fit; the records from it on cannot be trusted.</div>"
        )
    newest_first = list(reversed(chain))
    shown = newest_first[(page - 1) * per_page : page * per_page]
    rows, classes, ids = [], [], []
    for r in shown:
        broken = not check.ok and r["seq"] == check.broken_seq
        rows.append(
            [
                Markup(f"{esc(r['seq'])}{' ✗' if broken else ''}"),
                when(r["created_at"]),
                r["action"],
                r["actor"],
                text_block(r["subject"]),
                text_block(lines_of(r["payload"]), wide=True),
                text_block(lines_of(r["artifacts"]), wide=True),
                Markup(
                    f'<code title="{esc(r["hash"])}">{esc(short(r["hash"], 16))}</code><br>'
                    f'<span class="muted">after</span> <code title="{esc(r["prev_hash"])}">'
                    f"{esc(short(r['prev_hash'], 16))}</code>"
                ),
            ]
        )
        classes.append("broken" if broken else "")
        ids.append(f"record-{r['seq']}")
    body = join(
        [
            heading(1, "Audit log"),
            banner,
            para(
                "This checks the hash chain inside the store. Truncation shows only "
                "against a head kept elsewhere: `finegate audit verify --checkpoints DIR` "
                "also checks the log against its signed checkpoints.",
                "muted",
            ),
            pager("/audit", page, pages),
            table(
                [
                    "seq",
                    "time",
                    "action",
                    "actor",
                    "subject",
                    "payload",
                    "artifacts",
                    "hash, after previous",
                ],
                rows,
                caption=f"{total} record(s), newest first",
                row_class=classes,
                row_ids=ids,
                empty="The audit log is empty.",
            ),
            pager("/audit", page, pages),
        ]
    )
    return Page("Audit log", body, "/audit")


# -- registry ---------------------------------------------------------------------------


def _lineage(lineage: Any) -> Markup:
    if not lineage:
        return Markup("—")
    brief = []
    if isinstance(lineage, dict):
        if lineage.get("base_model"):
            brief.append(f"base {lineage['base_model']}")
        dp = lineage.get("dp")
        if isinstance(dp, dict) and dp.get("epsilon") is not None:
            brief.append(f"ε {fmt(dp.get('epsilon'))}")
    summary = "; ".join(brief) or "lineage"
    return Markup(
        f"<details><summary>{esc(summary)}</summary>"
        f'<div class="text mono">{esc(compact_json(lineage))}</div></details>'
    )


def _version_anchor(name: Any, version: Any) -> str:
    return "version-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{name}-{version}")


def registry_page(store: Store) -> Page:
    """The embedded registry: model versions, where each alias points now, and
    every alias move (promotions, rollbacks) with who made it and why."""
    state = q.registry_state(store)
    alias_rows = [
        [
            f"{a['name']}@{a['alias']}",
            link("#" + _version_anchor(a["name"], a["version"]), f"version {a['version']}"),
            when(a["set_at"]),
        ]
        for a in state.aliases
    ]
    version_rows = []
    ids = []
    for v in state.versions:
        runs = state.runs_by_fingerprint.get(v["fingerprint"], [])
        version_rows.append(
            [
                f"{v['name']}:{v['version']}",
                Markup(
                    f'<code title="{esc(v["fingerprint"])}">{esc(short(v["fingerprint"]))}</code>'
                ),
                when(v["created_at"]),
                v.get("source") or "—",
                _lineage(v.get("lineage")),
                join((run_link(r) for r in runs), ", ") if runs else "—",
            ]
        )
        ids.append(_version_anchor(v["name"], v["version"]))
    event_rows = [
        [
            f"{e['name']}@{e['alias']}",
            when(e["at"]),
            e["action"],
            e["version"],
            "—" if e.get("previous") is None else e["previous"],
            e["actor"],
            e.get("reason") or "",
        ]
        for e in state.events
    ]
    body = join(
        [
            heading(1, "Registry"),
            para(
                "The embedded registry kept in this store. Every move here is also an "
                "audit record; promotion follows the signed release rules.",
                "muted",
            ),
            heading(2, "Aliases now", "aliases"),
            table(["alias", "points at", "since"], alias_rows, empty="No alias is set."),
            heading(2, "Model versions", "versions"),
            table(
                ["version", "fingerprint", "registered", "source", "lineage", "runs"],
                version_rows,
                row_ids=ids,
                empty="No model version is registered.",
            ),
            heading(2, "Alias history", "history"),
            table(
                ["alias", "when", "action", "version", "previous", "actor", "reason"],
                event_rows,
                caption="newest first",
                numeric=(3, 4),
                empty="No alias has moved.",
            ),
        ]
    )
    return Page("Registry", body, "/registry")

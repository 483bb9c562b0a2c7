"""``finegate monitor``: looks at live traffic on a schedule, decided by the
monitor gates the release rules pin, acted on as they allow.

Exit codes of ``monitor run``: 0 the last look passed or is undecided (keep
looking), 1 it failed (the canary was, or should be, rolled back), 2 bad input.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from finegate.harness.cli import (
    checkpoints_option,
    emit_json,
    json_option,
    open_store,
    registry_option,
    store_and_registry,
    store_option,
    trust_root_option,
)

EXIT = {"pass": 0, "undecided": 0, "fail": 1, "error": 2}


@click.group("monitor")
def monitor_group() -> None:
    """Watch a served model: windows of the request log scored like a suite, drift,
    canary against production with anytime-valid bounds, monitor gates."""


def _line(report: dict[str, Any]) -> str:
    arms = ", ".join(
        f"{alias} {report['name']}:{arm['version']} ({arm['n']} requests, run {arm['run']})"
        for alias, arm in report["arms"].items()
    )
    lines = [f"look {report['id']} at {report['at']}: {report['status'].upper()}", f"  {arms}"]
    for key, drift in report["drift"].items():
        if drift is None:
            continue
        state = drift.get("error") or (
            f"ALARM on {', '.join(drift['alarming'])}" if drift["alarm"] else "no alarm"
        )
        lines.append(f"  drift {key}: {state}")
    for gate in report["gates"]:
        lines.append(f"  {gate['status'].upper():9} {gate['gate_id']}: {gate['detail']}")
    action = report["action"]
    done = "done" if action["done"] else "not done"
    lines.append(f"  action: {action['kind']} ({done}): {action['detail']}")
    return "\n".join(lines)


@monitor_group.command("run")
@click.option("--registered", "name", required=True, help="The model name being served.")
@click.option("--policy", "-p", "policy_ref", default=None, help="Policy with a monitor: section.")
@click.option("--suite", "suite_ref", default=None, help="The suite the model was evaluated on.")
@click.option("--last", type=int, default=None, help="Window: the newest N requests per alias.")
@click.option("--window-s", type=float, default=None, help="Window: the last S seconds.")
@click.option("--every", type=float, default=0.0, help="Seconds between looks (0: look once).")
@click.option("--looks", type=int, default=1, help="How many looks (with --every).")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--drift-splits", type=int, default=200, show_default=True)
@click.option("--category-label", default=None, help="The case label drift predicts.")
@click.option("--reference-run", default=None, help="A run whose answers are the reference.")
@click.option("--key", "key_path", default=None, help="The monitor's private key.")
@click.option("--promote-key", default=None, help="A promoter's key, to promote a passing canary.")
@trust_root_option
@checkpoints_option
@store_option
@registry_option
@json_option
def monitor_run(
    name: str,
    policy_ref: str | None,
    suite_ref: str | None,
    last: int | None,
    window_s: float | None,
    every: float,
    looks: int,
    alpha: float,
    drift_splits: int,
    category_label: str | None,
    reference_run: str | None,
    key_path: str | None,
    promote_key: str | None,
    trust_root: str | None,
    checkpoints: str | None,
    store: str | None,
    registry_uri: str | None,
    as_json: bool,
) -> None:
    """Look at NAME's live traffic (--looks times, --every seconds apart): score the
    windows as runs of kind production, test drift, compare canary with production,
    decide the monitor gates; with --key (the monitor's) and --trust-root, sign the
    verdict, roll a failing canary back, and with --promote-key promote a passing one."""
    from finegate.gates._monitor_act import MonitorSetup, governing_policy, monitor_once
    from finegate.gates._policy import load_policy
    from finegate.harness.core import FinegateError
    from finegate.harness.monitor import Embedder, LookOptions
    from finegate.harness.registry import checkpoint_folder
    from finegate.harness.registry.trust import load_signer, load_trust_root

    try:
        st, reg = store_and_registry(store, registry_uri)
        trust = load_trust_root(trust_root) if trust_root else None
        given = load_policy(policy_ref) if policy_ref else None
        policy = governing_policy(st, trust, name, given)
        if policy is None or not policy.monitor:
            raise click.UsageError(
                "no monitor gates: give --policy with a monitor: section, or release rules "
                f"(--trust-root) whose rule for {name}@production names one"
            )
        suite = None
        if suite_ref:
            from finegate.harness.suite import resolve_suite

            suite = resolve_suite(suite_ref)
        setup = MonitorSetup(
            store=st,
            registry=reg,
            name=name,
            policy=policy,
            suite=suite,
            trust=trust,
            signer=load_signer(key_path) if key_path else None,
            promoter=load_signer(promote_key) if promote_key else None,
            checkpoints=checkpoint_folder(checkpoints) if key_path else None,
            embedder=Embedder(),
        )
        options = LookOptions(
            last=last if last is not None or window_s is not None else 200,
            seconds=window_s,
            alpha=alpha,
            drift_splits=drift_splits,
            category_label=category_label,
            reference_run=reference_run,
        )
        report: dict[str, Any] = {}
        for i in range(max(looks, 1)):
            if i:
                time.sleep(every)
            report = monitor_once(setup, options)
            if as_json:
                emit_json(report)
            else:
                click.echo(_line(report))
    except FinegateError as e:
        click.echo(f"finegate: {e}", err=True)
        sys.exit(2)
    sys.exit(EXIT.get(report.get("status", "error"), 2))


@monitor_group.command("show")
@click.option("--registered", "name", default=None, help="Only this model's looks.")
@click.option("--limit", type=int, default=20, show_default=True)
@store_option
@json_option
def monitor_show(name: str | None, limit: int, store: str | None, as_json: bool) -> None:
    """The newest looks, newest first."""
    from finegate.harness.monitor import stored_reports

    reports = stored_reports(open_store(store, create=False), name, limit)
    if as_json:
        emit_json(reports)
        return
    for report in reports:
        click.echo(_line(report))


@monitor_group.command("export")
@click.argument("report_id")
@click.option("--as", "form", type=click.Choice(["suite", "review"]), required=True)
@click.option("--suite", "suite_dir", default=None, help="suite: the suite folder to extend.")
@click.option(
    "-o", "--out", "out", required=True, help="The new suite folder, or the sheet's folder."
)
@store_option
def monitor_export(
    report_id: str, form: str, suite_dir: str | None, out: str, store: str | None
) -> None:
    """Export a look's drifted requests: as a new version of a suite (the next
    candidate is evaluated on them) or as a blind review sheet."""
    from finegate.harness.core import FinegateError
    from finegate.harness.monitor import export_drifted_review, export_drifted_suite

    st = open_store(store, create=False)
    try:
        if form == "suite":
            if not suite_dir:
                raise click.UsageError("--as suite needs --suite FOLDER (the suite to extend)")
            result = export_drifted_suite(st, report_id, suite_dir, out)
        else:
            result = export_drifted_review(st, report_id, out)
    except FinegateError as e:
        click.echo(f"finegate: {e}", err=True)
        sys.exit(2)
    skipped = f"; {result.skipped_purged} purged from the log" if result.skipped_purged else ""
    click.echo(f"{result.n_cases} drifted requests written to {result.path}{skipped}")
    if result.key_path is not None:
        click.echo(f"the sheet's key (who answered what) is in {result.key_path}: keep it apart")

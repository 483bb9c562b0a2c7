"""``finegate gate`` and ``finegate policy``, contributed through ``finegate.commands``.

Exit codes: 0 every blocking gate passed; 1 a blocking gate failed; 2 bad input
or a gate could not be decided (missing metric, suite, baseline or evidence).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from finegate.harness._cli import emit_json, json_option, store_option
from finegate.harness._cli_governance import _actor, _registry, actor_option, registry_option

EXIT = {"pass": 0, "fail": 1, "error": 2}


def print_verdict(verdict: Any) -> None:
    from rich.table import Table

    from finegate.harness._display import _console

    console = _console()
    title = (
        f"policy {verdict.policy_id} v{verdict.policy_version} "
        f"({verdict.policy_hash[:12]}) on run {verdict.run_id}"
    )
    if verdict.baseline_run_id:
        title += f" vs baseline {verdict.baseline_run_id}"
    table = Table(title=title, title_justify="left")
    for col in ("gate", "status", "severity", "observed", "CI", "n", "required", "detail"):
        table.add_column(col)
    for g in verdict.gates:
        observed = "" if g.observed is None else f"{g.observed:.4f}"
        ci = "" if g.ci_low is None or g.ci_high is None else f"[{g.ci_low:.4f}, {g.ci_high:.4f}]"
        required = "" if g.threshold is None else f"{g.bound or ''} {g.comparator} {g.threshold:g}"
        table.add_row(
            g.gate_id,
            g.status.upper(),
            g.severity,
            observed,
            ci,
            "" if g.n is None else str(g.n),
            required.strip(),
            g.message,
        )
    console.print(table)
    console.print(f"overall: [bold]{verdict.status.upper()}[/bold]")
    for g in verdict.blocking:
        console.print(g.explain())


@click.command("gate")
@click.option(
    "--policy",
    "-p",
    "policy_ref",
    required=True,
    help="Policy YAML, or a built-in pack: default, regulated.",
)
@click.option("--run", "-r", "run_ref", required=True, help="The candidate run.")
@click.option("--baseline", "-b", "baseline_ref", default=None, help="The baseline run.")
@click.option("--junit", "junit_path", default=None, help="Also write JUnit XML here.")
@store_option
@registry_option
@json_option
def gate_command(
    policy_ref: str,
    run_ref: str,
    baseline_ref: str | None,
    junit_path: str | None,
    store: str | None,
    registry_uri: str | None,
    as_json: bool,
) -> None:
    """Decide a candidate run against a policy; store the verdict.

    Approvals for the run's model are read from the registry."""
    from finegate.gates._engine import check_policy
    from finegate.gates._junit import write_junit
    from finegate.gates._policy import load_policy

    policy = load_policy(policy_ref)
    st, reg = _registry(store, registry_uri)
    approvals = reg.approvals_for_fingerprint(st.get_run(run_ref)["fingerprint"])
    verdict = check_policy(policy, st, run_ref, baseline_ref, approvals=approvals)
    if junit_path:
        write_junit(verdict, junit_path)
    if as_json:
        emit_json(verdict.to_dict())
    else:
        print_verdict(verdict)
    sys.exit(EXIT[verdict.status])


@click.group("policy")
def policy_group() -> None:
    """Policy packs: list the built-in ones, validate your own."""


@policy_group.command("check")
@click.argument("paths", nargs=-1, required=True)
def policy_check(paths: tuple[str, ...]) -> None:
    """Validate policy files; report every problem with file, line and field."""
    from finegate.gates._policy import load_policy
    from finegate.harness._errors import InputError

    problems: list[Any] = []
    for path in paths:
        try:
            policy = load_policy(path)
            click.echo(
                f"{path}: ok ({policy.id} v{policy.version}, {len(policy.gates)} gates, "
                f"hash {policy.hash()[:12]})"
            )
        except InputError as e:
            problems.extend(e.problems)
    if problems:
        raise InputError(problems)


@policy_group.command("list")
@json_option
def policy_list(as_json: bool) -> None:
    from finegate.gates._policy import load_policy
    from finegate.policies import builtin_policies

    rows = []
    for name, path in sorted(builtin_policies().items()):
        policy = load_policy(path)
        rows.append(
            {
                "name": name,
                "id": policy.id,
                "version": policy.version,
                "gates": len(policy.gates),
                "hash": policy.hash(),
                "path": str(path),
                "description": policy.description,
            }
        )
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(
            f"{r['name']}  v{r['version']}  {r['gates']} gates  hash {r['hash'][:12]}  "
            f"{r['description']}"
        )


@click.command("promote")
@click.argument("ref")
@click.option("--to", "alias", required=True, help="The alias: candidate, staging, production...")
@click.option("--policy", "-p", "policy_ref", required=True)
@store_option
@registry_option
@actor_option
@json_option
def promote_command(
    ref: str,
    alias: str,
    policy_ref: str,
    store: str | None,
    registry_uri: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Move ALIAS to a version, only on a passing verdict of the policy for that exact model."""
    from finegate.gates._policy import load_policy
    from finegate.harness._promotion import PromotionRefused, promote

    st, reg = _registry(store, registry_uri)
    policy = load_policy(policy_ref)
    try:
        result = promote(reg, st, ref, alias, policy, actor=_actor(actor))
    except PromotionRefused as e:
        if as_json:
            emit_json({"promoted": False, "reasons": e.reasons})
        else:
            click.echo(f"finegate: refused: {e}", err=True)
        sys.exit(1)
    if as_json:
        emit_json({"promoted": True, **result})
    else:
        click.echo(f"{result['version']} is now {alias!r} (verdict {result['verdict_id']})")

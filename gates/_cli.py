"""``finegate gate`` and ``finegate policy``, contributed through ``finegate.commands``.

Exit codes: 0 every blocking gate passed; 1 a blocking gate failed; 2 bad input
or a gate could not be decided (missing metric, suite, baseline or evidence).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from finegate.harness.cli import (
    actor_option,
    checkpoints_option,
    emit_json,
    json_option,
    key_option,
    open_store,
    registry_option,
    resolve_actor,
    store_and_registry,
    store_option,
    trust_root_option,
)

EXIT = {"pass": 0, "fail": 1, "error": 2}


def print_verdict(verdict: Any) -> None:
    from rich.table import Table

    from finegate.harness.cli import make_console

    console = make_console()
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


limit_option = click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="Only the first N cases: a quick look, which gates refuse unless the policy says "
    "allow_limited_runs.",
)


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
@click.option(
    "--data-census",
    default=None,
    help="PII census of the training data (`finegate pii scan`), for the dp_if_pii gate.",
)
@key_option(
    required=False,
    help="Sign the verdict with this (CI) private key: only a signed verdict counts for promotion.",
)
@trust_root_option
@store_option
@actor_option
@json_option
def gate_command(
    policy_ref: str,
    run_ref: str,
    baseline_ref: str | None,
    junit_path: str | None,
    data_census: str | None,
    key_path: str | None,
    trust_root: str | None,
    store: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Decide a candidate run against a policy; store the verdict (signed with --key).

    Approval gates read the signed approvals of the run's model (with --trust-root)."""
    from finegate.gates._engine import check_policy
    from finegate.gates._junit import write_junit
    from finegate.gates._policy import load_policy
    from finegate.gates._release import approvals_now, sign_gate_verdict
    from finegate.harness.registry.trust import load_signer

    policy = load_policy(policy_ref)
    signer = load_signer(key_path) if key_path else None
    st = open_store(store, create=False)
    approvals = approvals_now(st, trust_root, st.get_run(run_ref)["fingerprint"])
    census = None
    if data_census:
        from finegate.harness.pii import read_census

        census = read_census(data_census)
    verdict = check_policy(
        policy, st, run_ref, baseline_ref, approvals=approvals, data_census=census
    )
    if signer is not None:
        sign_gate_verdict(st, verdict, signer, data_census=census, actor=resolve_actor(actor))
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
    from finegate.harness.core import InputError

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


def _no_policy(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``promote --policy`` is refused by name: the caller does not pick the policy."""
    if value is not None:
        raise click.UsageError(
            "--policy: promote takes no policy: the release rules name the policy a version "
            "must pass (`finegate rules show`)"
        )


@click.command("promote")
@click.argument("ref")
@click.option("--to", "alias", required=True, help="The alias: candidate, staging, production...")
@click.option("--policy", "-p", hidden=True, expose_value=False, callback=_no_policy, is_eager=True)
@key_option(required=True, help="The promoter's private key: the rules say who may promote.")
@trust_root_option
@checkpoints_option
@store_option
@registry_option
@json_option
def promote_command(
    ref: str,
    alias: str,
    key_path: str,
    trust_root: str | None,
    checkpoints: str | None,
    store: str | None,
    registry_uri: str | None,
    as_json: bool,
) -> None:
    """Move ALIAS to a version, only as the release rules say: a signed, re-checked,
    passing verdict of their policy against their baseline, with the approvals the
    policy asks for, for this exact model."""
    from finegate.gates._cli_release import monitor_recheck_for
    from finegate.gates._release import recheck_for
    from finegate.harness.registry import PromotionRefused, checkpoint_folder, promote
    from finegate.harness.registry.trust import load_signer, load_trust_root

    signer = load_signer(key_path)
    folder = checkpoint_folder(checkpoints)
    st, reg = store_and_registry(store, registry_uri)
    trust = load_trust_root(trust_root)
    try:
        result = promote(
            reg,
            st,
            ref,
            alias,
            trust=trust,
            signer=signer,
            recheck=recheck_for(st),
            checkpoints=folder,
            monitor_recheck=monitor_recheck_for(st),
        )
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
        click.echo(
            f"audit log checked against {result['checkpoints_checked']} kept checkpoint(s); "
            f"new checkpoint: {result['checkpoint']}"
        )


def _pipeline_policy(
    policy_ref: str | None, name: str, alias: str, store: str, trust_root: str | None
) -> tuple[Any, str]:
    """The policy a pipeline gates under: the release rule's for ``name@alias`` when
    the rules govern it (a different --policy is an error: its verdicts would not
    count), else --policy (default: the ``default`` pack)."""
    from finegate.gates._policy import Policy, load_policy
    from finegate.harness.core import InputError, Problem

    rule = None
    if trust_root:
        from finegate.harness.registry.trust import current_rules, load_trust_root

        rules = current_rules(open_store(store), load_trust_root(trust_root))
        rule = rules.rule_for(name, alias) if rules else None
    if rule is None:
        return load_policy(policy_ref or "default"), policy_ref or "default"
    pinned = Policy.model_validate(rule.policy.content)
    if policy_ref is not None and load_policy(policy_ref).hash() != rule.policy.hash:
        raise InputError(
            Problem(
                f"the release rules hold {name}@{alias} to policy {pinned.id} "
                f"v{pinned.version}; verdicts of {policy_ref!r} would not count",
                field="--policy",
            )
        )
    return pinned, pinned.id


def _run_pipeline(
    recipes: tuple[str, ...],
    policy_ref: str | None,
    name: str,
    alias: str,
    workdir: str,
    store: str | None,
    registry_uri: str | None,
    limit: int | None,
    actor: str | None,
    as_json: bool,
    suites: tuple[str, ...] = (),
    key: str | None = None,
    trust_root: str | None = None,
    checkpoints: str | None = None,
) -> None:
    from pathlib import Path

    from finegate.harness.core import default_store_url
    from finegate.harness.pipeline import (
        DEFAULT_STEPS,
        PipelineContext,
        StepFailed,
        pipeline_steps,
        run_pipeline,
    )

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    store_url = store or default_store_url()
    policy, policy_name = _pipeline_policy(policy_ref, name, alias, store_url, trust_root)
    inputs = {
        "recipes": list(recipes),
        "policy": policy_name,
        "policy_hash": policy.hash(),
        "policy_content": policy.hashed_content(),
        "suites": list(suites) or policy.suites,
        "name": name,
        "alias": alias,
        "workdir": str(work),
        "store": store_url,
        "registry": registry_uri,
        "limit": limit,
        "actor": resolve_actor(actor),
        "key": key,
        "trust_root": trust_root,
        "checkpoints": checkpoints,
    }
    available = set(pipeline_steps.names())
    steps = [s for s in DEFAULT_STEPS if s in available]

    def log(line):
        return click.echo(line, err=True)

    for missing in (s for s in DEFAULT_STEPS if s not in available):
        log(f"[{missing}] not available: no installed package provides this step")
    context = PipelineContext(inputs=inputs, log=log)
    try:
        run_pipeline(context, steps, work / "pipeline.json")
    except StepFailed as e:
        click.echo(f"finegate: {e}", err=True)
        sys.exit(1 if e.step in ("gate", "promote") else 2)
    results = context.results
    if as_json:
        emit_json({"inputs": inputs, "results": results})
        return
    _print_pipeline(results, inputs, alias)


def _print_pipeline(results: dict[str, Any], inputs: dict[str, Any], alias: str) -> None:
    from finegate.harness.cli import print_metrics_brief

    st = open_store(inputs["store"], create=False)
    print_metrics_brief(st, "baseline", results["evaluate"]["baseline_run"])
    for recipe_id, run_id in results["evaluate"]["candidate_runs"].items():
        print_metrics_brief(st, recipe_id, run_id)
    for recipe_id, verdict in results["gate"]["verdicts"].items():
        version = results["register"]["versions"][recipe_id]
        promoted = recipe_id in results["promote"]["promoted"]
        state = "PROMOTED to " + alias if promoted else "not promoted"
        epsilon = results["train"]["training"][recipe_id]["epsilon"]
        dp = f", DP epsilon {epsilon:.2f}" if epsilon is not None else ""
        click.echo(
            f"{recipe_id}: {version}{dp}, run {results['evaluate']['candidate_runs'][recipe_id]}"
            f": verdict {verdict['status'].upper()} under policy {inputs['policy']}; {state}"
        )
        for line in verdict["blocking"]:
            click.echo("    " + line.replace("\n", "\n    "))
        for reason in results["promote"]["refused"].get(recipe_id, []):
            click.echo(f"    refused: {reason}")
    for recipe_id, path in results.get("report", {}).get("reports", {}).items():
        click.echo(f"report for {recipe_id}: {path}")
    if results["promote"].get("checkpoint"):
        click.echo(f"audit log checkpoint kept: {results['promote']['checkpoint']}")


@click.command("pipeline")
@click.option(
    "--recipe",
    "-r",
    "recipes",
    multiple=True,
    required=True,
    help="Recipe YAML or built-in recipe name; repeat for several candidates.",
)
@click.option(
    "--policy",
    "-p",
    "policy_ref",
    default=None,
    help="The policy to gate with [default: the release rule's for NAME@ALIAS, else 'default'].",
)
@click.option("--name", default="triage", show_default=True, help="Registered model name.")
@click.option(
    "--to",
    "alias",
    default="staging",
    show_default=True,
    help="Alias to promote passing candidates to.",
)
@click.option(
    "--workdir",
    default="finegate-pipeline",
    show_default=True,
    help="Adapters and the pipeline's state file.",
)
@limit_option
@click.option(
    "--suite",
    "-s",
    "suites",
    multiple=True,
    help="Suites to evaluate (default: the ones the policy requires).",
)
@key_option(
    required=False,
    help="Sign registrations, verdicts and promotions with this (CI) key; without it "
    "nothing is promoted.",
)
@trust_root_option
@checkpoints_option
@store_option
@registry_option
@actor_option
@json_option
def pipeline_command(
    recipes: tuple[str, ...],
    policy_ref: str | None,
    name: str,
    alias: str,
    workdir: str,
    limit: int | None,
    suites: tuple[str, ...],
    key_path: str | None,
    trust_root: str | None,
    checkpoints: str | None,
    store: str | None,
    registry_uri: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Prepare, train, evaluate (with the baseline), register, gate and promote as the
    release rules say; resumable."""
    _run_pipeline(
        recipes,
        policy_ref,
        name,
        alias,
        workdir,
        store,
        registry_uri,
        limit,
        actor,
        as_json,
        suites,
        key=key_path,
        trust_root=trust_root,
        checkpoints=checkpoints,
    )


@click.command("demo")
@click.option("--workdir", default="finegate-demo", show_default=True)
@limit_option
@store_option
@json_option
def demo_command(workdir: str, limit: int | None, store: str | None, as_json: bool) -> None:
    """The whole pipeline on the embedded defaults: SmolLM2 baseline, a LoRA and a DP-SGD
    candidate on the support-triage train split, gated by the `demo` policy and promoted
    to staging only as the release rules the demo sets up in its work folder say."""
    from pathlib import Path

    from finegate.gates._demo import demo_trust
    from finegate.harness.core import default_store_url

    trust_root, key = demo_trust(Path(workdir), store or default_store_url())
    _run_pipeline(
        ("demo-lora", "demo-dp"),
        None,
        "support-triage",
        "staging",
        workdir,
        store,
        None,
        limit,
        "finegate demo",
        as_json,
        key=str(key),
        trust_root=str(trust_root),
        checkpoints=str(Path(workdir) / "checkpoints"),
    )

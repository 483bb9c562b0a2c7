"""``finegate rules`` and ``finegate verdict``, contributed through ``finegate.commands``.

``rules sign`` compiles a rules spec (or takes an envelope another root holder
signed) and adds one root signature; ``rules apply`` adopts it once the trust
root's threshold of signatures is there. ``verdict verify`` checks a signed
verdict's signature against the keyring and recomputes it from the store.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from finegate.harness.cli import (
    actor_option,
    emit_json,
    json_option,
    open_store,
    resolve_actor,
    store_option,
    trust_root_option,
)


def monitor_recheck_for(store: Any) -> Any:
    """What ``promote`` re-checks monitor verdicts with: the monitor's recomputation
    from the request log, where finegate has it; None otherwise (a rule that
    requires a monitor verdict then refuses the promotion)."""
    try:
        from finegate.gates._monitor_recheck import recheck_monitor_for
    except ImportError:
        return None
    return recheck_monitor_for(store)


previous_root_option = click.option(
    "--previous-trust-root",
    "previous_trust_root",
    default=None,
    help="After a root rotation: the trust root that signed the current rules, so the "
    "first version under the new root can follow them.",
)


@click.group("rules")
def rules_group() -> None:
    """Release rules: which policy, baseline and signers each model and alias needs."""


@rules_group.command("sign")
@click.argument("source")
@click.option("--key", "key_path", required=True, help="A root private key (.key).")
@click.option("--output", "-o", required=True, help="The signed envelope to write.")
@trust_root_option
@previous_root_option
@store_option
def rules_sign(
    source: str,
    key_path: str,
    output: str,
    trust_root: str | None,
    previous_trust_root: str | None,
    store: str | None,
) -> None:
    """Sign SOURCE: a rules spec (YAML, compiled into the next version of the rules)
    or an envelope another root holder signed (JSON; one more signature is added)."""
    from finegate.gates._rules_spec import compile_rules
    from finegate.harness.core import atomic_write_text, read_json_file
    from finegate.harness.registry.trust import (
        add_signature,
        followed_rules,
        load_signer,
        load_trust_root,
        rules_statement,
        sign,
        stored_rules,
    )
    from finegate.harness.store import now_iso

    signer = load_signer(key_path)
    if source.endswith(".json"):
        envelope = add_signature(read_json_file(source, what="rules envelope"), signer)
        version = "?"
    else:
        st = open_store(store)
        if trust_root:
            trust = load_trust_root(trust_root)
            previous = load_trust_root(previous_trust_root) if previous_trust_root else None
            current = followed_rules(st, trust, previous)
            if current is not None and previous is not None:
                click.echo(
                    f"note: version {current.version + 1} follows version {current.version} "
                    f"and takes the rules over under {trust_root}"
                )
        else:
            current = stored_rules(st)
        rules = compile_rules(source, current, now_iso())
        envelope = sign(rules_statement(rules), [signer])
        version = str(rules.version)
    atomic_write_text(output, json.dumps(envelope, indent=2, sort_keys=True) + "\n")
    click.echo(
        f"signed release rules (version {version}) with {signer.public_key.keyid[:12]} into "
        f"{output}; {len(envelope['signatures'])} signature(s)"
    )


@rules_group.command("apply")
@click.argument("envelope_path")
@trust_root_option
@previous_root_option
@store_option
@actor_option
def rules_apply(
    envelope_path: str,
    trust_root: str | None,
    previous_trust_root: str | None,
    store: str | None,
    actor: str | None,
) -> None:
    """Adopt signed release rules: they must verify against the trust root and
    follow the current version (signed by the trust root, or by the previous
    one just after a rotation)."""
    from finegate.harness.core import read_json_file
    from finegate.harness.registry.trust import load_trust_root, store_rules

    envelope = read_json_file(envelope_path, what="rules envelope")
    previous = load_trust_root(previous_trust_root) if previous_trust_root else None
    rules = store_rules(
        open_store(store),
        envelope,
        load_trust_root(trust_root),
        actor=resolve_actor(actor),
        previous_trust=previous,
    )
    click.echo(f"release rules version {rules.version} adopted ({len(rules.rules)} rules)")


@rules_group.command("show")
@trust_root_option
@store_option
@json_option
def rules_show(trust_root: str | None, store: str | None, as_json: bool) -> None:
    """The release rules in force, after checking them against the trust root."""
    from finegate.harness.registry.trust import current_rules, load_trust_root

    rules = current_rules(open_store(store, create=False), load_trust_root(trust_root))
    if rules is None:
        click.echo("no release rules")
        return
    if as_json:
        emit_json(rules.model_dump(mode="json"))
        return
    click.echo(f"release rules version {rules.version} ({rules.created_at})")
    for name, person in sorted(rules.keyring.people.items()):
        keys = ", ".join(k.keyid[:12] for k in person.keys)
        click.echo(f"  {name}: roles {', '.join(person.roles) or '-'}; keys {keys}")
    for r in rules.keyring.revoked:
        click.echo(f"  revoked {r.keyid[:12]} since {r.since}: {r.reason}")
    for rule in rules.rules:
        click.echo(
            f"  {rule.model}@{rule.alias}: policy {rule.policy.id} v{rule.policy.version} "
            f"({rule.policy.hash[:12]}), baseline "
            f"{json.dumps(rule.baseline.model_dump(exclude_defaults=True))}, verdicts signed by "
            f"{', '.join(rule.verdict_signers)}, promoted by {', '.join(rule.promoters)}"
        )


@click.group("verdict")
def verdict_group() -> None:
    """Signed verdicts: verify one anyone can re-check."""


@verdict_group.command("verify")
@click.argument("ref")
@trust_root_option
@store_option
@json_option
def verdict_verify(ref: str, trust_root: str | None, store: str | None, as_json: bool) -> None:
    """Check the signature of verdict REF (its id or statement id) against the
    keyring and recompute it from the stored runs and the policy the rules pin;
    exit 1 on any problem."""
    from finegate.gates._release import recheck_verdict
    from finegate.harness.core import InputError
    from finegate.harness.registry import envelope_by_id, envelopes, open_evidence
    from finegate.harness.registry.trust import current_rules, load_trust_root

    st = open_store(store, create=False)
    rules = current_rules(st, load_trust_root(trust_root))
    if rules is None:
        raise InputError("no release rules: nothing says whose signatures count")
    found = envelopes(st, "verdict", ref=ref)
    envelope = found[-1][1] if found else envelope_by_id(st, ref)
    if envelope is None:
        raise InputError(f"no signed verdict {ref!r} in {st.location}")
    sid = found[-1][0] if found else ref
    evidence, why = open_evidence(sid, envelope, rules.keyring, kind="verdict")
    problems = [why] if why else []
    if evidence is not None:
        pins = [
            r.policy for r in rules.rules if r.policy.hash == evidence.predicate["policy"]["hash"]
        ]
        if not pins:
            problems.append("no release rule pins the verdict's policy: nothing to recompute with")
        else:
            pin = pins[0]
            problems += recheck_verdict(
                st, evidence.predicate, evidence.digests, pin.content, pin.hash
            )
    result = {
        "verdict": ref,
        "signed_by": evidence.person if evidence else None,
        "ok": not problems,
        "problems": problems,
    }
    if as_json:
        emit_json(result)
    elif problems:
        click.echo(f"verdict {ref}: NOT VERIFIED")
        for p in problems:
            click.echo(f"  - {p}")
    else:
        click.echo(f"verdict {ref}: signed by {evidence.person}, recomputed from the records: ok")
    sys.exit(0 if not problems else 1)

"""Release rules as a team writes them (YAML), compiled into what the root signs.

A spec names people, their roles and their public key files, revoked keys, and
per model and alias the policy (a built-in pack or a file), the baseline rule
and the roles that may sign verdicts and promotions::

    keyring:
      people:
        ana: {roles: [risk-officer], keys: [keys/ana.pub.json]}
        ci:  {roles: [ci], keys: [keys/ci.pub.json]}
      revoked:
        - {key: keys/old-ci.pub.json, since: "2026-12-01T00:00:00+00:00", reason: laptop lost}
    rules:
      - model: support-triage
        alias: production
        policy: regulated
        baseline: {alias: production, when_unset: prompted_base}
        promoters: [ci]
        monitor: {policy: monitor-policy.yaml, signers: [monitor], canary: canary,
                  roll_back: true, required: true}

A ``monitor`` section lets a production monitor's signed verdict on the canary
act under the rules: roll the canary back on a failing verdict (signed by a key
of ``signers``, no approval), and, where ``required``, be needed to promote the
canary to this rule's alias.

Compiling loads and validates each policy and carries its content and hash into
the rules, reads every key file, and chains the new version to the current one;
every problem is reported at once with its file, line and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from finegate.harness.core import InputError, Problem, format_loc, line_of, parse_yaml_model


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonSpec(_Spec):
    roles: list[str] = Field(default_factory=list)
    keys: list[str] = Field(min_length=1, description="public key files (.pub.json)")


class RevocationSpec(_Spec):
    key: str = Field(description="the revoked key's public key file")
    since: str = Field(description="ISO time: its signatures from then on are refused")
    reason: str = ""


class KeyringSpec(_Spec):
    people: dict[str, PersonSpec]
    revoked: list[RevocationSpec] = Field(default_factory=list)


class MonitorSpec(_Spec):
    policy: str = Field(description="the policy whose monitor: section holds the monitor gates")
    signers: list[str] = Field(default_factory=lambda: ["monitor"], min_length=1)
    canary: str = "canary"
    roll_back: bool = True
    required: bool = True


class RuleSpec(_Spec):
    model: str
    alias: str
    policy: str = Field(description="a built-in pack name or a policy file")
    baseline: dict[str, Any]
    verdict_signers: list[str] = Field(default_factory=lambda: ["ci"])
    promoters: list[str] = Field(default_factory=lambda: ["ci"])
    monitor: MonitorSpec | None = None


class RulesSpec(_Spec):
    keyring: KeyringSpec
    rules: list[RuleSpec] = Field(min_length=1)


def compile_rules(path: str | Path, current: Any, created_at: str) -> Any:
    """The next version of the release rules from a spec file."""
    from pydantic import ValidationError

    from finegate.gates._policy import load_policy
    from finegate.harness.registry.trust import (
        BaselineRule,
        KeyEntry,
        Keyring,
        MonitorRule,
        Person,
        PolicyPin,
        ReleaseRules,
        Revocation,
        Rule,
        load_public_key,
        rules_digest,
    )

    spec_path = Path(path)
    spec, node = parse_yaml_model(spec_path, RulesSpec)
    base = spec_path.parent
    problems: list[Problem] = []

    def key_of(file: str, loc: tuple[Any, ...]) -> Any:
        try:
            return load_public_key(base / file)
        except InputError as e:
            problems.extend(
                Problem(
                    f"{file}: {p.message}",
                    file=str(spec_path),
                    line=line_of(node, loc),
                    field=format_loc(loc),
                )
                for p in e.problems
            )
            return None

    people = {}
    for name, person in spec.keyring.people.items():
        keys = [
            key_of(f, ("keyring", "people", name, "keys", i)) for i, f in enumerate(person.keys)
        ]
        people[name] = (
            Person(
                roles=person.roles,
                keys=[KeyEntry(keyid=k.keyid, key=k.key.to_dict()) for k in keys if k is not None],
            )
            if all(keys)
            else None
        )
    revoked = []
    for i, r in enumerate(spec.keyring.revoked):
        key = key_of(r.key, ("keyring", "revoked", i, "key"))
        if key is not None:
            revoked.append(Revocation(keyid=key.keyid, since=r.since, reason=r.reason))

    def pin_of(name: str, loc: tuple[Any, ...]) -> Any:
        try:
            policy = load_policy(name if not (base / name).exists() else base / name)
        except InputError as e:  # a policy's own problems name its file; a missing one, ours
            problems.extend(
                p
                if p.line is not None
                else Problem(
                    f"{name}: {p.message}",
                    file=str(spec_path),
                    line=line_of(node, loc),
                    field=format_loc(loc),
                )
                for p in e.problems
            )
            return None
        return PolicyPin(
            id=policy.id,
            version=policy.version,
            hash=policy.hash(),
            content=policy.hashed_content(),
        )

    rules = []
    for i, r in enumerate(spec.rules):
        where = {"file": str(spec_path), "line": line_of(node, ("rules", i))}
        pin = pin_of(r.policy, ("rules", i, "policy"))
        watch = pin_of(r.monitor.policy, ("rules", i, "monitor", "policy")) if r.monitor else None
        if pin is None or (r.monitor and watch is None):
            continue
        if r.monitor and r.monitor.canary == r.alias:
            problems.append(
                Problem(
                    f"the canary is the rule's own alias {r.alias!r}: a monitor compares two",
                    file=str(spec_path),
                    line=line_of(node, ("rules", i, "monitor", "canary")),
                    field=f"rules[{i}].monitor.canary",
                )
            )
            continue
        try:
            baseline = BaselineRule.model_validate(r.baseline)
        except ValidationError as e:
            problems.append(Problem(e.errors()[0]["msg"], field=f"rules[{i}].baseline", **where))
            continue
        rules.append(
            Rule(
                model=r.model,
                alias=r.alias,
                policy=pin,
                baseline=baseline,
                verdict_signers=r.verdict_signers,
                promoters=r.promoters,
                monitor=(
                    MonitorRule(policy=watch, **r.monitor.model_dump(exclude={"policy"}))
                    if r.monitor
                    else None
                ),
            )
        )
    pairs = [(r.model, r.alias) for r in spec.rules]
    for i, pair in enumerate(pairs):
        if pairs.index(pair) != i:
            problems.append(
                Problem(
                    f"a second rule for {pair[0]}@{pair[1]}",
                    file=str(spec_path),
                    line=line_of(node, ("rules", i)),
                    field=f"rules[{i}]",
                )
            )
    roles = {role for p in spec.keyring.people.values() for role in p.roles}
    for i, r in enumerate(spec.rules):
        fields = [(field, getattr(r, field)) for field in ("verdict_signers", "promoters")]
        fields += [("monitor.signers", r.monitor.signers)] if r.monitor else []
        for field, named in fields:
            unknown = [role for role in named if role not in roles]
            if unknown:
                problems.append(
                    Problem(
                        f"no one in the keyring holds {', '.join(unknown)}",
                        file=str(spec_path),
                        line=line_of(node, ("rules", i, *field.split("."))),
                        field=f"rules[{i}].{field}",
                    )
                )
    if problems:
        raise InputError(problems)
    return ReleaseRules(
        version=1 if current is None else current.version + 1,
        previous=None if current is None else rules_digest(current),
        created_at=created_at,
        keyring=Keyring(people=people, revoked=revoked),
        rules=rules,
    )

"""Per-case scorers and their registry.

A scorer is registered by name with ``@scorer`` on a factory: the suite's YAML
names it and passes ``args``, the factory returns the scorer. A scorer is any
callable ``(case, output) -> scores``: a float (``None`` where the case does not
apply), a dict of named floats, or a ``Scored`` that also carries facts (the
predicted and gold label, say) for corpus-level metrics. Optional methods:

- ``score_batch(cases, outputs)``: score many at once (a neural scorer batches);
- ``aggregate(facts) -> {name: value}``: corpus metrics over the cases' facts
  (macro F1, latency percentiles), bootstrapped over cases for their interval;
- ``identity() -> dict``: what else determines its scores (an encoder's hash),
  folded into the suite hash.

Third-party scorers register the same way, or through the ``finegate.scorers``
entry point group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from finegate.harness.core import Case, Output, PluginRegistry

Score = float | None


@dataclass(frozen=True)
class Scored:
    """Scores of one case plus facts (JSON values) that corpus metrics need."""

    scores: dict[str, Score]
    facts: dict[str, Any] = field(default_factory=dict)


Scores = Score | dict[str, Score] | Scored


class ScoreFn(Protocol):
    def __call__(self, case: Case, output: Output) -> Scores: ...


def as_scored(value: Scores) -> Scored:
    """One shape for every scorer's result; a bare float is the sub-score ``""``."""
    if isinstance(value, Scored):
        return value
    if isinstance(value, dict):
        return Scored({k: None if v is None else float(v) for k, v in value.items()})
    return Scored({"": None if value is None else float(value)})


def score_all(fn: ScoreFn, cases: Sequence[Case], outputs: Sequence[Output]) -> list[Scored]:
    batch = getattr(fn, "score_batch", None)
    results = (
        batch(cases, outputs) if batch else [fn(c, o) for c, o in zip(cases, outputs, strict=True)]
    )
    return [as_scored(r) for r in results]


ScorerFactory = Callable[..., ScoreFn]


scorers: PluginRegistry[ScorerFactory] = PluginRegistry("scorer", "finegate.scorers")


def scorer(
    name: str | None = None, *, version: str = "1", reference_free: bool = False
) -> Callable[[ScorerFactory], ScorerFactory]:
    """Register a scorer factory. Bump ``version`` when its scores change: it is
    part of every suite hash that uses it, so stale cached results are not reused.
    ``reference_free``: it scores an answer from the answer alone (format, length,
    toxicity), with no reference answer or case label, so it can also score live
    traffic, where no case carries one."""

    def wrap(factory: ScorerFactory) -> ScorerFactory:
        factory.scorer_version = version  # type: ignore[attr-defined]
        factory.reference_free = reference_free  # type: ignore[attr-defined]
        return scorers.decorator(name or factory.__name__)(factory)

    return wrap


def is_reference_free(name: str) -> bool:
    """Whether the registered scorer ``name`` needs nothing but the answer."""
    return bool(getattr(scorers.get(name), "reference_free", False))


def scorer_version(name: str) -> str:
    return str(getattr(scorers.get(name), "scorer_version", "1"))


@dataclass(frozen=True)
class LoadedScorer:
    """A scorer built from its spec, with what names it in hashes and records."""

    name: str
    metric_name: str
    args: dict[str, Any]
    fn: ScoreFn
    version: str
    identity: dict[str, Any]

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "as": self.metric_name,
            "args": self.args,
            "version": self.version,
            "identity": self.identity,
        }


def load_scorer(
    name: str, args: dict[str, Any], alias: str | None = None, base_dir: Path | None = None
) -> LoadedScorer:
    """Build a registered scorer. Arguments ending in ``_file`` are paths relative
    to ``base_dir`` (the suite's folder). Raises ``InputError`` for an unknown name,
    ``TypeError``/``ValueError`` for bad arguments."""
    factory = scorers.get(name)
    call_args = dict(args)
    if base_dir is not None:
        for key, value in args.items():
            if key.endswith("_file") and isinstance(value, str) and not Path(value).is_absolute():
                call_args[key] = str(base_dir / value)
    fn = factory(**call_args)
    identity_fn = getattr(fn, "identity", None)
    identity = identity_fn() if identity_fn else {}
    return LoadedScorer(name, alias or name, dict(args), fn, scorer_version(name), identity)

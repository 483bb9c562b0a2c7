"""Prompted baselines: the base model with a prompt, before anyone fine-tunes.

A k-shot baseline draws its examples from the suite's train split with a seeded
generator, so the same command gives the same prompt (and the same fingerprint,
and the cache answers a re-run). The evaluated split never lends examples.
"""

from __future__ import annotations

import random

from finegate.harness.core import InputError
from finegate.harness.suite._suite import Suite
from finegate.harness.system import PromptedSystem, PromptTemplate, Shot, System


def draw_shots(suite: Suite, k: int, *, split: str = "train", seed: int = 0) -> tuple[Shot, ...]:
    """``k`` examples from ``split``: the suite's prompt as input, the first reference as output."""
    if k <= 0:
        return ()
    if split == suite.config.source.split:
        raise InputError(f"shots cannot come from {split!r}: it is the split {suite.id} evaluates")
    pool = sorted(
        (c for c in suite.split(split) if c.references and c.input is not None), key=lambda c: c.id
    )
    if len(pool) < k:
        raise InputError(
            f"suite {suite.id} has {len(pool)} cases with references in split "
            f"{split!r}; {k} shots asked for"
        )
    picks = random.Random(seed).sample(pool, k)
    return tuple(Shot(input=suite.render_prompt(c), output=c.references[0]) for c in picks)


def prompted_baseline(
    system: System,
    suite: Suite,
    *,
    template: PromptTemplate | None = None,
    shots: int = 0,
    split: str = "train",
    seed: int = 0,
) -> PromptedSystem | System:
    """The system behind ``template`` (default: the suite's baseline template) with
    ``shots`` examples drawn from ``split`` added after the template's own."""
    template = template if template is not None else suite.baseline_template()
    drawn = draw_shots(suite, shots, split=split, seed=seed)
    if template is None and not drawn:
        return system
    template = template or PromptTemplate(id="baseline")
    if drawn:
        template = template.model_copy(
            update={
                "id": f"{template.id}+{shots}shot",
                "shots": (*template.shots, *drawn),
            }
        )
    return template.wrap(system)

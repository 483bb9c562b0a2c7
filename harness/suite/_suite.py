"""Suites: a YAML declaration next to its case file.

Loading validates the YAML, every case line, the prompt template and every
scorer (name and arguments) before anything runs, and reports all problems at
once as ``file:line: field: what is wrong``. The suite hash covers exactly what
changes results: the evaluated cases, the prompt, the task, the generation
parameters and the scorers with their versions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from finegate.harness.core import Case, InputError, Problem, line_of, parse_yaml_model, sha256_json
from finegate.harness.scorer import LoadedScorer, load_scorer
from finegate.harness.suite._cases import load_cases
from finegate.harness.suite._config import SUITE_FILE, SuiteConfig


@functools.lru_cache(maxsize=1)
def _jinja() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )


@dataclass(frozen=True)
class Suite:
    """A loaded, validated suite. ``cases`` are the ones evaluated (its split)."""

    config: SuiteConfig
    path: Path
    cases: tuple[Case, ...]
    all_cases: tuple[Case, ...]
    scorers: tuple[LoadedScorer, ...]
    hash: str
    lm_eval: Any = None  # the loaded lm-eval tasks of a regression suite

    @property
    def id(self) -> str:
        return self.config.id

    def split(self, name: str) -> tuple[Case, ...]:
        return tuple(c for c in self.all_cases if c.split == name)

    def render_prompt(self, case: Case) -> str:
        try:
            return _jinja().from_string(self.config.prompt).render(**case.to_dict())
        except jinja2.UndefinedError as e:
            raise InputError(
                Problem(f"case {case.id!r}: {e.message}", file=str(self.path), field="prompt")
            ) from None

    def baseline_template(self) -> Any:
        """The suite's recommended prompt template for a prompted baseline, if any."""
        if self.config.baseline_template is None:
            return None
        from finegate.harness.system import PromptTemplate

        return PromptTemplate.from_yaml(self.path.parent / self.config.baseline_template)

    def describe(self) -> dict[str, Any]:
        """What a run records of its suite: enough to compare runs and rebuild
        corpus metrics without the suite's files."""
        return {
            "id": self.id,
            "version": self.config.version,
            "kind": self.config.kind,
            "hash": self.hash,
            "n_cases": len(self.cases),
            "split": self.config.source.split if self.config.source else None,
            "lm_eval": self.lm_eval.identity if self.lm_eval is not None else None,
            "confidence": self.config.confidence,
            "bootstrap_resamples": self.config.bootstrap_resamples,
            "scorers": [s.spec() for s in self.scorers],
        }


def _load_scorers(
    config: SuiteConfig, path: Path, node: Any
) -> tuple[list[LoadedScorer], list[Problem]]:

    loaded: list[LoadedScorer] = []
    problems: list[Problem] = []
    names: set[str] = set()
    for i, spec in enumerate(config.scorers):
        line = line_of(node, ("scorers", i))
        try:
            loaded_scorer = load_scorer(spec.name, spec.args, spec.metric_name, path.parent)
        except InputError as e:
            problems.extend(
                Problem(
                    p.message,
                    file=str(path),
                    line=line_of(node, ("scorers", i, "name")),
                    field=f"scorers[{i}].name",
                )
                for p in e.problems
            )
            continue
        except (TypeError, ValueError) as e:
            problems.append(
                Problem(
                    f"bad arguments for scorer {spec.name!r}: {e}",
                    file=str(path),
                    line=line_of(node, ("scorers", i, "args")) or line,
                    field=f"scorers[{i}].args",
                )
            )
            continue
        if spec.metric_name in names:
            problems.append(
                Problem(
                    f"two scorers are named {spec.metric_name!r}; give one an 'as:'",
                    file=str(path),
                    line=line,
                    field=f"scorers[{i}]",
                )
            )
        names.add(spec.metric_name)
        loaded.append(loaded_scorer)
    return loaded, problems


def suite_hash(
    config: SuiteConfig,
    cases: list[Case] | tuple[Case, ...],
    loaded: list[LoadedScorer] | tuple[LoadedScorer, ...],
    lm_eval: dict[str, Any] | None = None,
) -> str:
    return sha256_json(
        {
            "id": config.id,
            "kind": config.kind,
            "task": config.task,
            "prompt": config.prompt,
            "choice_prefix": config.choice_prefix if config.task == "multiple_choice" else None,
            "generation": config.generation.model_dump(),
            "scorers": [s.spec() for s in loaded],
            "cases": [c.to_dict() for c in cases],
            **({"lm_eval": lm_eval} if lm_eval is not None else {}),
        }
    )


def load_suite(path: str | Path) -> Suite:
    """Load and validate a suite from its YAML file (or a folder holding ``suite.yaml``)."""
    p = Path(path)
    if p.is_dir():
        p = p / SUITE_FILE
    config, node = parse_yaml_model(p, SuiteConfig)
    problems: list[Problem] = []
    try:
        _jinja().parse(config.prompt)
    except jinja2.TemplateSyntaxError as e:
        problems.append(
            Problem(
                f"invalid template: {e.message}",
                file=str(p),
                line=line_of(node, ("prompt",)),
                field="prompt",
            )
        )
    if config.baseline_template and not (p.parent / config.baseline_template).is_file():
        problems.append(
            Problem(
                "template file not found",
                file=str(p),
                line=line_of(node, ("baseline_template",)),
                field="baseline_template",
            )
        )
    if config.source is not None and not config.scorers:
        problems.append(
            Problem(
                "a suite over a case file needs at least one scorer",
                file=str(p),
                line=line_of(node, ("scorers",)),
                field="scorers",
            )
        )
    loaded, scorer_problems = _load_scorers(config, p, node)
    problems.extend(scorer_problems)
    lm_eval = None
    if config.lm_eval is not None:
        if problems:
            raise InputError(problems)
        from finegate.harness.suite._lm_eval_tasks import lm_eval_cases, load_lm_eval_tasks

        lm_eval = load_lm_eval_tasks(config.lm_eval, p)
        all_cases = lm_eval_cases(lm_eval)
        cases = list(all_cases)
    else:
        assert config.source is not None
        case_path = (p.parent / config.source.path).resolve()
        try:
            all_cases = load_cases(case_path, config.source, config.task)
        except InputError as e:
            problems.extend(e.problems)
            all_cases = []
        if problems:
            raise InputError(problems)
        split = config.source.split
        cases = [c for c in all_cases if split is None or c.split == split]
        if not cases:
            raise InputError(
                Problem(f"no cases in split {split!r}", file=str(p), field="source.split")
            )
    return Suite(
        config=config,
        path=p,
        cases=tuple(cases),
        all_cases=tuple(all_cases),
        scorers=tuple(loaded),
        hash=suite_hash(config, cases, loaded, lm_eval.identity if lm_eval else None),
        lm_eval=lm_eval,
    )

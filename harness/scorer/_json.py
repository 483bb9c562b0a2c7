"""Structured-output scorers: JSON validity, JSON-schema compliance, field accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from finegate.harness.core import Case, Output, normalize_text, parse_json_answer
from finegate.harness.scorer._registry import Score, Scored, ScoreFn, scorer


def answer_field(text: str, field: str | None) -> str | None:
    """The answer itself, or one field of the JSON object in it (None if absent)."""
    if field is None:
        return text
    try:
        value = parse_json_answer(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or field not in value or value[field] is None:
        return None
    return value[field] if isinstance(value[field], str) else json.dumps(value[field])


def reference_field(case: Case, field: str | None) -> list[str]:
    """The references, or one field of each reference parsed as JSON."""
    if field is None:
        return list(case.references)
    out = []
    for ref in case.references:
        try:
            value = json.loads(ref)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and value.get(field) is not None:
            out.append(str(value[field]))
    return out


@scorer("json_valid", reference_free=True)
def json_valid(strict: bool = False) -> ScoreFn:
    """1 when the answer holds a JSON object (see ``parse_json_answer``)."""

    def score(case: Case, output: Output) -> Score:
        try:
            return float(isinstance(parse_json_answer(output.text, strict=strict), dict))
        except ValueError:
            return 0.0

    return score


@scorer("json_field_match")
def json_field_match(field: str, label: str | None = None, normalize: str = "basic") -> ScoreFn:
    """1 when field ``field`` of the answer's JSON equals the expected value.

    The expected value is the case's label ``label`` when given, else the same
    field of the first reference parsed as JSON. An answer without valid JSON
    scores 0: a wrong format is a wrong answer.
    """
    normalize_text("", normalize)

    def expected(case: Case) -> str | None:
        if label is not None:
            return case.labels.get(label)
        refs = reference_field(case, field)
        return refs[0] if refs else None

    def score(case: Case, output: Output) -> Score:
        want = expected(case)
        if want is None:
            return None
        got = answer_field(output.text, field)
        if got is None:
            return 0.0
        return float(normalize_text(got, normalize) == normalize_text(want, normalize))

    return score


class JsonSchemaScorer:
    """1 when the answer's JSON validates against the schema; the facts keep the
    first violation, so a report can say why."""

    def __init__(self, schema: dict[str, Any]):
        import jsonschema

        validator_cls = jsonschema.validators.validator_for(schema)
        try:
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise ValueError(f"invalid JSON schema: {e.message}") from None
        self.schema = schema
        self.validator = validator_cls(schema)

    def __call__(self, case: Case, output: Output) -> Scored:
        try:
            value = parse_json_answer(output.text)
        except ValueError as e:
            return Scored({"": 0.0}, {"error": str(e)})
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))
        if not errors:
            return Scored({"": 1.0})
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        return Scored({"": 0.0}, {"error": f"{where}: {first.message}"[:300]})

    def identity(self) -> dict[str, Any]:
        return {"schema": self.schema}


@scorer("json_schema", reference_free=True)
def json_schema(schema: dict[str, Any] | None = None, schema_file: str | None = None) -> ScoreFn:
    """JSON-schema compliance (any draft the ``jsonschema`` library knows).

    Give the schema inline or as ``schema_file`` (relative to the suite's folder).
    """
    if (schema is None) == (schema_file is None):
        raise ValueError("give exactly one of 'schema' and 'schema_file'")
    if schema_file is not None:
        try:
            schema = json.loads(Path(schema_file).read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read schema_file {schema_file}: {e}") from None
    assert schema is not None
    return JsonSchemaScorer(schema)

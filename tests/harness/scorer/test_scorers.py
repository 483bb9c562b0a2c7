import pytest

from finegate.harness import Case, InputError, Output
from finegate.harness.core import normalize_text, parse_json_answer
from finegate.harness.scorer import scorer, scorers


def score(name, case, text, **args):
    return scorers.get(name)(**args)(case, Output(text=text))


def test_normalisation_modes():
    assert normalize_text("  The Cat, sat! ") == "the cat sat"
    assert normalize_text("The Cat sat", "squad") == "cat sat"
    assert normalize_text("  A b ", "strip") == "A b"
    with pytest.raises(ValueError):
        normalize_text("x", "fancy")


def test_exact_match_uses_every_reference():
    case = Case(id="1", input="q", references=("Paris", "paris, France"))
    assert score("exact_match", case, " paris.") == 1.0
    assert score("exact_match", case, "Paris France") == 1.0
    assert score("exact_match", case, "Lyon") == 0.0
    assert score("exact_match", Case(id="2", input="q"), "x") is None
    assert score("exact_match", case, "paris.", normalize="none") == 0.0


def test_json_parsing_is_lenient_unless_strict():
    assert parse_json_answer('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_answer('Sure! {"a": {"b": 2}} Hope this helps.') == {"a": {"b": 2}}
    with pytest.raises(ValueError):
        parse_json_answer('Sure! {"a": 1}', strict=True)
    with pytest.raises(ValueError):
        parse_json_answer("no json here")


def test_json_field_match_against_labels_and_references():
    case = Case(
        id="1",
        input="t",
        labels={"category": "billing"},
        references=('{"category": "billing", "priority": "high"}',),
    )
    good = '{"category": "Billing", "priority": "low"}'
    assert score("json_field_match", case, good, field="category", label="category") == 1.0
    assert score("json_field_match", case, good, field="priority") == 0.0
    assert score("json_field_match", case, "not json", field="category") == 0.0
    assert score("json_field_match", case, '{"other": 1}', field="category") == 0.0
    assert score("json_valid", case, good) == 1.0
    assert score("json_valid", case, "[1, 2]") == 0.0


def test_choice_accuracy_and_regex():
    case = Case(id="1", input="q", choices=("a", "b"), answer=1)
    assert scorers.get("choice_accuracy")()(case, Output(text="b", choice=1)) == 1.0
    assert scorers.get("choice_accuracy")()(case, Output(text="a", choice=0)) == 0.0
    assert score("regex_match", case, "ID-1234", pattern=r"ID-\d{4}", fullmatch=True) == 1.0
    assert score("regex_match", case, "ID-12", pattern=r"ID-\d{4}") == 0.0


def test_a_user_scorer_registers_by_name():
    @scorer("test_length_under", version="2")
    def length_under(limit: int = 10):
        return lambda case, output: float(len(output.text) < limit)

    assert score("test_length_under", Case(id="1", input="q"), "short", limit=6) == 1.0
    assert scorers.get("test_length_under").scorer_version == "2"
    with pytest.raises(InputError, match="unknown scorer 'exact_mach'; did you mean 'exact_match'"):
        scorers.get("exact_mach")


def test_the_first_complete_object_wins():
    text = '```json\n{"category": "billing"}\n```\n\nAnother:\n```json\n{"category": "x"'
    assert parse_json_answer(text) == {"category": "billing"}
    assert parse_json_answer('{"a": {"b"  {"c": 1}') == {"c": 1}

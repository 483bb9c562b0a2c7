import pytest

from finegate.harness import CallableSystem, GenerateRequest, InputError, Message, PromptTemplate
from finegate.harness.system import Shot


def test_system_prompt_shots_and_user_template_build_the_conversation():
    template = PromptTemplate(
        system="Classify.",
        template="Ticket: {{ prompt }}",
        shots=[Shot(input="refund please", output="billing")],
    )
    conversation = template.apply((Message("user", "cannot log in"),))
    assert conversation == (
        Message("system", "Classify."),
        Message("user", "Ticket: refund please"),
        Message("assistant", "billing"),
        Message("user", "Ticket: cannot log in"),
    )


def test_raw_text_prompts_are_rendered_plainly():
    assert PromptTemplate(template="Q: {{ prompt }}").apply("2+2?") == "Q: 2+2?"
    with_system = PromptTemplate(system="Be brief.", shots=[Shot(input="1+1?", output="2")])
    assert with_system.apply("2+2?") == "Be brief.\n\n1+1?\n2\n\n2+2?\n"


def test_the_template_is_part_of_the_fingerprint():
    inner = CallableSystem(lambda prompt: "x", name="rules")
    a = PromptTemplate(system="A").wrap(inner)
    b = PromptTemplate(system="B").wrap(inner)
    assert a.fingerprint() != b.fingerprint() != inner.fingerprint()
    assert a.fingerprint() == PromptTemplate(system="A").wrap(inner).fingerprint()
    assert a.describe()["inner"]["name"] == "rules"


def test_wrapped_system_sees_the_templated_prompt():
    seen = []
    inner = CallableSystem(lambda prompt: seen.append(prompt) or "ok", name="spy")
    PromptTemplate(template="<{{ prompt }}>").wrap(inner).generate(
        [GenerateRequest((Message("user", "hi"),))]
    )
    assert seen == [(Message("user", "<hi>"),)]


def test_template_yaml_errors_are_located(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: t\ntemplate: '{{ prompt '\nshots:\n  - input: a\n    answer: b\n")
    with pytest.raises(InputError) as err:
        PromptTemplate.from_yaml(path)
    text = str(err.value)
    assert f"{path}:2: template: Value error, invalid Jinja template" in text
    assert f"{path}:5: shots[0].answer: unknown field" in text
    assert f"{path}:4: shots[0].output: required field is missing" in text

import pytest

from finegate.harness import CallableSystem, InputError, PromptTemplate, resolve_suite
from finegate.harness.suite import draw_shots, prompted_baseline


def test_shots_are_drawn_deterministically_from_the_train_split():
    suite = resolve_suite("task/support_triage")
    shots = draw_shots(suite, 3, seed=0)
    assert shots == draw_shots(suite, 3, seed=0)
    assert shots != draw_shots(suite, 3, seed=1)
    train_prompts = {suite.render_prompt(c): c for c in suite.split("train")}
    for shot in shots:
        case = train_prompts[shot.input]  # a train case, rendered with the suite's prompt
        assert shot.output == case.references[0]
    with pytest.raises(InputError, match="it is the split task/support_triage evaluates"):
        draw_shots(suite, 3, split="test")
    with pytest.raises(InputError, match="3000 shots asked for"):
        draw_shots(suite, 3000)


def test_prompted_baseline_uses_the_suite_template_and_adds_shots():
    suite = resolve_suite("task/support_triage")
    inner = CallableSystem(lambda prompt: "{}", name="echo")
    zero = prompted_baseline(inner, suite)
    assert zero.template.id == "support-triage-baseline" and zero.template.shots == ()
    three = prompted_baseline(inner, suite, shots=3)
    assert three.template.id == "support-triage-baseline+3shot" and len(three.template.shots) == 3
    assert three.template.system == zero.template.system
    assert three.fingerprint() != zero.fingerprint()
    plain = prompted_baseline(inner, suite, template=PromptTemplate(id="plain"))
    assert plain.template.system is None

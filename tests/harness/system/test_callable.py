import pytest

from finegate.harness import (
    CallableSystem,
    CapabilityError,
    GenerateRequest,
    GenerationParams,
    LoglikelihoodRequest,
)


def rules(prompt):
    return "refund" if "charged" in prompt else "other"


def test_a_function_answers_like_a_model():
    system = CallableSystem(rules)
    out = system.generate([GenerateRequest("I was charged twice"), GenerateRequest("hello")])
    assert [g.text for g in out] == ["refund", "other"]
    assert system.name == "rules" and system.describe()["type"] == "callable"


def test_params_are_passed_when_the_function_takes_them():
    system = CallableSystem(lambda prompt, params: str(params.max_new_tokens))
    out = system.generate([GenerateRequest("x", GenerationParams(max_new_tokens=7))])
    assert out[0].text == "7"


def test_fingerprint_follows_the_source_code():
    def a(prompt):
        return "a"

    def b(prompt):
        return "b"

    assert CallableSystem(a, name="f").fingerprint() != CallableSystem(b, name="f").fingerprint()
    assert CallableSystem(a, name="f").fingerprint() == CallableSystem(a, name="f").fingerprint()
    assert (
        CallableSystem(a, name="f", version="2").fingerprint()
        != CallableSystem(a, name="f").fingerprint()
    )


def test_loglikelihood_needs_a_function():
    with pytest.raises(CapabilityError, match="loglikelihood_fn"):
        CallableSystem(rules).loglikelihood([LoglikelihoodRequest("a", "b")])
    scored = CallableSystem(rules, loglikelihood_fn=lambda ctx, cont: -float(len(cont)))
    assert scored.loglikelihood([LoglikelihoodRequest("a", "bcd")])[0].logprob == -3.0


def test_a_non_string_answer_is_an_error():
    with pytest.raises(TypeError, match="expected str"):
        CallableSystem(lambda prompt: 3).generate([GenerateRequest("x")])

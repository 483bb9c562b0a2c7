"""HFModel on real tiny transformers models (random weights, byte-level tokenizer)."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from finegate.harness import (
    GenerateRequest,
    GenerationParams,
    HFModel,
    InputError,
    LoglikelihoodRequest,
    Message,
)

PROMPTS = [
    "Hello there, how are",
    "x",
    "The quick brown fox jumps over the lazy dog again and again",
    "Q: 2+2?\nA:",
    "zzzzzzzzzzzzzzzzzzzzzzzz",
    "Short",
    "A much longer prompt than the others, so that the batch needs padding",
    "abc def",
    "ninth prompt, alone in its second batch",
]


def _naive_logprob(model_dir: Path, context: str, continuation: str) -> float:
    """Reference: one unpadded forward over the whole text, full logits, by hand."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ctx = tok(context, add_special_tokens=False)["input_ids"]
    whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
    cont = whole[len(ctx) :]
    with torch.no_grad():
        logits = model(torch.tensor([whole])).logits[0]
    logprobs = torch.log_softmax(logits, -1)
    return sum(float(logprobs[len(ctx) - 1 + i, t]) for i, t in enumerate(cont))


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2"])
def test_batch_size_does_not_change_answers(fixture, request):
    path = request.getfixturevalue(fixture)
    params = GenerationParams(max_new_tokens=10)
    results = {}
    for bs in (1, 8):
        m = HFModel(str(path), batch_size=bs)
        gens = m.generate([GenerateRequest(p, params) for p in PROMPTS])
        lls = m.loglikelihood([LoglikelihoodRequest(p, " yes it is") for p in PROMPTS])
        results[bs] = (gens, lls)
    for a, b in zip(results[1][0], results[8][0], strict=True):
        assert a.text == b.text and a.completion_tokens == b.completion_tokens
    for a, b in zip(results[1][1], results[8][1], strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert a.is_greedy == b.is_greedy


def test_loglikelihood_equals_a_full_unpadded_forward(tiny_llama):
    m = HFModel(str(tiny_llama), batch_size=4)
    cases = [("The cat sat on the", " mat"), ("x", "yz"), ("A longer context here", " ok")]
    got = m.loglikelihood([LoglikelihoodRequest(c, t) for c, t in cases])
    for (context, continuation), ll in zip(cases, got, strict=True):
        assert ll.logprob == pytest.approx(
            _naive_logprob(tiny_llama, context, continuation), abs=1e-4
        )
        assert ll.n_tokens == len(continuation.encode())


def test_trailing_space_moves_to_the_continuation(tiny_llama):
    m = HFModel(str(tiny_llama))
    a, b = m.loglikelihood(
        [LoglikelihoodRequest("Answer: ", "yes"), LoglikelihoodRequest("Answer:", " yes")]
    )
    assert a.logprob == pytest.approx(b.logprob, abs=1e-6)


def test_generation_respects_max_new_tokens_and_stop_sequences(tiny_llama):
    m = HFModel(str(tiny_llama))
    free = m.generate([GenerateRequest("Hello", GenerationParams(max_new_tokens=12))])[0]
    assert free.completion_tokens <= 12 and free.finish_reason in ("length", "stop")
    assert len(free.text) >= 2
    stop = free.text[2:4]
    cut = m.generate([GenerateRequest("Hello", GenerationParams(max_new_tokens=12, stop=(stop,)))])[
        0
    ]
    assert stop not in cut.text
    assert free.text.startswith(cut.text) and cut.finish_reason == "stop"


def test_chat_template_is_applied_when_the_tokenizer_has_one(tiny_chat_llama, tiny_llama):
    chat = HFModel(str(tiny_chat_llama))
    conversation = (Message("system", "Be brief."), Message("user", "Hi"))
    assert chat.render(conversation) == "<|system|>Be brief.\n<|user|>Hi\n<|assistant|>"
    plain = HFModel(str(tiny_llama))
    assert plain.render(conversation) == "Be brief.\n\nHi\n"
    assert HFModel(str(tiny_chat_llama), chat="off").render(conversation) == "Be brief.\n\nHi\n"
    assert chat.render("raw text") == "raw text"


def test_fingerprint_names_the_weights(tiny_llama, tiny_gpt2, tmp_path):
    a = HFModel(str(tiny_llama)).fingerprint()
    assert a == HFModel(str(tiny_llama)).fingerprint()
    assert a != HFModel(str(tiny_gpt2)).fingerprint()
    copy = shutil.copytree(tiny_llama, tmp_path / "copy")
    assert HFModel(str(copy)).fingerprint() == a  # content, not location
    (copy / "README.md").write_text("docs do not change outputs")
    assert HFModel(str(copy)).fingerprint() == a
    assert HFModel(str(copy), load_in_4bit=True).fingerprint() != a


def test_model_folder_without_weights_is_refused(tiny_llama, tmp_path):
    folder = tmp_path / "noweights"
    folder.mkdir()
    shutil.copy(tiny_llama / "config.json", folder / "config.json")
    with pytest.raises(InputError) as err:
        HFModel(str(folder))
    assert str(folder) in str(err.value) and "weights" in str(err.value)
    with pytest.raises(InputError, match="model folder not found"):
        HFModel(str(tmp_path / "missing"))


def _lora_adapter(base: Path, out: Path, seed: int = 0, scale: float = 0.5) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from finegate.harness.core import quiet_library_noise

    quiet_library_noise()  # as finegate's own loading does
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    conv1d = model.config.model_type == "gpt2"  # GPT-2's projections store weights transposed
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", fan_in_fan_out=conv1d)
    peft_model = get_peft_model(model, lora)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, scale)  # make the adapter change the outputs
    peft_model.save_pretrained(out)
    return out


def test_adapter_changes_outputs_and_fingerprint(tiny_llama, tmp_path):
    adapter = _lora_adapter(tiny_llama, tmp_path / "adapter")
    base = HFModel(str(tiny_llama))
    tuned = HFModel(str(tiny_llama), adapter=str(adapter))
    assert base.fingerprint() != tuned.fingerprint()
    req = [LoglikelihoodRequest("The cat sat on the", " mat")]
    assert abs(base.loglikelihood(req)[0].logprob - tuned.loglikelihood(req)[0].logprob) > 1e-3
    assert tuned.describe()["adapter_hash"] is not None


def test_the_fingerprint_is_the_same_before_and_after_loading(tiny_llama):
    before = HFModel(str(tiny_llama)).fingerprint()
    loaded = HFModel(str(tiny_llama))
    loaded.loglikelihood([LoglikelihoodRequest("a", " b")])  # loads, choosing float32 on CPU
    assert loaded.describe()["dtype"] == "float32"
    assert loaded.fingerprint() == before
    assert HFModel(str(tiny_llama), dtype="float32").fingerprint() != before  # asked for: another


def test_adapter_problems_are_named(tiny_llama, tiny_gpt2, tmp_path):
    with pytest.raises(InputError, match="adapter folder not found"):
        HFModel(str(tiny_llama), adapter=str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "adapter_config.json").write_text("{}")
    with pytest.raises(InputError, match=r"adapter_model\.safetensors"):
        HFModel(str(tiny_llama), adapter=str(empty))
    gpt2_adapter = _lora_adapter(tiny_gpt2, tmp_path / "gpt2-adapter")
    model = HFModel(str(tiny_llama), adapter=str(gpt2_adapter))
    with pytest.raises(InputError) as err:
        model.loglikelihood([LoglikelihoodRequest("a", "b")])
    assert "adapter_config.json" in str(err.value) and "base_model_name_or_path" in str(err.value)
    assert json.loads((gpt2_adapter / "adapter_config.json").read_text())  # untouched


def test_four_bit_loading_runs_on_cpu(tiny_llama):
    m = HFModel(str(tiny_llama), load_in_4bit=True)
    out = m.generate([GenerateRequest("Hello", GenerationParams(max_new_tokens=4))])
    assert out[0].completion_tokens <= 4
    assert "Linear4bit" in {type(mod).__name__ for mod in m.model.modules()}

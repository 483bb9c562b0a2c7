"""The in-place KV cache holds exactly what transformers' concatenating cache holds."""

from __future__ import annotations

import torch

from finegate.harness.system.hf import ReservedLayer, layer_tensors, reserved_cache
from finegate.harness.system.hf._decode import cache_argument


def test_writes_in_place_and_grows_past_its_room():
    gen = torch.Generator().manual_seed(3)
    keys = torch.randn(2, 3, 5, 4, generator=gen)
    values = torch.randn(2, 3, 5, 4, generator=gen)
    layer = ReservedLayer(keys, values, room=4)
    want_k, want_v = keys, values
    storage = []
    for new in (1, 2, 1, 3, 1):  # 8 columns: the room of 4 runs out on the fourth
        k = torch.randn(2, 3, new, 4, generator=gen)
        v = torch.randn(2, 3, new, 4, generator=gen)
        got_k, got_v = layer.update(k, v)
        want_k, want_v = torch.cat([want_k, k], dim=-2), torch.cat([want_v, v], dim=-2)
        assert torch.equal(got_k, want_k) and torch.equal(got_v, want_v)
        assert layer.get_seq_length() == want_k.shape[-2]
        storage.append(got_k.untyped_storage().data_ptr())
    assert storage[0] == storage[1] == storage[2]  # no copy while the room lasts
    assert storage[3] != storage[2]  # then one reallocation, with new room
    assert storage[3] == storage[4]


def test_an_inherited_batch_selection_keeps_it_consistent():
    keys = torch.arange(2 * 1 * 3 * 2, dtype=torch.float32).reshape(2, 1, 3, 2)
    layer = ReservedLayer(keys, keys + 100, room=4)
    layer.batch_select_indices(torch.tensor([1]))  # transformers' own method
    new = torch.full((1, 1, 1, 2), -1.0)
    got_k, got_v = layer.update(new, new)
    assert torch.equal(got_k, torch.cat([keys[1:], new], dim=-2))
    assert torch.equal(got_v, torch.cat([keys[1:] + 100, new], dim=-2))
    layer.reset()
    got_k, _ = layer.update(new, new)
    assert torch.equal(got_k, new)


def test_a_model_decodes_the_same_through_it(tiny_llama):
    from transformers import AutoModelForCausalLM, DynamicCache

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7], [8, 8, 120, 3, 64]])
    plain = DynamicCache()
    with torch.inference_mode():
        model(input_ids=ids, use_cache=True, **cache_argument(model, plain))
        reserved = reserved_cache(layer_tensors(plain), room=2)
        token = ids[:, -1:]
        for _ in range(4):  # past the room of 2: one reallocation on the way
            a = model(input_ids=token, use_cache=True, **cache_argument(model, plain)).logits
            b = model(input_ids=token, use_cache=True, **cache_argument(model, reserved)).logits
            assert torch.equal(a, b)
            token = a[:, -1:].argmax(-1)
    assert reserved.get_seq_length() == plain.get_seq_length() == 9

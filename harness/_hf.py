"""``HFModel``: a transformers causal LM, optionally with a PEFT adapter or in 4-bit.

Batches are sorted by length so padding is small, padded on the left so every
row ends at the same position (the KV cache and the scored positions line up),
and given explicit position ids so a row's numbers do not depend on how much
padding its neighbours forced on it: batch size 1 and 8 give the same answers.
For loglikelihood the LM head runs only at the continuation's positions; on a
small model with a large vocabulary the head otherwise costs more than the body.
Continuations that share a context are scored in one row (``_shared_prefix``);
greedy generation is continuously batched (``_decode``).
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finegate.harness._errors import CapabilityError, InputError, Problem
from finegate.harness._hashing import sha256_files, sha256_json
from finegate.harness._system import render_plain
from finegate.harness._types import (
    GenerateRequest,
    Generation,
    GenerationParams,
    Loglikelihood,
    LoglikelihoodRequest,
    Prompt,
)

if TYPE_CHECKING:
    import torch

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.gguf", "model*.pt")
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
_IGNORED_SUFFIXES = (".md", ".txt", ".lock")


def _weight_files(folder: Path) -> list[Path]:
    return sorted({p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)})


def _content_files(folder: Path) -> list[Path]:
    """The files of a model folder that determine its outputs: weights, config,
    tokenizer, chat template. Hidden files and docs are left out."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_IGNORED_SUFFIXES)
    )


def weights_hash(path: Path) -> str:
    """A model's identity: its ``.gguf`` file, or its folder's content files."""
    if path.is_file():
        return sha256_files([path], path.parent)
    return sha256_files(_content_files(path), path)


def check_model_folder(folder: Path) -> list[Problem]:
    problems = []
    if not (folder / "config.json").is_file():
        problems.append(
            Problem("model folder has no config.json", file=str(folder), field="config.json")
        )
    if not _weight_files(folder):
        problems.append(
            Problem(
                "model folder has no weights (expected *.safetensors, "
                "pytorch_model*.bin or *.gguf)",
                file=str(folder),
                field="weights",
            )
        )
    return problems


def check_adapter_folder(folder: Path) -> list[Problem]:
    if not folder.is_dir():
        return [Problem("adapter folder not found", file=str(folder))]
    problems = []
    config = folder / "adapter_config.json"
    if not config.is_file():
        problems.append(
            Problem(
                "adapter folder has no adapter_config.json",
                file=str(folder),
                field="adapter_config.json",
            )
        )
    else:
        try:
            json.loads(config.read_text("utf-8"))
        except ValueError as e:
            problems.append(Problem(f"invalid JSON: {e}", file=str(config)))
    if not any((folder / name).is_file() for name in ADAPTER_WEIGHTS):
        problems.append(
            Problem(
                "adapter folder has no adapter_model.safetensors (or .bin)",
                file=str(folder),
                field="adapter_model.safetensors",
            )
        )
    return problems


def resolve_model_ref(ref: str) -> Path:
    """A local folder, a local ``.gguf`` file, an embedded model name or a hub id
    already in the local Hugging Face cache."""
    from finegate.harness._embedded import embedded_models, ensure_embedded

    if ref in embedded_models():
        return ensure_embedded(ref)
    p = Path(ref).expanduser()
    if p.exists():
        if p.is_file():
            if p.suffix != ".gguf":
                raise InputError(
                    Problem("a model file must be .gguf; otherwise give the folder", file=str(p))
                )
            return p.resolve()
        problems = check_model_folder(p)
        if problems:
            raise InputError(problems)
        return p.resolve()
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise InputError(Problem("model folder not found", file=ref))
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref, local_files_only=True))
    except Exception:
        raise InputError(
            f"model {ref!r} is not a local folder, an embedded model or a hub id in the local "
            "Hugging Face cache",
            hint="give a folder with config.json and weights, or run `finegate models list`",
        ) from None


def _folder_and_file(path: Path) -> tuple[Path, dict[str, str]]:
    """A model folder, or a ``.gguf`` file inside one (transformers' ``gguf_file``)."""
    if path.is_file():
        return path.parent, {"gguf_file": path.name}
    return path, {}


def load_tokenizer(path: Path) -> Any:
    """The model's tokenizer, padding on the left, with a pad token."""
    from transformers import AutoTokenizer

    folder, extra = _folder_and_file(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
    except (OSError, ValueError) as e:
        raise InputError(Problem(f"cannot load the tokenizer: {e}", file=str(path))) from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            tokenizer.pad_token_id = 0
    return tokenizer


def quantization_kwargs(device: str, dtype: Any) -> dict[str, Any]:
    """``from_pretrained`` arguments for NF4 4-bit weights with double quantisation:
    fp32 compute on CPU (no bf16 instructions there), the given dtype on CUDA."""
    import torch

    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError:
        raise InputError(
            "4-bit loading needs bitsandbytes: pip install 'finegate[quant]'"
        ) from None
    compute = dtype if device.startswith("cuda") else torch.float32
    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )
    return {
        "quantization_config": config,
        "device_map": {"": 0} if device.startswith("cuda") else "cpu",
        "dtype": compute,
    }


def load_causal_lm(path: Path, *, dtype: Any, device: str, load_in_4bit: bool = False) -> Any:
    """A transformers causal LM on ``device`` (in 4-bit NF4 when asked)."""
    from transformers import AutoModelForCausalLM

    folder, extra = _folder_and_file(path)
    kwargs: dict[str, Any] = {"dtype": dtype, **extra}
    if load_in_4bit:
        kwargs.update(quantization_kwargs(device, dtype))
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as e:
        raise InputError(Problem(f"cannot load the model: {e}", file=str(path))) from None
    if not load_in_4bit:
        model.to(device)
    return model


def uses_chat_template(tokenizer: Any, chat: str = "auto") -> bool:
    """``auto``: the tokenizer's chat template when it has one; ``on``: required; ``off``: never."""
    if chat == "off":
        return False
    has = bool(getattr(tokenizer, "chat_template", None))
    if chat == "on" and not has:
        raise CapabilityError("chat=on but the tokenizer has no chat template")
    return has


def render_prompt(tokenizer: Any, prompt: Prompt, chat: str = "auto") -> str:
    """The exact text a model sees for a prompt, up to where its answer starts.

    Training renders prompts with this same function, so a fine-tune learns to
    answer exactly the text it is evaluated on."""
    if isinstance(prompt, str):
        return prompt
    if uses_chat_template(tokenizer, chat):
        return tokenizer.apply_chat_template(
            [asdict(m) for m in prompt], tokenize=False, add_generation_prompt=True
        )
    return render_plain(prompt)


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def pick_dtype(dtype: str, device: str) -> torch.dtype:
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return {
            "float32": torch.float32,
            "fp32": torch.float32,
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
            "float16": torch.float16,
            "fp16": torch.float16,
        }[dtype]
    except KeyError:
        raise InputError(
            Problem(f"unknown dtype {dtype!r} (auto, float32, bfloat16, float16)", field="dtype")
        ) from None


STOP_WINDOW = 64
"""Tokens at the end of an answer decoded to look for a stop string."""

ADAPTER_PROBE = "The committee met on Tuesday to review the budget for the new library."


class HFModel:
    """A transformers causal LM as a finegate ``System``."""

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        dtype: str = "auto",
        device: str = "auto",
        load_in_4bit: bool = False,
        batch_size: int = 8,
        max_length: int | None = None,
        chat: str = "auto",
        add_bos_token: bool = False,
        name: str | None = None,
    ):
        if chat not in ("auto", "on", "off"):
            raise InputError(Problem(f"chat must be auto, on or off, not {chat!r}", field="chat"))
        if batch_size < 1:
            raise InputError(Problem("batch size must be at least 1", field="batch_size"))
        self.model_ref = model
        self.model_path = resolve_model_ref(model)
        self.adapter_path = Path(adapter).expanduser().resolve() if adapter else None
        if self.adapter_path is not None:
            problems = check_adapter_folder(self.adapter_path)
            if problems:
                raise InputError(problems)
        self.dtype_name = dtype
        self.device_name = device
        self.load_in_4bit = load_in_4bit
        self.batch_size = batch_size
        self.max_length = max_length
        self.chat = chat
        self.add_bos_token = add_bos_token
        self.name = name or (
            model if self.adapter_path is None else f"{model}+{self.adapter_path.name}"
        )
        self._model: Any = None
        self._tokenizer: Any = None
        self._device: str | None = None
        self._dtype: Any = None
        self._fingerprint: str | None = None
        self._keep_logits: bool | None = None
        self._weights: str | None = None
        self._stoppers: dict[tuple[str, ...], Any] = {}
        self._continuous: bool | None = None
        self.adapter_effect: float | None = None  # max |logit change| on a probe text

    # -- identity -----------------------------------------------------------------------

    def _weights_hash(self) -> str:
        if self._weights is None:
            self._weights = weights_hash(self.model_path)
        return self._weights

    def adapter_hash(self) -> str | None:
        if self.adapter_path is None:
            return None
        return sha256_files(_content_files(self.adapter_path), self.adapter_path)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sha256_json(
                {
                    "type": "hf",
                    "weights": self._weights_hash(),
                    "adapter": self.adapter_hash(),
                    "dtype": self.dtype_name if self._dtype is None else str(self._dtype),
                    "load_in_4bit": self.load_in_4bit,
                    "max_length": self.max_length,
                    "chat": self.chat,
                    "add_bos_token": self.add_bos_token,
                }
            )
        return self._fingerprint

    def execution_key(self) -> str:
        return pick_device(self.device_name).split(":")[0]

    def describe(self) -> dict[str, Any]:
        return {
            "type": "hf",
            "name": self.name,
            "model": self.model_ref,
            "weights_hash": self._weights_hash(),
            "adapter": str(self.adapter_path) if self.adapter_path else None,
            "adapter_hash": self.adapter_hash(),
            "dtype": str(
                self._dtype or pick_dtype(self.dtype_name, self.execution_key())
            ).removeprefix("torch."),
            "device": self._device or pick_device(self.device_name),
            "load_in_4bit": self.load_in_4bit,
            "chat": self.chat,
            "fingerprint": self.fingerprint(),
        }

    # -- loading ------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model_path)
        return self._tokenizer

    @property
    def model(self) -> Any:
        self._load()
        return self._model

    @property
    def device(self) -> str:
        self._load()
        assert self._device is not None
        return self._device

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch

        device = pick_device(self.device_name)
        dtype = pick_dtype(self.dtype_name, device)
        model = load_causal_lm(
            self.model_path, dtype=dtype, device=device, load_in_4bit=self.load_in_4bit
        )
        if self.adapter_path is not None:
            model = self._attach_adapter(model)
        model.eval()
        self._model, self._device, self._dtype = model, device, dtype
        torch.manual_seed(0)

    def _attach_adapter(self, model: Any) -> Any:
        from peft import PeftModel

        assert self.adapter_path is not None
        try:
            tuned = PeftModel.from_pretrained(model, str(self.adapter_path), is_trainable=False)
        except (RuntimeError, ValueError, KeyError) as e:
            first = str(e).strip().splitlines()[0][:300]
            raise InputError(
                Problem(
                    f"adapter does not fit this base model ({first})",
                    file=str(self.adapter_path / "adapter_config.json"),
                    field="base_model_name_or_path",
                ),
                hint=f"the adapter was trained on another base than {self.model_ref!r}",
            ) from None
        self._check_adapter_effect(tuned)
        return tuned

    def _check_adapter_effect(self, tuned: Any) -> None:
        """An adapter that leaves every logit of a probe text unchanged is untrained
        or targets no module of this base: its scores would silently be the base
        model's. Refuse it rather than report them as the candidate's."""
        import torch

        assert self.adapter_path is not None
        ids = self._encode(ADAPTER_PROBE) or [self.tokenizer.eos_token_id or 0]
        inputs = torch.tensor([ids], device=next(tuned.parameters()).device)
        tuned.eval()
        with torch.inference_mode():
            with_adapter = tuned(input_ids=inputs).logits.float()
            with tuned.disable_adapter():
                without = tuned(input_ids=inputs).logits.float()
        self.adapter_effect = float((with_adapter - without).abs().max())
        if self.adapter_effect == 0.0:
            raise InputError(
                Problem(
                    "the adapter leaves the model's outputs unchanged (every logit of a probe "
                    "text is identical with and without it)",
                    file=str(self.adapter_path / "adapter_config.json"),
                    field="target_modules",
                ),
                hint="it is untrained (LoRA's B matrices are still zero) or its target modules "
                "match nothing in this base model; evaluate the trained adapter",
            )

    # -- prompts ------------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for a prompt."""
        return render_prompt(self.tokenizer, prompt, self.chat)

    def _encode(self, text: str) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.add_bos_token and self.tokenizer.bos_token_id is not None:
            ids = [self.tokenizer.bos_token_id, *ids]
        return list(ids)

    def _max_length(self) -> int:
        if self.max_length:
            return self.max_length
        config = self.model.config
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return min(value, 8192)
        return 2048

    def _left_pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            if row:
                ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
                mask[i, width - len(row) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), positions.to(self.device)

    # -- generation ---------------------------------------------------------------------

    def _eos_ids(self) -> list[int]:
        ids: set[int] = set()
        for source in (
            self.tokenizer.eos_token_id,
            getattr(self.model.generation_config, "eos_token_id", None),
        ):
            if isinstance(source, int):
                ids.add(source)
            elif isinstance(source, list | tuple):
                ids.update(int(i) for i in source)
        return sorted(ids)

    def _stop_criteria(self, stops: tuple[str, ...]) -> Any:
        """transformers' stop-string matcher, built once per set of stop strings:
        building it embeds the whole vocabulary (about a second per batch here)."""
        if stops not in self._stoppers:
            from transformers import StoppingCriteriaList, StopStringCriteria

            self._stoppers[stops] = StoppingCriteriaList(
                [StopStringCriteria(self.tokenizer, list(stops))]
            )
        return self._stoppers[stops]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        if not requests:
            return []
        encoded = [self._encode(self.render(r.prompt)) for r in requests]
        order = sorted(
            range(len(requests)),
            key=lambda i: (_params_key(requests[i].params), -len(encoded[i]), i),
        )
        results: list[Generation | None] = [None] * len(requests)
        if self._continuous_batching():
            groups: dict[str, list[int]] = {}
            for i in order:
                if requests[i].params.greedy:
                    groups.setdefault(_params_key(requests[i].params), []).append(i)
            for group in groups.values():
                self._decode_greedy(group, requests, encoded, results)
            order = [i for i in order if results[i] is None]
        batch: list[int] = []
        for i in order:
            if batch and (
                len(batch) == self.batch_size or requests[batch[0]].params != requests[i].params
            ):
                self._generate_batch(batch, requests, encoded, results)
                batch = []
            batch.append(i)
        if batch:
            self._generate_batch(batch, requests, encoded, results)
        return [r for r in results if r is not None]

    def _continuous_batching(self) -> bool:
        if self._continuous is None:
            from finegate.harness._decode import supports_continuous_batching

            self._continuous = supports_continuous_batching(self.model)
        return self._continuous

    def _decode_greedy(
        self,
        group: list[int],
        requests: Sequence[GenerateRequest],
        encoded: list[list[int]],
        results: list[Generation | None],
    ) -> None:
        """Greedy requests with the same settings, by continuous batching."""
        from finegate.harness._decode import greedy_decode

        params = requests[group[0]].params
        budget = max(1, self._max_length() - params.max_new_tokens)
        start = self.tokenizer.bos_token_id
        start = self.tokenizer.eos_token_id if start is None else start
        # an empty prompt still needs one token to condition on
        rows = [encoded[i][-budget:] or [start or 0] for i in group]
        stops = params.stop

        def stopped(tokens: list[int]) -> bool:
            if not stops:
                return False
            text = self.tokenizer.decode(tokens[-STOP_WINDOW:], skip_special_tokens=True)
            return any(stop in text for stop in stops)

        decoded = greedy_decode(
            self.model,
            rows,
            max_new_tokens=params.max_new_tokens,
            batch_size=self.batch_size,
            eos_ids=self._eos_ids(),
            pad_id=self.tokenizer.pad_token_id,
            stopped=stopped,
        )
        for i, row, answer in zip(group, rows, decoded, strict=True):
            results[i] = self._generation(
                answer.tokens, answer.finish, stops, len(row), answer.seconds
            )

    def _generation(
        self,
        tokens: list[int],
        finish: str,
        stops: tuple[str, ...],
        prompt_tokens: int,
        seconds: float,
    ) -> Generation:
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        for stop in stops:
            cut = text.find(stop)
            if cut != -1:
                text, finish = text[:cut], "stop"
        return Generation(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(tokens),
            finish_reason=finish,
            latency_s=seconds,
        )

    def _generate_batch(
        self,
        batch: list[int],
        requests: Sequence[GenerateRequest],
        encoded: list[list[int]],
        results: list[Generation | None],
    ) -> None:
        import torch
        from transformers import GenerationConfig

        params = requests[batch[0]].params
        budget = max(1, self._max_length() - params.max_new_tokens)
        rows = [encoded[i][-budget:] for i in batch]
        ids, mask, _ = self._left_pad(rows)
        eos = self._eos_ids()
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not params.greedy,
            temperature=params.temperature if not params.greedy else None,
            top_p=params.top_p if not params.greedy else None,
            top_k=None,
            eos_token_id=eos or None,
            pad_token_id=self.tokenizer.pad_token_id,
            use_cache=True,
        )
        extra: dict[str, Any] = {}
        if params.stop:
            extra = {"stopping_criteria": self._stop_criteria(params.stop)}
        if not params.greedy:
            torch.manual_seed(params.seed)
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, generation_config=config, **extra
            )
        elapsed = time.perf_counter() - start
        new_tokens = out[:, ids.shape[1] :].tolist()
        for row, i in enumerate(batch):
            tokens = new_tokens[row]
            finish = "length"
            for j, t in enumerate(tokens):
                if t in eos:
                    tokens, finish = tokens[:j], "stop"
                    break
            results[i] = self._generation(tokens, finish, params.stop, len(rows[row]), elapsed)

    # -- scoring ------------------------------------------------------------------------

    def _split_tokens(self, request: LoglikelihoodRequest) -> tuple[list[int], list[int]]:
        """Context and continuation tokens, split as lm-eval splits them: trailing
        whitespace moves to the continuation, and the continuation's tokens are
        those of the whole text after the context's, so merges across the seam count."""
        context = self.render(request.context)
        continuation = request.continuation
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces and isinstance(request.context, str):
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self._encode(context + continuation)
        ctx = self._encode(context)
        cont = whole[len(ctx) :]
        if not ctx:
            prefix = self.tokenizer.bos_token_id
            if prefix is None:
                prefix = self.tokenizer.eos_token_id
            ctx = [prefix if prefix is not None else self.tokenizer.pad_token_id]
        return ctx, cont

    def _supports_logits_to_keep(self) -> bool:
        if self._keep_logits is None:
            base = (
                self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            )
            self._keep_logits = "logits_to_keep" in inspect.signature(base.forward).parameters
        return self._keep_logits

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]:
        if not requests:
            return []
        max_len = self._max_length()
        items: list[tuple[list[int], list[int]]] = []
        owner: list[int] = []
        for k, r in enumerate(requests):
            ctx, cont = self._split_tokens(r)
            if r.context == "" and len(cont) > max_len:
                windows = rolling_windows(ctx[0], cont, max_len)
            else:
                full = (ctx + cont)[-(max_len + 1) :]
                windows = [(full[:-1], cont)]
            items += windows
            owner += [k] * len(windows)
        by_request: list[list[Loglikelihood]] = [[] for _ in requests]
        for k, part in zip(owner, self._score_items(items), strict=True):
            by_request[k].append(part)
        out: list[Loglikelihood] = []
        for parts in by_request:
            out.append(
                Loglikelihood(
                    sum(p.logprob for p in parts),
                    all(p.is_greedy for p in parts),
                    sum(p.n_tokens for p in parts),
                    max(p.latency_s for p in parts),
                )
            )
        return out

    def _score_items(self, items: list[tuple[list[int], list[int]]]) -> list[Loglikelihood]:
        """Log-probability of each item's continuation tokens, given its input ids
        (the context and all but the last continuation token). Items that share a
        context are scored in one row (``_shared_prefix``): the context runs once."""
        import torch

        from finegate.harness import _shared_prefix as sp

        results: list[Loglikelihood | None] = [
            None if cont else Loglikelihood(0.0, True, 0, 0.0) for _, cont in items
        ]
        rows = sp.group_by_prefix(items)
        rows.sort(key=lambda row: -row.length)
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            t0 = time.perf_counter()
            keep = max(row.tail for row in batch) + 1
            ids, positions = sp.pack(batch, self.tokenizer.pad_token_id)
            ids, positions = ids.to(self.device), positions.to(self.device)
            if all(len(row.continuations) == 1 for row in batch):  # plain causal rows
                mask = sp.padding_mask(batch, ids.shape[1]).to(self.device)
            else:
                mask = sp.attention_mask(batch, ids.shape[1], self.model.dtype).to(self.device)
            kwargs: dict[str, Any] = {"use_cache": False}
            if self._supports_logits_to_keep():
                kwargs["logits_to_keep"] = keep
            with torch.inference_mode():
                logits = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=positions, **kwargs
                ).logits[:, -keep:, :]
                logprobs = torch.log_softmax(logits.float(), dim=-1)
                scored = sp.continuation_logprobs(logprobs, batch)
            elapsed = time.perf_counter() - t0
            for owner, logprob, greedy in scored:
                results[owner] = Loglikelihood(logprob, greedy, len(items[owner][1]), elapsed)
        return [r for r in results if r is not None]


def rolling_windows(
    prefix: int, tokens: list[int], max_len: int
) -> list[tuple[list[int], list[int]]]:
    """A text longer than the model's context, as disjoint windows that each
    predict new tokens with as much preceding context as fits: lm-eval's
    ``loglikelihood_rolling`` scheme (``get_rolling_token_windows`` with a context
    length of 1, then ``make_disjoint_window``), so perplexities agree with it.
    Each window is (input ids, predicted tokens)."""
    first = min(max_len, len(tokens))
    windows = [([prefix, *tokens[: first - 1]], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, max_len)
        end = predicted + n
        context = tokens[max(end - max_len - 1, 0) : end - 1]
        windows.append((context, tokens[end - n : end]))
        predicted += n
    return [(ctx[: len(ctx) - (len(pred) - 1)] + pred[:-1], pred) for ctx, pred in windows]


def _params_key(params: GenerationParams) -> str:
    return json.dumps(params.to_dict(), sort_keys=True)

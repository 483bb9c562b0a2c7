"""lm-eval's model interface over any finegate ``System``.

Users trust lm-eval's task definitions and metrics; finegate owns the system
under test (an HF model with its adapter, a prompt template, an endpoint), its
batching and its response cache. ``FinegateLM`` joins the two: lm-eval builds
the requests and scores the answers, the system answers them, and every answer
goes through the same cache as any other finegate run. Registered with lm-eval
as ``finegate``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import lm_eval.models  # noqa: F401  (lm-eval registers its own classes only into an empty registry)
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from finegate.harness.core import (
    CapabilityError,
    GenerateRequest,
    GenerationParams,
    LoglikelihoodRequest,
)
from finegate.harness.system import System, innermost_system

DEFAULT_MAX_GEN_TOKS = 256

"""lm-eval's own default when a task names no ``max_gen_toks``."""


Progress = Callable[[str, int, int], None]


def generation_params(gen_kwargs: dict[str, Any]) -> GenerationParams:
    """lm-eval's ``generation_kwargs`` as finegate's decoding settings.

    Stop sequences (``until``) are cut from the answer, as lm-eval's ``hf`` class
    does; sampling is honoured only when the task asks for it."""
    kwargs = dict(gen_kwargs)
    until = kwargs.pop("until", None)
    if until is None:
        stops: tuple[str, ...] = ()
    elif isinstance(until, str):
        stops = (until,)
    else:
        stops = tuple(str(u) for u in until)
    max_new = int(kwargs.pop("max_gen_toks", kwargs.pop("max_new_tokens", DEFAULT_MAX_GEN_TOKS)))
    do_sample = bool(kwargs.pop("do_sample", False))
    temperature = float(kwargs.pop("temperature", 0.0) or 0.0)
    top_p = float(kwargs.pop("top_p", 1.0) or 1.0)
    if not do_sample:
        temperature, top_p = 0.0, 1.0
    return GenerationParams(
        max_new_tokens=max_new,
        temperature=temperature,
        top_p=top_p,
        stop=tuple(s for s in stops if s),
        seed=int(kwargs.pop("seed", 0) or 0),
    )


@register_model("finegate")
class FinegateLM(LM):
    """An lm-eval ``LM`` answering through a finegate system.

    ``answerer`` is what actually answers: the system itself, or the runner's
    cached view of it (same ``generate``/``loglikelihood`` signatures). Requests
    are sent in chunks of ``chunk_size`` so that progress is reported and the
    cache is committed as work goes on (``on_chunk``)."""

    def __init__(
        self,
        system: System | None = None,
        *,
        answerer: Any = None,
        chunk_size: int = 64,
        on_progress: Progress | None = None,
        on_chunk: Callable[[], None] | None = None,
        model: str | None = None,
        adapter: str | None = None,
        batch_size: int | str | None = None,
        **_ignored: Any,
    ):
        super().__init__()
        if system is None:
            if model is None:
                raise CapabilityError("FinegateLM needs a system (or model=... in model_args)")
            from finegate.harness.system import SystemSpec, build_system

            size = int(batch_size) if str(batch_size).isdigit() else 8  # or "auto"
            system = build_system(SystemSpec(model=model, adapter=adapter, batch_size=size))
        self.system = system
        self.answerer = answerer if answerer is not None else system
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.on_chunk = on_chunk
        if answerer is None:
            # used by lm-eval itself (not finegate's runner, which slices work its own
            # way): under torchrun, lm-eval gives each rank its share of documents
            self._rank, self._world_size, self._device = _process_group()

    # -- lm-eval's data-parallel hooks (a world of one unless under torchrun) -------------

    def all_gather(self, tensor: Any) -> Any:
        if self._world_size <= 1:
            return tensor
        import torch
        import torch.distributed as dist

        parts = [torch.zeros_like(tensor) for _ in range(self._world_size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.stack(parts) if tensor.dim() == 0 else torch.cat(parts)

    def gather_object(self, obj: Any, dst: int = 0) -> list[Any] | None:
        if self._world_size <= 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] | None = [None] * self._world_size if self._rank == dst else None
        dist.gather_object(obj, out, dst=dst)
        return out

    def barrier(self) -> None:
        if self._world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    # -- lm-eval's three request types ---------------------------------------------------

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        asks = [LoglikelihoodRequest(str(r.args[0]), str(r.args[1])) for r in requests]
        answers = self._in_chunks("loglikelihood", asks, self.answerer.loglikelihood)
        return [(a.logprob, a.is_greedy) for a in answers]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        """The whole text's log-likelihood: an empty context asks the system for
        every token of the text, in windows where it is longer than the model's
        context (as lm-eval's ``hf`` class does)."""
        asks = [LoglikelihoodRequest("", str(r.args[0])) for r in requests]
        answers = self._in_chunks("loglikelihood_rolling", asks, self.answerer.loglikelihood)
        return [a.logprob for a in answers]

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        asks = [
            GenerateRequest(str(r.args[0]), generation_params(dict(r.args[1] or {})))
            for r in requests
        ]
        answers = self._in_chunks("generate_until", asks, self.answerer.generate)
        return [a.text for a in answers]

    # -- chat templates (lm-eval's --apply_chat_template) ---------------------------------

    @property
    def tokenizer_name(self) -> str:
        return self.system.fingerprint()

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        tokenizer = self._tokenizer()
        return getattr(tokenizer, "chat_template", None) or ""

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        tokenizer = self._tokenizer()
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise CapabilityError(
                f"{self.system.describe().get('name', 'the system')} has no chat template; "
                "run the suite with apply_chat_template: false"
            )
        return str(
            tokenizer.apply_chat_template(
                chat_history,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=not add_generation_prompt,
            )
        )

    def _tokenizer(self) -> Any:
        return getattr(innermost_system(self.system), "tokenizer", None)

    # -- plumbing -----------------------------------------------------------------------

    def _in_chunks(self, kind: str, asks: Sequence[Any], answer: Callable[..., list[Any]]) -> list:
        out: list[Any] = []
        for start in range(0, len(asks), self.chunk_size):
            out += answer(list(asks[start : start + self.chunk_size]))
            if self.on_chunk:
                self.on_chunk()
            if self.on_progress:
                self.on_progress(kind, len(out), len(asks))
        return out


def _process_group() -> tuple[int, int, str | None]:
    """(rank, world size, device) of the process group torchrun started this
    process in, joined here: gloo on CPU, NCCL with one GPU per process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return 0, 1, None
    import torch
    import torch.distributed as dist

    cuda = torch.cuda.is_available()
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    device = f"cuda:{torch.cuda.current_device()}" if cuda else "cpu"
    return dist.get_rank(), dist.get_world_size(), device


def has_chat_template(system: System) -> bool:
    tokenizer = getattr(innermost_system(system), "tokenizer", None)
    return bool(getattr(tokenizer, "chat_template", None))

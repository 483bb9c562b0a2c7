"""Answering one request on a slot: the answer is logged (and only then sent) and
counted; a failure is logged and counted too. One place, so generation and prompt
scoring are held to the same record."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

from finegate.harness.core import CapabilityError, GenerateRequest, GenerationParams, InputError
from finegate.harness.pii import hash_value, pii_salt
from finegate.harness.safety import pattern_refusal
from finegate.harness.serve._deployment import Slot
from finegate.harness.serve._metrics import ServeMetrics
from finegate.harness.serve._request_log import LogEntry, RequestLog
from finegate.harness.serve._requests import ApiError, is_json
from finegate.harness.store import now_iso


@dataclass(frozen=True)
class Prices:
    per_1k_prompt_tokens: float = 0.0
    per_1k_completion_tokens: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.per_1k_prompt_tokens
            + completion_tokens * self.per_1k_completion_tokens
        ) / 1000.0


class Recorder:
    """Logs and counts what each request got, per version and alias."""

    def __init__(self, request_log: RequestLog | None, metrics: ServeMetrics, prices: Prices):
        self.request_log, self.metrics, self.prices = request_log, metrics, prices
        self._salt = pii_salt() if request_log is not None else b""

    def caller_hash(self, caller: str | None) -> str | None:
        """The caller as the log keeps it: salted, so the log names no one."""
        if caller is None or self.request_log is None:
            return None
        return hash_value(caller, self._salt)

    def open(
        self, slot: Slot, alias: str, caller: str | None, endpoint: str, prompt: Any
    ) -> Record:
        return Record(
            self,
            slot,
            alias,
            {
                "id": f"req-{uuid.uuid4().hex}",
                "at": now_iso(),
                "caller_hash": self.caller_hash(caller),
                "name": slot.name,
                "version": slot.version,
                "alias": alias,
                "fingerprint": slot.fingerprint,
                "endpoint": endpoint,
                "prompt": prompt,
            },
        )


class Record:
    """One request on its way: ``generate`` or ``answered``/``failed`` finish it."""

    def __init__(self, recorder: Recorder, slot: Slot, alias: str, entry: dict[str, Any]):
        self.recorder, self.slot, self.alias, self.entry = recorder, slot, alias, entry
        self.started = time.perf_counter()

    @property
    def request_id(self) -> str:
        return str(self.entry["id"])

    async def generate(self, prompt: Any, params: GenerationParams, want_json: bool) -> Any:
        try:
            g = await self.slot.generate.submit(GenerateRequest(prompt, params))
        except (CapabilityError, InputError) as e:
            await self.failed(400, str(e))
            raise ApiError(400, str(e)) from None
        except Exception as e:
            await self.failed(500, f"{type(e).__name__}: {e}")
            raise ApiError(500, f"{type(e).__name__}: {e}") from None
        await self.answered(g.text, g.prompt_tokens, g.completion_tokens, want_json)
        return g

    async def answered(
        self, text: str | None, prompt_tokens: int, completion_tokens: int, want_json: bool
    ) -> None:
        """Log the answer (it is sent only once its row is committed), then count it."""
        recorder = self.recorder
        latency = time.perf_counter() - self.started
        cost = recorder.prices.cost(prompt_tokens, completion_tokens)
        flags = {
            "refusal": text is not None and pattern_refusal(text),
            "json_requested": want_json,
            "invalid_json": text is not None and want_json and not is_json(text),
        }
        answer_pii = 0
        if recorder.request_log is not None:
            try:
                logged = await recorder.request_log.write(
                    LogEntry(
                        **self.entry,
                        answer=text,
                        latency_ms=latency * 1000.0,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                        cost=cost,
                        flags=flags,
                    )
                )
            except Exception as e:
                recorder.metrics.failed(self.slot.label, self.alias, 503)
                raise ApiError(
                    503,
                    f"the answer was not sent: it could not be written to the request log ({e})",
                ) from None
            answer_pii = logged.answer_pii
        flags["pii"] = answer_pii > 0
        recorder.metrics.answered(
            self.slot.label,
            self.alias,
            latency_s=latency,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            flags=flags,
        )

    async def failed(self, status: int, message: str) -> None:
        recorder = self.recorder
        recorder.metrics.failed(self.slot.label, self.alias, status)
        if recorder.request_log is not None:
            with contextlib.suppress(Exception):  # the request fails either way
                await recorder.request_log.write(
                    LogEntry(
                        **self.entry,
                        answer=None,
                        latency_ms=(time.perf_counter() - self.started) * 1000.0,
                        status=status,
                        error=message,
                    )
                )

"""Canary exposure: how far a fine-tune memorised the secrets planted in its data.

Carlini et al., "The Secret Sharer" (arXiv 1802.08232). The training plugin
inserts canaries, sentences such as "The account recovery code for Ilse Brandt
is 481920.", each repeated a recorded number of times, and writes them into the
training manifest. For a canary with secret s drawn from a candidate space R
(every string of its length over its alphabet), rank every candidate r by the
model's log-perplexity of the canary sentence with r in place of s:

    exposure(s) = log2 |R| - log2 rank(s)

A model that never saw s ranks it somewhere in the middle (exposure about 1
bit on average); a model that memorised it ranks it first (exposure log2 |R|).

- **exact**: every candidate is scored (only when |R| is small enough);
- **sampled**: a uniform sample of candidates is scored, a skew-normal is fitted
  to their log-perplexities (scipy.stats.skewnorm) and the rank fraction is
  its CDF at the secret's log-perplexity: exposure = -log2 CDF(secret).
  This extrapolates past the sample, which a plain count could not (a sample
  of 2,000 can show a rank fraction no smaller than 1/2,000).

The result is stored as a run of kind ``exposure`` under the candidate's own
fingerprint, so gates and reports find it. The store keeps a salted hash of
each secret, never the secret.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from finegate.harness.core import (
    InputError,
    LoglikelihoodRequest,
    Message,
    MetricValue,
    Problem,
    read_json_file,
)
from finegate.harness.store import Store
from finegate.harness.system import System

DIGITS = "0123456789"

SUITE_ID = "privacy/exposure"

CHUNK = 256


@dataclass(frozen=True)
class Canary:
    """One planted secret, as the training manifest records it."""

    index: int
    prompt: str
    prefix: str
    secret: str
    suffix: str
    repetitions: int
    alphabet: str = DIGITS

    @property
    def space_size(self) -> int:
        return len(self.alphabet) ** len(self.secret)

    def request(self, candidate: str) -> LoglikelihoodRequest:
        """The canary sentence with ``candidate`` as its secret, answered to the
        prompt it was trained under (so the chat formatting matches training)."""
        return LoglikelihoodRequest(
            (Message("user", self.prompt),), self.prefix + candidate + self.suffix
        )


def canaries_from_manifest(path: str | Path) -> list[Canary]:
    """The canaries of a training manifest (``training_manifest.json``, or its
    adapter folder) or of a dataset manifest (``dataset_manifest.json``)."""
    p = Path(path)
    if p.is_dir():
        for name in ("training_manifest.json", "dataset_manifest.json"):
            if (p / name).is_file():
                p = p / name
                break
    manifest = read_json_file(p, what="manifest")
    if not isinstance(manifest, dict):
        raise InputError(Problem("a manifest is a JSON object", file=str(p)))
    if "dataset" in manifest:  # a training manifest
        listed = manifest["dataset"].get("canaries")
        config = manifest.get("recipe", {}).get("content", {}).get("data", {}).get("canaries", {})
        where = "dataset.canaries"
    else:
        listed = manifest.get("canaries")
        config = manifest.get("config", {}).get("canaries", {})
        where = "canaries"
    if not listed:
        raise InputError(
            Problem("the manifest records no canaries", file=str(p), field=where),
            hint="train with data.canaries.count > 0 (or `finegate data prepare --canaries N`)",
        )
    prompt = config.get("prompt")
    out, problems = [], []
    for i, c in enumerate(listed):
        text, prefix, secret = c.get("text", ""), c.get("prefix", ""), c.get("secret", "")
        if not (text.startswith(prefix + secret) and secret and all(ch in DIGITS for ch in secret)):
            problems.append(
                Problem(
                    "text must be prefix + secret (digits) + suffix",
                    file=str(p),
                    field=f"{where}[{i}]",
                )
            )
            continue
        if not isinstance(prompt, str):
            problems.append(
                Problem("the canary prompt is not recorded", file=str(p), field="canaries.prompt")
            )
            break
        out.append(
            Canary(
                int(c.get("index", i)),
                prompt,
                prefix,
                secret,
                text[len(prefix) + len(secret) :],
                int(c.get("repetitions", 1)),
            )
        )
    if problems:
        raise InputError(problems)
    return out


def _logprobs(
    system: System,
    requests: Sequence[LoglikelihoodRequest],
    on_progress: Callable[[int], None] | None,
) -> list[float]:
    out: list[float] = []
    for start in range(0, len(requests), CHUNK):
        out += [r.logprob for r in system.loglikelihood(requests[start : start + CHUNK])]
        if on_progress:
            on_progress(len(out))
    return out


def exact_exposure(secret_logprob: float, others: Sequence[float], space: int) -> tuple[float, int]:
    """Exposure and rank (1 = most likely) from every other candidate's log-probability."""
    rank = 1 + sum(1 for lp in others if lp > secret_logprob)
    return math.log2(space) - math.log2(rank), rank


def skewnorm_exposure(
    secret_logprob: float, sample: Sequence[float], space: int
) -> tuple[float, dict[str, float]]:
    """Exposure from a skew-normal fitted to a sample of candidates' log-perplexities
    (in bits); capped at log2 |R|, the most a secret can be exposed."""
    from scipy.stats import skewnorm

    perplexities = [-lp / math.log(2) for lp in sample]
    a, loc, scale = skewnorm.fit(perplexities)
    log_cdf = float(skewnorm.logcdf(-secret_logprob / math.log(2), a, loc, scale))
    raw = -log_cdf / math.log(2)
    return min(max(raw, 0.0), math.log2(space)), {
        "skew": float(a),
        "loc": float(loc),
        "scale": float(scale),
        "uncapped": raw,
    }


@dataclass(frozen=True)
class CanaryExposure:
    canary: Canary
    method: str
    exposure: float
    max_exposure: float
    secret_logprob: float
    rank: int | None  # exact rank, when every candidate was scored
    sample_rank: int  # rank among the sampled candidates (sampled method)
    candidates: int
    fit: dict[str, float]

    def scores(self) -> dict[str, float | None]:
        return {
            "exposure": self.exposure,
            "exposure_fraction": self.exposure / self.max_exposure,
            "ranked_first": float(self.sample_rank == 1 if self.rank is None else self.rank == 1),
            f"exposure.reps_{self.canary.repetitions}": self.exposure,
        }


def _candidates(canary: Canary, samples: int, seed: int) -> list[str]:
    rng = random.Random(f"exposure:{seed}:{canary.index}")
    n = len(canary.secret)
    size = canary.space_size
    if samples >= size - 1:
        return [c for c in _all(canary) if c != canary.secret]
    picked: set[str] = set()
    while len(picked) < samples:
        c = "".join(rng.choice(canary.alphabet) for _ in range(n))
        if c != canary.secret:
            picked.add(c)
    return sorted(picked)


def _all(canary: Canary) -> list[str]:
    return ["".join(t) for t in itertools.product(canary.alphabet, repeat=len(canary.secret))]


def measure_canary(
    system: System,
    canary: Canary,
    *,
    method: str = "auto",
    samples: int = 2000,
    exact_limit: int = 10_000,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> CanaryExposure:
    """One canary's exposure. ``auto`` is exact when |R| <= ``exact_limit``."""
    if method not in ("auto", "exact", "sampled"):
        raise InputError(f"unknown exposure method {method!r} (auto, exact, sampled)")
    space = canary.space_size
    chosen = "exact" if method == "exact" or (method == "auto" and space <= exact_limit) else method
    if chosen == "auto":
        chosen = "sampled"
    others = (
        [c for c in _all(canary) if c != canary.secret]
        if chosen == "exact"
        else _candidates(canary, samples, seed)
    )
    requests = [canary.request(canary.secret)] + [canary.request(c) for c in others]
    total = len(requests)
    lps = _logprobs(system, requests, (lambda d: on_progress(d, total)) if on_progress else None)
    secret_lp, rest = lps[0], lps[1:]
    sample_rank = 1 + sum(1 for lp in rest if lp > secret_lp)
    if chosen == "exact":
        exposure, rank = exact_exposure(secret_lp, rest, space)
        fit: dict[str, float] = {}
    else:
        exposure, fit = skewnorm_exposure(secret_lp, rest, space)
        rank = None
    return CanaryExposure(
        canary, chosen, exposure, math.log2(space), secret_lp, rank, sample_rank, len(rest), fit
    )


@dataclass(frozen=True)
class ExposureResult:
    run_id: str
    canaries: list[CanaryExposure]
    metrics: list[MetricValue]

    def by_repetitions(self) -> dict[int, list[float]]:
        out: dict[int, list[float]] = {}
        for c in self.canaries:
            out.setdefault(c.canary.repetitions, []).append(c.exposure)
        return dict(sorted(out.items()))


def measure_exposure(
    system: System,
    canaries: Sequence[Canary],
    store: Store,
    *,
    method: str = "auto",
    samples: int = 2000,
    exact_limit: int = 10_000,
    seed: int = 0,
    label: str | None = None,
    manifest: str | None = None,
    on_progress: Callable[..., None] | None = None,
) -> ExposureResult:
    """Every canary's exposure on ``system``, stored as a run of kind ``exposure``."""
    from finegate.harness.pii import hash_value, pii_salt
    from finegate.harness.privacy._runs import store_privacy_run
    from finegate.harness.scorer import compute_metrics

    if not canaries:
        raise InputError("no canaries to measure")
    results = []
    for i, canary in enumerate(canaries):
        task = f"exposure canary {i + 1}/{len(canaries)}"
        results.append(
            measure_canary(
                system,
                canary,
                method=method,
                samples=samples,
                exact_limit=exact_limit,
                seed=seed,
                on_progress=(lambda d, t, task=task: on_progress(task, d, t))
                if on_progress
                else None,
            )
        )
    salt = pii_salt()
    spec = {
        "canaries": [
            {
                "index": c.index,
                "secret": hash_value(c.secret, salt),
                "repetitions": c.repetitions,
                "space": c.space_size,
            }
            for c in canaries
        ],
        "method": method,
        "samples": samples,
        "exact_limit": exact_limit,
        "seed": seed,
    }
    records = [
        {
            "case_id": f"canary-{r.canary.index}",
            "request": {
                "canary": r.canary.index,
                "repetitions": r.canary.repetitions,
                "secret_hash": hash_value(r.canary.secret, salt),
                "secret_length": len(r.canary.secret),
                "space": r.canary.space_size,
            },
            "output": {
                "method": r.method,
                "exposure": r.exposure,
                "max_exposure": r.max_exposure,
                "secret_logprob": r.secret_logprob,
                "rank": r.rank,
                "sample_rank": r.sample_rank,
                "candidates": r.candidates,
                "fit": r.fit,
            },
            "scores": r.scores(),
            "position": i,
        }
        for i, r in enumerate(results)
    ]
    metrics = compute_metrics(records, [], level=0.95, resamples=2000, seed=seed)
    run_id = store_privacy_run(
        store,
        kind="exposure",
        suite_id=SUITE_ID,
        spec=spec,
        system=system,
        records=records,
        metrics=metrics,
        seed=seed,
        label=label,
        options={**spec, "canaries": len(canaries), "manifest": manifest},
    )
    return ExposureResult(run_id, results, metrics)

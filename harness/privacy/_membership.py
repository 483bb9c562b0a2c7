"""Membership inference: can an attacker tell the fine-tune's training examples
from examples it never saw?

Each attack gives every example a score, higher meaning "more likely a
member", and is judged by its ROC AUC over training members against held-out
non-members (0.5: no better than a coin) with a stratified bootstrap interval,
and by its true-positive rate at a 1% false-positive rate (the regime that
matters: confident claims about a few people). Attacks, on the answer of each
example given its prompt:

- ``loss``: minus the mean token loss (Yeom et al., 2018);
- ``ref``: the candidate's loss calibrated by a reference model's, here the
  base model before fine-tuning (Carlini et al., 2021; Mireshghallah et al.,
  2022): what fine-tuning taught, not what was easy text to begin with;
- ``zlib``: the answer's total log-likelihood over its zlib-compressed length
  (Carlini et al., 2021): low loss on text that is not merely repetitive;
- ``min_k``: Min-K% prob, the mean log-probability of the k% least likely
  tokens (Shi et al., 2023, arXiv 2310.16789): members have fewer surprising
  tokens. Needs per-token log-probabilities (a transformers model).

Only hashes of the examples are stored, never their text.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finegate.harness.core import CapabilityError, InputError, LoglikelihoodRequest, MetricValue
from finegate.harness.data import Example, read_examples
from finegate.harness.store import Store
from finegate.harness.system import System

SUITE_ID = "privacy/membership"

ATTACKS = ("loss", "ref", "zlib", "min_k")

LOW_FPR = 0.01


@dataclass(frozen=True)
class TokenScores:
    """Per-token log-probabilities of one answer given its prompt."""

    logprobs: tuple[float, ...]

    @property
    def total(self) -> float:
        return float(sum(self.logprobs))

    @property
    def mean_loss(self) -> float:
        return -self.total / max(len(self.logprobs), 1)

    def min_k(self, k: float) -> float:
        n = max(1, math.ceil(k * len(self.logprobs)))
        return float(np.mean(sorted(self.logprobs)[:n])) if self.logprobs else 0.0


def _hf(system: Any) -> Any:
    """The transformers model inside a system, or None (an endpoint, a function)."""
    while system is not None and not hasattr(system, "_split_tokens"):
        system = getattr(system, "inner", None)
    return system


def token_logprobs(
    system: System,
    requests: Sequence[LoglikelihoodRequest],
    on_progress: Callable[[int], None] | None = None,
) -> list[TokenScores]:
    """Per-token log-probabilities of each continuation, tokenised and formatted
    exactly as ``HFModel.loglikelihood`` does (their sum is its log-probability)."""
    import torch

    model = _hf(system)
    if model is None:
        raise CapabilityError(
            f"{system.name}: per-token log-probabilities need a transformers model"
        )
    max_len = model._max_length()
    items = []
    for r in requests:
        ctx, cont = model._split_tokens(r)
        full = (ctx + cont)[-(max_len + 1) :]
        items.append((full[:-1], cont))
    out: list[TokenScores | None] = [None] * len(items)
    order = sorted(range(len(items)), key=lambda i: (-len(items[i][0]), i))
    done = 0
    for start in range(0, len(order), model.batch_size):
        batch = order[start : start + model.batch_size]
        ids, mask, positions = model._left_pad([items[i][0] for i in batch])
        keep = max(max(len(items[i][1]) for i in batch), 1)
        with torch.inference_mode():
            logits = model.model(
                input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False
            ).logits[:, -keep:, :]
            logprobs = torch.log_softmax(logits.float(), dim=-1)
        for row, i in enumerate(batch):
            cont = items[i][1]
            if not cont:
                out[i] = TokenScores(())
                continue
            lp = logprobs[row, keep - len(cont) :, :]
            target = torch.tensor(cont, device=lp.device)
            out[i] = TokenScores(tuple(lp.gather(-1, target[:, None]).squeeze(-1).tolist()))
        done += len(batch)
        if on_progress:
            on_progress(done)
    return [t for t in out if t is not None]


def _request(example: Example) -> LoglikelihoodRequest:
    *prompt, answer = example.messages
    return LoglikelihoodRequest(tuple(prompt) if prompt else "", answer.content)


def load_examples(path: str | Path, data_format: str | None = None) -> list[Example]:
    """Training-data examples, without canaries (planted copies are not members
    in the sense measured here: they are measured by exposure)."""
    examples = [e for e in read_examples(path, data_format) if "canary" not in e.extra]
    if not examples:
        raise InputError(f"{path}: no examples")
    return examples


def auc_and_tpr(members: np.ndarray, non_members: np.ndarray) -> tuple[float, float]:
    """ROC AUC and the true-positive rate at a 1% false-positive rate, by scikit-learn."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    s = np.r_[members, non_members]
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return float(roc_auc_score(y, s)), float(tpr[fpr <= LOW_FPR].max(initial=0.0))


def auc_and_tpr_rows(members: np.ndarray, non_members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same two numbers for every row of resampled scores at once: AUC by the
    Mann-Whitney rank sum (ties at half), TPR as the share of members above the
    (f+1)-th highest non-member, f = the false positives 1% allows. Equal to
    ``auc_and_tpr`` row by row (tested), and fast enough for a bootstrap."""
    from scipy.stats import rankdata

    n1, n0 = members.shape[1], non_members.shape[1]
    ranks = rankdata(np.concatenate([members, non_members], axis=1), axis=1)
    auc = (ranks[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    allowed = math.floor(LOW_FPR * n0 + 1e-9)
    cut = -np.sort(-non_members, axis=1)[:, allowed]
    tpr = (members > cut[:, None]).mean(axis=1)
    return auc, tpr


def attack_metrics(
    name: str,
    members: np.ndarray,
    non_members: np.ndarray,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[MetricValue]:
    """AUC and TPR at 1% FPR with a stratified percentile bootstrap (members and
    non-members resampled separately, so every resample has both)."""
    auc, tpr = auc_and_tpr(members, non_members)
    rng = np.random.default_rng(seed)
    m = members[rng.integers(0, len(members), (resamples, len(members)))]
    o = non_members[rng.integers(0, len(non_members), (resamples, len(non_members)))]
    draws = auc_and_tpr_rows(m, o)
    alpha = (1 - level) / 2
    n = len(members) + len(non_members)
    method = f"stratified-bootstrap-percentile(resamples={resamples},seed={seed})"
    out = []
    for metric, value, d in (("auc", auc, draws[0]), ("tpr_at_1pct_fpr", tpr, draws[1])):
        lo, hi = np.quantile(d, [alpha, 1 - alpha])
        out.append(MetricValue(f"{name}.{metric}", value, n, float(lo), float(hi), level, method))
    return out


@dataclass(frozen=True)
class MembershipResult:
    run_id: str | None
    scores: dict[str, tuple[np.ndarray, np.ndarray]]  # attack -> (members, non-members)
    metrics: list[MetricValue]

    def metric(self, name: str) -> MetricValue:
        return next(m for m in self.metrics if m.name == name)


def _attack_scores(
    target: list[TokenScores], reference: list[TokenScores] | None, texts: list[str], k: float
) -> dict[str, np.ndarray]:
    out = {
        "loss": np.array([-t.mean_loss for t in target]),
        "zlib": np.array(
            [
                t.total / max(len(zlib.compress(x.encode("utf-8"))), 1)
                for t, x in zip(target, texts, strict=True)
            ]
        ),
        "min_k": np.array([t.min_k(k) for t in target]),
    }
    if reference is not None:
        out["ref"] = np.array(
            [r.mean_loss - t.mean_loss for t, r in zip(target, reference, strict=True)]
        )
    return out


def membership_inference(
    system: System,
    members: Sequence[Example],
    non_members: Sequence[Example],
    *,
    reference: System | None = None,
    k: float = 0.2,
    store: Store | None = None,
    seed: int = 0,
    resamples: int = 2000,
    label: str | None = None,
    options: dict[str, Any] | None = None,
    on_progress: Callable[..., None] | None = None,
) -> MembershipResult:
    """Run every attack; store a run of kind ``mia`` when ``store`` is given."""
    if not members or not non_members:
        raise InputError("membership inference needs both members and non-members")
    if not 0.0 < k <= 1.0:
        raise InputError(f"Min-K% fraction {k} must be in (0, 1]")
    examples = [*members, *non_members]
    requests = [_request(e) for e in examples]
    texts = [e.messages[-1].content for e in examples]

    def progress(task: str) -> Callable[[int], None] | None:
        return (lambda d: on_progress(task, d, len(requests))) if on_progress else None

    target = token_logprobs(system, requests, progress("membership: candidate"))
    ref = (
        token_logprobs(reference, requests, progress("membership: reference"))
        if reference is not None
        else None
    )
    scores = _attack_scores(target, ref, texts, k)
    n_members = len(members)
    split = {a: (v[:n_members], v[n_members:]) for a, v in scores.items()}
    metrics: list[MetricValue] = []
    for attack in ATTACKS:
        if attack in split:
            metrics += attack_metrics(attack, *split[attack], resamples=resamples, seed=seed)
    run_id = None
    if store is not None:
        from finegate.harness.core import sha256_json
        from finegate.harness.pii import pii_salt
        from finegate.harness.privacy._runs import store_privacy_run

        salt = pii_salt().decode()
        hashes = [sha256_json([salt, [[m.role, m.content] for m in e.messages]]) for e in examples]
        records = [
            {
                "case_id": f"{'member' if i < n_members else 'non-member'}-{e.line}",
                "request": {
                    "set": "member" if i < n_members else "non-member",
                    "line": e.line,
                    "example_hash": hashes[i],
                },
                "output": {
                    "tokens": len(target[i].logprobs),
                    **{a: float(v[i]) for a, v in scores.items()},
                },
                "scores": {},
            }
            for i, e in enumerate(examples)
        ]
        spec = {
            "members": sorted(hashes[:n_members]),
            "non_members": sorted(hashes[n_members:]),
            "reference": reference.fingerprint() if reference is not None else None,
            "k": k,
            "seed": seed,
        }
        run_id = store_privacy_run(
            store,
            kind="mia",
            suite_id=SUITE_ID,
            spec=spec,
            system=system,
            records=records,
            metrics=metrics,
            seed=seed,
            label=label,
            options={
                "members": n_members,
                "non_members": len(non_members),
                "reference": reference.describe() if reference is not None else None,
                "k": k,
                **(options or {}),
            },
        )
    return MembershipResult(run_id, split, metrics)

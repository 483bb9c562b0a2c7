"""Classification: accuracy per case; macro and per-class precision, recall and F1.

The classes are the ``classes`` given, else the gold labels seen in the suite.
A prediction outside them (an invented label, no JSON at all) is wrong for its
case and counts as a false negative of the gold class, never as a class of its
own, so a model cannot raise its macro scores by inventing labels.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from finegate.harness.core import Case, Output, normalize_text
from finegate.harness.scorer._json import answer_field
from finegate.harness.scorer._registry import Scored, ScoreFn, scorer

OTHER = "(other)"


def _class_set(facts: list[dict[str, Any]], classes: list[str] | None) -> list[str]:
    if classes:
        return list(classes)
    return sorted({f["gold"] for f in facts if f.get("gold") is not None})


def classification_report(
    facts: list[dict[str, Any]], classes: list[str] | None = None
) -> dict[str, float]:
    """Macro and per-class precision, recall and F1 from ``{"pred", "gold"}`` facts."""
    labels = _class_set(facts, classes)
    pairs = [(f.get("pred"), f["gold"]) for f in facts if f.get("gold") is not None]
    if not pairs:
        return {}
    tp: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for pred, gold in pairs:
        actual[gold] += 1
        if pred in labels:
            predicted[pred] += 1
            if pred == gold:
                tp[gold] += 1
    out: dict[str, float] = {}
    precisions, recalls, f1s = [], [], []
    for c in labels:
        p = tp[c] / predicted[c] if predicted[c] else 0.0
        r = tp[c] / actual[c] if actual[c] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[f"precision[{c}]"], out[f"recall[{c}]"], out[f"f1[{c}]"] = p, r, f
        precisions.append(p)
        recalls.append(r)
        f1s.append(f)
    out["macro_precision"] = sum(precisions) / len(labels)
    out["macro_recall"] = sum(recalls) / len(labels)
    out["macro_f1"] = sum(f1s) / len(labels)
    return out


def resampled_report(
    facts: list[dict[str, Any]], idx: np.ndarray, classes: list[str] | None = None
) -> dict[str, np.ndarray]:
    """``classification_report`` for each row of ``idx`` (resamples x cases)."""
    labels = _class_set(facts, classes)
    code = {c: i for i, c in enumerate(labels)}
    other = len(labels)
    gold = np.array([code.get(f.get("gold"), -1) for f in facts])
    pred = np.array([code.get(f.get("pred"), other) for f in facts])
    g, p = gold[idx], pred[idx]
    valid = g >= 0
    out: dict[str, np.ndarray] = {}
    precisions, recalls, f1s = [], [], []
    for c, name in enumerate(labels):
        actual = ((g == c) & valid).sum(axis=1)
        predicted = ((p == c) & valid).sum(axis=1)
        tp = ((p == c) & (g == c)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
            rec = np.where(actual > 0, tp / np.maximum(actual, 1), 0.0)
            f1 = np.where(
                prec + rec > 0, 2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1), 0.0
            )
        out[f"precision[{name}]"], out[f"recall[{name}]"], out[f"f1[{name}]"] = prec, rec, f1
        precisions.append(prec)
        recalls.append(rec)
        f1s.append(f1)
    out["macro_precision"] = np.mean(precisions, axis=0)
    out["macro_recall"] = np.mean(recalls, axis=0)
    out["macro_f1"] = np.mean(f1s, axis=0)
    return out


def confusion_matrix(
    facts: list[dict[str, Any]], classes: list[str] | None = None
) -> tuple[list[str], list[str], list[list[int]]]:
    """(row labels = gold, column labels = predicted incl. ``(other)``, counts)."""
    labels = _class_set(facts, classes)
    columns = [*labels, OTHER]
    index = {c: i for i, c in enumerate(labels)}
    matrix = [[0] * len(columns) for _ in labels]
    for f in facts:
        gold, pred = f.get("gold"), f.get("pred")
        if gold not in index:
            continue
        matrix[index[gold]][index.get(pred, len(labels))] += 1
    return labels, columns, matrix


class LabelAccuracy:
    def __init__(self, label: str, field: str | None, normalize: str, classes: list[str] | None):
        normalize_text("", normalize)
        self.label, self.field, self.normalize = label, field, normalize
        self.classes = [normalize_text(c, normalize) for c in classes] if classes else None

    def __call__(self, case: Case, output: Output) -> Scored:
        if self.label not in case.labels:
            return Scored({"accuracy": None})
        gold = normalize_text(case.labels[self.label], self.normalize)
        raw = answer_field(output.text, self.field)
        pred = None if raw is None else normalize_text(raw, self.normalize)
        return Scored({"accuracy": float(pred == gold)}, {"pred": pred, "gold": gold})

    def aggregate(self, facts: list[dict[str, Any]]) -> dict[str, float]:
        return classification_report(facts, self.classes)

    def aggregate_resampled(
        self, facts: list[dict[str, Any]], idx: np.ndarray
    ) -> dict[str, np.ndarray]:
        """``aggregate`` on every row of resampled case indices at once (for the
        bootstrap); equal to calling it on each resample, thousands of times faster."""
        return resampled_report(facts, idx, self.classes)


@scorer("label_accuracy")
def label_accuracy(
    label: str, field: str | None = None, normalize: str = "lower", classes: list[str] | None = None
) -> ScoreFn:
    """Accuracy of a predicted label (the whole answer, or a JSON ``field`` of it)
    against the case's label ``label``, with macro and per-class P/R/F1."""
    return LabelAccuracy(label, field, normalize, classes)

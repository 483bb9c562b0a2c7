"""A reference sample made ready for drift tests, and the checks on inputs.

Both ``calibrate`` and ``check_drift`` need the reference embedded, described
and (with labels or a classifier) categorised; one preparation serves both, so
a calibration and a check on the same reference see the very same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from finegate.harness.core import InputError, sha256_json
from finegate.harness.monitor._descriptors import (
    CategoryClassifier,
    Descriptors,
    WindowCategories,
    as_arrays,
    category_model,
    describe,
)
from finegate.harness.monitor._embed import Embedder, TextEncoder


@dataclass(frozen=True)
class PreparedReference:
    """The reference's texts, embeddings, descriptor values and (with labels or
    a classifier) a categoriser for windows; ``digest`` covers every input
    that shaped them (texts, labels, encoder, folds, seed)."""

    texts: tuple[str, ...]
    embeddings: np.ndarray
    descriptors: Descriptors
    categorise: WindowCategories | None
    digest: str
    encoder: str


def check_texts(texts: Sequence[str], argument: str, minimum: int = 2) -> list[str]:
    """The texts as a list, or an ``InputError`` naming ``argument``."""
    if isinstance(texts, str | bytes):
        raise InputError(f"{argument}: give a list of texts, not one string")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InputError(f"{argument}[{i}]: a text must be a string, got {type(text).__name__}")
    if len(out) < minimum:
        what = "is empty" if not out else f"holds {len(out)} text"
        raise InputError(f"{argument}: {what}; drift tests need at least {minimum} texts")
    return out


def check_positive(value: int, argument: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{argument}: must be an integer of at least {minimum}, got {value!r}")


def encoder_name(embedder: TextEncoder) -> str:
    return str(getattr(embedder, "name", type(embedder).__name__))


def prepare_reference(
    reference: Sequence[str],
    *,
    labels: Sequence[str] | None,
    classifier: CategoryClassifier | None,
    embedder: TextEncoder | None,
    folds: int,
    seed: int,
    reuse: PreparedReference | None = None,
    expect_digest: str | None = None,
) -> tuple[PreparedReference, TextEncoder]:
    """Embed, describe and categorise the reference (inputs checked first).

    ``reuse`` is returned as it is when it was prepared from the same inputs;
    ``expect_digest`` (a calibration's) must match these inputs, checked
    before any embedding is computed."""
    texts = check_texts(reference, "reference")
    check_positive(folds, "folds", 2)
    if labels is not None:
        if isinstance(labels, str | bytes):
            raise InputError("reference_labels: give one label per reference text, not a string")
        labels = list(labels)
        if len(labels) != len(texts):
            raise InputError(
                f"reference_labels: {len(labels)} labels for {len(texts)} reference texts; "
                "give one label per text"
            )
        if classifier is not None:
            raise InputError(
                "reference_labels: give reference labels or a classifier, not both "
                "(the classifier already names each text's category)"
            )
    encoder = embedder if embedder is not None else Embedder()
    name = encoder_name(encoder)
    digest = sha256_json(
        {
            "texts": texts,
            "labels": [str(v) for v in labels] if labels is not None else None,
            "classifier": classifier is not None,
            "encoder": name,
            "folds": folds,
            "seed": seed,
        }
    )
    if expect_digest is not None and expect_digest != digest:
        raise InputError(
            "calibration: made on another reference (texts, labels, classifier, encoder, "
            "folds or seed differ); calibrate this reference with these settings first"
        )
    if reuse is not None and reuse.digest == digest:
        return reuse, encoder
    embeddings = np.asarray(encoder.encode(texts), dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) != len(texts):
        raise InputError("embedder: must return one row of numbers per text")
    values = describe(texts)
    model = category_model(
        texts, embeddings, labels=labels, classifier=classifier, folds=folds, seed=seed
    )
    if model is not None:
        values["category"] = model[0]
    prepared = PreparedReference(
        texts=tuple(texts),
        embeddings=embeddings,
        descriptors=as_arrays(values),
        categorise=model[1] if model is not None else None,
        digest=digest,
        encoder=name,
    )
    return prepared, encoder


def prepare_window(
    prepared: PreparedReference, window: Sequence[str], encoder: TextEncoder
) -> tuple[list[str], np.ndarray, Descriptors]:
    """The window's texts, embeddings and descriptors, described as the
    reference was."""
    texts = check_texts(window, "window")
    embeddings = np.asarray(encoder.encode(texts), dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape != (len(texts), prepared.embeddings.shape[1]):
        raise InputError("embedder: must return one row per text, as wide as the reference's")
    values = describe(texts)
    if prepared.categorise is not None:
        values["category"] = prepared.categorise(texts, embeddings)
    return texts, embeddings, as_arrays(values)

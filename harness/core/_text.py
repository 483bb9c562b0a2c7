"""Text normalisation for matching answers, and the JSON value inside an answer.

Scorers and the judge read models' answers the way users' own parsers do:
lenient by default (a code fence, prose around the JSON), strict on request."""

from __future__ import annotations

import json
import re
import string
from typing import Any

_PUNCT = str.maketrans("", "", string.punctuation)

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_text(text: str, mode: str = "basic") -> str:
    """``none``: as is; ``strip``: outer whitespace; ``lower``: lower-case, collapsed
    spaces (for labels such as ``account_access``); ``basic``: lower-case, no
    punctuation, collapsed spaces; ``squad``: basic without English articles."""
    if mode == "none":
        return text
    if mode == "strip":
        return text.strip()
    if mode == "lower":
        return " ".join(text.lower().split())
    out = text.lower().translate(_PUNCT)
    if mode == "squad":
        out = _ARTICLES.sub(" ", out)
    elif mode != "basic":
        raise ValueError(f"unknown normalisation {mode!r} (none, strip, lower, basic, squad)")
    return " ".join(out.split())


_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def parse_json_answer(text: str, *, strict: bool = False) -> Any:
    """The JSON value in a model's answer, or raise ``ValueError``.

    Lenient by default, as users' parsers are: a code fence around the JSON, or
    prose before and after it, is accepted; the first complete object wins.
    ``strict`` accepts only an answer that is JSON and nothing else.
    """
    candidate = text.strip()
    if not strict:
        fenced = _FENCE.match(candidate)
        if fenced:
            candidate = fenced.group(1).strip()
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        if strict:
            raise ValueError("answer is not JSON") from None
    decoder = json.JSONDecoder()
    start = candidate.find("{")
    while start != -1:
        try:
            return decoder.raw_decode(candidate, start)[0]
        except json.JSONDecodeError:
            start = candidate.find("{", start + 1)
    raise ValueError("no JSON object in the answer")

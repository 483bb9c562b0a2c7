"""A judge named in configuration: a ``SystemSpec`` with a judge's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finegate.harness.system import System, SystemSpec, build_system


class JudgeSpec(SystemSpec):
    """A judge in a suite's YAML or a config file (see ``SystemSpec``). A judge
    endpoint defaults to the chat API and four requests in flight."""

    api: str = "chat"
    concurrency: int = 4


def judge_system(spec: Mapping[str, Any] | str) -> System:
    """Build a judge System from its configuration (see ``JudgeSpec``)."""
    return build_system(JudgeSpec.parse(spec, field="judge"), role="judge", field="judge")

"""``finegate --help`` starts without the heavy libraries: they load only when a
command that needs them runs."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "presidio_analyzer", "spacy", "lm_eval", "opacus")

PROBE = """
import json, sys
from finegate.harness.cli import main
try:
    main([{args}])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(*args: str) -> list[str]:
    code = PROBE.format(args=", ".join(repr(a) for a in args), heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_imports_no_heavy_library() -> None:
    assert _loaded("--help") == []


def test_a_command_s_help_imports_no_heavy_library() -> None:
    assert _loaded("eval", "--help") == []
    assert _loaded("gate", "--help") == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe can fail: a command that loads a model's library is seen."""
    code = PROBE.format(args="'--version'", heavy=HEAVY).replace(
        "from finegate.harness.cli import main",
        "import torch\nfrom finegate.harness.cli import main",
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "torch" in json.loads(out.stdout.strip().splitlines()[-1])

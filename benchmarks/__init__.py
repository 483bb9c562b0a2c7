"""finegate's benchmarks: each stage timed side by side with the tool a user would
otherwise reach for, on the same model and cases, in one process.

Run ``python -m benchmarks`` from the repository root; ``README.md`` holds the
latest numbers. Nothing here is part of the installed package.
"""

from benchmarks._model import BenchModel
from benchmarks._report import Result

__all__ = ["BenchModel", "Result"]

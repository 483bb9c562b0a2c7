"""Typed errors.

Every error a user can cause carries enough to fix it: the file, the line and the
field, and what to do. The CLI turns ``InputError`` into exit code 2 and one line
per problem, so nothing here should ever need a traceback to be understood.
"""

from __future__ import annotations

from dataclasses import dataclass


class FinegateError(Exception):
    """Base of every error finegate raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(FinegateError):
    """Bad input from the user: a file, a flag, a config. Exit code 2.

    Holds every problem found, not just the first, so one run of the validator
    is enough to fix a whole file.
    """

    def __init__(self, problems: list[Problem] | Problem | str, hint: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [str(p) for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"... and {len(self.problems) - 50} more problems")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class StoreError(FinegateError):
    """The results store cannot be used as it is (corrupt, newer schema, locked).

    The store file is never modified when this is raised.
    """


class CapabilityError(FinegateError):
    """A system was asked for something it cannot do (e.g. loglikelihood on an
    endpoint without logprobs)."""


class NotBuiltError(FinegateError):
    """A capability that finegate names but does not provide yet."""

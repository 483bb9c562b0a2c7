"""The pytest plugin: every gate of a policy becomes a test item.

    pytest --finegate-policy policies/default.yaml --finegate-run RUN [--finegate-baseline RUN]

Each gate is an item named after its id, so ``--junitxml`` lists one test case
per gate and ``-k`` selects gates. A failing item shows the observed value, the
interval, n, the threshold and the worst cases. The policy is evaluated once
per session and its verdict stored, exactly as ``finegate gate`` does.

Fixtures for hand-written checks in a repository's ``gates/test_*.py``:
``finegate_run``, ``finegate_baseline``, ``finegate_policy``, ``finegate_store``.

Nothing heavy is imported unless a ``--finegate-*`` option is given: the plugin
loads in every pytest session of an environment where finegate is installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_VERDICT_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("finegate", "finegate acceptance gates")
    group.addoption(
        "--finegate-policy",
        default=None,
        help="Policy YAML (or built-in pack name) whose gates become test items.",
    )
    group.addoption("--finegate-run", default=None, help="Candidate run id, prefix or label.")
    group.addoption("--finegate-baseline", default=None, help="Baseline run for baseline gates.")
    group.addoption(
        "--finegate-store",
        default=None,
        help="Results store (default: $FINEGATE_STORE or $FINEGATE_HOME/finegate.db).",
    )
    group.addoption(
        "--finegate-key",
        default=None,
        help="Sign the verdict with this (CI) private key: only signed verdicts can promote.",
    )
    group.addoption(
        "--finegate-trust-root",
        default=None,
        help="The pinned trust root: approval gates then read the signed approvals.",
    )


class RunView:
    """A stored run as a hand-written check sees it."""

    def __init__(self, store: Any, ref: str):
        self.store = store
        self.info = store.get_run(ref)
        self.id: str = self.info["id"]
        self._metrics: dict[str, dict[str, Any]] | None = None

    def metric(self, suite: str, name: str) -> Any:
        if self._metrics is None:
            self._metrics = {
                s: {m.name: m for m in ms} for s, ms in self.store.metrics(self.id).items()
            }
        if suite not in self._metrics:
            raise LookupError(
                f"run {self.id} has no suite {suite!r} (it has: {', '.join(self._metrics)})"
            )
        if name not in self._metrics[suite]:
            raise LookupError(
                f"suite {suite!r} of run {self.id} has no metric {name!r} "
                f"(it has: {', '.join(sorted(self._metrics[suite]))})"
            )
        return self._metrics[suite][name]

    def records(self, suite: str | None = None) -> list[dict[str, Any]]:
        return self.store.records(self.id, suite)


def _store(config: pytest.Config) -> Any:
    from finegate.harness.store import Store

    return Store(config.getoption("finegate_store"), create=False)


def _policy(config: pytest.Config) -> Any:
    from finegate.gates._policy import load_policy

    return load_policy(config.getoption("finegate_policy"))


def _verdict(config: pytest.Config) -> Any:
    if _VERDICT_KEY not in config.stash:
        from finegate.gates._engine import check_policy
        from finegate.gates._release import approvals_now, sign_gate_verdict
        from finegate.harness.registry.trust import load_signer

        run = config.getoption("finegate_run")
        if not run:
            raise pytest.UsageError("--finegate-policy needs --finegate-run RUN")
        store = _store(config)
        fingerprint = store.get_run(run)["fingerprint"]
        approvals = approvals_now(store, config.getoption("finegate_trust_root"), fingerprint)
        verdict = check_policy(
            _policy(config), store, run, config.getoption("finegate_baseline"), approvals=approvals
        )
        key = config.getoption("finegate_key")
        if key:
            sign_gate_verdict(store, verdict, load_signer(key), actor="finegate pytest")
        config.stash[_VERDICT_KEY] = verdict
    return config.stash[_VERDICT_KEY]


class GateWarning(UserWarning):
    """A non-blocking gate that did not pass."""


class GateFailure(Exception):
    def __init__(self, verdict: Any):
        super().__init__(verdict.message)
        self.verdict = verdict


class GateItem(pytest.Item):
    def __init__(self, *, gate_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.gate_id = gate_id

    def runtest(self) -> None:
        verdict = _verdict(self.config)
        gate = next(g for g in verdict.gates if g.gate_id == self.gate_id)
        self.user_properties.append(("status", gate.status))
        self.user_properties.append(("message", gate.message))
        if gate.blocking:
            raise GateFailure(gate)
        if gate.status in ("warn", "waived", "error"):
            # a warn gate that fails, or cannot be decided, does not block: it warns
            self.add_report_section("call", "finegate", gate.explain())
            warnings.warn(GateWarning(gate.explain()), stacklevel=1)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, GateFailure):
            return excinfo.value.verdict.explain()
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"finegate gate {self.gate_id}"


class PolicyFile(pytest.File):
    def collect(self) -> Iterator[GateItem]:
        verdict = _verdict(self.config)
        for gate in verdict.gates:
            yield GateItem.from_parent(self, name=gate.gate_id, gate_id=gate.gate_id)


def _policy_path(config: pytest.Config) -> Path:
    ref = config.getoption("finegate_policy")
    path = Path(ref)
    if path.exists():
        return path.resolve()
    from finegate.policies import builtin_policies

    packs = builtin_policies()
    if ref in packs:
        return packs[ref]
    raise pytest.UsageError(
        f"--finegate-policy {ref}: no such file or built-in pack ({', '.join(sorted(packs))})"
    )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("finegate_policy"):
        return
    from finegate.harness.core import FinegateError

    try:
        policy_file = PolicyFile.from_parent(session, path=_policy_path(config))
        items.extend(policy_file.collect())
    except FinegateError as e:
        raise pytest.UsageError(f"finegate: {e}") from None


@pytest.fixture(scope="session")
def finegate_store(pytestconfig: pytest.Config) -> Any:
    return _store(pytestconfig)


@pytest.fixture(scope="session")
def finegate_policy(pytestconfig: pytest.Config) -> Any:
    if not pytestconfig.getoption("finegate_policy"):
        raise pytest.UsageError("this check needs --finegate-policy")
    return _policy(pytestconfig)


@pytest.fixture(scope="session")
def finegate_run(pytestconfig: pytest.Config, finegate_store: Any) -> RunView:
    ref = pytestconfig.getoption("finegate_run")
    if not ref:
        raise pytest.UsageError("this check needs --finegate-run RUN")
    return RunView(finegate_store, ref)


@pytest.fixture(scope="session")
def finegate_baseline(pytestconfig: pytest.Config, finegate_store: Any) -> RunView:
    ref = pytestconfig.getoption("finegate_baseline")
    if not ref:
        raise pytest.UsageError("this check needs --finegate-baseline RUN")
    return RunView(finegate_store, ref)

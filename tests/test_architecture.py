"""The layout's import rules hold on the real tree, and each check finds the
violation planted in a small tree of its own (so every check can fail)."""

from __future__ import annotations

import statistics
import textwrap
from pathlib import Path

import pytest

from tests import architecture as arch

ROOT = Path(__file__).resolve().parents[1]


def test_harness_holds_concept_packages_only() -> None:
    assert arch.layout_violations(ROOT) == []


def test_every_import_keeps_to_floors_faces_and_peers() -> None:
    assert arch.import_violations(ROOT) == []


def test_faces_map_to_their_own_modules() -> None:
    assert arch.face_violations(ROOT) == []


def test_entry_points_name_package_faces() -> None:
    assert arch.entry_point_violations(ROOT) == []


def test_no_import_cycle() -> None:
    assert arch.cycles(arch.dependency_graph(ROOT)) == []


def test_one_place_builds_a_model_system() -> None:
    assert arch.constructor_violations(ROOT, "HFModel", "finegate.harness.system._spec") == []


def test_packages_are_small_and_so_are_their_modules() -> None:
    sizes = {}
    for face in (ROOT / "harness").rglob("__init__.py"):
        modules = [p for p in face.parent.glob("_*.py") if not p.name.startswith("__")]
        assert len(modules) <= 12, f"{face.parent.name} holds {len(modules)} modules"
        sizes.update({p: len(p.read_text("utf-8").splitlines()) for p in modules})
    assert max(sizes.values()) <= 500, max(sizes, key=sizes.__getitem__)
    assert statistics.median(sizes.values()) <= 160


# -- each check on a planted violation ---------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    base = {
        "pyproject.toml": '[project]\nname = "x"\n',
        "harness/__init__.py": "",
        "harness/core/__init__.py": '_EXPORTS = {"Problem": "_errors"}\n',
        "harness/core/_errors.py": "class Problem: ...\n",
        "harness/store/__init__.py": '_EXPORTS = {"Store": "_store"}\n',
        "harness/store/_store.py": "from finegate.harness.core import Problem\n",
        "harness/scorer/__init__.py": '_EXPORTS = {"scorer": "_registry"}\n',
        "harness/scorer/_registry.py": "from finegate.harness.store import Store\n",
        "gates/__init__.py": "",
        "gates/_engine.py": "from finegate.harness.store import Store\n",
    }
    for name, text in {**base, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_a_clean_planted_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, {})
    assert arch.layout_violations(root) == []
    assert arch.import_violations(root) == []
    assert arch.face_violations(root) == []
    assert arch.cycles(arch.dependency_graph(root)) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # an upward import, hidden in a function
            {
                "harness/store/_store.py": (
                    "def f():\n    from finegate.harness.scorer import scorer\n"
                )
            },
            "harness/store/_store.py:2: store (floor 2) imports scorer (floor 3)",
        ),
        (  # a sideways import: same floor
            {
                "harness/system/__init__.py": "",
                "harness/system/_x.py": "import finegate.harness.store",
            },
            "harness/system/_x.py:1: system (floor 2) imports store (floor 2)",
        ),
        (  # past a face, into another package's private module
            {"harness/scorer/_registry.py": "from finegate.harness.store._store import Store\n"},
            "harness.scorer imports the private module finegate.harness.store._store",
        ),
        (  # a private name through a face
            {"harness/scorer/_registry.py": "from finegate.harness.store import _cache\n"},
            "harness.scorer imports the private name _cache",
        ),
        (  # harness reaching up to a peer
            {"harness/store/_store.py": "from finegate.gates import Policy\n"},
            "harness imports finegate.gates; harness imports no peer",
        ),
        (  # a peer past harness' face
            {"gates/_engine.py": "from finegate.harness.store._store import Store\n"},
            "gates imports the private module finegate.harness.store._store",
        ),
        (  # a peer the table does not allow
            {"train/__init__.py": "", "train/_loop.py": "from finegate.reports import render\n"},
            "train imports finegate.reports; train stands on harness",
        ),
        (  # a test of one package reaching into another's private module
            {"tests/harness/scorer/test_x.py": "from finegate.harness.store._store import Store\n"},
            "tests/harness.scorer imports the private module finegate.harness.store._store",
        ),
        (  # a package importing the root face
            {"harness/scorer/_registry.py": "from finegate.harness import Store\n"},
            "scorer imports the root face finegate.harness",
        ),
    ],
)
def test_import_violations_are_found(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    found = arch.import_violations(_tree(tmp_path, files))
    assert any(expected in v for v in found), found


def test_a_test_may_import_its_own_private_modules(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, {"tests/harness/store/test_x.py": "from finegate.harness.store import _store\n"}
    )
    assert arch.import_violations(root) == []


def test_a_module_outside_the_packages_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"harness/_stray.py": "", "harness/misc/__init__.py": ""})
    assert arch.layout_violations(root) == [
        "harness/_stray.py: a module outside every concept package",
        "harness/misc: not a concept package named in the floors",
    ]


def test_a_face_pointing_elsewhere_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"harness/store/__init__.py": '_EXPORTS = {"Store": "_gone"}\n'})
    assert arch.face_violations(root) == [
        "harness/store/__init__.py: Store -> _gone: no such module"
    ]


def test_a_cycle_through_a_face_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"harness/core/_errors.py": "def f():\n    from finegate.harness.store import Store\n"},
    )
    assert arch.cycles(arch.dependency_graph(root)) == [
        [
            "finegate.harness.core._errors",
            "finegate.harness.store._store",
        ]
    ]


def test_an_entry_point_past_a_face_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pyproject.toml": """\
                [project]
                name = "x"
                [project.entry-points."finegate.scorers"]
                leak = "finegate.harness.scorer._registry:scorer"
                gone = "finegate.harness.scorer:nothing"
            """
        },
    )
    assert arch.entry_point_violations(root) == [
        "pyproject.toml [finegate.scorers] leak: finegate.harness.scorer._registry:scorer "
        "names a private module",
        "pyproject.toml [finegate.scorers] gone: finegate.harness.scorer does not export nothing",
    ]


def test_a_second_place_building_a_model_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "harness/system/__init__.py": "",
            "harness/system/_spec.py": "HFModel('a')\n",
            "gates/_engine.py": "from finegate.harness.system import HFModel\nHFModel('b')\n",
        },
    )
    assert arch.constructor_violations(root, "HFModel", "finegate.harness.system._spec") == [
        "gates/_engine.py:2: HFModel( outside finegate.harness.system._spec"
    ]

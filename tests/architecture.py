"""The import rules of finegate's layout, checked on source trees with ``ast``.

Each check takes the repository root and returns its violations as sentences, so
the tests can run it on the real tree (no violation) and on a small planted tree
(the violation it must find). The rules, from docs/architecture.md:

- harness/ holds concept packages only; a package imports only from packages on
  lower floors, through their public faces; imports inside functions count, and
  so do the names a lazy face maps to its private modules;
- harness imports none of the other top-level packages; suites, gates and train
  stand on harness alone, reports on harness and gates; everything outside
  harness imports it through package faces only;
- a test imports private modules of its own package only (tests/harness/store/
  may import ``finegate.harness.store._schema``, nothing else private);
- entry points in pyproject.toml name package faces and names they export;
- no import cycle between modules, once lazy faces are resolved to the module
  that defines each name.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FLOORS = {
    "core": 1,
    "stats": 2,
    "store": 2,
    "system": 2,
    "pipeline": 2,
    "scorer": 3,
    "registry": 3,
    "pii": 3,
    "judge": 4,
    "suite": 4,
    "run": 5,
    "safety": 5,
    "data": 5,
    "privacy": 6,
    "compare": 6,
    "serve": 7,
    "review": 7,
    "monitor": 7,
    "view": 7,
    "cli": 8,
}
TOP_LEVEL = {"harness", "suites", "gates", "policies", "train", "reports"}
# what each top-level package (besides harness) may import from its peers
PEERS = {
    "suites": {"harness"},
    "gates": {"harness", "policies"},
    "train": {"harness"},
    "reports": {"harness", "gates", "policies"},
    "policies": set(),
}
SOURCE_DIRS = ("harness", "suites", "gates", "policies", "train", "reports", "benchmarks", "tests")


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str  # the module named, e.g. finegate.harness.store or finegate.harness.store._schema
    name: str | None  # the imported name (``from module import name``), None for ``import module``


def module_name(root: Path, path: Path) -> str:
    """``finegate.harness.store._schema`` for harness/store/_schema.py; other source
    folders are named as they are imported (``benchmarks._cache``, ``tests...``)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if parts[0] in TOP_LEVEL:
        parts = ["finegate", *parts]
    return ".".join(parts)


def python_files(root: Path, folders: tuple[str, ...] = SOURCE_DIRS) -> Iterator[Path]:
    for folder in folders:
        base = root / folder
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if ".venv" not in p.parts)


def imports_of(root: Path, path: Path) -> list[Import]:
    """Every finegate import in a file, wherever it stands (functions included)."""
    own = module_name(root, path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("finegate."):
                    found.append(Import(path, node.lineno, alias.name, None))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            if module.startswith("finegate.") or module == "finegate":
                for alias in node.names:
                    found.append(Import(path, node.lineno, module, alias.name))
    return found


def lazy_exports_of(path: Path) -> dict[str, str]:
    """A face's ``_EXPORTS``: public name -> private module (relative to the face)."""
    for node in ast.parse(path.read_text("utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return {
                ast.literal_eval(k): ast.literal_eval(v)
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if k is not None
            }
    return {}


def _is_module(root: Path, module: str) -> bool:
    rel = _path_of(module)
    return rel is not None and ((root / rel).with_suffix(".py").is_file() or (root / rel).is_dir())


def _path_of(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] == "finegate" and len(parts) > 1:
        return Path(*parts[1:])
    return Path(*parts)


def target_module(root: Path, imp: Import) -> str:
    """The module an import reaches: ``from pkg import _mod`` reaches ``pkg._mod``."""
    if imp.name and _is_module(root, f"{imp.module}.{imp.name}"):
        return f"{imp.module}.{imp.name}"
    return imp.module


def is_private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def concept_of(module: str) -> str | None:
    """The harness concept package of a module: ``store`` for finegate.harness.store._x."""
    parts = module.split(".")
    if parts[:2] == ["finegate", "harness"] and len(parts) > 2 and not parts[2].startswith("_"):
        return parts[2]
    return None


def owner_of(root: Path, path: Path) -> str:
    """Who a file belongs to: a harness concept (``harness.store``), a top-level
    package (``gates``), ``benchmarks``, or a test of one of those."""
    parts = path.relative_to(root).parts
    tests = parts[0] == "tests"
    rest = parts[1:] if tests else parts
    if len(rest) > 2 and rest[0] == "harness":
        owner = f"harness.{rest[1]}"
    elif len(rest) > 1:
        owner = rest[0]
    else:
        return "tests" if tests else rest[0]
    return f"tests/{owner}" if tests else owner


def _private_allowed(owner: str, module: str) -> bool:
    """A package's own private modules; for a test, those of the package it tests."""
    mine = owner.removeprefix("tests/")
    if mine == "tests":
        return False
    concept = concept_of(module)
    if mine.startswith("harness."):
        return concept == mine.split(".", 1)[1]
    return module.split(".")[:2] == ["finegate", mine]


def layout_violations(root: Path) -> list[str]:
    """harness/ holds concept packages (each with a face) and ``__init__.py`` only."""
    out = []
    for entry in sorted((root / "harness").iterdir()):
        if entry.name in ("__init__.py", "__pycache__"):
            continue
        if entry.is_file():
            out.append(f"harness/{entry.name}: a module outside every concept package")
        elif entry.name not in FLOORS:
            out.append(f"harness/{entry.name}: not a concept package named in the floors")
        elif not (entry / "__init__.py").is_file():
            out.append(f"harness/{entry.name}: a package without a public face (__init__.py)")
    return out


def import_violations(root: Path) -> list[str]:
    """Floors, faces, peers and private imports, for every finegate import."""
    out = []
    for path in python_files(root):
        owner = owner_of(root, path)
        me = concept_of(module_name(root, path))
        for imp in imports_of(root, path):
            where = f"{imp.file.relative_to(root)}:{imp.line}"
            target = target_module(root, imp)
            concept = concept_of(target)
            top = target.split(".")[1] if target.startswith("finegate.") else target
            if owner.startswith("harness.") and me is not None:
                if top != "harness":
                    out.append(f"{where}: harness imports {target}; harness imports no peer")
                elif concept is None:
                    out.append(f"{where}: {me} imports the root face {target}; name a package")
                elif concept != me and FLOORS[concept] >= FLOORS[me]:
                    out.append(
                        f"{where}: {me} (floor {FLOORS[me]}) imports {concept} "
                        f"(floor {FLOORS[concept]}); a package imports lower floors only"
                    )
            elif owner in PEERS and top in PEERS and top != owner and top not in PEERS[owner]:
                allowed = ", ".join(sorted(PEERS[owner])) or "nothing"
                out.append(f"{where}: {owner} imports {target}; {owner} stands on {allowed}")
            if is_private(target) and not _private_allowed(owner, target):
                out.append(f"{where}: {owner} imports the private module {target}")
            elif imp.name and imp.name.startswith("_") and not _private_allowed(owner, target):
                out.append(f"{where}: {owner} imports the private name {imp.name} from {target}")
    return out


def face_violations(root: Path) -> list[str]:
    """A lazy face maps names to its own private modules, and to modules that exist."""
    out = []
    for face in sorted((root / "harness").rglob("__init__.py")):
        package = module_name(root, face)
        for name, target in lazy_exports_of(face).items():
            module = f"{package}.{target}"
            rel = face.parent.relative_to(root)
            if not _is_module(root, module) and not (root / rel / target).is_dir():
                out.append(f"{face.relative_to(root)}: {name} -> {target}: no such module")
                continue
            concept = concept_of(module)
            if package != "finegate.harness" and concept != concept_of(package):
                out.append(f"{face.relative_to(root)}: {name} -> {target}: outside the package")
    return out


def entry_point_violations(root: Path) -> list[str]:
    """Every entry point into harness names a package face and a name it exports."""
    project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]
    groups = {"scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    out = []
    for group, entries in groups.items():
        for name, value in entries.items():
            module, _, attr = value.partition(":")
            if not module.startswith("finegate.harness"):
                continue
            where = f"pyproject.toml [{group}] {name}"
            if is_private(module):
                out.append(f"{where}: {value} names a private module")
                continue
            face = root / _path_of(module) / "__init__.py"
            exported = lazy_exports_of(face) if face.is_file() else {}
            if attr and attr.split(".")[0] not in exported:
                out.append(f"{where}: {module} does not export {attr}")
    return out


def dependency_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports, every lazy face resolved to the private
    module that defines the imported name (that is where the import lands)."""
    faces = {
        module_name(root, p): lazy_exports_of(p) for p in (root / "harness").rglob("__init__.py")
    }
    graph: dict[str, set[str]] = {}
    for path in python_files(root, ("harness", "gates", "train", "reports", "suites")):
        me = module_name(root, path)
        edges = graph.setdefault(me, set())
        for imp in imports_of(root, path):
            target = target_module(root, imp)
            exports = faces.get(target, {})
            if imp.name in exports:
                target = f"{target}.{exports[imp.name]}"
            if target != me:
                edges.add(target)
        if path.name == "__init__.py":
            edges |= {f"{me}.{m}" for m in faces.get(me, {}).values()}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def constructor_violations(root: Path, name: str, allowed: str) -> list[str]:
    """Calls of ``name(`` outside the module ``allowed`` (tests excepted)."""
    out = []
    for path in python_files(root, ("harness", "gates", "train", "reports", "benchmarks")):
        if module_name(root, path) == allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                called = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if called == name:
                    out.append(f"{path.relative_to(root)}:{node.lineno}: {name}( outside {allowed}")
    return out

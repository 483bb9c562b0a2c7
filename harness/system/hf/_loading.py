"""Finding and loading a model: a local folder, a ``.gguf`` file, an embedded
model or a cached hub id; its identity (a hash of the files that determine its
outputs); its tokenizer; its weights on a device and dtype, in 4-bit NF4 when
asked. Every check names the file and the field that is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finegate.harness.core import InputError, Problem, quiet_library_noise, sha256_files

if TYPE_CHECKING:
    import torch


WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.gguf", "model*.pt")

ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")

_IGNORED_SUFFIXES = (".md", ".txt", ".lock")


def _weight_files(folder: Path) -> list[Path]:
    return sorted({p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)})


def content_files(folder: Path) -> list[Path]:
    """The files of a model folder that determine its outputs: weights, config,
    tokenizer, chat template. Hidden files and docs are left out."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_IGNORED_SUFFIXES)
    )


def weights_hash(path: Path) -> str:
    """A model's identity: its ``.gguf`` file, or its folder's content files."""
    if path.is_file():
        return sha256_files([path], path.parent)
    return sha256_files(content_files(path), path)


def check_model_folder(folder: Path) -> list[Problem]:
    problems = []
    if not (folder / "config.json").is_file():
        problems.append(
            Problem("model folder has no config.json", file=str(folder), field="config.json")
        )
    if not _weight_files(folder):
        problems.append(
            Problem(
                "model folder has no weights (expected *.safetensors, "
                "pytorch_model*.bin or *.gguf)",
                file=str(folder),
                field="weights",
            )
        )
    return problems


def check_adapter_folder(folder: Path) -> list[Problem]:
    if not folder.is_dir():
        return [Problem("adapter folder not found", file=str(folder))]
    problems = []
    config = folder / "adapter_config.json"
    if not config.is_file():
        problems.append(
            Problem(
                "adapter folder has no adapter_config.json",
                file=str(folder),
                field="adapter_config.json",
            )
        )
    else:
        try:
            json.loads(config.read_text("utf-8"))
        except ValueError as e:
            problems.append(Problem(f"invalid JSON: {e}", file=str(config)))
    if not any((folder / name).is_file() for name in ADAPTER_WEIGHTS):
        problems.append(
            Problem(
                "adapter folder has no adapter_model.safetensors (or .bin)",
                file=str(folder),
                field="adapter_model.safetensors",
            )
        )
    return problems


def resolve_model_ref(ref: str) -> Path:
    """A local folder, a local ``.gguf`` file, an embedded model name or a hub id
    already in the local Hugging Face cache."""
    from finegate.harness.system.hf._embedded import embedded_models, ensure_embedded

    if ref in embedded_models():
        return ensure_embedded(ref)
    p = Path(ref).expanduser()
    if p.exists():
        if p.is_file():
            if p.suffix != ".gguf":
                raise InputError(
                    Problem("a model file must be .gguf; otherwise give the folder", file=str(p))
                )
            return p.resolve()
        problems = check_model_folder(p)
        if problems:
            raise InputError(problems)
        return p.resolve()
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise InputError(Problem("model folder not found", file=ref))
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref, local_files_only=True))
    except Exception:
        raise InputError(
            f"model {ref!r} is not a local folder, an embedded model or a hub id in the local "
            "Hugging Face cache",
            hint="give a folder with config.json and weights, or run `finegate models list`",
        ) from None


def _folder_and_file(path: Path) -> tuple[Path, dict[str, str]]:
    """A model folder, or a ``.gguf`` file inside one (transformers' ``gguf_file``)."""
    if path.is_file():
        return path.parent, {"gguf_file": path.name}
    return path, {}


def load_tokenizer(path: Path) -> Any:
    """The model's tokenizer, padding on the left, with a pad token."""
    from transformers import AutoTokenizer

    folder, extra = _folder_and_file(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
    except (OSError, ValueError) as e:
        raise InputError(Problem(f"cannot load the tokenizer: {e}", file=str(path))) from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            tokenizer.pad_token_id = 0
    return tokenizer


def quantization_kwargs(device: str, dtype: Any) -> dict[str, Any]:
    """``from_pretrained`` arguments for NF4 4-bit weights with double quantisation:
    fp32 compute on CPU (no bf16 instructions there), the given dtype on CUDA."""
    import torch

    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError:
        raise InputError(
            "4-bit loading needs bitsandbytes: pip install 'finegate[quant]'"
        ) from None
    compute = dtype if device.startswith("cuda") else torch.float32
    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )
    return {
        "quantization_config": config,
        "device_map": {"": 0} if device.startswith("cuda") else "cpu",
        "dtype": compute,
    }


def load_causal_lm(path: Path, *, dtype: Any, device: str, load_in_4bit: bool = False) -> Any:
    """A transformers causal LM on ``device`` (in 4-bit NF4 when asked)."""
    quiet_library_noise()
    from transformers import AutoModelForCausalLM

    folder, extra = _folder_and_file(path)
    kwargs: dict[str, Any] = {"dtype": dtype, **extra}
    if load_in_4bit:
        kwargs.update(quantization_kwargs(device, dtype))
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as e:
        raise InputError(Problem(f"cannot load the model: {e}", file=str(path))) from None
    if not load_in_4bit:
        model.to(device)
    return model


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def pick_dtype(dtype: str, device: str) -> torch.dtype:
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return {
            "float32": torch.float32,
            "fp32": torch.float32,
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
            "float16": torch.float16,
            "fp16": torch.float16,
        }[dtype]
    except KeyError:
        raise InputError(
            Problem(f"unknown dtype {dtype!r} (auto, float32, bfloat16, float16)", field="dtype")
        ) from None

"""What the ``dpo`` and ``kto`` recipe blocks share, and the checks of a
preference recipe as a whole.

The method block is LoRA's (``r``, ``alpha``, ``dropout``, ``target_modules``)
plus ``beta`` and ``from_adapter``; each method adds its ``loss_type`` (and KTO
its weights). A differential-privacy key is refused by name: DP-SGD with DPO or
KTO is not supported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from finegate.train._loop import MANIFEST_FILE
from finegate.train._protocol import Loc
from finegate.train.lora.config import LoraSettings

LORA_FIELDS = ("r", "alpha", "dropout", "target_modules")
DP_MESSAGE = (
    "DP-SGD with DPO/KTO is not supported: preference tuning keeps no privacy "
    "accounting; for a DP guarantee train with method dp-sgd on SFT data"
)
DP_KEYS = (
    "dp",
    "noise_multiplier",
    "target_epsilon",
    "epsilon",
    "delta",
    "accountant",
    "secure_mode",
    "grad_sample_mode",
)


class PreferenceSettings(LoraSettings):
    """LoRA settings plus what preference tuning adds. LoRA dropout defaults to 0:
    the policy and its reference should be the same network at step 0."""

    dropout: float = 0.0
    beta: float = 0.1
    from_adapter: str | None = None
    _adapter_pending: bool = PrivateAttr(default=False)
    """``from_adapter`` is an earlier pipeline recipe's output, not trained yet."""

    @model_validator(mode="wrap")
    @classmethod
    def _no_dp(cls, data: Any, handler: Any) -> Any:
        """A DP key is refused by name, with every other problem of the block."""
        if not isinstance(data, dict) or not any(k in data for k in DP_KEYS):
            return handler(data)
        errors: list[Any] = [
            {
                "type": PydanticCustomError("dp_unsupported", DP_MESSAGE),
                "loc": (key,),
                "input": data[key],
            }
            for key in DP_KEYS
            if key in data
        ]
        try:
            handler({k: v for k, v in data.items() if k not in DP_KEYS})
        except ValidationError as err:
            errors += [
                {
                    "type": PydanticCustomError(
                        e["type"], e["msg"].replace("{", "(").replace("}", ")")
                    ),
                    "loc": e["loc"],
                    "input": e.get("input"),
                }
                for e in err.errors()
            ]
        raise ValidationError.from_exception_data(cls.__name__, errors)


# -- checks ------------------------------------------------------------------------------


def _adapter_bases(folder: Path) -> list[str]:
    """What an adapter folder says its base model was: the training manifest's
    name and path, and peft's ``base_model_name_or_path``."""
    names: list[str] = []
    manifest = folder / MANIFEST_FILE
    if manifest.is_file():
        try:
            base = json.loads(manifest.read_text("utf-8")).get("base_model") or {}
            names += [str(base[k]) for k in ("name", "path") if base.get(k)]
        except ValueError:
            pass
    try:
        config = json.loads((folder / "adapter_config.json").read_text("utf-8"))
        if config.get("base_model_name_or_path"):
            names.append(str(config["base_model_name_or_path"]))
    except (OSError, ValueError):
        pass
    return names


def _same_base(recipe_base: str, names: list[str]) -> bool:
    from finegate.harness.system.hf import embedded_models

    wanted = {recipe_base}
    local = Path(recipe_base).expanduser()
    if local.exists():
        wanted.add(str(local.resolve()))
    embedded = embedded_models().get(recipe_base)
    if embedded is not None:
        wanted |= {str(embedded.folder), str(embedded.folder.resolve())}
    for name in names:
        if name in wanted:
            return True
        p = Path(name).expanduser()
        if p.exists() and str(p.resolve()) in wanted:
            return True
    return False


def check_preference_recipe(
    recipe: Any, config: Any, *, kl_batch: bool, paired_only: bool, method: str
) -> list[tuple[Loc, str]]:
    from finegate.harness.system.hf import check_adapter_folder

    problems: list[tuple[Loc, str]] = []
    fmt = getattr(recipe.data, "format", None)
    if paired_only and fmt == "unpaired_preference":
        problems.append(
            (
                ("data", "format"),
                f"{method} trains on pairs (format: preference); unpaired data "
                "(prompt, completion, label) is for kto",
            )
        )
    if kl_batch and recipe.training.batch_size < 2:
        problems.append(
            (
                ("training", "batch_size"),
                "kto needs at least 2 examples per batch: its KL estimate pairs each "
                "prompt with another example's answer in the same batch",
            )
        )
    if recipe.training.early_stopping_patience:
        problems.append(
            (
                ("training", "early_stopping_patience"),
                f"early stopping is not supported by {method}: set max_steps or epochs",
            )
        )
    if config.from_adapter:
        set_lora = [f for f in LORA_FIELDS if f in config.model_fields_set]
        for name in set_lora:
            problems.append(
                (
                    ("config", name),
                    "cannot be set with from_adapter: the SFT adapter's own LoRA settings "
                    "are trained further (and its dropout is switched off)",
                )
            )
        folder = Path(config.from_adapter).expanduser()
        found = [] if config._adapter_pending else check_adapter_folder(folder)
        for p in found:
            where = f"{p.file}" + (f" ({p.field})" if p.field else "")
            problems.append((("config", "from_adapter"), f"{p.message}: {where}"))
        if not found and not config._adapter_pending:
            bases = _adapter_bases(folder)
            if bases and not _same_base(recipe.base_model, bases):
                problems.append(
                    (
                        ("config", "from_adapter"),
                        f"the adapter in {folder} was trained on {bases[0]!r}, not on the "
                        f"recipe's base_model {recipe.base_model!r} "
                        f"({folder / 'adapter_config.json'}: base_model_name_or_path)",
                    )
                )
    return problems

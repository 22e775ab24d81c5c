"""Training hyperparameters, read from `params.yaml` so DVC can track them.

`Settings` (pipeline.config) stays the one place for how earlywarn runs; `params.yaml` holds what
shapes a trained model, the file `dvc params diff` compares and the stages of dvc.yaml depend on.
Every key is optional: a key left out keeps the code's default (`FastComplaintModel`,
`DeepConfig`), so the file lists exactly what an analyst has chosen to pin or change. Unknown keys
and wrong types are refused with the key's name, never ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ParamsError

# strict: YAML's `true` is not a number, and neither is `.inf`
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(ge=1, strict=True)]
NGrams = tuple[Count, Count]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return {} if value is None else value  # a section whose keys are all commented out

    def overrides(self) -> dict[str, Any]:
        """The keys the file sets, as keyword arguments for the model's constructor."""
        return self.model_dump(exclude_none=True)


class FastParams(_Section):
    """`FastComplaintModel`'s constructor arguments."""

    C: Positive | None = None
    severity_C: Positive | None = None
    cue_weight: NonNegative | None = None
    word_ngrams: NGrams | None = None
    word_features: Count | None = None
    char_ngrams: NGrams | None = None
    char_features: Count | None = None
    calibration_folds: Annotated[int, Field(ge=2, strict=True)] | None = None
    distill_weight: NonNegative | None = None

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"the shortest n-gram ({value[0]}) is longer than the longest ({value[1]}): "
                             "write them as [shortest, longest]")
        return value


class DeepParams(_Section):
    """`DeepConfig`'s fields (the seed comes from Settings, like every other model's)."""

    epochs: Count | None = None
    batch_size: Count | None = None
    learning_rate: Positive | None = None
    weight_decay: NonNegative | None = None
    warmup_fraction: Annotated[float, Field(ge=0, lt=1, strict=True)] | None = None
    severity_weight: NonNegative | None = None
    max_tokens: Count | None = None


class DistillationParams(_Section):
    """The unlabelled customer messages the fast model learns from the deep one on (0: no distillation)."""

    pool_size: Annotated[int, Field(ge=0, strict=True)] = 15_000


class EvaluationParams(_Section):
    folds: Annotated[int, Field(ge=2, strict=True)] = 10


class TrainingParams(_Section):
    fast: FastParams = FastParams()
    deep: DeepParams = DeepParams()
    distillation: DistillationParams = DistillationParams()
    evaluation: EvaluationParams = EvaluationParams()


def load_params(path: Path | None) -> TrainingParams:
    """The file's parameters; the code's defaults when `path` is None or does not exist."""
    if path is None or not path.is_file():
        return TrainingParams()
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(path, "(the file)", f"is not valid YAML ({exc})",
                          "fix the file, or delete it to train on the code's defaults") from None
    if raw is not None and not isinstance(raw, dict):
        raise ParamsError(path, "(the file)", f"holds a {type(raw).__name__}, not sections of keys",
                          f"write it as sections ({', '.join(TrainingParams.model_fields)}) of key: value lines")
    try:
        return TrainingParams.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ParamsError(path, key, "is not a parameter of that section",
                              f"use one of {', '.join(_known(first['loc']))}") from None
        raise ParamsError(path, key, first["msg"][0].lower() + first["msg"][1:],
                          "give a value of the type pipeline/training/params.py names, or drop the key for the default") from None


def _known(loc: tuple[Any, ...]) -> list[str]:
    section: type[BaseModel] = TrainingParams
    for part in loc[:-1]:
        field = section.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
            break
        section = field.annotation
    return list(section.model_fields)

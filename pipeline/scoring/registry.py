"""Scorers by name, loaded from the models directory: the CLI, the stream and the API ask here."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import ModelNotTrainedError
from pipeline.scoring.base import Scorer
from pipeline.scoring.fast import FastScorer


class ScorerName(str, Enum):
    fast = "fast"
    deep = "deep"
    cascade = "cascade"


def artefact_dir(settings: Settings, name: ScorerName) -> Path:
    return settings.models_dir / name.value


def load_scorer(name: ScorerName, settings: Settings, shared_cpu: bool = False) -> Scorer:
    """`shared_cpu`: the deep model shares the cores with other work (the stream's stages), so its
    idle threads sleep rather than spin."""
    if settings.model_source == "registry":
        return _champion(name, settings, shared_cpu)
    if name is ScorerName.fast:
        return FastScorer.load(artefact_dir(settings, name), threshold=settings.complaint_threshold)
    if name is ScorerName.deep:
        return _load_deep(settings, shared_cpu=shared_cpu)
    if name is ScorerName.cascade:
        from pipeline.scoring.cascade import CascadeScorer

        deep = _load_deep(settings, shared_cpu=shared_cpu)
        fast = deep.fast or load_scorer(ScorerName.fast, settings)
        return CascadeScorer.load(artefact_dir(settings, name), fast, deep)  # type: ignore[arg-type]
    raise AssertionError(f"unhandled scorer {name}")  # pragma: no cover - the enum is exhaustive


def _champion(name: ScorerName, settings: Settings, shared_cpu: bool = False) -> Scorer:
    """The registry's champion, reloaded when it changes. A stacked deep champion comes with the fast
    version it was fitted with, fetched from the registry too (not the fast champion, which may have
    moved on). The cascade pins a band to one fast and one deep version, so it is served from its folder."""
    from pipeline.scoring.champion import ChampionScorer

    if name is ScorerName.cascade:
        raise ModelNotTrainedError(name.value, artefact_dir(settings, name), "the registry serves the fast and deep "
                                   "models; the cascade's band is pinned to one pair of them: set "
                                   "EARLYWARN_MODEL_SOURCE=files to serve it from models/")

    def load(folder: Path) -> Scorer:
        if name is ScorerName.deep:
            return _load_deep(settings, folder, registry=True, shared_cpu=shared_cpu)
        return FastScorer.load(folder, threshold=settings.complaint_threshold)

    return ChampionScorer(settings, name.value, load, refresh_seconds=settings.registry_refresh_seconds)


def _load_deep(settings: Settings, folder: Path | None = None, registry: bool = False,
               shared_cpu: bool = False):  # -> DeepScorer
    """The deep model (onnxruntime loads only when it is asked for), with the fast model it is stacked
    with when its artefact says so: from models/fast, or from the registry by its pinned version."""
    import json

    from pipeline.scoring.deep import META_FILE, DeepScorer

    folder = folder or artefact_dir(settings, ScorerName.deep)
    meta = json.loads((folder / META_FILE).read_text()) if (folder / META_FILE).is_file() else {}
    fast = None
    if meta.get("stack"):
        fast = _registered_fast(settings, str(meta.get("fast_version"))) if registry \
            else load_scorer(ScorerName.fast, settings)
    return DeepScorer.load(folder, threshold=settings.complaint_threshold, fast=fast,  # type: ignore[arg-type]
                           shared_cpu=shared_cpu)


def _registered_fast(settings: Settings, version: str) -> FastScorer:
    from pipeline.scoring.champion import by_artefact, download

    found = by_artefact(settings, ScorerName.fast.value, version)
    if found is None:
        raise ModelNotTrainedError("fast", settings.models_dir, f"the deep champion is stacked with the fast model "
                                   f"{version}, which is not in the registry: register it by training it with "
                                   "`earlywarn train --model fast`, or export the deep model again")
    return FastScorer.load(download(settings, found), threshold=settings.complaint_threshold)


def artefact_version(settings: Settings, name: ScorerName) -> str:
    """The version a trained artefact carries, read from its meta.json without loading the model."""
    import json

    meta = artefact_dir(settings, name) / "meta.json"
    if not meta.is_file():
        raise ModelNotTrainedError(name.value, meta.parent)
    return str(json.loads(meta.read_text())["version"])


def available_scorers(settings: Settings) -> list[ScorerName]:
    """Scorers with a trained artefact on disk."""
    return [name for name in ScorerName if (artefact_dir(settings, name) / "meta.json").is_file()]


MOST_ACCURATE_FIRST = (ScorerName.cascade, ScorerName.deep, ScorerName.fast)


def best_available(settings: Settings) -> ScorerName:
    """The most accurate scorer trained: what the demo, the stream and the server use unless told otherwise."""
    trained = available_scorers(settings)
    for name in MOST_ACCURATE_FIRST:
        if name in trained:
            return name
    raise ModelNotTrainedError("fast", artefact_dir(settings, ScorerName.fast), "run `earlywarn train --model fast`")

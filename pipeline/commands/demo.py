"""The pieces of `earlywarn demo`: what to train on a fresh machine, and what to show."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.config import Settings
from pipeline.console import err
from pipeline.ingest.pii import redact
from pipeline.scoring.registry import ScorerName, available_scorers, load_scorer

DEMO_FORECASTER_FOLDS = 5  # the level thresholds need out-of-fold scores; five folds keep a first run short


def ensure_models(settings: Settings, model: str | None) -> None:
    """Train whatever the demo needs and is missing: the fast scorer, the forecaster, the topic model."""
    from pipeline.conversation.forecast import artefact_dir
    from pipeline.signals.topic import topic_dir

    if model is None and not available_scorers(settings):
        err.print("No scorer yet: training the fast model on the complaint tweets (about a minute).")
        from pipeline.training.fast import train_fast

        train_fast(settings)
    if not (artefact_dir(settings) / "weights.npz").is_file():
        err.print("No early-warning forecaster yet: training it on the USS dialogues (a few minutes).")
        from pipeline.commands import early_warning

        early_warning.train(settings, folds=DEMO_FORECASTER_FOLDS, track=True)
    if not topic_dir(settings).is_dir():
        err.print("No topic model yet: training it on BANKING77 (seconds).")
        from pipeline.training.topic import train_topic

        train_topic(settings)


def show_sample(settings: Settings, name: ScorerName, sample: Path) -> None:
    from pipeline.ingest.files import read_messages
    from pipeline.schema import Message

    if not sample.exists():
        return
    scorer = load_scorer(name, settings)
    messages = [m for _, m in read_messages(sample) if isinstance(m, Message)]
    results = scorer.score(messages)
    table = Table(title=f"The hand-written sample, scored by {scorer.version}")
    for column in ("id", "message (redacted)", "P(complaint)", "severity", "dissatisfaction", "cues"):
        table.add_column(column, overflow="fold")
    texts = {m.id: m.text for m in messages}
    for r in sorted(results, key=lambda r: -r.dissatisfaction):
        cues = ", ".join(sorted({c.label.value for c in r.cues}))
        table.add_row(r.id, redact(texts[r.id])[:90], f"{r.complaint_probability:.2f}", r.severity.name,
                      f"{r.dissatisfaction:.2f}", cues)
    Console(stderr=True).print(table)


def show_cases(settings: Settings, limit: int = 15) -> None:
    """The cases the replay opened, most at risk first, as a handler's queue would show them."""
    from sqlalchemy import make_url, select

    from pipeline.cases.store import make_engine
    from pipeline.cases.tables import CaseRow

    engine = make_engine(settings.database_url)
    rank = {"complaint": 3, "high": 2, "elevated": 1, "low": 0}
    with engine.connect() as conn:
        rows = conn.execute(select(CaseRow.id, CaseRow.stage, CaseRow.risk_level, CaseRow.channel, CaseRow.summary,
                                   CaseRow.flag_reasons)).all()
    engine.dispose()
    rows.sort(key=lambda r: (-rank.get(r.risk_level or "low", 0), -r.id))
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    table = Table(title=f"{len(rows)} cases in {where} (most at risk first; `earlywarn cases list`)")
    for column in ("case", "stage", "risk", "summary", "why"):
        table.add_column(column, overflow="fold")
    for r in rows[:limit]:
        signals = [x for x in r.flag_reasons if x.get("signal") != "routing_rule"] or r.flag_reasons
        why = "; ".join(dict.fromkeys(reason.get("detail", "") for reason in signals[-3:]))
        table.add_row(str(r.id), r.stage, r.risk_level or "-", redact(r.summary), redact(why)[:160])
    Console(stderr=True).print(table)


DEMO_USER = "demo-leader"


def demo_login(settings: Settings) -> str:
    """A team leader to sign in to the workspace as, with a fresh token (shown once, like `earlywarn users add`)."""
    from pipeline.cases.authority import Role
    from pipeline.cases.service import CaseService
    from pipeline.errors import CaseInputError

    service = CaseService.from_settings(settings)
    try:
        try:
            return service.add_user(DEMO_USER, Role.team_leader)
        except CaseInputError:
            return service.rotate_token(DEMO_USER)
    finally:
        service.engine.dispose()

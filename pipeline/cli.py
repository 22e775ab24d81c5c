"""The `earlywarn` command.

Results go to stdout as JSON (or JSONL) so scripts can read them; progress, tables and errors go
to stderr so they never mix with results.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from pipeline.commands.cases import cases_app, users_app
from pipeline.commands.feedback import feedback_app
from pipeline.config import Settings, get_settings, offline_model_environment
from pipeline.console import err, print_json, progress
from pipeline.errors import EarlywarnError, RecordError
from pipeline.ingest.pii import install_redacting_logging

app = typer.Typer(
    help="Early-warning dissatisfaction detector and complaint case tracker.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold customer text: never print them
)
bench_app = typer.Typer(help="Benchmarks; each prints JSON.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(cases_app, name="cases")
app.add_typer(users_app, name="users")
app.add_typer(feedback_app, name="feedback")

SCORE_BATCH = 256


@app.callback()
def _main() -> None:
    offline_model_environment()
    install_redacting_logging(logging.WARNING)


def _scorer_name(value: str) -> Any:
    from pipeline.scoring.registry import ScorerName

    try:
        return ScorerName(value)
    except ValueError:
        from pipeline.errors import UnknownModelError

        raise UnknownModelError(value, [n.value for n in ScorerName]) from None


ModelOption = Annotated[str, typer.Option("--model", "-m", help="which model: fast, deep or cascade (train and "
                                         "evaluate also take early-warning and topic; train also vulnerability)")]
EARLY_WARNING = "early-warning"
TOPIC = "topic"  # the routing topic model, trained on BANKING77
TASKS = ("messages", EARLY_WARNING, "lead-time", "vulnerability")
TweetsOption = Annotated[Path | None, typer.Option(
    help="prepared complaint tweets (`earlywarn prepare`); default: read and join them from the data directory")]
TrackOption = Annotated[bool, typer.Option(help="log the run to MLflow")]


def _complaint_tweets(prepared: Path | None) -> Any:
    from pipeline.datasets.complaint_tweets import load_complaint_tweets, read_prepared

    return read_prepared(prepared) if prepared else load_complaint_tweets(get_settings().data_dir)


@app.command()
def prepare(
    output: Annotated[Path, typer.Option(help="where the joined tweets go (Parquet)")] = Path(
        "data/prepared/complaint_tweets.parquet"),
) -> None:
    """Join the complaint tweets with their X-CI severity labels once, for the DVC stages that follow."""
    from pipeline.datasets.complaint_tweets import write_prepared

    print_json(write_prepared(_complaint_tweets(None), output))


@app.command()
def train(
    model: ModelOption = "fast",
    tweets: TweetsOption = None,
    track: TrackOption = True,
    export: Annotated[bool, typer.Option(help="deep: also build the served int8 ONNX artefact")] = True,
) -> None:
    """Train a model and save it under the models directory: a message scorer on the complaint tweets, the
    conversation forecaster (`--model early-warning`) on the USS dialogues, the routing topic model
    (`--model topic`) on BANKING77, or the learned FG21/1 cues (`--model vulnerability`) on the labelled set."""
    from pipeline.scoring.registry import ScorerName

    settings = get_settings()
    if model == EARLY_WARNING:
        from pipeline.commands import early_warning

        from pipeline.training.params import load_params

        print_json(early_warning.train(settings, folds=load_params(settings.params_file).evaluation.folds,
                                       track=track))
        return
    if model == TOPIC:
        from pipeline.training.topic import train_topic

        print_json(train_topic(settings, track=track))
        return
    if model == "vulnerability":  # the learned half of the FG21/1 detector, on every labelled row
        from pipeline.training.vulnerability_learned import train_vulnerability

        print_json(train_vulnerability(settings, track=track))
        return
    name = _scorer_name(model)
    frame = _complaint_tweets(tweets)
    if name is ScorerName.cascade:
        raise typer.BadParameter("the cascade is not trained: its band is chosen on the fast and deep models' "
                                 "out-of-fold scores with `earlywarn export --model cascade`", param_hint="--model")
    with progress() as bar:
        if name is ScorerName.deep:
            from pipeline.training.deep import DeepConfig
            from pipeline.training.deep_runs import train_deep

            config = DeepConfig.from_settings(settings)
            task = bar.add_task("fine-tuning (tweets seen)", total=len(frame) * config.epochs)
            summary = train_deep(settings, frame, config, advance=lambda n: bar.advance(task, n), track=track,
                                 export=export)
        else:
            from pipeline.training.fast import train_fast

            task = bar.add_task("extracting cues", total=len(frame))
            summary = train_fast(settings, frame, advance=lambda n: bar.advance(task, n), track=track)
    if summary.get("calibrated") is False:
        err.print("[yellow]The deep model is served uncalibrated at threshold 0.5: run `earlywarn evaluate --model "
                  "deep`, then `earlywarn export --model deep`.[/yellow]")
    print_json(summary)


@app.command()
def export(model: ModelOption = "deep", tweets: TweetsOption = None, track: TrackOption = True) -> None:
    """Build what serving loads from what training left: deep → int8 ONNX, calibrated on its out-of-fold
    scores; cascade → the uncertain band, chosen on the fast and deep out-of-fold scores."""
    from pipeline.scoring.registry import ScorerName
    from pipeline.training.deep_runs import export_cascade, export_deep

    name = _scorer_name(model)
    settings = get_settings()
    if name is ScorerName.fast:
        raise typer.BadParameter("the fast model needs no export: `earlywarn train --model fast` saves what "
                                 "serving loads", param_hint="--model")
    frame = _complaint_tweets(tweets)
    print_json(export_deep(settings, frame, track) if name is ScorerName.deep else export_cascade(settings, frame))


@app.command()
def evaluate(
    model: ModelOption = "fast",
    folds: Annotated[int | None, typer.Option(min=2, help="cross-validation folds (default: params.yaml's "
                                              "evaluation.folds, 10)")] = None,
    tweets: TweetsOption = None,
    output: Annotated[Path | None, typer.Option(help="also write the JSON here")] = None,
    plots: Annotated[Path | None, typer.Option(help="fast: also write the out-of-fold precision-recall and "
                                               "calibration tables (CSV) into this folder, for `dvc plots`")] = None,
    track: TrackOption = True,
    task: Annotated[str, typer.Option(help="messages: a scorer on the complaint tweets; early-warning: the "
                                      "conversation forecaster on the USS dialogues; lead-time: how early the "
                                      "state warns on the real Twitter threads; vulnerability: the FG21/1 detector "
                                      "on the labelled set in data/annotations")] = "messages",
    limit: Annotated[int | None, typer.Option(help="lead-time: replay at most this many messages")] = None,
    teacher_groups: Annotated[int, typer.Option(min=0, help="fast: distil each fold from one of N deep networks "
                                                "fine-tuned here on the folds outside its group (checkpointed); "
                                                "0: from the deep cross-validation's fold networks, if it ran")] = 0,
    summarise_only: Annotated[bool, typer.Option(help="deep: only summarise the saved out-of-fold scores (with the "
                                                 "fast model's, once its cross-validation ran); fine-tunes "
                                                 "nothing and rewrites none of the cross-validation's files")] = False,
) -> None:
    """Cross-validation (or, for lead-time, a replay of real threads); prints JSON metrics."""
    from pipeline.scoring.registry import ScorerName

    settings = get_settings()
    if folds is None:
        from pipeline.training.params import load_params

        folds = load_params(settings.params_file).evaluation.folds
    if task not in TASKS:
        raise typer.BadParameter(f"unknown task {task!r}: choose one of {', '.join(TASKS)}", param_hint="--task")
    if summarise_only and (task != "messages" or model == TOPIC or _scorer_name(model) is not ScorerName.deep):
        raise typer.BadParameter(f"only the deep model's cross-validation is summarised apart from its fine-tuning: "
                                 f"drop it for --model {model} --task {task}", param_hint="--summarise-only")
    if task == "vulnerability":
        from pipeline.training.vulnerability import evaluate_vulnerability

        with progress() as bar:
            bar.add_task("vulnerability detector on the labelled set and GoEmotions", total=None)
            result = evaluate_vulnerability(settings=settings, track=track)
        _write_json(result, output)
        return
    if task != "messages":
        from pipeline.commands import early_warning

        _write_json(early_warning.evaluate(settings, task, folds, limit, track), output)
        return
    if model == TOPIC:
        from pipeline.training.topic import evaluate_topic

        _write_json(evaluate_topic(settings, track=track), output)
        return
    name = _scorer_name(model)
    frame = _complaint_tweets(tweets)
    if summarise_only:
        from pipeline.training.deep_runs import summarise_deep_cv

        _write_json(summarise_deep_cv(settings, frame, track=track), output)
        return
    with progress() as bar:
        fold_task = bar.add_task(f"{folds}-fold cross-validation", total=folds)
        on_fold = lambda _: bar.advance(fold_task)  # noqa: E731
        if name is ScorerName.deep:
            from pipeline.training.deep import DeepConfig
            from pipeline.training.deep_runs import evaluate_deep

            config = DeepConfig.from_settings(settings)
            tuning = bar.add_task("fine-tuning (tweets seen)", total=len(frame) * (folds - 1) * config.epochs)
            teaching = bar.add_task("fold networks scoring the distillation pool", total=folds)
            result = evaluate_deep(settings, frame, folds=folds, config=config, on_fold=on_fold, track=track,
                                   advance=lambda n: bar.advance(tuning, n),
                                   on_pool_fold=lambda _: bar.advance(teaching))
        elif name is ScorerName.cascade:
            from pipeline.training.deep_runs import evaluate_cascade

            result = evaluate_cascade(settings, frame, track=track)
        else:
            from pipeline.training.fast import evaluate_fast

            cues = bar.add_task("extracting cues", total=len(frame))
            teaching = None
            if teacher_groups:
                from pipeline.training.deep import DeepConfig

                epochs = DeepConfig.from_settings(settings).epochs
                groups = min(teacher_groups, folds)
                teaching = bar.add_task("fine-tuning teacher networks (tweets seen)",
                                        total=len(frame) * epochs * (groups - 1))
            result = evaluate_fast(settings, frame, folds=folds, advance_cues=lambda n: bar.advance(cues, n),
                                   on_fold=on_fold, track=track, plots=plots, teacher_groups=teacher_groups,
                                   advance_teachers=None if teaching is None else lambda n: bar.advance(teaching, n))
    _write_json(result, output)


def _write_json(result: dict[str, Any], output: Path | None) -> None:
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n")
    print_json(result)


def _batched(items: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _errors_path(input_path: str, output: Path | None) -> Path:
    base = output if output else Path("stdin" if input_path == "-" else Path(input_path).name)
    return base.with_name(base.stem + ".errors.jsonl")


@app.command()
def score(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="JSONL or CSV file, or - for JSONL on stdin")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSONL results (default stdout)")] = None,
    model: ModelOption = "fast",
    text_field: Annotated[str, typer.Option(help="field holding the message text")] = "text",
    id_field: Annotated[str, typer.Option(help="field holding the message id (default: line-N)")] = "id",
    errors: Annotated[Path | None, typer.Option(help="where bad records are listed (default OUTPUT.errors.jsonl)")] = None,
) -> None:
    """Score every record: one JSONL line per good record, in input order; bad records are reported
    with their line and reason, and the exit code is 1 if any failed."""
    from pipeline.ingest.files import FieldMap, read_messages
    from pipeline.scoring.registry import load_scorer

    scorer = load_scorer(_scorer_name(model), get_settings())
    records = read_messages(input_path, FieldMap(text=text_field, id=id_field))
    failures: list[RecordError] = []
    out: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    scored = 0
    try:
        for chunk in _batched(records, SCORE_BATCH):
            good = [item for _, item in chunk if not isinstance(item, RecordError)]
            failures += [item for _, item in chunk if isinstance(item, RecordError)]
            for result in scorer.score(good):
                out.write(json.dumps(result.to_output()) + "\n")
            scored += len(good)
    finally:
        if output:
            out.close()
    if failures:
        path = errors or _errors_path(input_path, output)
        with path.open("w", encoding="utf-8") as handle:
            for failure in failures:
                handle.write(json.dumps(failure.as_dict()) + "\n")
        for failure in failures:
            err.print(f"[red]skipped[/red] {failure}")
        err.print(f"{scored} scored, {len(failures)} failed; the failures are listed in {path}")
        raise typer.Exit(code=1)
    err.print(f"{scored} scored")


@bench_app.command("scoring")
def bench_scoring_command(
    messages: Annotated[int, typer.Option(help="how many real tweets")] = 5000,
    repeats: Annotated[int, typer.Option(help="timed passes; the best is reported")] = 3,
) -> None:
    """Messages/s and peak memory of every trained scorer on real tweets."""
    from pipeline.benchmarks.scoring import bench_scoring

    print_json(bench_scoring(get_settings(), n=messages, repeats=repeats))


@bench_app.command("cues")
def bench_cues_command(
    messages: Annotated[int, typer.Option(help="how many real tweets")] = 5000,
    repeats: Annotated[int, typer.Option(help="timed passes; the best is reported")] = 3,
) -> None:
    """Cue extraction messages/s on real tweets, beside VADER and the tokenizer alone."""
    from pipeline.benchmarks.cues import bench_cues

    print_json(bench_cues(get_settings(), n=messages, repeats=repeats))


@bench_app.command("startup")
def bench_startup_command(
    repeats: Annotated[int, typer.Option(help="warm-cache processes; the fastest is reported")] = 3,
) -> None:
    """Seconds for a new process to build the vulnerability detector, regex cache cold and warm."""
    from pipeline.benchmarks.startup import bench_startup

    print_json(bench_startup(repeats=repeats))


@bench_app.command("conversation")
def bench_conversation_command(
    conversations: Annotated[int, typer.Option(help="open conversations")] = 100_000,
    rounds: Annotated[int, typer.Option(help="messages per conversation")] = 5,
    repeats: Annotated[int, typer.Option(help="timed passes; the best is reported")] = 3,
) -> None:
    """Conversation-state updates/s (scores given) and bytes per open conversation."""
    from pipeline.benchmarks.conversation import bench_conversation

    print_json(bench_conversation(get_settings(), conversations=conversations, rounds=rounds, repeats=repeats))


@bench_app.command("stream")
def bench_stream_command(
    model: Annotated[str | None, typer.Option("--model", "-m", help="fast, deep or cascade; default: the most "
                                              "accurate one trained")] = None,
    messages: Annotated[int, typer.Option(help="real thread messages drained for the sustained rate")] = 20_000,
    rate: Annotated[float, typer.Option(help="offered messages/s for the latency run")] = 200.0,
    seconds: Annotated[float, typer.Option(help="length of the latency run")] = 30.0,
    database_url: Annotated[str | None, typer.Option(help="PostgreSQL server for the Redis → PostgreSQL path "
                                                     "(a throwaway database is made there); empty skips it")] =
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    readers: Annotated[int | None, typer.Option(min=0, help="reading worker processes (default: "
                                                "EARLYWARN_STREAM_READERS); 0 reads in the stream's process")] = None,
) -> None:
    """Sustained messages/s and ingest-to-flag latency: file → SQLite and Redis → PostgreSQL."""
    from pipeline.benchmarks.stream import bench_stream

    print_json(bench_stream(_with_readers(get_settings(), readers), _best_scorer(model), messages, rate, seconds,
                            database_url or None))


@bench_app.command("report")
def bench_report_command(
    model: Annotated[str | None, typer.Option("--model", "-m", help="fast, deep or cascade; default: the most "
                                              "accurate one trained")] = None,
    messages: Annotated[int, typer.Option(help="real thread messages replayed into a fresh store first")] = 40_000,
    themes: Annotated[bool, typer.Option(help="include theme discovery (MiniLM) in the timing")] = True,
) -> None:
    """Seconds to build and write `earlywarn report` over a store filled by replaying real threads."""
    from pipeline.benchmarks.report import bench_report

    print_json(bench_report(get_settings(), _best_scorer(model), messages, themes))


@bench_app.command("cases")
def bench_cases_command(
    database_url: Annotated[str | None, typer.Option(help="the server to test; a throwaway store is made there "
                                                          "(default: EARLYWARN_DATABASE_URL)")] = None,
    rate: Annotated[float, typer.Option(help="requests/s, open loop")] = 200.0,
    seconds: Annotated[float, typer.Option(help="measured time, after a 2 s warm-up")] = 30.0,
    workers: Annotated[int, typer.Option(min=1, help="server processes")] = 1,
) -> None:
    """Load the case REST API on loopback: throughput and p50/p99 latency for list, read and transition."""
    from pipeline.benchmarks.cases import WARMUP_S, bench_cases

    with progress() as bar:
        task = bar.add_task("requests", total=int(rate * (seconds + WARMUP_S)))
        result = bench_cases(database_url or get_settings().database_url, rate, seconds,
                             progress=lambda done, _total: bar.update(task, completed=done), workers=workers)
    print_json(result)


@bench_app.command("security")
def bench_security_command(
    database_url: Annotated[str | None, typer.Option(help="the server to test; a throwaway store is made there "
                                                          "(default: EARLYWARN_DATABASE_URL)")] = None,
) -> None:
    """Attempt every mutation unauthenticated, read-only and over authority; count what succeeded (target 0)."""
    from pipeline.benchmarks.cases import fresh_store
    from pipeline.benchmarks.security import probe_security
    from pipeline.cases.service import CaseService

    settings = get_settings()
    with fresh_store(database_url or settings.database_url) as url:
        service = CaseService.from_settings(settings, url=url)
        try:
            result = probe_security(service)
        finally:
            service.engine.dispose()
    print_json({"database": url.split(":", 1)[0], **result})
    if result["succeeded"]:
        raise typer.Exit(1)


@app.command()
def drift(
    model: ModelOption = "fast",
    limit: Annotated[int, typer.Option(min=50, help="customer messages of the replayed threads to check")] = 5000,
) -> None:
    """Compare the live stream's score distribution, cue rates and text descriptors with the model's training
    data (PSI and rate tests); prints the per-feature table and saves it for `earlywarn report` and the workspace.
    The first run for a model version builds its out-of-fold reference (minutes)."""
    from pipeline.scoring.registry import load_scorer
    from pipeline.training.drift import drift_from_replay

    settings = get_settings()
    scorer = load_scorer(_scorer_name(model), settings)
    with progress() as bar:
        task = bar.add_task("drift check (the first run builds the reference fold by fold)", total=None)
        result = drift_from_replay(settings, scorer, limit, on_fold=lambda _: bar.advance(task))
    print_json(result)


@app.command()
def promote(
    model: ModelOption = "fast",
    version: Annotated[int | None, typer.Option(help="the registered version to promote (default: the challenger)")]
    = None,
    min_gain: Annotated[float, typer.Option(help="how much the challenger must beat the champion's macro-F1 by")]
    = 0.0,
) -> None:
    """Make the challenger the champion (`models:/earlywarn-<model>@champion`) if it beats the champion on the
    same evaluation protocol; otherwise refuse with both numbers (exit 2)."""
    from pipeline.scoring.champion import promote as promote_version

    print_json(promote_version(get_settings(), _scorer_name(model).value, version, min_gain))


@app.command()
def report(
    start: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD (default: 27 days before --to)")]
    = None,
    end: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD, included (default: today, UTC)")]
    = None,
    output: Annotated[Path, typer.Option(help="folder for report.html, report.json and the CSVs")] = Path("reports"),
    themes: Annotated[bool, typer.Option(help="discover complaint themes with MiniLM embeddings")] = True,
) -> None:
    """Complaint analytics for a period: volumes and rates, spikes that call for a special review, root
    causes with recommendations, emerging themes and the DISP 1.10-style complaints return."""
    from pipeline.commands.report import build, default_period

    first, last = default_period()
    try:
        last = _day("--to", end) if end else last
        first = _day("--from", start) if start else default_period(last)[0]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with progress() as bar:
        bar.add_task("building the report", total=None)
        result = build(get_settings(), first, last, output, themes=themes)
    print_json(result)


def _day(option: str, value: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-03-31") from None


@app.command()
def demo(
    sample: Annotated[Path, typer.Option(help="hand-written sample to score")] = Path("data/sample/messages.jsonl"),
    replay: Annotated[int, typer.Option(help="real Twitter thread messages replayed through the whole pipeline")] = 3000,
    model: Annotated[str | None, typer.Option("--model", "-m", help="fast, deep or cascade; default: the most "
                                              "accurate one trained (cascade, then deep, then fast)")] = None,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="then serve the case API on the demo's "
                                              "store")] = False,
) -> None:
    """The main job on the embedded defaults (SQLite, in-process stream): train what is missing, score the
    hand-written sample, replay real Twitter threads through the pipeline into the case tracker, show the
    cases it opened, and optionally serve them."""
    from pipeline.commands.demo import ensure_models, show_cases, show_sample
    from pipeline.commands.stream import run_stream

    settings = get_settings()
    ensure_models(settings, model)
    name = _best_scorer(model)
    show_sample(settings, name, sample)
    summary = run_stream(settings, "replay", name, max_batch=256, max_wait_ms=50, limit=replay)
    print_json(summary)
    show_cases(settings)
    if serve_after:
        from pipeline.commands.demo import DEMO_USER, demo_login

        token = demo_login(settings)
        err.print(f"[bold]Workspace:[/bold] http://127.0.0.1:8000/workspace — sign in as [bold]{DEMO_USER}[/bold] "
                  f"with the token {token}")
        serve()


def _best_scorer(model: str | None) -> Any:
    from pipeline.scoring.registry import best_available

    return _scorer_name(model) if model else best_available(get_settings())


def _with_readers(settings: Settings, readers: int | None) -> Settings:
    return settings if readers is None else settings.model_copy(update={"stream_readers": readers})


@app.command()
def stream(
    source: Annotated[str, typer.Option(help="file:PATH, stdin, replay[:SPEEDUP] (the real Twitter threads) or "
                                        "redis[:STREAM] (a consumer group on EARLYWARN_REDIS_URL)")] = "replay",
    model: Annotated[str | None, typer.Option("--model", "-m", help="fast, deep or cascade; default: the most "
                                              "accurate one trained")] = None,
    max_batch: Annotated[int, typer.Option(min=1, help="most messages scored together")] = 256,
    max_wait_ms: Annotated[float, typer.Option(min=0, help="longest a message waits for its batch to fill")] = 50.0,
    limit: Annotated[int | None, typer.Option(help="replay: stop after this many messages")] = None,
    live: Annotated[bool, typer.Option(help="show live counters")] = True,
    until_idle: Annotated[bool, typer.Option(help="redis: stop once the stream has nothing new")] = False,
    readers: Annotated[int | None, typer.Option(min=0, help="reading worker processes (default: "
                                                "EARLYWARN_STREAM_READERS); 0 reads in the stream's process")] = None,
) -> None:
    """Run the pipeline: validate, score, track conversations, route flags into the case tracker.
    Malformed input goes to the dead-letter store with its reason; Ctrl-C stops cleanly."""
    from pipeline.commands.stream import run_stream

    print_json(run_stream(_with_readers(get_settings(), readers), source, _best_scorer(model), max_batch, max_wait_ms, limit, live,
                          stop_when_idle=until_idle))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="server processes; each has its own interpreter lock")] = 1,
) -> None:
    """Serve the workspace (/workspace), the case REST API (OpenAPI at /docs) and POST /ingest on the configured
    database."""
    settings = get_settings()
    if workers > 1 and not settings.workspace_secret:  # each worker would sign sessions with its own random key
        raise typer.BadParameter(
            f"{workers} workers without EARLYWARN_WORKSPACE_SECRET would each sign workspace sessions with their own "
            "random key, so a sign-in would fail on the next request another worker answers. Set "
            "EARLYWARN_WORKSPACE_SECRET to a long random string (python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'), or serve with --workers 1", param_hint="--workers")
    import uvicorn

    from pipeline.cases.service import CaseService

    CaseService.from_settings(settings).engine.dispose()  # migrate once, before any worker starts
    err.print(f"Serving the workspace at http://{host}:{port}/workspace and the API at http://{host}:{port}/docs "
              "(Ctrl-C stops)")
    uvicorn.run("pipeline.api.app:app_from_settings", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


def main() -> None:
    try:
        app()
    except EarlywarnError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()

"""Case outcomes as labelled examples, merged into the training data and measured by retraining.

The tracker's handlers decide, case by case, whether a customer complained and whether the
complaint was justified. `feedback_examples` turns those decisions into rows shaped like the
complaint tweets the fast model trains on (`text`, `label`, `severity`) with their provenance;
`merge_labels` folds them (and active-learning labels, `pipeline.training.active_learning`) into a
training frame; `retrain_with_feedback` cross-validates the fast model with and without them on the
same folds and reports the change.

What a case outcome can and cannot say (the labelling rules, with reasons):

* Only **settled** cases give labels: **closed** complaints and **dismissed** flags. A closed case
  went through `receive` (it was accepted as a complaint) and through `record_findings`, so both
  the complaint and its outcome are settled. Open cases may still change; a case reopened is open
  again and gives no labels until it is settled again (its latest findings then count).
* A closed case is a complaint whatever its findings: the FCA's definition (DISP, "any expression
  of dissatisfaction, whether justified or not") and the tweets' annotation (a negative mismatch
  between reality and expectations) both make *justified* a separate question. Findings
  `justified`, `partly_justified` and `unjustified` all give `label = 1`; the outcome is kept in
  `outcome`, and `justified` is True, True and False respectively.
* Not every customer message of a complaint case is a complaint ("hi, card number is 1234",
  "ok thanks"), so a case labels at most these of its customer messages:
  - the **receiving message** (`rule = "received_on"`): the last customer message the tracker
    held when the case became a complaint (added at or before the `received` milestone, or the
    case's creation if it was opened as a complaint with a back-dated receipt; none if the case held
    no customer message then, as when the complaint came by phone). A handler, or the
    routing at complaint risk, judged the conversation a complaint at that message, so it is the
    best-grounded label a case has, and the one that corrects a missed complaint (a receiving
    message the model scored low is exactly a false negative);
  - every other customer message the scorer marked `is_complaint` (`rule = "scored_complaint"`):
    a model positive inside a confirmed complaint is a confirmed true positive.
  Other customer messages get no label (unknown, not negative); agent messages never do.
* **Dismissed** flags (`not_a_complaint`: a handler read the flagged messages and saw no
  dissatisfaction) give `label = 0`, severity 0 (none), for every customer message the case held
  when it was dismissed (`rule = "dismissed"`): the handler judged the flag as a whole, and the
  flag was raised on those messages. These are the model's confirmed false positives, the
  negatives case outcomes can give. If the case was *prevented* before (a later message sent it
  back to the queue), the messages up to the prevention are left out: they were judged
  dissatisfied then (see the next rule).
* **Prevented** cases give no labels. `prevented` means the dissatisfaction was spotted and settled
  before it became a formal complaint (CU824 1.2); the message still expressed dissatisfaction, so
  labelling it 0 would teach the model to miss the very signal that let a handler prevent the
  complaint, and labelling it 1 would claim a confirmation no one gave. Such messages are good
  candidates for active learning instead.
* A case the stream received on the model's say-so (`confirmed_by = "system"`) and a handler
  later closed is kept, but its receiving message echoes the model's own decision;
  `confirmed_by = "handler"` rows are the independent ones.
* **Severity**: a handler may say how serious the complaint was when recording the findings
  (`severity`, one of the four complaint levels the scorer is trained on). The receiving message
  carries it, since that is the message the case was judged a complaint on; other rows, and cases
  whose findings gave no severity, carry `severity = -1`, the training frame's mark for "not
  rated", which the severity head ignores. (The severity on a message's score is the model's own
  guess, never a label.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.cases.lifecycle import FindingOutcome, Stage
from pipeline.cases.tables import CaseMessageRow, CaseRow, EventRow
from pipeline.config import Settings
from pipeline.datasets.complaint_tweets import UNKNOWN_SEVERITY, load_complaint_tweets, normalise_text
from pipeline.schema import Author, Severity
from pipeline.scoring.fast_model import TeacherLabels
from pipeline.signals import CueExtractor, cue_feature_names
from pipeline.training.distillation import fold_teachers, report
from pipeline.training.evaluation import OutOfFold, cross_validate_fast
from pipeline.training.fast import Advance, featurize_with_progress
from pipeline.training.params import load_params

CASE_OUTCOME = "case_outcome"
ACTIVE_LEARNING = "active_learning"
#: which label wins when two feedback rows carry the same text: a person who read the message
#: itself beats a label inferred from the case it sat in
SOURCE_PRECEDENCE = {ACTIVE_LEARNING: 0, CASE_OUTCOME: 1}

FEEDBACK_COLUMNS = [
    "text",  # the message, as the customer wrote it
    "label",  # 1 complaint, 0 not a complaint (the tweets' `label`)
    "severity",  # Severity value 0-4, -1 not rated (the tweets' `severity`)
    "source",  # case_outcome | active_learning
    "case_id",  # the case it came from (case outcomes), else <NA>
    "message_id",
    "outcome",  # justified | partly_justified | unjustified | not_a_complaint (case outcomes)
    "justified",  # True for justified and partly justified findings, False for unjustified, else <NA>
    "rule",  # received_on | scored_complaint | dismissed (case outcomes), annotated (active learning)
    "confirmed_by",  # handler | system (who made the case a complaint), annotator (active learning)
    "labelled_at",  # when the label was settled: the case's closure or dismissal, or the annotation
]
JUSTIFIED = {FindingOutcome.justified.value: True, FindingOutcome.partly_justified.value: True,
             FindingOutcome.unjustified.value: False}
#: the metrics `retrain_with_feedback` reports a change for (fold means, as `earlywarn evaluate` prints)
HEADLINE = ("complaint_macro_f1", "accuracy", "auroc", "severity_macro_f1", "ece")


def feedback_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows in the feedback shape, typed alike whatever made them (`FEEDBACK_COLUMNS`)."""
    frame = pd.DataFrame.from_records(list(records), columns=FEEDBACK_COLUMNS)
    return frame.astype({"label": int, "severity": int, "case_id": "Int64", "justified": "boolean"}).assign(
        labelled_at=pd.to_datetime(frame["labelled_at"], utc=True))


# --- case outcomes ---------------------------------------------------------------------------------


def _when(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def feedback_examples(engine: Engine, since: datetime | None = None) -> pd.DataFrame:
    """One row per labelled customer message of every closed or dismissed case (settled at or after
    `since`, if given), by the rules in this module's docstring; columns `FEEDBACK_COLUMNS`, source
    "case_outcome", oldest first."""
    if since is not None and since.tzinfo is None:
        raise ValueError("since is a naive datetime: pass a timezone-aware time, e.g. datetime(..., tzinfo=UTC)")
    settled = CaseRow.stage.in_((Stage.closed.value, Stage.not_a_complaint.value))
    with Session(engine) as s:
        cases = {row.id: row for row in s.execute(select(
            CaseRow.id, CaseRow.stage, CaseRow.findings_outcome, CaseRow.findings_severity, CaseRow.milestones,
            CaseRow.created_at, CaseRow.updated_at,
        ).where(settled))}
        receivers: dict[int, str] = {}  # who made each case a complaint: the event that moved it to `received`
        dismissed: dict[int, datetime] = {}  # when each dismissed case was last dismissed
        prevented: dict[int, datetime] = {}  # and last prevented, if ever
        for case_id, role, action, at, after in s.execute(
            select(EventRow.case_id, EventRow.role, EventRow.action, EventRow.at, EventRow.after)
            .join(CaseRow, CaseRow.id == EventRow.case_id)
            .where(settled, EventRow.action.in_(("create", "flag", "receive", "dismiss", "prevent")))
            .order_by(EventRow.case_id, EventRow.seq)
        ):
            if action in ("dismiss", "prevent"):
                (dismissed if action == "dismiss" else prevented)[case_id] = at
            elif (after or {}).get("stage") == Stage.received.value:
                receivers.setdefault(case_id, "system" if role == "system" else "handler")
        messages: dict[int, list[Any]] = {}
        for row in s.execute(
            select(CaseMessageRow.case_id, CaseMessageRow.message_id, CaseMessageRow.added_at, CaseMessageRow.text,
                   CaseMessageRow.score)
            .join(CaseRow, CaseRow.id == CaseMessageRow.case_id)
            .where(settled, CaseMessageRow.author == Author.customer.value)
            .order_by(CaseMessageRow.case_id, CaseMessageRow.added_at, CaseMessageRow.id)
        ):
            messages.setdefault(row.case_id, []).append(row)

    records: list[dict[str, Any]] = []
    for case_id, case in cases.items():
        said = messages.get(case_id, [])
        if case.stage == Stage.not_a_complaint.value:
            at = dismissed.get(case_id, case.updated_at)
            judged_dissatisfied = prevented.get(case_id)
            if since is None or at >= since:
                records.extend(_row(m, case_id, 0, int(Severity.none), Stage.not_a_complaint.value, "dismissed",
                                    "handler", at) for m in said
                               if (m.added_at is None or m.added_at <= at)
                               and (judged_dissatisfied is None or (m.added_at is not None
                                                                    and m.added_at > judged_dissatisfied)))
            continue
        closed_at = _when(case.milestones.get("closed")) or case.updated_at
        if (since is not None and closed_at < since) or not said:
            continue
        received = _when(case.milestones.get("received")) or case.created_at
        cutoff = max(received, case.created_at)
        before = [m for m in said if m.added_at is None or m.added_at <= cutoff]
        receiving = before[-1].message_id if before else None  # received on a call or a letter: no message to label
        assessed = int(Severity[case.findings_severity]) if case.findings_severity else UNKNOWN_SEVERITY
        for m in said:
            if m.message_id == receiving:
                rule, severity = "received_on", assessed
            elif (m.score or {}).get("is_complaint") is True:
                rule, severity = "scored_complaint", UNKNOWN_SEVERITY
            else:
                continue
            records.append(_row(m, case_id, 1, severity, case.findings_outcome, rule,
                                receivers.get(case_id, "handler"), closed_at))
    frame = feedback_frame(records)
    return frame.sort_values(["labelled_at", "case_id"], kind="stable").reset_index(drop=True)


def _row(message: Any, case_id: int, label: int, severity: int, outcome: str | None, rule: str, confirmed_by: str,
         at: datetime) -> dict[str, Any]:
    return {"text": message.text, "label": label, "severity": severity, "source": CASE_OUTCOME, "case_id": case_id,
            "message_id": message.message_id, "outcome": outcome, "justified": JUSTIFIED.get(outcome or ""),
            "rule": rule, "confirmed_by": confirmed_by, "labelled_at": at}


# --- merging ----------------------------------------------------------------------------------------


def dedupe_feedback(feedback: pd.DataFrame) -> pd.DataFrame:
    """One row per normalised text: a label from someone who read the message (active learning)
    beats one inferred from its case, and among equals the latest label wins."""
    if feedback.empty:
        return feedback.reset_index(drop=True)
    rank = feedback["source"].map(SOURCE_PRECEDENCE).fillna(len(SOURCE_PRECEDENCE))
    ordered = feedback.assign(_key=feedback["text"].map(normalise_text), _rank=rank).sort_values(
        ["_rank", "labelled_at"], ascending=[True, False], kind="stable", na_position="last")
    return ordered.drop_duplicates("_key").drop(columns=["_key", "_rank"]).sort_index().reset_index(drop=True)


def merge_labels(training_frame: pd.DataFrame, feedback_frame: pd.DataFrame) -> pd.DataFrame:
    """The training frame with the feedback folded in, ready for `FastScorer.train` or `train_fast`.

    Feedback rows are first deduplicated by normalised text (`dedupe_feedback`). Where a feedback
    text matches a training text (`normalise_text`, the tweets' own join key), **the feedback label
    overrides the training label**: it was given under the organisation's definition of a
    complaint, by someone who saw the case or was asked about this very message, and it is newer.
    The row keeps its training metadata; its severity becomes the feedback's if rated, stays as it
    was if the labels agree, and otherwise becomes 0 (not a complaint) or -1 (a complaint, not
    rated). Feedback texts not in the training frame are appended. Every row says where its label
    came from in `source` ("training" for untouched rows). `attrs` counts what happened:
    `added`, `overridden` (training rows given a feedback label; every copy of a repeated tweet
    is), `relabelled` (those whose label changed) and
    `feedback_duplicates` (feedback rows dropped as repeats).

    (`retrain_with_feedback` does not override: there a feedback row matching a training text is
    dropped instead, because that text sits in a test fold and its label must not move.)
    """
    missing = [c for c in ("text", "label", "severity") if c not in training_frame.columns]
    if missing:
        raise ValueError(f"the training frame lacks {', '.join(missing)}: pass the complaint tweets as "
                         "load_complaint_tweets returns them")
    unique = dedupe_feedback(feedback_frame)
    merged = training_frame.copy()
    if "source" not in merged.columns:
        merged["source"] = "training"
    rows_of: dict[str, list[Any]] = {}  # every training row with the text (the tweets hold a few repeats)
    for index, key in zip(merged.index, merged["text"].map(normalise_text), strict=True):
        rows_of.setdefault(key, []).append(index)
    matched = unique["text"].map(normalise_text).map(rows_of)
    overlap, fresh = unique[matched.notna()], unique[matched.isna()]
    overridden = relabelled = 0
    provenance = [c for c in FEEDBACK_COLUMNS if c not in ("text", "label", "severity")]
    for c in provenance:
        if c not in merged.columns:
            merged[c] = pd.Series([pd.NA] * len(merged), index=merged.index, dtype=unique[c].dtype)
    for row, indices in zip(overlap.itertuples(index=False), matched[matched.notna()], strict=True):
        for index in indices:
            before = int(merged.at[index, "label"])
            severity = int(row.severity)
            if severity < 0:
                severity = int(merged.at[index, "severity"]) if before == row.label else (0 if row.label == 0 else -1)
            overridden += 1
            relabelled += before != row.label
            merged.at[index, "label"], merged.at[index, "severity"] = int(row.label), severity
            for c in provenance:
                merged.at[index, c] = getattr(row, c)
    added = fresh.copy()
    if "domain" in merged.columns:  # per-domain reports then show the feedback as a domain of its own
        added["domain"] = "feedback:" + added["source"].astype(str)
    out = pd.concat([merged, added], ignore_index=True) if len(added) else merged.reset_index(drop=True)
    out.attrs = {"added": len(added), "overridden": overridden, "relabelled": relabelled,
                 "feedback_duplicates": len(feedback_frame) - len(unique)}
    return out


# --- retraining ---------------------------------------------------------------------------------------


def cross_validate_with_extra(
    frame: pd.DataFrame,
    cue_matrix: np.ndarray,
    extra: pd.DataFrame,
    extra_cues: np.ndarray,
    cue_names: list[str],
    folds: int = 10,
    seed: int = 13,
    params: dict[str, object] | None = None,
    on_fold: Callable[[int], None] | None = None,
    teachers: Sequence[TeacherLabels] | None = None,
) -> tuple[dict[str, object], OutOfFold]:
    """`cross_validate_fast` with `extra` rows added to every training fold and to no test fold.

    The folds are `cross_validate_fast`'s own (the same `StratifiedKFold` over the same rows and
    labels), so the test folds, and the metrics on them, compare one to one with its run."""
    return cross_validate_fast(frame, cue_matrix, cue_names, folds, seed, params, on_fold, extra=extra,
                               extra_cues=extra_cues, teachers=teachers)


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, float]:
    return {name: round(float(after[name]) - float(before[name]), 4) for name in HEADLINE if name in before}


def retrain_with_feedback(
    settings: Settings,
    feedback_frame: pd.DataFrame,
    *,
    tweets: pd.DataFrame | None = None,
    folds: int = 10,
    params: dict[str, object] | None = None,
    advance_cues: Advance | None = None,
    on_fold: Callable[[str, int], None] | None = None,
    track: bool = True,
) -> dict[str, object]:
    """Cross-validate the fast model on the training tweets alone, then with the feedback, on the
    same folds, and report both and the change (`with_feedback - baseline`, fold means).

    The baseline is `cross_validate_fast` itself, so it matches `earlywarn evaluate` for the same
    folds and seed. In the second run feedback rows join every training fold and no test fold, so
    both runs are scored on exactly the same held-out tweets. Feedback is deduplicated first
    (`dedupe_feedback`); a feedback row whose normalised text is one of the training tweets is
    dropped (counted in `feedback_dropped.overlap`), since that tweet is in a test fold.

    What this measures: whether the feedback helps or hurts on the public benchmark. It does not
    measure the gain on the organisation's own messages (they are never tested here), and
    case-outcome feedback is mostly positives (dismissed flags are its only negatives), which shifts
    the class balance the calibration and threshold are fitted on; the ECE change shows how much.
    """
    started = time.perf_counter()
    tweets = load_complaint_tweets(settings.data_dir) if tweets is None else tweets.reset_index(drop=True)
    params = load_params(settings.params_file).fast.overrides() if params is None else params
    unique = dedupe_feedback(feedback_frame)
    known = set(tweets["text"].map(normalise_text))
    overlap = unique["text"].map(normalise_text).isin(known)
    extra = unique[~overlap].reset_index(drop=True)
    names = cue_feature_names()
    cues = featurize_with_progress(CueExtractor(), tweets["text"].tolist() + extra["text"].tolist(), advance_cues)
    base_cues, extra_cues = cues[: len(tweets)], cues[len(tweets):]

    distillation = report(fold_teachers(settings, tweets, folds))
    teachers = None if distillation is None else distillation.teachers

    def progress(run: str) -> Callable[[int], None] | None:
        return (lambda k: on_fold(run, k)) if on_fold else None

    baseline, _ = cross_validate_fast(tweets, base_cues, names, folds=folds, seed=settings.seed, params=params,
                                      on_fold=progress("baseline"), teachers=teachers)
    with_feedback, _ = cross_validate_with_extra(tweets, base_cues, extra, extra_cues, names, folds=folds,
                                                 seed=settings.seed, params=params, on_fold=progress("with_feedback"),
                                                 teachers=teachers)
    result: dict[str, object] = {
        "model": "fast",
        "protocol": f"stratified {folds}-fold CV on the complaint tweets; feedback rows in training folds only",
        "distilled": None if distillation is None else distillation.describe(),
        "folds": folds,
        "seed": settings.seed,
        "training_rows": len(tweets),
        "feedback_rows": len(extra),
        "feedback_by_source": {str(k): int(v) for k, v in extra["source"].value_counts().sort_index().items()},
        "feedback_complaints": int(extra["label"].sum()),
        "feedback_dropped": {"duplicates": len(feedback_frame) - len(unique), "overlap": int(overlap.sum())},
        "baseline": baseline,
        "with_feedback": with_feedback,
        "delta": _delta(with_feedback, baseline),
        "delta_pooled": _delta(with_feedback["pooled"], baseline["pooled"]),  # type: ignore[arg-type]
        "seconds": 0.0,
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    if track:
        from pipeline.training.tracking import log_json, tracked_run

        with tracked_run(settings, "earlywarn-evaluate", f"cv{folds}-fast-feedback",
                         {"model": "fast", "folds": folds, "seed": settings.seed, "feedback_rows": len(extra)}) as mlflow:
            log_json(mlflow, result, "feedback-evaluation.json")
    return result


def closed_since(value: str | None) -> datetime | None:
    """A `--since` option's ISO date or time as an aware datetime (a bare date is midnight UTC)."""
    if not value:
        return None
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)

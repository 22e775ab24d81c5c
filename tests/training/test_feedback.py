"""Case outcomes become labels by the documented rules, merge into the training data, and retraining
with them reports both metric sets on the same folds.

The cases are made through the real tracker (CaseService on a fresh SQLite store), the way the
stream and the handlers make them; retraining runs the real fast model on a small sample of the
real complaint tweets.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate, CaseMessage, TransitionRequest
from pipeline.cases.service import CaseService
from pipeline.datasets.complaint_tweets import UNKNOWN_SEVERITY
from pipeline.schema import Author, Channel, Flag, Message, MessageScore, RiskLevel, Severity
from pipeline.training.feedback import (
    FEEDBACK_COLUMNS,
    dedupe_feedback,
    feedback_examples,
    feedback_frame,
    merge_labels,
    retrain_with_feedback,
)
from tests.cases.helpers import TO_FINDINGS, option, users, walk


@pytest.fixture
def service(tmp_path, clock, settings):
    svc = CaseService.from_settings(settings, url=f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    yield svc
    svc.engine.dispose()


def msg(id_: str, text: str, conv: str, author: str = "customer") -> Message:
    return Message(id=id_, text=text, channel=Channel.social, conversation_id=conv, customer_id=f"cust-{conv}",
                   author=Author(author), timestamp=datetime(2026, 11, 2, 9, tzinfo=UTC))


def score(id_: str, p: float) -> MessageScore:
    return MessageScore(id=id_, complaint_probability=p, is_complaint=p >= 0.5, threshold=0.5,
                        severity=Severity.disapproval if p >= 0.5 else Severity.none, severity_probabilities={},
                        dissatisfaction=p, model_version="fast-test")


def flag(conv: str, risk: str, *messages: tuple[Message, float | None]) -> Flag:
    return Flag(conversation_id=conv, customer_id=f"cust-{conv}", channel=Channel.social, risk_level=RiskLevel(risk),
                probability=0.7, queue="social", messages=[m for m, _ in messages],
                scores=[score(m.id, p) for m, p in messages if p is not None])


def close_justified(service: CaseService, actor, case_id: int) -> None:
    walk(service, actor, case_id, *TO_FINDINGS,
         ("record_findings", {"outcome": "justified", "evidence": "fee in error", "severity": "accusation"}))
    service.add_option(actor, case_id, option("35.00", admits_liability=True))
    case = service.transition(actor, case_id, TransitionRequest(action="assess_options"))
    walk(service, actor, case_id, ("offer_solution", {"option_id": case.options[0].id}), ("accept", {}),
         ("implement", {"note": "refunded"}), ("check_satisfaction", {"satisfied": True}),
         ("close", {"root_cause": "billing_error"}))


def close_unjustified(service: CaseService, agent, leader, case_id: int) -> None:
    walk(service, agent, case_id, *TO_FINDINGS, ("record_findings", {"outcome": "unjustified", "evidence": "in contract"}))
    walk(service, leader, case_id, ("close", {"root_cause": "policy", "note": "fee is in the contract"}))


@pytest.fixture
def outcomes(service: CaseService, clock):
    """Six cases, one per rule:
    A  flagged by the stream, received by a handler at m2 (scored low: a missed complaint), m3 scored a
       complaint later, m4 a plain "thanks"; closed justified                       -> m2, m3 labelled 1
    B  received by the stream at m5 (risk complaint), closed unjustified on 3 Nov    -> m5 labelled 1
    C  flagged and prevented                                                        -> nothing
    D  received, still open                                                         -> nothing
    E  closed, then reopened (investigating again)                                  -> nothing
    F  opened by a handler as a complaint, back-dated, two customer messages        -> the last, m9
    G  flagged at m11 and m12, dismissed as not a complaint; m13 arrives later and is
       dismissed again                                                              -> m11, m12, m13 labelled 0
    H  flagged, dismissed, then reopened by a team leader                           -> nothing
    I  flagged at m15 and prevented; m16 sends it back to the queue; dismissed      -> m16 only labelled 0
    """
    people = users(service)
    agent, leader = people[Role.agent], people[Role.team_leader]
    ids: dict[str, int] = {}

    clock.now = datetime(2026, 11, 2, 10, tzinfo=UTC)
    b = service.intake(flag("conv-b", "complaint", (msg("m5", "third time my refund is late, disgraceful", "conv-b"), 0.9)))
    ids["B"] = b.case_id
    clock.now = datetime(2026, 11, 3, 10, tzinfo=UTC)
    close_unjustified(service, agent, leader, ids["B"])

    clock.now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    a = service.intake(flag("conv-a", "high",
                            (msg("m1", "hi, has my new card been posted?", "conv-a"), 0.2),
                            (msg("a1", "sorry for the wait, we will check", "conv-a", "agent"), None),
                            (msg("m2", "you said that last week too and nothing happened", "conv-a"), 0.35)))
    ids["A"] = a.case_id
    clock.now = datetime(2026, 11, 10, 10, tzinfo=UTC)
    walk(service, agent, ids["A"], ("receive", {"note": "customer is unhappy with the delay"}))
    clock.now = datetime(2026, 11, 10, 11, tzinfo=UTC)
    extended = service.intake(flag("conv-a", "high", (msg("m3", "still no card, this is hopeless", "conv-a"), 0.8),
                                   (msg("m4", "ok thanks", "conv-a"), 0.1)))
    assert extended.case_id == ids["A"] and not extended.created
    close_justified(service, agent, ids["A"])

    c = service.intake(flag("conv-c", "high", (msg("m6", "why is the app down again", "conv-c"), 0.7)))
    ids["C"] = c.case_id
    walk(service, agent, ids["C"], ("prevent", {"note": "explained the outage; customer fine"}))

    ids["D"] = service.intake(flag("conv-d", "complaint", (msg("m7", "worst bank ever", "conv-d"), 0.95))).case_id

    ids["E"] = service.intake(flag("conv-e", "complaint", (msg("m8", "charged twice, fix it", "conv-e"), 0.9))).case_id
    close_unjustified(service, agent, leader, ids["E"])
    walk(service, leader, ids["E"], ("reopen", {"reason": "new evidence from the customer"}))

    ids["F"] = service.create_case(agent, CaseCreate(
        summary="letter of complaint", channel=Channel.email, stage="received",
        received_at=datetime(2026, 11, 1, tzinfo=UTC), messages=[
            CaseMessage(message=msg("m10", "account number 1234", "conv-f")),
            CaseMessage(message=msg("m9", "I want to complain about the charges", "conv-f")),
        ])).id
    close_unjustified(service, agent, leader, ids["F"])

    clock.now = datetime(2026, 11, 12, 9, tzinfo=UTC)
    ids["G"] = service.intake(flag("conv-g", "elevated", (msg("m11", "CANCEL my 9am slot pls, cant make it", "conv-g"), 0.6),
                                   (msg("m12", "can I rebook for Friday?", "conv-g"), 0.3))).case_id
    walk(service, agent, ids["G"], ("dismiss", {"note": "a rebooking request; no dissatisfaction"}))
    clock.now = datetime(2026, 11, 12, 10, tzinfo=UTC)
    again = service.intake(flag("conv-g", "elevated", (msg("m13", "still want Friday if free!!", "conv-g"), 0.55)))
    assert again.case_id == ids["G"] and again.stage.value == "flagged"  # a new flag sends it back to the queue
    walk(service, agent, ids["G"], ("dismiss", {"note": "confirming the rebooking"}))

    ids["H"] = service.intake(flag("conv-h", "high", (msg("m14", "where is my parcel", "conv-h"), 0.7))).case_id
    walk(service, agent, ids["H"], ("dismiss", {"note": "a tracking question"}))
    walk(service, leader, ids["H"], ("reopen", {"reason": "the customer wrote again, upset"}))

    clock.now = datetime(2026, 11, 12, 11, tzinfo=UTC)
    ids["I"] = service.intake(flag("conv-i", "high", (msg("m15", "my refund is late AGAIN", "conv-i"), 0.8))).case_id
    walk(service, agent, ids["I"], ("prevent", {"note": "refund chased and paid today"}))
    clock.now = datetime(2026, 11, 12, 12, tzinfo=UTC)
    service.intake(flag("conv-i", "elevated", (msg("m16", "got it!! what a relief", "conv-i"), 0.55)))
    walk(service, agent, ids["I"], ("dismiss", {"note": "a thank-you, not dissatisfaction"}))
    return ids


def test_closed_cases_label_the_receiving_message_and_scored_complaints(service, outcomes):
    frame = feedback_examples(service.engine)
    frame = frame[frame["label"] == 1]

    assert list(frame.columns) == FEEDBACK_COLUMNS
    got = {r.message_id: r for r in frame.itertuples(index=False)}
    assert set(got) == {"m2", "m3", "m5", "m9"}  # not m1/m4 (neither received on nor scored), not a1 (agent)
    assert (frame["source"] == "case_outcome").all()
    # the handler's severity labels the receiving message only; findings without one leave it unrated
    assert got["m2"].severity == Severity.accusation
    assert {got[m].severity for m in ("m3", "m5", "m9")} == {UNKNOWN_SEVERITY}

    assert got["m2"].rule == "received_on" and got["m2"].confirmed_by == "handler"  # the missed complaint
    assert got["m3"].rule == "scored_complaint"
    assert got["m2"].outcome == "justified" and bool(got["m2"].justified) is True
    assert got["m2"].case_id == outcomes["A"]

    assert got["m5"].rule == "received_on" and got["m5"].confirmed_by == "system"
    assert got["m5"].outcome == "unjustified" and bool(got["m5"].justified) is False  # unjustified is still a complaint

    assert got["m9"].rule == "received_on"  # the last customer message of a case opened as a complaint


def test_dismissed_flags_label_their_customer_messages_not_a_complaint(service, outcomes):
    frame = feedback_examples(service.engine)
    negatives = frame[frame["label"] == 0]

    # G: the second dismissal covers the later message; I: m15 was judged dissatisfied when prevented
    assert set(negatives["message_id"]) == {"m11", "m12", "m13", "m16"}
    assert set(negatives["case_id"]) == {outcomes["G"], outcomes["I"]}
    assert (negatives["severity"] == Severity.none).all()
    assert set(negatives["rule"]) == {"dismissed"} and set(negatives["outcome"]) == {"not_a_complaint"}
    assert set(negatives["confirmed_by"]) == {"handler"} and negatives["justified"].isna().all()
    g = negatives[negatives["case_id"] == outcomes["G"]]
    assert (g["labelled_at"] == pd.Timestamp("2026-11-12T10:00:00Z")).all()  # the latest dismissal


def test_prevented_open_and_reopened_cases_give_no_labels(service, outcomes):
    frame = feedback_examples(service.engine)
    assert not set(frame["case_id"]) & {outcomes["C"], outcomes["D"], outcomes["E"], outcomes["H"]}
    assert not set(frame["message_id"]) & {"m6", "m7", "m8", "m14"}


def test_a_complaint_received_before_any_customer_message_labels_no_receiving_message(service, clock):
    """A phone complaint: the case held no customer message when received, so a later "thanks for
    calling back" is not the complaint and does not carry the handler's severity."""
    agent = users(service)[Role.agent]
    clock.now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    case_id = service.intake(flag("conv-p", "elevated",
                                  (msg("p0", "we rang the customer about the charge", "conv-p", "agent"), None))).case_id
    walk(service, agent, case_id, ("receive", {"note": "the customer complained on the phone"}))
    clock.now = datetime(2026, 11, 20, 11, tzinfo=UTC)
    later = service.intake(flag("conv-p", "elevated", (msg("p1", "thanks for calling back", "conv-p"), 0.1),
                                (msg("p2", "but the charge is still wrong, useless", "conv-p"), 0.8)))
    assert later.case_id == case_id and later.added == ["p1", "p2"]
    close_justified(service, agent, case_id)

    frame = feedback_examples(service.engine)
    assert frame[["message_id", "rule", "severity"]].values.tolist() == [["p2", "scored_complaint", UNKNOWN_SEVERITY]]


def test_since_keeps_cases_closed_from_then_on(service, outcomes):
    frame = feedback_examples(service.engine, since=datetime(2026, 11, 5, tzinfo=UTC))
    assert "m5" not in set(frame["message_id"])  # case B closed on 3 Nov
    assert {"m2", "m3", "m9"} <= set(frame["message_id"])
    assert frame["labelled_at"].is_monotonic_increasing
    late = feedback_examples(service.engine, since=datetime(2026, 11, 12, 9, 30, tzinfo=UTC))
    assert set(late["message_id"]) == {"m11", "m12", "m13", "m16"}  # only G and I were settled (dismissed) that late
    with pytest.raises(ValueError, match="timezone"):
        feedback_examples(service.engine, since=datetime(2026, 11, 5))


def _rows(*rows: tuple[str, int, str, str]) -> pd.DataFrame:
    return feedback_frame([{"text": t, "label": y, "severity": -1 if y else 0, "source": src, "case_id": None,
                            "message_id": f"x{i}", "outcome": None, "justified": None, "rule": "annotated",
                            "confirmed_by": "annotator", "labelled_at": at}
                           for i, (t, y, src, at) in enumerate(rows)])


def test_dedupe_prefers_a_read_label_then_the_latest():
    frame = _rows(("Card lost", 1, "case_outcome", "2026-11-20T00:00:00Z"),
                  ("card  lost", 0, "active_learning", "2026-11-01T00:00:00Z"),
                  ("late refund", 1, "case_outcome", "2026-11-01T00:00:00Z"),
                  ("Late refund", 0, "case_outcome", "2026-11-09T00:00:00Z"))
    out = dedupe_feedback(frame)
    assert len(out) == 2
    assert out.set_index("message_id")["label"].to_dict() == {"x1": 0, "x3": 0}


def test_merge_overrides_training_labels_and_appends_new_texts():
    training = pd.DataFrame({"tweet_id": ["t1", "t2", "t3"], "text": ["My card is LOST", "nice app", "my card is lost"],
                             "label": [0, 0, 0], "domain": ["banking", "apps", "banking"], "severity": [0, 0, 0]})
    feedback = _rows(("my card is lost", 1, "active_learning", "2026-11-01T00:00:00Z"),
                     ("refund still missing", 1, "case_outcome", "2026-11-02T00:00:00Z"),
                     ("Refund still missing", 1, "case_outcome", "2026-11-03T00:00:00Z"))
    merged = merge_labels(training, feedback)

    assert len(merged) == 4
    for copy in ("t1", "t3"):  # every copy of a repeated training text takes the feedback label
        lost = merged[merged["tweet_id"] == copy].iloc[0]
        assert lost["label"] == 1 and lost["severity"] == -1 and lost["source"] == "active_learning"
    assert merged[merged["tweet_id"] == "t2"].iloc[0]["source"] == "training"
    added = merged.iloc[3]
    assert added["text"].lower() == "refund still missing" and added["domain"] == "feedback:case_outcome"
    assert merged.attrs == {"added": 1, "overridden": 2, "relabelled": 2, "feedback_duplicates": 1}
    assert merged["label"].tolist() == [1, 0, 1, 1]
    assert training["label"].tolist() == [0, 0, 0]  # the input is left alone


# --- retraining on a small real sample -------------------------------------------------------------


#: a smaller fast model (fewer hashed columns, 2 calibration folds) so a 3-fold run takes seconds, not minutes
SMALL = {"word_features": 2**14, "char_features": 2**14, "calibration_folds": 2}


@pytest.fixture(scope="module")
def small_split(complaint_tweets):
    """300 tweets to cross-validate on, and 120 others to play the feedback."""
    sample = complaint_tweets.groupby("label", group_keys=False).sample(n=210, random_state=11)
    sample = sample.sample(frac=1.0, random_state=12).reset_index(drop=True)
    return sample.iloc[:300].reset_index(drop=True), sample.iloc[300:].reset_index(drop=True)


def _as_feedback(tweets: pd.DataFrame, flip: bool = False) -> pd.DataFrame:
    return feedback_frame([{"text": r.text, "label": 1 - r.label if flip else r.label, "severity": -1,
                            "source": "active_learning", "case_id": None, "message_id": f"fb{i}", "outcome": None,
                            "justified": None, "rule": "annotated", "confirmed_by": "annotator",
                            "labelled_at": "2026-11-01T00:00:00Z"} for i, r in enumerate(tweets.itertuples())])


def test_retrain_reports_both_runs_on_the_same_folds(settings, small_split):
    train, others = small_split
    overlap = _as_feedback(train.iloc[:5])  # texts already in the training data: must stay out of the run
    feedback = pd.concat([_as_feedback(others, flip=True), overlap], ignore_index=True)
    seen = []
    result = retrain_with_feedback(settings, feedback, tweets=train, folds=3, params=SMALL, track=False,
                                   on_fold=lambda run, k: seen.append((run, k)))

    assert result["training_rows"] == 300 and result["feedback_rows"] == 120
    assert result["feedback_dropped"] == {"duplicates": 0, "overlap": 5}
    assert result["baseline"]["n"] == result["with_feedback"]["n"] == 300  # feedback never in a test fold
    assert seen == [("baseline", 0), ("baseline", 1), ("baseline", 2),
                    ("with_feedback", 0), ("with_feedback", 1), ("with_feedback", 2)]
    for name, change in result["delta"].items():
        assert change == pytest.approx(result["with_feedback"][name] - result["baseline"][name], abs=1e-3)
    # 120 deliberately wrong labels must hurt: the feedback really is trained on
    assert result["delta"]["complaint_macro_f1"] < -0.02
    assert result["delta"]["auroc"] < 0


def test_no_feedback_reproduces_the_baseline_exactly(settings, small_split):
    train, _ = small_split
    result = retrain_with_feedback(settings, feedback_frame([]), tweets=train.iloc[:240], folds=3, params=SMALL,
                                   track=False)
    assert result["feedback_rows"] == 0
    assert all(v == 0 for v in result["delta"].values())  # same folds, same models, same test rows
    assert result["baseline"]["pooled"] == result["with_feedback"]["pooled"]
    assert np.isfinite(result["baseline"]["auroc"])

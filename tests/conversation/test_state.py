"""The running conversation state: what each message moves, what it keeps, and that it is bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.conversation.state import WINDOW, ConversationState
from pipeline.conversation.store import ConversationStore
from pipeline.schema import Author, Cue, CueLabel, Message, MessageScore, Severity

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def message(i: int, author: Author = Author.customer, minutes: float = 0, conversation: str = "c1") -> Message:
    return Message(id=f"m{i}", text="text", conversation_id=conversation, author=author,
                   timestamp=T0 + timedelta(minutes=minutes))


def score(i: int, dissatisfaction: float, complaint: bool = False, cues: tuple[CueLabel, ...] = ()) -> MessageScore:
    return MessageScore(
        id=f"m{i}", complaint_probability=0.9 if complaint else 0.1, is_complaint=complaint, threshold=0.5,
        severity=Severity.disapproval if complaint else Severity.none, severity_probabilities={},
        dissatisfaction=dissatisfaction, model_version="test",
        cues=[Cue(label=c, start=0, end=4, text="text", weight=0.5, explanation="x") for c in cues],
    )


def test_customer_turns_raise_the_level_and_a_reply_answers_them():
    state = ConversationState("c1")
    state.update(message(1, minutes=0), score(1, 0.2))
    state.update(message(2, minutes=5), score(2, 0.6, cues=(CueLabel.waiting_time,)))
    assert state.customer_turns == 2 and state.unanswered == 2
    assert state.level == pytest.approx(0.4) and state.peak == 0.6 and state.trend() == pytest.approx(0.4)
    assert state.waiting_seconds(now=(T0 + timedelta(minutes=35)).timestamp()) == pytest.approx(35 * 60)
    state.update(message(3, Author.agent, minutes=40), None)
    assert state.unanswered == 0 and state.waiting_seconds(now=(T0 + timedelta(hours=2)).timestamp()) == 0
    assert [t.cues for t in state.recent] == [(), ("waiting_time",)]


def test_a_reply_after_which_the_customer_is_no_happier_counts_as_unresolved():
    state = ConversationState("c1")
    state.update(message(1), score(1, 0.5))
    state.update(message(2, Author.agent, minutes=1), None)
    state.update(message(3, minutes=2), score(3, 0.7))  # worse after the reply: unresolved
    state.update(message(4, Author.agent, minutes=3), None)
    state.update(message(5, minutes=4), score(5, 0.2))  # much better: resolved
    assert state.unresolved_replies == 1


def test_repeated_contact_comes_from_cues_and_from_returning_after_a_silence():
    state = ConversationState("c1")
    state.update(message(1), score(1, 0.3))
    state.update(message(2, minutes=5 * 60), score(2, 0.3))  # five hours later, still no reply
    state.update(message(3, minutes=5 * 60 + 1), score(3, 0.4, cues=(CueLabel.repeated_contact,)))
    assert state.repeat_contacts == 2


def test_complaints_are_counted_and_the_first_is_remembered():
    state = ConversationState("c1")
    state.update(message(1), score(1, 0.3))
    state.update(message(2, minutes=1), score(2, 0.8, complaint=True))
    state.update(message(3, minutes=2), score(3, 0.9, complaint=True))
    assert state.complaints == 2 and state.first_complaint_id == "m2"


def test_the_state_is_bounded_and_round_trips_through_json():
    state = ConversationState("c1")
    many = (CueLabel.waiting_time, CueLabel.churn_threat, CueLabel.profanity, CueLabel.sarcasm, CueLabel.intensity)
    for i in range(200):
        state.update(message(i, Author.agent if i % 3 == 0 else Author.customer, minutes=i), score(i, (i % 10) / 10, cues=many))
    assert len(state.recent) == WINDOW and all(len(t.cues) <= 4 for t in state.recent)
    encoded = json.dumps(state.to_dict(), separators=(",", ":"))
    assert len(encoded) < 2048
    again = ConversationState.from_dict(json.loads(encoded))
    assert again.to_dict() == state.to_dict() and again.trend() == pytest.approx(state.trend(), abs=1e-3)
    with pytest.raises(ValueError, match="not written by to_dict"):
        ConversationState.from_dict({"level": 0.3})


def test_the_store_expires_idle_conversations_in_stream_time_and_resumes_from_disk(tmp_path):
    store = ConversationStore(idle_seconds=3600)
    store.update(message(1, conversation="old"), score(1, 0.4))
    store.update(message(2, minutes=30, conversation="new"), score(2, 0.6))
    assert len(store) == 2
    store.update(message(3, minutes=90, conversation="new"), score(3, 0.7))  # "old" idle for 90 min: closed
    assert [s.conversation_id for s in store] == ["new"]
    path = store.save(tmp_path / "conversations.jsonl")
    resumed = ConversationStore.load(path)
    assert resumed.now == store.now and resumed.get("new").to_dict() == store.get("new").to_dict()
    resumed.update(message(4, minutes=95, conversation="new"), score(4, 0.8))
    assert resumed.get("new").customer_turns == 3
    with pytest.raises(ValueError, match="EARLYWARN_CONVERSATION_IDLE_HOURS"):
        ConversationStore(idle_seconds=0)


def test_the_real_fast_scorer_drives_the_state(fast_scorer):
    turns = [
        (Author.customer, "hi, my parcel was due yesterday, any update?"),
        (Author.agent, "Sorry to hear that, could you DM us the order number?"),
        (Author.customer, "I already sent it twice. Still nothing. This is ridiculous."),
        (Author.customer, "Third time asking. I want a refund or I'm going to the ombudsman."),
    ]
    messages = [Message(id=f"t{i}", text=text, author=a, conversation_id="real", timestamp=T0 + timedelta(minutes=10 * i))
                for i, (a, text) in enumerate(turns)]
    customer = [m for m in messages if m.author is Author.customer]
    scores = {s.id: s for s in fast_scorer.score(customer)}
    state = ConversationState("real")
    for m in messages:
        state.update(m, scores.get(m.id))
    assert state.trend() > 0 and state.unanswered == 2 and state.unresolved_replies == 1
    assert state.repeat_contacts >= 1 and state.peak == max(s.dissatisfaction for s in scores.values())


def test_the_peaks_remember_the_messages_that_set_them():
    state = ConversationState("c1")
    state.update(message(1, minutes=0), score(1, 0.7))
    state.update(message(2, Author.agent, minutes=1), None, trouble=1.5)
    state.update(message(3, minutes=2), score(3, 0.2))
    state.update(message(4, Author.agent, minutes=3), None, trouble=-0.5)
    assert (state.peak, state.peak_id) == (0.7, "m1")
    assert (state.agent_trouble, state.agent_trouble_peak, state.agent_trouble_peak_id) == (-0.5, 1.5, "m2")
    assert state.last_agent_id == "m4" and state.last_from_agent
    assert ConversationState.from_dict(state.to_dict()).agent_trouble_peak_id == "m2"

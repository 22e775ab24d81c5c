"""The early-warning forecaster: learned on real USS dialogues, read from the conversation state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipeline.conversation.forecast import FEATURE_NAMES, READINGS, Forecaster, ForecasterMeta, counted
from pipeline.conversation.state import ConversationState
from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Author, Message, MessageScore, RiskLevel, Severity
from pipeline.training.early_warning import cross_validate, replay

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _message(i: int, author: Author, text: str) -> Message:
    return Message(id=f"m{i}", text=text, conversation_id="c1", author=author, timestamp=T0 + timedelta(minutes=i))


def _score(i: int, dissatisfaction: float, complaint: bool = False) -> MessageScore:
    return MessageScore(id=f"m{i}", complaint_probability=0.9 if complaint else 0.1, is_complaint=complaint,
                        threshold=0.5, severity=Severity.none, severity_probabilities={},
                        dissatisfaction=dissatisfaction, model_version="test")


def _conversation(forecaster: Forecaster, turns: list[tuple[Author, str, float]]) -> ConversationState:
    state = ConversationState("c1")
    messages = [_message(i, who, text) for i, (who, text, _) in enumerate(turns)]
    for message, trouble, (who, _, d) in zip(messages, forecaster.trouble(messages), turns, strict=True):
        state.update(message, _score(int(message.id[1:]), d) if who is Author.customer else None, trouble)
    return state


def test_prefixes_stop_before_the_first_dissatisfied_turn(uss_corpus):
    corpus = uss_corpus
    prefixes = replay(corpus, np.zeros(len(corpus.messages)))
    first = corpus.first_dissatisfied[prefixes.dialogue]
    assert corpus.soured.sum() > 10, "the sample must hold dialogues that turn sour"
    assert np.all((first < 0) | (prefixes.position < first))
    assert np.all(prefixes.position < corpus.last_customer[prefixes.dialogue])
    assert prefixes.rows.shape == (len(prefixes.dialogue), len(FEATURE_NAMES))


def test_a_souring_conversation_outranks_a_calm_one_and_says_why(uss_forecaster):
    calm = _conversation(uss_forecaster, [
        (Author.customer, "I need a taxi to the station at 5pm please.", 0.05),
        (Author.agent, "Booked! A red Toyota will collect you at 5pm. Anything else?", 0.0),
    ])
    souring = _conversation(uss_forecaster, [
        (Author.customer, "I need a train from kings lynn to ely on sunday.", 0.1),
        (Author.agent, "I'm sorry, but there are no trains that travel between Kings Lynn and Ely.", 0.0),
        (Author.customer, "What? Then what am I supposed to do? I already asked you this twice.", 0.7),
        (Author.agent, "I'm sorry, I couldn't find anything matching that.", 0.0),
    ])
    low, high = uss_forecaster.assess(calm), uss_forecaster.assess(souring)
    assert high.probability > low.probability
    assert high.reasons and all(r.weight and r.weight > 0 for r in high.reasons)
    assert {r.message_id for r in high.reasons} <= {"m0", "m1", "m2", "m3"}
    assert high.model_version == "early-warning-test"


def test_a_complaint_sets_the_level_whatever_the_forecast(uss_forecaster):
    state = ConversationState("c1")
    state.update(_message(0, Author.customer, "This is a disgrace, refund me now"), _score(0, 0.9, complaint=True))
    risk = uss_forecaster.assess(state)
    assert risk.level is RiskLevel.complaint
    assert risk.reasons[0].signal == "complaint" and risk.reasons[0].message_id == "m0"


def test_a_complaint_reason_counts_its_messages_in_plain_english(uss_forecaster):
    state = ConversationState("c1")
    state.update(_message(0, Author.customer, "This is a disgrace, refund me now"), _score(0, 0.9, complaint=True))
    assert uss_forecaster.assess(state).reasons[0].detail == "1 customer message scored as a complaint"
    state.update(_message(1, Author.customer, "Still nothing. Refund me."), _score(1, 0.9, complaint=True))
    assert uss_forecaster.assess(state).reasons[0].detail == "2 customer messages scored as a complaint"


def test_reasons_say_counts_as_a_handler_would():
    assert [counted(n, "agent reply", "agent replies") for n in (1, 2)] == ["1 agent reply", "2 agent replies"]
    said = {r.name: r.say for r in READINGS}
    state = ConversationState("c1")
    state.update(_message(0, Author.customer, "Where is my parcel?"), _score(0, 0.3))
    assert said["length"](state) == "1 message and still open"
    assert said["unanswered"](state) == "1 customer message waiting for a reply"
    state.repeat_contacts = 1
    assert said["repeat_contacts"](state) == "the customer has chased once"
    state.repeat_contacts = 3
    assert said["repeat_contacts"](state) == "the customer has chased 3 times"


def test_levels_follow_the_thresholds():
    meta = ForecasterMeta(version="v", trained_at="", fast_version="f", elevated=0.3, high=0.6)
    assert [meta.level(p, 0) for p in (0.1, 0.3, 0.59, 0.6)] == [RiskLevel.low, RiskLevel.elevated,
                                                                  RiskLevel.elevated, RiskLevel.high]
    assert RiskLevel.high.rank > RiskLevel.elevated.rank > RiskLevel.low.rank


def test_the_artefact_round_trips_and_refuses_other_readings(uss_forecaster, tmp_path):
    folder = uss_forecaster.save(tmp_path / "early-warning")
    loaded = Forecaster.load(folder)
    rows = np.random.default_rng(0).normal(size=(5, len(FEATURE_NAMES)))
    assert np.allclose(loaded.probabilities(rows), uss_forecaster.probabilities(rows))
    text = (folder / "meta.json").read_text().replace('"level"', '"something_else"')
    (folder / "meta.json").write_text(text)
    with pytest.raises(ModelNotTrainedError, match="retrain"):
        Forecaster.load(folder)
    with pytest.raises(ModelNotTrainedError, match="earlywarn train --model early-warning"):
        Forecaster.load(tmp_path / "missing")


def test_cross_validation_gives_every_prefix_an_out_of_fold_probability(uss_corpus):
    cv = cross_validate(uss_corpus, folds=3, seed=1)
    assert len(cv.forecaster) == len(cv.prefixes.dialogue)
    assert np.all((cv.forecaster > 0) & (cv.forecaster < 1))
    for train, test in cv.folds:
        assert not set(train) & set(test)

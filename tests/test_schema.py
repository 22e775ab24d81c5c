from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from pipeline.schema import Channel, Cue, CueLabel, Message, MessageScore, Severity


def test_message_keeps_unknown_fields_in_metadata():
    message = Message.from_record({"id": "m1", "text": "hello", "channel": "chat", "reach": 10, "lang": "en"})
    assert message.channel is Channel.chat
    assert message.metadata == {"reach": 10, "lang": "en"}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": "m1", "text": "  "}, "text"),
        ({"id": "", "text": "hi"}, "id"),
        ({"id": "m1", "text": "hi", "channel": "fax"}, "channel"),
        ({"id": "m1", "text": "hi", "timestamp": "2026-01-01T09:00:00"}, "timestamp"),
    ],
)
def test_bad_messages_name_the_field(record, field):
    with pytest.raises(ValidationError) as caught:
        Message.from_record(record)
    assert caught.value.errors()[0]["loc"][0] == field


def test_aware_timestamps_are_accepted():
    message = Message(id="m", text="hi", timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert message.timestamp.tzinfo is not None


def test_score_output_names_severity_and_serialises_cues():
    cue = Cue(label=CueLabel.churn_threat, start=0, end=6, text="cancel", weight=0.8, explanation="threatens to leave")
    score = MessageScore(
        id="m", complaint_probability=0.8, is_complaint=True, threshold=0.5, severity=Severity.blame,
        severity_probabilities={s.name: 0.2 for s in Severity}, dissatisfaction=0.9, cues=[cue], model_version="v",
    )
    out = score.to_output()
    assert out["severity"] == "blame"
    assert out["cues"][0] == {"label": "churn_threat", "start": 0, "end": 6, "text": "cancel", "weight": 0.8,
                              "explanation": "threatens to leave"}

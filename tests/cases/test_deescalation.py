"""De-escalation suggestions: one per cue the customer's messages carried, with the words that triggered it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipeline.cases.deescalation import load_suggestions, suggestions
from pipeline.errors import ConfigError
from pipeline.schema import CueLabel

CUES = ("escalation_demand", "repeated_contact", "broken_promise", "waiting_time", "churn_threat",
        "public_amplification", "regulator_mention")


def message(message_id: str, *labels: str, author: str = "customer") -> SimpleNamespace:
    cues = [{"label": label, "text": f"words for {label}"} for label in labels]
    return SimpleNamespace(message_id=message_id, author=author, score={"cues": cues})


def test_every_cue_named_by_the_standard_has_advice_and_it_appears_with_its_trigger():
    table = load_suggestions()
    assert set(CUES) | {"vulnerability"} <= set(table)
    assert set(CUES) <= {c.value for c in CueLabel}, "the advice is keyed by real cue labels"
    shown = suggestions([message("m1", *CUES[:4]), message("m2", *CUES[4:])], table)
    assert [s.cue for s in shown] == list(CUES)
    assert {s.cue: s.message_id for s in shown}["churn_threat"] == "m2"
    assert all(s.trigger == f"words for {s.cue}" and s.suggestion == table[s.cue] for s in shown)
    assert "private channel" in table["public_amplification"] and "clocks" in table["regulator_mention"]


def test_the_latest_message_with_a_cue_is_the_trigger_and_agent_turns_are_ignored():
    table = load_suggestions()
    shown = suggestions([message("m1", "waiting_time"), message("a1", "repeated_contact", author="agent"),
                         message("m3", "waiting_time")], table)
    assert [(s.cue, s.message_id) for s in shown] == [("waiting_time", "m3")]
    assert suggestions([message("m1", "profanity")], table) == []  # no advice configured for it: nothing shown


def test_a_broken_table_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "advice.yaml"
    path.write_text("waiting_time: [not, a, sentence]\n")
    with pytest.raises(ConfigError, match="cue_label: one line of advice"):
        load_suggestions(path)

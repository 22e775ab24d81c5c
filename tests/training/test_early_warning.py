"""Dialogue-level early-warning measures, and the lead-time replay of real threads."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.training.early_warning import Corpus, Prefixes, dialogue_measures, first_alarms, threshold_for_false_alarms
from pipeline.training.lead_time import lead_time


def _corpus(first_dissatisfied: list[int]) -> Corpus:
    n = len(first_dissatisfied)
    return Corpus(messages=[], scores=[], dialogue=np.array([]), position=np.array([]), next_dissatisfied=np.array([]),
                  first_dissatisfied=np.array(first_dissatisfied), last_customer=np.full(n, 9), corpus=["X"] * n)


def _prefixes(rows: list[tuple[int, int]]) -> Prefixes:
    d = np.array([r[0] for r in rows])
    return Prefixes(rows=np.zeros((len(rows), 1)), dialogue=d, position=np.array([r[1] for r in rows]),
                    last_score=np.zeros(len(rows)), mean_score=np.zeros(len(rows)))


def test_alarms_horizon_and_false_alarms_are_counted_per_dialogue():
    # dialogue 0 sours at turn 6, alarms at turn 2 (horizon 4); dialogue 1 sours at 4, never alarms;
    # dialogues 2 and 3 stay calm, 2 alarms once (a false alarm)
    corpus = _corpus([6, 4, -1, -1])
    p = _prefixes([(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0)])
    prob = np.array([0.1, 0.2, 0.8, 0.9, 0.1, 0.1, 0.7, 0.1, 0.2])
    assert first_alarms(prob, p, np.arange(4), 0.5) == {0: 2, 2: 0}
    measures = dialogue_measures(prob, p, corpus, np.arange(4), 0.5)
    assert measures["horizon_median_turns"] == 4 and measures["recall"] == 0.5
    assert measures["false_alarm_rate"] == 0.5 and measures["f1"] == pytest.approx(0.5)
    # at most half the calm dialogues may alarm: the threshold sits at the calm dialogues' median peak
    assert threshold_for_false_alarms(prob, p, corpus, 0.5) == pytest.approx(np.quantile([0.7, 0.2], 0.5))


def test_lead_time_replays_real_threads_and_counts_consistently(settings, fast_scorer, uss_forecaster):
    result = lead_time(settings, fast_scorer, uss_forecaster, limit=600)
    assert result["messages"] == 600 and result["threads"] > 10
    assert 0 <= result["warned_before_the_complaint"] <= result["complaint_after_the_first_message"] \
        <= result["threads_with_a_complaint"] <= result["threads"]
    if result["warned_before_the_complaint"]:
        assert result["lead_messages_median"] >= 1

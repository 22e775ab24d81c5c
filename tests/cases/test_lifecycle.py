"""The transition table: complete, reachable, and refusals that name the stage and the moves left."""

from __future__ import annotations

import pytest

from pipeline.cases.lifecycle import TERMINAL, TRANSITIONS, Action, Stage, allowed_actions, find_transition
from pipeline.errors import IllegalTransitionError


def reachable(start: Stage) -> set[Stage]:
    seen, frontier = {start}, [start]
    while frontier:
        stage = frontier.pop()
        for t in TRANSITIONS:
            if t.source == stage and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    return seen


def test_every_stage_is_reachable_from_an_early_warning():
    assert reachable(Stage.flagged) == set(Stage)


def test_every_open_stage_can_reach_closure_or_prevention():
    for stage in Stage:
        if stage.is_open:
            assert reachable(stage) & TERMINAL, stage


def test_finished_cases_only_reopen():
    for stage in TERMINAL:
        assert allowed_actions(stage) == [Action.reopen]
        assert "reason" in find_transition(stage, Action.reopen).requires


def test_each_stage_action_pair_is_defined_once():
    keys = [(t.source, t.action) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_the_lifecycle_follows_the_standard_in_order():
    path = [Action.receive, Action.acknowledge, Action.confirm_details, Action.investigate, Action.record_findings,
            Action.assess_options, Action.offer_solution, Action.reject, Action.negotiate, Action.agree,
            Action.implement, Action.check_satisfaction, Action.close]
    stage = Stage.flagged
    for action in path:
        stage = find_transition(stage, action).target
    assert stage is Stage.closed


def test_an_illegal_move_names_the_current_stage_and_the_allowed_moves():
    with pytest.raises(IllegalTransitionError) as info:
        find_transition(Stage.received, Action.agree)
    message = str(info.value)
    assert "'received'" in message and "acknowledge" in message
    assert info.value.allowed == ["acknowledge", "close"]  # close: on a summary resolution (DISP 1.5)


def test_a_deadlocked_complaint_has_a_way_to_close():
    for stage in (Stage.rejected, Stage.negotiating):
        assert find_transition(stage, Action.close).target is Stage.closed
        assert {"root_cause", "note"} <= set(find_transition(stage, Action.close).requires)


@pytest.mark.parametrize(("action", "field"), [(Action.record_findings, "evidence"), (Action.close, "root_cause"),
                                               (Action.reject, "note"), (Action.prevent, "note")])
def test_actions_that_need_a_record_say_so(action, field):
    assert any(field in t.requires for t in TRANSITIONS if t.action == action)


def test_a_handlers_severity_names_a_complaint_level_of_the_scorers_scale():
    from pipeline.cases.lifecycle import FindingSeverity
    from pipeline.schema import Severity

    # feedback labels map one onto the other by name (pipeline.training.feedback)
    assert [s.value for s in FindingSeverity] == [s.name for s in Severity if s is not Severity.none]

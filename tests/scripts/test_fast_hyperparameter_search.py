"""The fast model's hyperparameter search: the coordinate search keeps what the objective says is better, never trades
the ECE target away, runs each setting once, and scores a setting by the protocol's own figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.config import PROJECT_ROOT, Settings
from pipeline.scoring.fast_model import FastComplaintModel
from pipeline.signals import cue_feature_names
from pipeline.training.evaluation import cross_validate_fast
from pipeline.training.params import load_params
from tests.scripts.script_loader import load_script

SMALL = {"calibration_folds": 3, "word_features": 2**12, "char_features": 2**12}  # small hashed spaces: quick fits


@pytest.fixture(scope="module")
def search():
    return load_script("fast_hyperparameter_search")


def scored_by(search, table: dict[tuple, tuple[float, float]], calls: list[dict]):
    """An evaluation read from a table of (objective half, ECE) keyed by (a, b): a landscape with a known answer."""

    def evaluate(params: dict) -> object:
        calls.append(dict(params))
        half, ece = table[(params["a"], params["b"])]
        return search.Trial(params=params, complaint_macro_f1=half, severity_macro_f1=half, auroc=0.9, ece=ece)

    return evaluate


def landscape(best: tuple[int, int], bad_ece: set[tuple[int, int]] = frozenset()) -> dict:
    """Objective falls with the grid distance from `best`; settings in `bad_ece` miss the ECE target."""
    return {(a, b): (0.8 - 0.01 * (abs(a - best[0]) + abs(b - best[1])), 0.05 if (a, b) in bad_ece else 0.02)
            for a in range(4) for b in range(4)}


SPACE = {"a": [0, 1, 2, 3], "b": [0, 1, 2, 3]}


def test_the_search_walks_each_coordinate_to_its_best_value_and_runs_each_setting_once(search) -> None:
    calls: list[dict] = []
    best, trials = search.coordinate_search({"a": 0, "b": 0}, SPACE, scored_by(search, landscape((2, 3)), calls))
    assert best.params == {"a": 2, "b": 3}
    assert trials[0].params == {"a": 0, "b": 0}  # the starting point is the first trial, for the confirmation
    assert len(calls) == len({tuple(sorted(c.items())) for c in calls}) == len(trials) == 7


def test_a_second_pass_finds_what_a_move_in_the_first_opened_up(search) -> None:
    # a ridge: from (0, 0) the first pass sees no better a, moves b to 3, and only then is a = 3 worth taking
    table = {(a, b): (0.30, 0.02) for a in range(4) for b in range(4)}
    table |= {(0, 0): (0.50, 0.02), (0, 3): (0.60, 0.02), (3, 3): (0.70, 0.02), (3, 0): (0.40, 0.02)}
    once, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE, scored_by(search, table, []), passes=1)
    twice, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE, scored_by(search, table, []), passes=2)
    assert (once.params, twice.params) == ({"a": 0, "b": 3}, {"a": 3, "b": 3})


def test_each_coordinate_takes_its_grids_best_value_whatever_the_grid_order(search) -> None:
    # both 1 and 3 pass the minimum gain over 0; 3 is best though it is only 0.001 above 1
    table = {(a, b): (0.50 - 0.01 * b, 0.02) for a in range(4) for b in range(4)}
    table |= {(1, 0): (0.5010, 0.02), (3, 0): (0.5015, 0.02)}
    best, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE, scored_by(search, table, []), min_gain=0.002)
    assert best.params == {"a": 3, "b": 0}
    reversed_grid = {"a": [3, 2, 1, 0], "b": [0, 1, 2, 3]}
    best, _ = search.coordinate_search({"a": 0, "b": 0}, reversed_grid, scored_by(search, table, []), min_gain=0.002)
    assert best.params == {"a": 3, "b": 0}


def test_a_gain_of_exactly_the_minimum_is_kept_despite_float_rounding(search) -> None:
    # fold means are rounded to 4 places: (0.822 + 0.4014) - (0.820 + 0.4014) is 0.00199999... in floats
    table = {(a, b): (0.0, 0.02) for a in range(4) for b in range(4)}
    table |= {(0, 0): (0.820, 0.02), (1, 0): (0.822, 0.02)}

    def evaluate(params: dict) -> object:
        complaint, ece = table[(params["a"], params["b"])]
        return search.Trial(params=params, complaint_macro_f1=complaint, severity_macro_f1=0.4014, auroc=0.9, ece=ece)

    best, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE, evaluate, min_gain=0.002)
    assert best.params == {"a": 1, "b": 0}


def test_a_gain_below_the_minimum_keeps_the_current_value(search) -> None:
    table = landscape((1, 0)) | {(0, 0): (0.7995, 0.02)}  # (1, 0) is better by only 0.001 in the objective
    best, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE, scored_by(search, table, []), min_gain=0.002)
    assert best.params == {"a": 0, "b": 0}
    best, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE, scored_by(search, table, []), min_gain=0.0)
    assert best.params == {"a": 1, "b": 0}


def test_a_setting_that_misses_the_ece_target_is_never_chosen_over_one_that_meets_it(search) -> None:
    best, _ = search.coordinate_search({"a": 0, "b": 0}, SPACE,
                                       scored_by(search, landscape((2, 3), bad_ece={(2, 3), (2, 2)}), []))
    assert best.params == {"a": 2, "b": 1}  # the best setting that meets the target
    peak_misses = landscape((2, 3), bad_ece={(2, 3)})
    start, _ = peak_misses[(2, 3)]
    best, _ = search.coordinate_search({"a": 2, "b": 3}, SPACE, scored_by(search, peak_misses, []))
    assert best.admissible and best.objective < 2 * start  # leaving an inadmissible start is a move up, at a cost


def test_served_params_are_params_yaml_over_the_model_defaults(search) -> None:
    served = search.served_params({"C": 2.5})
    defaults = FastComplaintModel().get_params()
    assert served["C"] == 2.5
    assert {k: v for k, v in served.items() if k != "C"} == {k: defaults[k] for k in search.SPACE if k != "C"}


def test_every_grid_holds_the_value_params_yaml_serves(search) -> None:
    served = search.served_params(load_params(PROJECT_ROOT / "params.yaml").fast.overrides())
    assert all(served[name] in grid for name, grid in search.SPACE.items())  # pydantic's tuples meet the grid's


def test_a_setting_is_scored_by_the_protocols_own_figures(search, training_sample, cue_extractor) -> None:
    tweets: pd.DataFrame = training_sample.groupby("severity", group_keys=False).sample(
        frac=0.5, random_state=5).reset_index(drop=True)
    cues = np.asarray(cue_extractor.featurize(tweets["text"].tolist()))
    folded: list[int] = []
    trial = search.cross_validated(tweets, cues, 3, 29, lambda: folded.append(1))({**SMALL, "C": 3.0})
    summary, _ = cross_validate_fast(tweets, cues, cue_feature_names(), folds=3, seed=29, params={**SMALL, "C": 3.0})
    assert len(folded) == 3
    assert (trial.complaint_macro_f1, trial.severity_macro_f1, trial.auroc) == (
        summary["complaint_macro_f1"], summary["severity_macro_f1"], summary["auroc"])
    assert trial.ece == summary["pooled"]["ece"]  # pooled, as the ECE target is read
    other = search.cross_validated(tweets, cues, 3, 29)({**SMALL, "C": 0.01})
    assert other.complaint_macro_f1 != trial.complaint_macro_f1  # C reaches the model


def test_the_protocols_seed_is_refused_for_the_search(search, capsys) -> None:
    with pytest.raises(SystemExit):
        search.main(["--search-seed", str(Settings().seed)])
    assert "protocol's own seed" in capsys.readouterr().err

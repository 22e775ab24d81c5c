"""Drift detection on real tweets scored by the real fast model: PSI and rate checks by hand, a sample
of the same tweets stays ok, altered texts and another domain alert, and the reference beside the model."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact, norm

from pipeline.schema import Message
from pipeline.scoring.registry import ScorerName
from pipeline.training import drift
from pipeline.training.drift import (
    Profile,
    build_reference,
    check_drift,
    cohen_h,
    compare,
    drift_from_replay,
    homogeneity_p,
    load_latest_report,
    load_profile,
    load_reference,
    profile,
    psi,
    reference_profile_path,
    save_profile,
)


# --- the measures, by hand --------------------------------------------------------------------------

def test_psi_is_zero_for_identical_bins_and_matches_a_hand_computation():
    assert psi([0.1] * 10, [0.1] * 10) == pytest.approx(0.0, abs=1e-12)
    # (0.9 - 0.5) ln(0.9 / 0.5) + (0.1 - 0.5) ln(0.1 / 0.5) = 0.4 ln 1.8 + 0.4 ln 5 = 0.8789
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * math.log(1.8) + 0.4 * math.log(5), rel=1e-9)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.8789, abs=1e-4)
    assert psi([50, 50], [90, 10]) == pytest.approx(psi([0.5, 0.5], [0.9, 0.1]))  # counts are normalised
    # 0.1 ln 1.2 + 0.1 ln 1.25 = 0.041 (stable); 0.25 ln 1.5 + 0.25 ln 2 = 0.275 (significant)
    assert psi([0.5, 0.5], [0.6, 0.4]) == pytest.approx(0.1 * math.log(1.2) + 0.1 * math.log(1.25), rel=1e-9)
    assert psi([0.5, 0.5], [0.6, 0.4]) < 0.1 < 0.2 < psi([0.5, 0.5], [0.75, 0.25])


def test_an_empty_bin_costs_a_large_but_finite_term():
    # the empty bin is floored at 1e-4: (0.1 - 1e-4) ln(0.1 / 1e-4) + (0.4 - 0.5) ln(0.4 / 0.5)
    expected = (0.1 - 1e-4) * math.log(0.1 / 1e-4) + (0.4 - 0.5) * math.log(0.4 / 0.5)
    assert psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1]) == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match="matching"):
        psi([0.5, 0.5], [0.3, 0.3, 0.4])


def test_rates_use_cohens_h_and_the_two_proportion_z_test():
    assert cohen_h(0.3, 0.3) == 0.0
    assert cohen_h(0.24, 1.0) == pytest.approx(math.pi - 2 * math.asin(math.sqrt(0.24)))
    # the 2x2 chi-square without continuity correction is the pooled two-proportion z-test
    k1, n1, k2, n2 = 120, 500, 150, 400
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert homogeneity_p([k1, n1 - k1], [k2, n2 - k2]) == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    assert homogeneity_p([0, 500], [0, 400]) == 1.0  # nothing to test
    # 1 of 15 live against 11 of 2759: too few expected for chi-square (which gives p ~ 1e-6); the
    # simulated exact conditional test agrees with Fisher's exact test instead
    assert homogeneity_p([11, 2748], [1, 14]) == pytest.approx(fisher_exact([[11, 2748], [1, 14]]).pvalue, abs=0.01)


# --- profiles of real tweets scored by the real fast model -------------------------------------------

@pytest.fixture(scope="module")
def held_out(complaint_tweets: pd.DataFrame, training_sample: pd.DataFrame) -> pd.DataFrame:
    """Complaint tweets the session's fast model was not trained on, shuffled."""
    rest = complaint_tweets[~complaint_tweets["tweet_id"].isin(training_sample["tweet_id"])]
    return rest.sample(frac=1.0, random_state=11).reset_index(drop=True)


def _scored(scorer, texts: list[str]):
    messages = [Message(id=f"m{i}", text=t) for i, t in enumerate(texts)]
    return texts, scorer.score(messages)


@pytest.fixture(scope="module")
def reference(held_out: pd.DataFrame, fast_scorer) -> Profile:
    return profile(*_scored(fast_scorer, held_out["text"][:500].tolist()), source="500 held-out tweets")


@pytest.fixture(scope="module")
def live_texts(held_out: pd.DataFrame) -> list[str]:
    return held_out["text"][500:900].tolist()  # disjoint from the reference's rows


def test_a_profile_holds_every_feature_as_proportions(reference: Profile, fast_scorer):
    assert reference.n == 500 and reference.model_version == fast_scorer.version
    for name, dist in reference.distributions.items():
        assert sum(dist.proportions) == pytest.approx(1.0, abs=1e-5), name
        assert len(dist.labels) == len(dist.proportions)
    assert reference.distributions["complaint_probability"].cuts == pytest.approx([i / 10 for i in range(1, 10)])
    assert reference.distributions["severity"].labels[0] == "none"
    assert {f"cue_{label}" for label in ("churn_threat", "regulator_mention", "sarcasm")} <= set(reference.rates)
    # the descriptors are cut at the reference's own deciles: about a tenth of it in each length bin
    assert max(reference.distributions["length_chars"].proportions) < 0.16
    assert 0.6 < reference.rates["has_mention"].rate < 0.95  # tweets to a brand's support handle


def test_a_sample_of_the_same_tweets_is_ok(reference: Profile, live_texts: list[str], fast_scorer):
    live = profile(*_scored(fast_scorer, live_texts), reference=reference)
    report = compare(reference, live)
    assert report.status == "ok", report.alerts + report.warnings
    assert report.alerts == [] and all(f.psi < 0.1 for f in report.features)
    assert report.summary.startswith("ok") and report.live_n == 400 and report.reference_n == 500


def test_shouting_texts_full_of_links_alert_on_those_descriptors(reference: Profile, live_texts, fast_scorer):
    altered = [f"{t.upper()} https://t.co/Ab12Cd see www.example.com/offer" for t in live_texts]
    report = compare(reference, profile(*_scored(fast_scorer, altered), reference=reference))
    assert report.status == "alert"
    by_name = {f.name: f for f in report.features}
    assert by_name["has_url"].status == "alert" and by_name["has_url"].live == 1.0
    assert by_name["upper_case_share"].status == "alert" and by_name["upper_case_share"].psi > 1.0
    assert by_name["length_chars"].status == "alert"
    url_alert = next(a for a in report.alerts if a.startswith("has_url"))
    assert "100.0% live" in url_alert and "Cohen's h" in url_alert
    assert any(a.startswith("upper_case_share") and "PSI" in a for a in report.alerts)


def test_reddit_comments_alert_on_mentions_and_links(settings, reference: Profile, fast_scorer):
    from pipeline.datasets.goemotions import load_goemotions

    comments = load_goemotions("dev", settings.data_dir).sample(400, random_state=3)["text"].tolist()
    report = compare(reference, profile(*_scored(fast_scorer, comments), reference=reference))
    assert report.status == "alert"
    mention = next(f for f in report.features if f.name == "has_mention")
    assert mention.status == "alert" and mention.live == 0.0 and mention.cohen_h < -1.0
    assert any(a.startswith("has_mention") and "0.0% live" in a for a in report.alerts)
    assert "has_mention" in report.summary


def test_a_handful_of_messages_is_too_few_to_alert(reference: Profile, live_texts, fast_scorer):
    live = profile(*_scored(fast_scorer, live_texts[:15]), reference=reference)
    report = compare(reference, live)
    assert max(f.psi for f in report.features) > 0.2  # sampling noise alone moves PSI this far...
    assert report.status == "ok"  # ...and the significance gate keeps it from alerting


def test_live_is_binned_on_the_reference_edges(reference: Profile, live_texts, fast_scorer):
    texts, scores = _scored(fast_scorer, live_texts)
    live = profile(texts, scores, reference=reference)
    for name, dist in reference.distributions.items():
        assert live.distributions[name].cuts == dist.cuts and live.distributions[name].labels == dist.labels
    cuts = reference.distributions["length_chars"].cuts
    counts = np.bincount(np.searchsorted(cuts, [len(t) for t in texts], side="right"), minlength=len(cuts) + 1)
    assert live.distributions["length_chars"].proportions == pytest.approx(counts / len(texts), abs=1e-6)
    own = profile(texts, scores)  # binned on its own deciles: not comparable
    assert own.distributions["length_chars"].cuts != cuts
    with pytest.raises(ValueError, match="reference=reference"):
        compare(reference, own)


def test_a_profile_round_trips_through_json(reference: Profile, tmp_path):
    text = reference.to_json()
    assert len(text.encode()) < 8_000
    assert Profile.from_json(text) == reference
    assert load_profile(save_profile(reference, tmp_path / "p.json")) == reference
    with pytest.raises(Exception):  # frozen
        reference.n = 3  # type: ignore[misc]


# --- the reference beside the model ------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_model(training_sample: pd.DataFrame, cue_extractor):
    """A fast model with small hashing spaces trained on 400 real tweets: out-of-fold refits in seconds."""
    from pipeline.scoring.fast import FastScorer

    rows = training_sample.sample(400, random_state=5)
    model = FastScorer.train(rows["text"].tolist(), rows["label"].tolist(), rows["severity"].tolist(),
                             extractor=cue_extractor, word_features=2**12, char_features=2**12, calibration_folds=2)
    return model, rows


@pytest.fixture(scope="module")
def model_settings(settings, tmp_path_factory):
    return settings.model_copy(update={"models_dir": tmp_path_factory.mktemp("drift-models")})


@pytest.fixture(scope="module")
def built(model_settings, small_model) -> Profile:
    model, rows = small_model
    return build_reference(model_settings, model, rows["text"].tolist(), rows["label"].tolist(),
                           rows["severity"].tolist())


def test_the_reference_is_scored_out_of_fold_and_saved_beside_the_model(model_settings, small_model, built,
                                                                         held_out, tmp_path):
    model, rows = small_model
    path = reference_profile_path(model_settings, model)
    assert path == model_settings.models_dir / "fast" / "drift_reference.json" and path.is_file()
    assert built.score_basis == "out_of_fold" and built.model_version == model.version and built.n == 400
    assert load_reference(model_settings, model) == built
    in_sample = build_reference(model_settings, model, rows["text"].tolist(), path=tmp_path / "in.json")
    assert in_sample.score_basis == "in_sample"
    # new tweets of the same kind: the model is far surer of the tweets it was trained on
    live = [t for t in held_out["text"].tolist() if t not in set(rows["text"])][:400]
    texts, scores = _scored(model, live)
    oof_report = compare(built, profile(texts, scores, reference=built))
    in_report = compare(in_sample, profile(texts, scores, reference=in_sample))
    oof_psi = next(f.psi for f in oof_report.features if f.name == "complaint_probability")
    in_psi = next(f.psi for f in in_report.features if f.name == "complaint_probability")
    assert oof_psi < 0.2 < 1.0 < in_psi and in_psi > 5 * oof_psi
    assert any("in sample" in w for w in in_report.warnings)


def test_the_reference_path_follows_the_model(model_settings, tmp_path):
    fast_dir = model_settings.models_dir / "fast"
    assert reference_profile_path(model_settings, ScorerName.fast) == fast_dir / "drift_reference.json"
    assert reference_profile_path(model_settings, "fast-20261129051456-03989c44").parent == fast_dir
    assert reference_profile_path(model_settings, tmp_path) == tmp_path / "drift_reference.json"
    with pytest.raises(ValueError, match="cannot tell"):
        reference_profile_path(model_settings, "mystery-model")


def test_check_drift_reuses_the_reference_and_rebuilds_a_stale_one(model_settings, small_model, built, held_out,
                                                                   monkeypatch, tmp_path):
    model, _ = small_model
    messages = [Message(id=f"l{i}", text=t) for i, t in enumerate(held_out["text"][:200])]

    def must_not_build(*args, **kwargs):
        raise AssertionError("the saved reference should have been used")

    monkeypatch.setattr(drift, "build_reference", must_not_build)
    report = check_drift(model_settings, model, messages)
    assert report.live_n == 200 and report.reference_n == 400 and report.reference_version == model.version

    elsewhere = model_settings.model_copy(update={"models_dir": tmp_path})
    save_profile(built.model_copy(update={"model_version": "fast-older"}), reference_profile_path(elsewhere, model))
    assert load_reference(elsewhere, model) is None  # another model version's reference is not used
    rebuilt: list[bool] = []
    monkeypatch.setattr(drift, "build_reference", lambda *a, **k: rebuilt.append(True) or built)
    check_drift(elsewhere, model, messages)
    assert rebuilt == [True]


def test_drift_from_replay_reports_the_replayed_stream(model_settings, small_model, built):
    model, _ = small_model
    result = drift_from_replay(model_settings, model, limit=300)
    assert json.loads(json.dumps(result)) == result  # JSON-ready
    assert result["live"]["n"] == 300 and result["reference"]["built_now"] is False  # type: ignore[index]
    assert result["status"] in ("ok", "warn", "alert")
    features = result["features"]
    assert len(features) == len(built.distributions) + len(built.rates)  # type: ignore[arg-type]
    assert {"name", "kind", "psi", "status", "sentence"} <= set(features[0])  # type: ignore[index]
    assert set(result["seconds"]) == {"reference", "read", "score", "total"}  # type: ignore[arg-type]
    assert load_latest_report(model_settings, model) == result

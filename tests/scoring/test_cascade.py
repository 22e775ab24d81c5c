"""The cascade on a real fast model and a real (briefly tuned) deep model: who decides which message."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pytest

from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Author, Channel, Message
from pipeline.scoring import Scorer
from pipeline.scoring.base import StagedScorer, begin_scoring
from pipeline.scoring.cascade import Band, CascadeMeta, CascadeScorer
from pipeline.scoring.deep import DeepScorer

TEXTS = [
    "Third time asking!!! Where is my refund? I want a manager.",
    "what time do you open on sunday",
    "my train is late again, 40 minutes and no announcement",
    "thanks, that sorted it",
]


@pytest.fixture(scope="module")
def deep(deep_artefacts, cue_extractor):
    return DeepScorer.load(deep_artefacts / "int8", extractor=cue_extractor)


def _cascade(fast_scorer, deep, band: Band, tmp_path) -> CascadeScorer:
    meta = CascadeMeta(version="cascade-test", band=band, fast_version=fast_scorer.version,
                       deep_version=deep.version, rescored_share=0.0, chosen_on="test")
    return CascadeScorer.load(CascadeScorer.save(tmp_path / "cascade", meta), fast_scorer, deep)


def test_an_empty_band_leaves_every_message_to_the_fast_model(fast_scorer, deep, tmp_path):
    cascade = _cascade(fast_scorer, deep, Band(0.0, 0.0), tmp_path)
    assert isinstance(cascade, Scorer) and cascade.score([]) == []
    ids = [str(i) for i in range(len(TEXTS))]
    got, want = cascade.score_texts(ids, TEXTS), fast_scorer.score_texts(ids, TEXTS)
    assert [g.complaint_probability for g in got] == pytest.approx([w.complaint_probability for w in want])
    assert {g.model_version for g in got} == {f"cascade-test/{fast_scorer.version}"}
    assert [g.cues for g in got] == [w.cues for w in want]


def test_a_full_band_sends_every_message_to_the_deep_model(fast_scorer, deep, tmp_path):
    cascade = _cascade(fast_scorer, deep, Band(0.0, 1.000001), tmp_path)
    got = cascade.score_texts([str(i) for i in range(len(TEXTS))], TEXTS)
    assert [g.complaint_probability for g in got] == pytest.approx(list(deep.predict(TEXTS).complaint), abs=1e-6)
    assert {g.threshold for g in got} == {deep.threshold}
    assert {g.model_version for g in got} == {"cascade-test/deep-test"}


def test_only_the_uncertain_band_is_rescored(fast_scorer, deep, tmp_path):
    p_fast = fast_scorer.predict_analysed(TEXTS, fast_scorer.extractor.extract_with_sentiment(TEXTS)).complaint
    middle = float(np.median(p_fast))
    band = Band(middle, 1.000001)
    prediction, rescored, _, _ = _cascade(fast_scorer, deep, band, tmp_path).predict_texts(TEXTS)
    assert list(rescored) == list(p_fast >= middle) and 0 < rescored.sum() < len(TEXTS)
    assert np.allclose(prediction.complaint[~rescored], p_fast[~rescored])


def test_a_band_chosen_for_other_models_is_refused(fast_scorer, deep, tmp_path):
    meta = CascadeMeta(version="cascade-old", band=Band(0.3, 0.7), fast_version="fast-older",
                       deep_version=deep.version, rescored_share=0.1, chosen_on="test")
    with pytest.raises(ModelNotTrainedError, match="stale.*fast-older"):
        CascadeScorer.load(CascadeScorer.save(tmp_path / "old", meta), fast_scorer, deep)


def _messages() -> list[Message]:
    return [Message(id=f"m{i}", channel=Channel.chat, conversation_id=f"c{i}", customer_id="u1", author=Author.customer,
                    timestamp=datetime(2026, 11, 29, 9, i, tzinfo=UTC), text=text) for i, text in enumerate(TEXTS)]


def test_staged_scoring_defers_only_the_deep_rescoring_and_gives_the_same_scores(fast_scorer, deep, tmp_path,
                                                                                  monkeypatch):
    cascade = _cascade(fast_scorer, deep, Band(0.0, 1.000001), tmp_path)
    assert isinstance(cascade, StagedScorer) and not isinstance(fast_scorer, StagedScorer)
    where: dict[str, list[str]] = {"fast": [], "deep": []}

    def watched(stage: str, method):
        def call(*args, **kwargs):
            where[stage].append(threading.current_thread().name)
            return method(*args, **kwargs)
        return call

    # the real models, watched for the thread each stage runs on
    monkeypatch.setattr(deep, "predict", watched("deep", deep.predict))
    monkeypatch.setattr(fast_scorer, "predict_analysed", watched("fast", fast_scorer.predict_analysed))
    with ThreadPoolExecutor(1, thread_name_prefix="rescoring") as pool:
        got = begin_scoring(cascade, _messages(), pool).result()
    assert where["fast"] == [threading.current_thread().name]
    assert where["deep"] and all(name.startswith("rescoring") for name in where["deep"])
    assert got == cascade.score(_messages())


def test_a_scorer_without_stages_is_scored_on_the_spot(fast_scorer):
    with ThreadPoolExecutor(1) as pool:
        future = begin_scoring(fast_scorer, _messages(), pool)
        assert future.done() and future.result() == fast_scorer.score(_messages())
    assert begin_scoring(fast_scorer, _messages(), None).result() == fast_scorer.score(_messages())

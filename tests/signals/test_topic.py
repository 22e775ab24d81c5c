"""The routing topic model, trained on a real stratified subset of BANKING77 and read on its test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.datasets.banking77 import categories, load_banking77
from pipeline.errors import ModelNotTrainedError
from pipeline.signals.topic import COARSE, KNOWN_TOPICS, OTHER, TopicModel, coarse_topic


@pytest.fixture(scope="module")
def banking(settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not (settings.data_dir / "banking77" / "train.csv").is_file():
        pytest.skip(f"BANKING77 is not under {settings.data_dir}: set EARLYWARN_DATA_DIR or run scripts/fetch_data.py")
    return load_banking77("train", settings.data_dir), load_banking77("test", settings.data_dir)


@pytest.fixture(scope="module")
def subset(banking) -> pd.DataFrame:
    """A real stratified third of the training split (about 3,300 queries, every intent in its share)."""
    train, _ = banking
    return train.groupby("category", group_keys=False).sample(frac=1 / 3, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(subset) -> TopicModel:
    """The model fitted on the subset (its training time is printed by `earlywarn train --model topic`)."""
    return TopicModel().fit(subset["text"].tolist(), subset["category"].tolist())


def test_every_banking77_intent_has_a_routing_topic(settings, banking):
    intents = categories(settings.data_dir)
    assert set(intents) == set(COARSE)
    topics = set(COARSE.values())
    assert 8 <= len(topics) <= 12 and {"cards", "transfers", "refunds", "fees_charges", OTHER} <= topics
    assert KNOWN_TOPICS == set(intents) | topics
    assert coarse_topic("something_new") == OTHER


def test_training_on_a_real_subset_learns_every_intent(model):
    assert len(model.classes_) == 77 and model.version.startswith("topic-")
    assert 1.0 < model.meta.temperature < 50.0


def test_it_reads_the_official_test_split_well(model, banking):
    _, test = banking
    proba = model.predict_proba(test["text"].tolist())
    assert proba.shape == (len(test), 77) and np.allclose(proba.sum(axis=1), 1.0)
    predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
    truth = test["category"].to_numpy(dtype=object)
    assert (predicted == truth).mean() > 0.80  # from a third of the data; the full split reaches ~0.91
    topics = [p.topic for p in model.predict(test["text"].tolist(), min_confidence=0.0)]
    assert np.mean([t == COARSE[i] for t, i in zip(topics, truth, strict=True)]) > 0.88


@pytest.mark.parametrize(("category", "topic"), [
    ("card_arrival", "cards"), ("Refund_not_showing_up", "refunds"), ("transfer_fee_charged", "fees_charges"),
    ("pending_transfer", "transfers"), ("exchange_rate", "exchange"), ("verify_my_identity", "identity_verification"),
])
def test_real_test_queries_get_sensible_topics(model, banking, category, topic):
    _, test = banking
    texts = test.loc[test["category"] == category, "text"].tolist()[:20]
    predictions = model.predict(texts, min_confidence=0.0)
    wrong = [(t, p.topic) for t, p in zip(texts, predictions, strict=True) if p.topic != topic]
    assert len(wrong) <= 4, wrong


def test_a_clear_query_gets_its_intent_and_topic(model):
    prediction = model.predict_one("I ordered my new card two weeks ago and it still has not arrived")
    assert (prediction.topic, prediction.intent) == ("cards", "card_arrival")
    assert prediction.confidence >= prediction.intent_confidence > 0.5
    assert model.topics(["I ordered my new card two weeks ago and it still has not arrived"]) == ["card_arrival"]


def test_low_confidence_means_no_topic(model):
    off_topic = model.predict_one("the weather in Lisbon was lovely this weekend")
    assert off_topic.topic is None and off_topic.intent is None and off_topic.confidence < 0.5
    unsure = model.predict_one("I ordered my new card two weeks ago and it still has not arrived",
                               min_confidence=0.999999)
    assert unsure.topic is None and unsure.intent is None
    assert model.topics(["the weather in Lisbon was lovely this weekend"]) == [None]


def test_a_topic_is_kept_when_only_the_intent_is_unsure(model):
    """Summed over its intents a topic is at least as likely as any one of them."""
    predictions = model.predict(["my card", "card problem", "something is wrong with my card"], min_confidence=0.0)
    assert all(p.confidence >= p.intent_confidence for p in predictions)


def test_it_round_trips_through_plain_arrays(model, banking, tmp_path: Path):
    _, test = banking
    folder = model.save(tmp_path / "topic")
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "weights.npz"]
    with np.load(folder / "weights.npz", allow_pickle=False) as arrays:  # nothing pickled
        assert {"columns", "coef", "intercept", "word_idf", "char_idf"} <= set(arrays.files)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["version"] == model.version and len(meta["intents"]) == 77
    loaded = TopicModel.load(folder)
    texts = test["text"].tolist()[:300]
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-9)
    assert loaded.predict(texts) == model.predict(texts)
    stricter = TopicModel.load(folder, min_confidence=0.99)
    assert stricter.meta.min_confidence == 0.99


def test_loading_nothing_says_how_to_train(tmp_path: Path):
    with pytest.raises(ModelNotTrainedError, match="topic"):
        TopicModel.load(tmp_path)
    with pytest.raises(ModelNotTrainedError):
        TopicModel().predict(["hello"])


def test_bad_training_input_is_refused():
    with pytest.raises(ValueError, match="one intent per text"):
        TopicModel().fit(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="at least two intents"):
        TopicModel().fit(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="min_confidence"):
        TopicModel(min_confidence=2.0)


def test_two_intents_work_too(subset):
    two = subset[subset["category"].isin(["card_arrival", "exchange_rate"])]
    fitted = TopicModel().fit(two["text"].tolist(), two["category"].tolist())
    assert fitted.predict_one("when will my card arrive?").intent == "card_arrival"
    assert fitted.predict_one("what exchange rate do you use?").topic == "exchange"

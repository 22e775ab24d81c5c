"""Training the routing topic model on BANKING77's train split and measuring it on the official test split.

The test split is never trained on, so the numbers `evaluate_topic` reports are the ones to compare
with published BANKING77 results (TF-IDF and linear baselines reach about 0.87-0.90 accuracy).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from pipeline.config import Settings
from pipeline.datasets.banking77 import load_banking77
from pipeline.signals.topic import TopicModel, coarse_topic, load_topic_model, topic_dir
from pipeline.training.tracking import log_folder, log_json, log_model_card, tracked_run


def train_topic(settings: Settings, train: pd.DataFrame | None = None, track: bool = True) -> dict[str, object]:
    """Fit on the BANKING77 train split (`train` as `load_banking77("train")` returns it), save the
    artefact where the stream loads it from, log it; returns a JSON-ready summary."""
    started = time.perf_counter()
    train = load_banking77("train", settings.data_dir) if train is None else train
    model = TopicModel(random_state=settings.seed).fit(train["text"].tolist(), train["category"].tolist())
    folder = model.save(topic_dir(settings))
    meta = model.trained
    summary: dict[str, object] = {
        "model": "topic",
        "model_version": meta.version,
        "path": str(folder),
        "intents": len(meta.intents),
        "topics": sorted(set(meta.coarse.values())),
        "temperature": round(meta.temperature, 4),
        "min_confidence": meta.min_confidence,
        "weighted_columns": int(len(model.columns_)),
        "training_rows": meta.training_rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if track:
        with tracked_run(settings, "earlywarn-train", f"train-{meta.version}", meta.params) as mlflow:
            log_json(mlflow, {"training_rows": meta.training_rows, "temperature": meta.temperature}, "train.json")
            mlflow.set_tag("model_version", meta.version)
            log_folder(mlflow, folder, "model")
            log_model_card(mlflow, settings, "topic")
    return summary


def evaluate_topic(settings: Settings, test: pd.DataFrame | None = None, model: TopicModel | None = None,
                   track: bool = True) -> dict[str, object]:
    """Accuracy and macro-F1 of the trained model (`train_topic`'s, unless given) on the BANKING77
    test split, for the fine intents and the routing topics, and what the confidence bar costs."""
    test = load_banking77("test", settings.data_dir) if test is None else test
    model = load_topic_model(settings) if model is None else model
    texts, intents = test["text"].tolist(), test["category"].tolist()
    started = time.perf_counter()
    predictions = model.predict(texts, min_confidence=0.0)
    seconds = time.perf_counter() - started
    bar = model.trained.min_confidence
    topics = [coarse_topic(i, model.coarse) for i in intents]
    result: dict[str, object] = {
        "model": "topic",
        "model_version": model.version,
        "protocol": "trained on the BANKING77 train split, measured on its official test split",
        "rows": len(texts),
        "intent": _measures(intents, [p.intent for p in predictions],
                            [p.intent_confidence for p in predictions], bar),
        "topic": _measures(topics, [p.topic for p in predictions], [p.confidence for p in predictions], bar),
        "texts_per_second": round(len(texts) / seconds),
    }
    if track:
        with tracked_run(settings, "earlywarn-evaluate", f"test-{model.version}", {"model": "topic"}) as mlflow:
            log_json(mlflow, result, "evaluation.json")
    return result


def _measures(truth: Sequence[str], predicted: Sequence[str | None], confidence: Sequence[float],
              bar: float) -> dict[str, float]:
    """Accuracy and macro-F1 over every text, then the share answered at the confidence bar and
    the accuracy on those (what routing sees: below the bar the topic is unknown)."""
    y, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    answered = np.asarray(confidence) >= bar
    return {
        "accuracy": round(float(accuracy_score(y, p)), 4),
        "macro_f1": round(float(f1_score(y, p, average="macro")), 4),
        "min_confidence": bar,
        "answered": round(float(answered.mean()), 4),
        "accuracy_when_answered": round(float((y[answered] == p[answered]).mean()), 4) if answered.any() else 0.0,
    }

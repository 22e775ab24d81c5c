"""The deep scorer's whole path on a small real sample: fine-tune a few steps, export, quantise, load, score.

Full training is a DVC stage; these check the mechanics (and that int8 stays close to fp32), not accuracy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Message, Severity
from pipeline.scoring import Scorer
from pipeline.scoring.deep import DeepScorer, compose_severity
from pipeline.scoring.deep_model import MAX_TOKENS, load_tokenizer, token_buckets
from pipeline.training.deep import DeepConfig, finetune, predict


@pytest.fixture(scope="module")
def tuned(tiny_deep):
    return tiny_deep


@pytest.fixture(scope="module")
def artefact(deep_artefacts):
    return deep_artefacts


def test_fine_tuning_moves_the_weights_and_is_repeatable(training_sample, tuned):
    model, texts = tuned
    p, severity = predict(model, texts[:20])
    assert p.shape == (20,) and severity.shape == (20, 5)
    assert np.allclose(severity.sum(axis=1), 1.0, atol=1e-5)
    rows = training_sample.sample(96, random_state=3)
    again = finetune(rows["text"].tolist(), rows["label"].tolist(), rows["severity"].tolist(),
                     DeepConfig(epochs=1, batch_size=16), max_steps=4)
    assert torch.allclose(again.complaint.weight, model.complaint.weight)  # seeds fixed: same run, same model


def test_onnx_fp32_matches_pytorch_and_int8_stays_close(tuned, artefact):
    model, texts = tuned
    torch_p, _ = predict(model, texts[:32])
    fp32 = DeepScorer.load(artefact / "fp32").predict(texts[:32]).complaint
    int8 = DeepScorer.load(artefact / "int8").predict(texts[:32]).complaint
    assert np.abs(fp32 - torch_p).max() < 1e-4
    assert np.abs(int8 - torch_p).max() < 0.1
    assert (artefact / "int8" / "model.onnx").stat().st_size < (artefact / "fp32" / "model.onnx").stat().st_size / 3


def test_buckets_group_texts_by_token_count_and_pad_as_the_tokenizer_does(training_sample):
    tokenizer = load_tokenizer()
    # A long link is few word pieces and a run of emoji many: character counts would misplace both.
    texts = training_sample["text"].tolist()[:200] + ["https://t.co/" + "abcdefghij" * 6, "😡🤬" * 20, ""]
    seen, widths, slots = [], [], 0
    for idx, input_ids, attention_mask in token_buckets(tokenizer, texts, 16):
        reference = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_TOKENS,
                              return_tensors="np")
        assert np.array_equal(input_ids, reference["input_ids"])
        assert np.array_equal(attention_mask, reference["attention_mask"])
        seen.extend(idx.tolist())
        widths.append(input_ids.shape[1])
        slots += input_ids.size
    assert sorted(seen) == list(range(len(texts)))
    assert widths == sorted(widths)  # each batch no wider than the next: padding only to neighbours' lengths
    lengths = sorted(len(ids) for ids in tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"])
    assert slots == sum(len(chunk) * chunk[-1] for chunk in (lengths[i:i + 16] for i in range(0, len(texts), 16)))
    assert list(token_buckets(tokenizer, [], 16)) == []


def test_the_deep_scorer_honours_the_interface(artefact):
    scorer = DeepScorer.load(artefact / "int8")
    assert isinstance(scorer, Scorer) and scorer.score([]) == []
    batch = [Message(id="a", text="Third time asking!!! Where is my refund? I want a manager."),
             Message(id="b", text="what time do you open on sunday")]
    scores = scorer.score(batch)
    assert [s.id for s in scores] == ["a", "b"]
    for s in scores:
        assert s.model_version == "deep-test" and s.is_complaint == (s.complaint_probability >= 0.5)
        assert abs(sum(s.severity_probabilities.values()) - 1.0) < 1e-4
        assert (s.severity is Severity.none) != s.is_complaint
    assert {c.label.value for c in scores[0].cues} >= {"repeated_contact", "escalation_demand"}


def test_severity_follows_the_complaint_probability():
    head = np.array([[0.7, 0.1, 0.1, 0.05, 0.05]])
    composed = compose_severity(np.array([0.9]), head)
    assert composed[0, 0] == pytest.approx(0.1) and composed.sum() == pytest.approx(1.0)
    assert composed[0, 1] == pytest.approx(0.9 * 0.1 / 0.3)


def test_a_missing_artefact_says_how_to_train(tmp_path):
    with pytest.raises(ModelNotTrainedError, match="earlywarn train --model deep"):
        DeepScorer.load(tmp_path)

"""SmoothQuant before int8: the same network in fp32, flatter activations, and an int8 export closer to fp32."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.scoring.deep import DeepMeta, DeepScorer
from pipeline.scoring.onnx_export import QUANTIZATION, export_int8
from pipeline.scoring.smoothing import SmoothedLinear, calibration_sample, smooth
from pipeline.training.deep import predict


def _input_peaks(model, texts: list[str]) -> torch.Tensor:
    """Per-channel peak |input| of layer 0's feed-forward output product (the GELU activations)."""
    product = model.encoder.encoder.layer[0].output.dense
    seen: list[torch.Tensor] = []
    hook = product.register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0].abs().amax((0, 1))))
    predict(model, texts)
    hook.remove()
    peak = torch.stack(seen).amax(0)
    return peak * product.inverse_scale if isinstance(product, SmoothedLinear) else peak


def test_smoothing_leaves_the_fp32_network_unchanged(tiny_deep):
    model, texts = tiny_deep
    smoothed = smooth(model, texts[:48])
    before, severity_before = predict(model, texts[48:])
    after, severity_after = predict(smoothed, texts[48:])
    assert np.abs(after - before).max() < 1e-4 and np.abs(severity_after - severity_before).max() < 1e-4
    assert isinstance(smoothed.encoder.encoder.layer[5].attention.self.value, SmoothedLinear)
    assert not any(isinstance(m, SmoothedLinear) for m in model.modules())  # the original is not touched


def test_smoothing_flattens_the_channels_that_int8_shares_one_scale_across(tiny_deep):
    model, texts = tiny_deep
    before = _input_peaks(model, texts)
    after = _input_peaks(smooth(model, texts), texts)
    spread = lambda peak: float(peak.max() / peak.median())
    assert spread(after) < spread(before) / 2


def test_the_smoothed_int8_export_is_closer_to_fp32(tiny_deep):
    model, texts = tiny_deep
    reference, _ = predict(model, texts)
    gaps = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, how in {"smoothed": QUANTIZATION, "plain": replace(QUANTIZATION, smoothing=None)}.items():
            graph = export_int8(model, texts, Path(scratch) / name, how)
            meta = DeepMeta(version=name, trained_at="", threshold=0.5, quantized=True)
            p, _ = DeepScorer(DeepScorer.save(Path(scratch) / f"{name}-artefact", graph, meta), meta).predict_raw(texts)
            gaps[name] = float(np.abs(p - reference).mean())
    assert QUANTIZATION.smoothing is not None and gaps["smoothed"] < gaps["plain"]


def test_the_quantisation_tag_names_the_smoothing():
    assert replace(QUANTIZATION, smoothing=0.9).tag == "int8-per-channel-smooth0.9"
    assert replace(QUANTIZATION, smoothing=None).tag == "int8-per-channel"


def test_calibration_is_a_deterministic_spread_sample_and_is_required(tiny_deep):
    texts = [f"text {i}" for i in range(2000)]
    assert calibration_sample(texts, 500) == calibration_sample(texts, 500) == texts[::4][:500]
    assert calibration_sample(texts[:10], 500) == texts[:10]
    with pytest.raises(ValueError, match="calibration texts"):
        smooth(tiny_deep[0], [])

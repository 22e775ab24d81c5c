"""SmoothQuant (Xiao et al., ICML 2023) for the encoder's matrix products, before dynamic int8.

Dynamic quantisation gives each batch's activations one int8 scale, so a few input channels with
large values (the GELU outputs feeding each feed-forward output product are the worst) leave the rest
of the channels a handful of int8 steps. Dividing each input channel by s and multiplying the matching
weight column by s computes the same product in fp32, and moves the spread into the weights, which are
quantised per output channel and absorb it better:

    s_j = max|X_j| ** alpha / max|W_j| ** (1 - alpha)

with max|X_j| read on calibration texts (the training texts, never the ones scored). In BERT the layer
norms feed the residual stream as well as the next product, so s cannot be folded into them: it stays
an explicit multiplication, which costs little beside the products it protects. The attention output
product is the exception: its input is linear in the value product's outputs, so s folds into those.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from pipeline.scoring.deep_model import ComplaintEncoder, load_tokenizer, token_buckets

#: On 5,000 real tweets scored by the final network (3,000 twcs, 2,000 complaint tweets), mean |ΔP(complaint)|
#: against PyTorch fp32 falls from 0.0121 unsmoothed to 0.0058 at alpha 1.0 (0.0064 at 0.75, 0.0072 at 0.9;
#: scripts/quantization_fidelity.py). Alpha 0.5, the paper's default for decoder models, was worse than none
#: (0.019) and 0.3 broke the network (0.24), so the strong end is the safe one for this encoder.
ALPHA = 1.0
CALIBRATION_TEXTS = 512
_CALIBRATION_BATCH = 32


class SmoothedLinear(nn.Module):
    """`linear(x)` computed as `(x / s) @ (W * s)ᵀ + b`: equal in fp32, kinder to per-tensor int8 activations."""

    def __init__(self, linear: nn.Linear, scale: torch.Tensor) -> None:
        """Takes over `linear` (a layer of the copy `smooth` works on) and scales its weight in place."""
        super().__init__()
        self.register_buffer("inverse_scale", (1.0 / scale).to(linear.weight.dtype))
        self.linear = linear
        with torch.no_grad():
            linear.weight.mul_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse_scale)


def _products(layer: nn.Module) -> list[tuple[nn.Module, tuple[str, ...]]]:
    """Each group of products that read the same input: (owning module, attribute names)."""
    return [(layer.attention.self, ("query", "key", "value")), (layer.attention.output, ("dense",)),
            (layer.intermediate, ("dense",)), (layer.output, ("dense",))]


def calibration_sample(texts: Sequence[str], size: int = CALIBRATION_TEXTS) -> list[str]:
    """An evenly spread, deterministic sample: the same texts give the same smoothing."""
    step = max(len(texts) // size, 1)
    return list(texts[::step][:size])


def smooth(model: ComplaintEncoder, calibration: Sequence[str], alpha: float = ALPHA) -> ComplaintEncoder:
    """A copy of `model` whose encoder products are smoothed; the original is left as it was."""
    if not calibration:
        raise ValueError("smoothing needs calibration texts (the training texts): none were given")
    smoothed = copy.deepcopy(model).eval()
    layers = list(smoothed.encoder.encoder.layer)
    peaks: dict[tuple[int, int], torch.Tensor] = {}

    def recorder(key: tuple[int, int]):
        def record(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            x = inputs[0].detach()
            peak = x.abs().reshape(-1, x.shape[-1]).amax(0)
            peaks[key] = torch.maximum(peaks[key], peak) if key in peaks else peak
        return record

    hooks = [getattr(owner, names[0]).register_forward_hook(recorder((i, g)))
             for i, layer in enumerate(layers) for g, (owner, names) in enumerate(_products(layer))]
    try:
        with torch.no_grad():  # not inference_mode: the peaks become buffers of a model that may be trained
            for _, input_ids, attention_mask in token_buckets(load_tokenizer(), calibration, _CALIBRATION_BATCH):
                smoothed(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
    finally:
        for hook in hooks:
            hook.remove()
    for i, layer in enumerate(layers):
        for g, (owner, names) in enumerate(_products(layer)):
            linears = [getattr(owner, name) for name in names]
            weight_peak = torch.stack([lin.weight.detach().abs().amax(0) for lin in linears]).amax(0)
            scale = (peaks[(i, g)].clamp(min=1e-5).pow(alpha) / weight_peak.clamp(min=1e-5).pow(1 - alpha)).clamp(min=1e-5)
            if owner is layer.attention.output:
                _fold_into_values(layer.attention.self.value, linears[0], scale)
                continue
            for name, linear in zip(names, linears, strict=True):
                setattr(owner, name, SmoothedLinear(linear, scale))
    return smoothed


def _fold_into_values(value: SmoothedLinear, product: nn.Linear, scale: torch.Tensor) -> None:
    """The attention output product reads softmax(QKᵀ)·V, which is linear in V's output channels: dividing
    those channels by s needs no multiplication of its own."""
    with torch.no_grad():
        value.linear.weight.div_(scale.unsqueeze(1))
        value.linear.bias.div_(scale)
        product.weight.mul_(scale)

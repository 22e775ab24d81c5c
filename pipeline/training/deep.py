"""Fine-tuning the deep scorer: one multi-task MiniLM, complaint + severity, seeds fixed.

Batches are drawn in a seeded order and padded only to their longest text, so a run is
repeatable and an epoch over the 2,759 tweets takes about a minute on two cores.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from pipeline.config import Settings
from pipeline.scoring.deep_model import MAX_TOKENS, ComplaintEncoder, load_tokenizer, token_buckets
from pipeline.training.params import load_params

UNKNOWN_SEVERITY = -1  # a complaint whose severity the annotators did not give: no severity loss


@dataclass(frozen=True)
class DeepConfig:
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    severity_weight: float = 0.5
    max_tokens: int = MAX_TOKENS
    seed: int = 13
    threads: int | None = None  # torch intra-op threads; None keeps torch's default

    def as_params(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeepConfig:
        """The seed from Settings, the rest from params.yaml's `deep` section (defaults where unset)."""
        return cls(seed=settings.seed, **load_params(settings.params_file).deep.overrides())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def finetune(
    texts: Sequence[str],
    labels: Sequence[int],
    severities: Sequence[int],
    config: DeepConfig = DeepConfig(),
    advance: Callable[[int], None] | None = None,
    max_steps: int | None = None,
) -> ComplaintEncoder:
    """Train both heads together; `severities` holds 0–4 (none … blame) or -1 where unknown."""
    from transformers import get_linear_schedule_with_warmup

    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    tokenizer = load_tokenizer()
    model = ComplaintEncoder()
    model.train()
    y = torch.tensor(labels, dtype=torch.float32)
    sev = torch.tensor(severities, dtype=torch.long)
    batches_per_epoch = -(-len(texts) // config.batch_size)
    total = batches_per_epoch * config.epochs if max_steps is None else min(max_steps, batches_per_epoch * config.epochs)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimiser, int(config.warmup_fraction * total), total)
    order = np.random.default_rng(config.seed)
    step = 0
    for _ in range(config.epochs):
        permutation = order.permutation(len(texts))
        for start in range(0, len(texts), config.batch_size):
            if step >= total:
                return model.eval()
            idx = permutation[start:start + config.batch_size]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                              max_length=config.max_tokens, return_tensors="pt")
            complaint_logit, severity_logits = model(batch["input_ids"], batch["attention_mask"])
            loss = F.binary_cross_entropy_with_logits(complaint_logit, y[idx])
            known = sev[idx] != UNKNOWN_SEVERITY
            if known.any():
                loss = loss + config.severity_weight * F.cross_entropy(severity_logits[known], sev[idx][known])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if advance is not None:
                advance(len(idx))
    return model.eval()


@torch.inference_mode()
def predict(model: ComplaintEncoder, texts: Sequence[str], batch_size: int = 64,
            max_tokens: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """P(complaint) (uncalibrated) and the 5-way severity distribution, in input order."""
    tokenizer = load_tokenizer()
    model.eval()
    p_complaint = np.empty(len(texts), dtype=np.float32)
    p_severity = np.empty((len(texts), 5), dtype=np.float32)
    for idx, input_ids, attention_mask in token_buckets(tokenizer, texts, batch_size, max_tokens):
        logit, sev = model(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        p_complaint[idx] = torch.sigmoid(logit).numpy()
        p_severity[idx] = torch.softmax(sev, dim=-1).numpy()
    return p_complaint, p_severity

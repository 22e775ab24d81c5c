"""Message scorers: calibrated complaint intent, severity, dissatisfaction and the cues behind them."""

from pipeline.scoring.base import Scorer
from pipeline.scoring.fast import FastScorer
from pipeline.scoring.registry import ScorerName, available_scorers, load_scorer

__all__ = ["FastScorer", "Scorer", "ScorerName", "available_scorers", "load_scorer"]

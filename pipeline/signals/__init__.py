"""Complaint cues and case details found in customer text.

    extractor = CueExtractor()
    extractor.extract(["I've called three times, let me speak to a manager!!"])
    cue_features(cues, text) -> fixed-length vector, names from cue_feature_names()
    EntityExtractor().extract(["order #12345 cost me £45.99"])

Importing this package registers the spaCy factories (earlywarn_lexicon_cues,
earlywarn_sentiment, earlywarn_intensity, earlywarn_case_references).
"""

from pipeline.signals.entities import EntityExtractor
from pipeline.signals.extractor import CueAnalysis, CueExtractor
from pipeline.signals.features import cue_feature_names, cue_features
from pipeline.signals.sentiment import Sentiment

__all__ = [
    "CueAnalysis",
    "CueExtractor",
    "EntityExtractor",
    "Sentiment",
    "cue_feature_names",
    "cue_features",
]

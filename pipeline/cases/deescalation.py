"""De-escalation suggestions: for each cue a case's messages carry, a short, configurable next step
for the handler, shown with the message and words that triggered it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel

from pipeline.errors import ConfigError

DEFAULT_SUGGESTIONS = Path(__file__).with_name("deescalation.yaml")


class Suggestion(BaseModel):
    cue: str
    suggestion: str
    message_id: str
    trigger: str  # the words that carried the cue


def load_suggestions(path: Path | None = None) -> dict[str, str]:
    path = path or DEFAULT_SUGGESTIONS
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, f"cannot read the de-escalation suggestions: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
        raise ConfigError(path, "each entry must be `cue_label: one line of advice`")
    return {str(k): v.strip() for k, v in raw.items()}


def suggestions(messages: Iterable[object], table: Mapping[str, str]) -> list[Suggestion]:
    """One suggestion per cue label, triggered by the latest customer message that carried it."""
    latest: dict[str, Suggestion] = {}
    for message in messages:
        if getattr(message, "author", None) != "customer":
            continue
        score = getattr(message, "score", None) or {}
        for cue in score.get("cues", ()):
            label = cue.get("label")
            if label in table:
                latest[label] = Suggestion(cue=label, suggestion=table[label], message_id=message.message_id,
                                           trigger=str(cue.get("text", "")))
    return sorted(latest.values(), key=lambda s: list(table).index(s.cue))

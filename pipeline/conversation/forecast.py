"""From a conversation's state to its risk: the probability it ends in dissatisfaction, a level, and why.

The forecaster is a logistic model over a dozen readings of the state (dissatisfaction level, peak
and trend; how the last agent reply and customer turn read; replies that did not resolve; repeat
contacts; length), learned on the User Satisfaction Simulation dialogues. It is kept as plain
arrays, so a prediction is one dot product and the artefact loads without unpickling anything.
Each reading that pushed the probability up becomes a reason, with the message that carried it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.config import Settings
from pipeline.conversation.state import ConversationState
from pipeline.conversation.turns import TurnModel
from pipeline.errors import ModelNotTrainedError
from pipeline.schema import ConversationRisk, FlagReason, Message, RiskLevel


@dataclass(frozen=True)
class Reading:
    """One feature of the state: how to read it, and how to say it to a handler when it matters."""

    name: str
    read: Callable[[ConversationState], float]
    say: Callable[[ConversationState], str]
    carrier: Callable[[ConversationState], str | None]


def counted(n: int, one: str, many: str | None = None) -> str:
    """"1 message", "3 messages": a reason reads as a handler would write it."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def _last_customer(state: ConversationState) -> str | None:
    return state.recent[-1].message_id if state.recent else None


READINGS: tuple[Reading, ...] = (
    Reading("level", lambda s: s.level, lambda s: f"dissatisfaction running at {s.level:.2f}", _last_customer),
    Reading("peak", lambda s: s.peak, lambda s: f"dissatisfaction peaked at {s.peak:.2f}", lambda s: s.peak_id),
    Reading("trend", lambda s: s.trend(),
            lambda s: f"dissatisfaction moving {s.trend():+.2f} a turn over the last {len(s.recent)} customer turns",
            _last_customer),
    Reading("customer_turn", lambda s: s.customer_trouble,
            lambda _: "the customer's last message reads like trouble ahead", _last_customer),
    Reading("agent_reply", lambda s: s.agent_trouble,
            lambda _: "the last agent reply reads like one that will not satisfy", lambda s: s.last_agent_id),
    Reading("agent_reply_peak", lambda s: s.agent_trouble_peak,
            lambda _: "an agent reply read like one that would not satisfy", lambda s: s.agent_trouble_peak_id),
    Reading("last_from_agent", lambda s: float(s.last_from_agent),
            lambda _: "the agent spoke last", lambda s: s.last_agent_id),
    Reading("length", lambda s: math.log1p(s.customer_turns + s.agent_turns),
            lambda s: f"{counted(s.customer_turns + s.agent_turns, 'message')} and still open", _last_customer),
    Reading("unanswered", lambda s: float(s.unanswered),
            lambda s: f"{counted(s.unanswered, 'customer message')} waiting for a reply", _last_customer),
    Reading("unresolved_replies", lambda s: float(s.unresolved_replies),
            lambda s: f"{counted(s.unresolved_replies, 'agent reply', 'agent replies')} left the customer no happier",
            lambda s: s.last_agent_id),
    Reading("repeat_contacts", lambda s: float(s.repeat_contacts),
            lambda s: "the customer has chased " + ("once" if s.repeat_contacts == 1
                                                     else counted(s.repeat_contacts, "time")), _last_customer),
)
FEATURE_NAMES = tuple(r.name for r in READINGS)


def artefact_dir(settings: Settings) -> Path:
    return settings.models_dir / "early-warning"


def features(state: ConversationState) -> list[float]:
    return [r.read(state) for r in READINGS]


@dataclass(frozen=True)
class ForecasterMeta:
    version: str
    trained_at: str
    fast_version: str  # the message scorer whose dissatisfaction the readings were learned on
    elevated: float  # P(dissatisfaction ahead) from which a conversation is elevated
    high: float
    features: tuple[str, ...] = FEATURE_NAMES
    data: str = "User Satisfaction Simulation (MWOZ, SGD, ReDial, CCPE)"

    def level(self, probability: float, complaints: int) -> RiskLevel:
        if complaints:
            return RiskLevel.complaint
        if probability >= self.high:
            return RiskLevel.high
        return RiskLevel.elevated if probability >= self.elevated else RiskLevel.low


@dataclass(frozen=True)
class Forecaster:
    turns: TurnModel
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: ForecasterMeta

    def trouble(self, messages: Sequence[Message]) -> list[float]:
        """The turn model's logit for each message, agent and customer alike."""
        if not messages:
            return []
        return self.turns.trouble([m.text for m in messages], [m.author for m in messages]).tolist()

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def assess(self, state: ConversationState, max_reasons: int = 3) -> ConversationRisk:
        x = np.asarray(features(state), dtype=float)
        contributions = (x - self.mean) / self.scale * self.coef
        probability = float(1.0 / (1.0 + math.exp(-(contributions.sum() + self.intercept))))
        level = self.meta.level(probability, state.complaints)
        reasons = []
        if state.complaints:
            reasons.append(FlagReason(signal="complaint", message_id=state.first_complaint_id, weight=1.0,
                                      detail=f"{counted(state.complaints, 'customer message')} scored as a complaint"))
        for i in np.argsort(-contributions):
            if contributions[i] <= 0.05 or len(reasons) >= max_reasons:  # near its average: nothing worth saying
                break
            reading = READINGS[i]
            carrier = reading.carrier(state)
            if carrier is None:  # e.g. "the last agent reply" before any reply: true of the average, not of this
                continue
            reasons.append(FlagReason(signal=reading.name, detail=reading.say(state), message_id=carrier,
                                      weight=round(float(contributions[i]), 3)))
        return ConversationRisk(conversation_id=state.conversation_id, level=level, probability=probability,
                                reasons=reasons, model_version=self.meta.version)

    # --- artefact -----------------------------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "weights.npz", mean=self.mean, scale=self.scale, coef=self.coef,
                            intercept=np.array(self.intercept), **self.turns.arrays())
        (folder / "meta.json").write_text(json.dumps(asdict(self.meta), indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path) -> Forecaster:
        if not (folder / "weights.npz").is_file():
            raise ModelNotTrainedError("early-warning", folder, "run `earlywarn train --model early-warning`")
        raw = json.loads((folder / "meta.json").read_text())
        meta = ForecasterMeta(**{**raw, "features": tuple(raw["features"])})
        if meta.features != FEATURE_NAMES:
            raise ModelNotTrainedError("early-warning", folder, f"it reads {', '.join(meta.features)} but this "
                                       "code reads otherwise: retrain with `earlywarn train --model early-warning`")
        with np.load(folder / "weights.npz") as w:
            return cls(TurnModel.from_arrays(w), w["mean"], w["scale"], w["coef"], float(w["intercept"]), meta)


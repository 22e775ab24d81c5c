"""Learning and measuring the early-warning forecaster on the User Satisfaction Simulation dialogues.

Task: after each turn t of a dialogue (customer or agent), predict whether a later customer turn
will be dissatisfied (mean rating <= 2). Prefixes are taken only before the first dissatisfied
turn, as conversation-forecasting work does (Zhang et al. 2018; ConvoKit's CGA): once the
customer is dissatisfied the warning is late. Ten folds over dialogues, stratified by whether the
dialogue turns sour (Sun et al. 2021 split by dialogue); everything learned, the turn model
included, is fitted on the training dialogues only, the turn model cross-fitted within them.

Every prefix's readings come from replaying the dialogue through `ConversationState`, the same
code the stream runs, so what is measured is what is served. An alarm is the first prefix whose
probability reaches the threshold (chosen on the training dialogues for best dialogue-level F1);
F1, false-alarm rate and horizon are per dialogue, AUROC per prefix and per dialogue (its highest
prefix). Baselines in the same run: the last customer message's dissatisfaction, and the mean
over the prefix's customer messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import fmean, median

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from pipeline.config import Settings
from pipeline.conversation.forecast import FEATURE_NAMES, Forecaster, ForecasterMeta, features
from pipeline.conversation.state import ConversationState
from pipeline.conversation.turns import TurnModel, hashed
from pipeline.datasets.uss import Dialogue, load_uss
from pipeline.schema import Author, Channel, Message, MessageScore
from pipeline.scoring.base import Scorer

INNER_FOLDS = 5
# The served levels are operating points, not the F1 optimum (on these data that alarms on nearly every
# dialogue): "elevated" alarms on at most 30% of calm dialogues, "high" on at most 5%.
ELEVATED_FALSE_ALARMS = 0.30
HIGH_FALSE_ALARMS = 0.05
OnFold = Callable[[int], None]


@dataclass(frozen=True)
class Corpus:
    """Every USS turn as a message, scored once, with what the labels need."""

    messages: list[Message]
    scores: list[MessageScore | None]
    dialogue: np.ndarray  # per turn: dialogue number
    position: np.ndarray  # per turn: index within its dialogue
    next_dissatisfied: np.ndarray  # per turn: is the next customer turn dissatisfied
    first_dissatisfied: np.ndarray  # per dialogue: index of its first dissatisfied turn, -1 if none
    last_customer: np.ndarray  # per dialogue: index of its last customer turn
    corpus: list[str]  # per dialogue

    @property
    def authors(self) -> list[Author]:
        return [m.author for m in self.messages]

    @property
    def soured(self) -> np.ndarray:
        return self.first_dissatisfied >= 0


def uss_corpus(settings: Settings, scorer: Scorer, dialogues: Sequence[Dialogue] | None = None) -> Corpus:
    """All USS dialogues (or the ones given), their customer turns scored by `scorer`."""
    dialogues = load_uss(data_dir=settings.data_dir) if dialogues is None else dialogues
    messages, dialogue, position, next_dis, first, last, corpus = [], [], [], [], [], [], []
    for d, dia in enumerate(dialogues):
        flags = [t.dissatisfied for t in dia.turns]
        users = [i for i, t in enumerate(dia.turns) if t.role == "user"]
        first.append(next((i for i, f in enumerate(flags) if f), -1))
        last.append(users[-1] if users else -1)
        corpus.append(dia.corpus)
        for i, turn in enumerate(dia.turns):
            later = next((u for u in users if u > i), None)
            messages.append(Message(id=f"{dia.dialogue_id}-{i}", text=turn.text.strip() or "(no text)",
                                    channel=Channel.chat, conversation_id=dia.dialogue_id,
                                    author=Author.customer if turn.role == "user" else Author.agent))
            dialogue.append(d)
            position.append(i)
            next_dis.append(later is not None and flags[later])
    customer = [m for m in messages if m.author is Author.customer]
    scored = dict(zip((m.id for m in customer), scorer.score(customer), strict=True))
    return Corpus(messages, [scored.get(m.id) for m in messages], np.array(dialogue), np.array(position),
                  np.array(next_dis), np.array(first), np.array(last), corpus)


@dataclass(frozen=True)
class Prefixes:
    """The evaluated prefixes: each ends at a turn before its dialogue's first dissatisfied turn and
    before its last customer turn (something is left to forecast)."""

    rows: np.ndarray
    dialogue: np.ndarray
    position: np.ndarray
    last_score: np.ndarray
    mean_score: np.ndarray


def replay(corpus: Corpus, trouble: np.ndarray) -> Prefixes:
    rows, dialogue, position, last_score, mean_score = [], [], [], [], []
    state: ConversationState | None = None
    scores_so_far: list[float] = []
    for k, message in enumerate(corpus.messages):
        d, i = int(corpus.dialogue[k]), int(corpus.position[k])
        if i == 0:
            state, scores_so_far = ConversationState(message.conversation_id or ""), []
        assert state is not None
        score = corpus.scores[k]
        state.update(message, score, float(trouble[k]))
        if score is not None:
            scores_so_far.append(score.dissatisfaction)
        first = corpus.first_dissatisfied[d]
        if i < corpus.last_customer[d] and (first < 0 or i < first):
            rows.append(features(state))
            dialogue.append(d)
            position.append(i)
            last_score.append(scores_so_far[-1] if scores_so_far else 0.0)
            mean_score.append(fmean(scores_so_far) if scores_so_far else 0.0)
    return Prefixes(np.asarray(rows, dtype=float), np.array(dialogue), np.array(position), np.array(last_score),
                    np.array(mean_score))


def cross_fit_trouble(corpus: Corpus, x, train: np.ndarray, seed: int) -> np.ndarray:  # noqa: ANN001 - sparse
    """Turn-model logits: out-of-fold for the training dialogues' turns, from the model fitted on all of
    them for every other turn, so the forecaster never learns from a logit that saw its own label."""
    authors = np.array(corpus.authors, dtype=object)
    out = np.zeros(len(corpus.messages))
    in_train = np.isin(corpus.dialogue, train)
    inner = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed)
    for a, b in inner.split(train, corpus.soured[train]):
        fit_rows = np.isin(corpus.dialogue, train[a])
        score_rows = np.isin(corpus.dialogue, train[b])
        model = TurnModel.fit([], authors[fit_rows], corpus.next_dissatisfied[fit_rows], features=x[fit_rows])
        out[score_rows] = model.trouble([], authors[score_rows], features=x[score_rows])
    model = TurnModel.fit([], authors[in_train], corpus.next_dissatisfied[in_train], features=x[in_train])
    out[~in_train] = model.trouble([], authors[~in_train], features=x[~in_train])
    return out


@dataclass(frozen=True)
class Readout:
    """A fitted logistic model over the readings, as the served forecaster stores it."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, rows: np.ndarray, labels: np.ndarray) -> Readout:
        mean, scale = rows.mean(axis=0), rows.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=1.0, max_iter=3000).fit((rows - mean) / scale, labels)
        return cls(mean, scale, model.coef_[0], float(model.intercept_[0]))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(((rows - self.mean) / self.scale) @ self.coef + self.intercept)))


# --- dialogue-level measures ----------------------------------------------------------------------

def first_alarms(prob: np.ndarray, p: Prefixes, dialogues: np.ndarray, threshold: float) -> dict[int, int]:
    """Dialogue → position of the first prefix at or above the threshold (dialogues that never alarm are absent)."""
    alarms: dict[int, int] = {}
    mask = np.isin(p.dialogue, dialogues) & (prob >= threshold)
    for d, i in zip(p.dialogue[mask], p.position[mask], strict=True):
        alarms.setdefault(int(d), int(i))  # prefixes are in turn order within a dialogue
    return alarms


def dialogue_measures(prob: np.ndarray, p: Prefixes, corpus: Corpus, dialogues: np.ndarray,
                      threshold: float) -> dict[str, float]:
    alarms = first_alarms(prob, p, dialogues, threshold)
    truth = corpus.soured[dialogues]
    predicted = np.array([int(d) in alarms for d in dialogues])
    calm = ~truth
    horizons = [int(corpus.first_dissatisfied[d]) - alarms[int(d)] for d in dialogues[truth & predicted]]
    return {
        "f1": float(f1_score(truth, predicted, zero_division=0)),
        "false_alarm_rate": float(predicted[calm].mean()) if calm.any() else 0.0,
        "recall": float(predicted[truth].mean()) if truth.any() else 0.0,
        "horizon_median_turns": float(median(horizons)) if horizons else 0.0,
        "horizon_mean_turns": float(fmean(horizons)) if horizons else 0.0,
    }


def best_threshold(prob: np.ndarray, p: Prefixes, corpus: Corpus, dialogues: np.ndarray) -> float:
    """The threshold with the best dialogue-level F1 on these dialogues (quantiles of their prefixes' scores)."""
    mask = np.isin(p.dialogue, dialogues)
    candidates = np.unique(np.quantile(prob[mask], np.linspace(0.5, 0.9995, 120)))
    return float(max(candidates, key=lambda t: dialogue_measures(prob, p, corpus, dialogues, t)["f1"]))


def threshold_for_false_alarms(prob: np.ndarray, p: Prefixes, corpus: Corpus, rate: float,
                               dialogues: np.ndarray | None = None) -> float:
    """The lowest threshold at which at most `rate` of the calm dialogues alarm."""
    with_prefixes = np.unique(p.dialogue)
    dialogues = with_prefixes if dialogues is None else np.intersect1d(dialogues, with_prefixes)
    calm = dialogues[~corpus.soured[dialogues]]
    mask = np.isin(p.dialogue, calm)
    highest = np.array([prob[mask & (p.dialogue == d)].max() for d in calm])
    return float(np.quantile(highest, 1.0 - rate))


def _auroc(prob: np.ndarray, p: Prefixes, corpus: Corpus) -> dict[str, float]:
    dialogues = np.unique(p.dialogue)
    highest = np.array([prob[p.dialogue == d].max() for d in dialogues])
    return {"auroc_prefix": float(roc_auc_score(corpus.soured[p.dialogue], prob)),
            "auroc_dialogue": float(roc_auc_score(corpus.soured[dialogues], highest))}


def _summary(prob: np.ndarray, p: Prefixes, corpus: Corpus, folds: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Thresholds chosen on each fold's training dialogues, measured on its test dialogues, pooled."""
    per_fold, served = [], []
    for train, test in folds:
        threshold = best_threshold(prob, p, corpus, train)
        per_fold.append({**dialogue_measures(prob, p, corpus, test, threshold), "threshold": threshold})
        elevated = threshold_for_false_alarms(prob, p, corpus, ELEVATED_FALSE_ALARMS, train)
        served.append({**dialogue_measures(prob, p, corpus, test, elevated), "threshold": elevated})
    pooled = {k: round(fmean(f[k] for f in per_fold), 4) for k in per_fold[0]}
    spread = {f"{k}_std": round(float(np.std([f[k] for f in per_fold])), 4) for k in ("f1", "false_alarm_rate")}
    at_elevated = {k: round(fmean(f[k] for f in served), 4) for k in served[0]}
    return {**{k: round(v, 4) for k, v in _auroc(prob, p, corpus).items()}, **pooled, **spread,
            f"at_elevated_threshold_false_alarms_{ELEVATED_FALSE_ALARMS}": at_elevated}


@dataclass(frozen=True)
class CrossValidation:
    corpus: Corpus
    prefixes: Prefixes
    forecaster: np.ndarray  # out-of-fold probability per prefix
    folds: list[tuple[np.ndarray, np.ndarray]]


def cross_validate(corpus: Corpus, folds: int = 10, seed: int = 13, on_fold: OnFold | None = None) -> CrossValidation:
    x = hashed([m.text for m in corpus.messages])
    dialogues = np.arange(len(corpus.corpus))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    splits = [(dialogues[a], dialogues[b]) for a, b in splitter.split(dialogues, corpus.soured, groups=dialogues)]
    oof: np.ndarray | None = None
    prefixes: Prefixes | None = None
    for k, (train, test) in enumerate(splits):
        p = replay(corpus, cross_fit_trouble(corpus, x, train, seed))
        if oof is None:
            oof, prefixes = np.zeros(len(p.dialogue)), p
        in_train, in_test = np.isin(p.dialogue, train), np.isin(p.dialogue, test)
        readout = Readout.fit(p.rows[in_train], corpus.soured[p.dialogue[in_train]])
        oof[in_test] = readout.predict(p.rows[in_test])
        if on_fold:
            on_fold(k)
    assert oof is not None and prefixes is not None
    return CrossValidation(corpus, prefixes, oof, splits)


def evaluate_early_warning(settings: Settings, scorer: Scorer, folds: int = 10,
                           on_fold: OnFold | None = None) -> dict[str, object]:
    started = time.perf_counter()
    corpus = uss_corpus(settings, scorer)
    cv = cross_validate(corpus, folds, settings.seed, on_fold)
    p = cv.prefixes
    evaluated = np.unique(p.dialogue)
    soured = corpus.soured
    return {
        "task": "early-warning",
        "protocol": (f"{folds}-fold CV over USS dialogues (stratified by dialogue outcome); prefixes end at every "
                     "turn before the first dissatisfied customer turn (mean rating <= 2); alarm threshold chosen "
                     "per fold on the training dialogues for dialogue-level F1"),
        "message_scorer": getattr(scorer, "version", "unknown"),
        "dialogues": len(corpus.corpus),
        "dialogues_evaluated": int(len(evaluated)),
        "dissatisfied_dialogues_evaluated": int(soured[evaluated].sum()),
        "dissatisfied_at_first_turn_not_forecastable": int((soured & ~np.isin(np.arange(len(soured)), evaluated)).sum()),
        "prefixes": int(len(p.dialogue)),
        "forecaster": _summary(cv.forecaster, p, corpus, cv.folds),
        "baseline_last_message_score": _summary(p.last_score, p, corpus, cv.folds),
        "baseline_prefix_mean_score": _summary(p.mean_score, p, corpus, cv.folds),
        "features": list(FEATURE_NAMES),
        "seconds": round(time.perf_counter() - started, 1),
    }


def train_early_warning(settings: Settings, scorer: Scorer, folds: int = 10,
                        on_fold: OnFold | None = None) -> tuple[Forecaster, dict[str, object]]:
    """Fit on every dialogue; the level thresholds come from the cross-validated probabilities."""
    corpus = uss_corpus(settings, scorer)
    cv = cross_validate(corpus, folds, settings.seed, on_fold)
    everyone = np.arange(len(corpus.corpus))
    elevated = threshold_for_false_alarms(cv.forecaster, cv.prefixes, corpus, ELEVATED_FALSE_ALARMS, everyone)
    high = max(elevated, threshold_for_false_alarms(cv.forecaster, cv.prefixes, corpus, HIGH_FALSE_ALARMS, everyone))
    authors = corpus.authors
    x = hashed([m.text for m in corpus.messages])
    turns = TurnModel.fit([], authors, corpus.next_dissatisfied, features=x)
    # the readout learns from cross-fitted logits, as in evaluation, then serves the full turn model's
    p = replay(corpus, cross_fit_trouble(corpus, x, everyone, settings.seed))
    readout = Readout.fit(p.rows, corpus.soured[p.dialogue])
    now = datetime.now(UTC)
    meta = ForecasterMeta(version=f"early-warning-{now:%Y%m%d%H%M%S}", trained_at=now.isoformat(),
                          fast_version=getattr(scorer, "version", "unknown"), elevated=elevated, high=high)
    forecaster = Forecaster(turns, readout.mean, readout.scale, readout.coef, readout.intercept, meta)
    summary = {"model": "early-warning", "model_version": meta.version, "elevated_threshold": round(elevated, 4),
               "high_threshold": round(high, 4), "prefixes": int(len(p.dialogue)),
               "weights": {n: round(float(c), 3) for n, c in zip(FEATURE_NAMES, readout.coef, strict=True)}}
    return forecaster, summary

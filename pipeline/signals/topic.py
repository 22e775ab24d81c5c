"""What a message is about, for routing: one of ~10 routing topics, and the fine BANKING77 intent.

Routing needs a topic per message at stream speed, and a topic it can trust: a wrong topic sends a
customer to the wrong queue, so below `min_confidence` the topic is None and routing falls back to
rules that do not test it. The model is the fast model's recipe on a smaller scale: hashed word
and character n-grams (`pipeline.signals.hashing`), sublinear TF-IDF, and a linear SVM over the 77
intents. An SVM's margins are not probabilities, so they go through a softmax whose temperature is
fitted on out-of-fold margins (one number, Guo et al.'s temperature scaling). A routing topic's
confidence is the summed probability of its intents, so "cards" can be certain while the
exact card intent is not.

The artefact is plain arrays (`weights.npz`: the hashed columns that carry weight, their
coefficients and idf values) plus `meta.json`; loading it unpickles nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from pipeline.config import Settings
from pipeline.errors import ModelNotTrainedError
from pipeline.signals.hashing import CharNgramHasher, WordNgramHasher
from pipeline.signals.tfidf import fit_idf, idf_arrays, idf_from_arrays, tfidf

WEIGHTS_FILE = "weights.npz"
META_FILE = "meta.json"
OTHER = "other"

#: The routing topic of each BANKING77 intent: the queues a bank's contact centre is split into.
COARSE: Mapping[str, str] = {
    **dict.fromkeys(
        ("card_arrival", "card_linking", "card_delivery_estimate", "card_not_working", "lost_or_stolen_card",
         "pin_blocked", "contactless_not_working", "supported_cards_and_currencies", "getting_virtual_card",
         "card_acceptance", "get_physical_card", "visa_or_mastercard", "disposable_card_limits",
         "compromised_card", "card_swallowed", "change_pin", "getting_spare_card", "order_physical_card",
         "virtual_card_not_working", "get_disposable_virtual_card", "activate_my_card", "card_about_to_expire",
         "apple_pay_or_google_pay"),
        "cards"),
    **dict.fromkeys(
        ("card_payment_not_recognised", "direct_debit_payment_not_recognised", "pending_card_payment",
         "declined_card_payment", "transaction_charged_twice", "reverted_card_payment?"),
        "payments"),
    **dict.fromkeys(
        ("pending_cash_withdrawal", "wrong_amount_of_cash_received", "declined_cash_withdrawal",
         "cash_withdrawal_not_recognised", "atm_support", "balance_not_updated_after_cheque_or_cash_deposit"),
        "cash"),
    **dict.fromkeys(
        ("cancel_transfer", "transfer_not_received_by_recipient", "declined_transfer", "pending_transfer",
         "transfer_timing", "beneficiary_not_allowed", "failed_transfer", "transfer_into_account",
         "receiving_money", "balance_not_updated_after_bank_transfer"),
        "transfers"),
    **dict.fromkeys(("request_refund", "Refund_not_showing_up"), "refunds"),
    **dict.fromkeys(
        ("extra_charge_on_statement", "card_payment_fee_charged", "top_up_by_bank_transfer_charge",
         "transfer_fee_charged", "exchange_charge", "top_up_by_card_charge", "cash_withdrawal_charge"),
        "fees_charges"),
    **dict.fromkeys(
        ("exchange_rate", "card_payment_wrong_exchange_rate", "fiat_currency_support", "exchange_via_app",
         "wrong_exchange_rate_for_cash_withdrawal"),
        "exchange"),
    **dict.fromkeys(
        ("automatic_top_up", "pending_top_up", "top_up_limits", "top_up_reverted", "topping_up_by_card",
         "top_up_by_cash_or_cheque", "top_up_failed", "verify_top_up"),
        "top_up"),
    **dict.fromkeys(
        ("why_verify_identity", "unable_to_verify_identity", "verify_my_identity", "verify_source_of_funds"),
        "identity_verification"),
    **dict.fromkeys(("passcode_forgotten", "lost_or_stolen_phone", "edit_personal_details", "terminate_account"),
                    "account"),
    **dict.fromkeys(("age_limit", "country_support"), OTHER),
}

#: Every name a routing rule may test: the routing topics and the fine intents.
KNOWN_TOPICS: frozenset[str] = frozenset(COARSE) | frozenset(COARSE.values())


def coarse_topic(intent: str, mapping: Mapping[str, str] = COARSE) -> str:
    """The routing topic of a fine intent; an intent the mapping does not know is `other`."""
    return mapping.get(intent, OTHER)


@dataclass(frozen=True, slots=True)
class TopicPrediction:
    """The likeliest routing topic and fine intent, each None when its confidence is below the bar."""

    topic: str | None
    confidence: float
    intent: str | None
    intent_confidence: float


@dataclass(frozen=True)
class TopicMeta:
    version: str
    trained_at: str
    intents: list[str]
    coarse: dict[str, str]
    temperature: float
    min_confidence: float
    training_rows: int
    data_fingerprint: str
    params: dict[str, object] = field(default_factory=dict)


class TopicModel:
    """Routing topic and BANKING77 intent of short customer texts (fit, predict, predict_proba, save, load)."""

    def __init__(
        self,
        C: float = 0.5,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (1, 4),
        n_features: int = 2**18,
        calibration_folds: int = 3,
        min_confidence: float = 0.5,
        coarse: Mapping[str, str] = COARSE,
        random_state: int = 13,
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence is {min_confidence}: give a probability from 0 to 1")
        self.C = C
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.n_features = n_features
        self.calibration_folds = calibration_folds
        self.min_confidence = min_confidence
        self.coarse = dict(coarse)
        self.random_state = random_state
        self._word = WordNgramHasher(self.word_ngrams, n_features=n_features)  # type: ignore[arg-type]
        self._char = CharNgramHasher(self.char_ngrams, n_features=n_features)  # type: ignore[arg-type]
        self.meta: TopicMeta | None = None

    @property
    def params(self) -> dict[str, object]:
        return {"C": self.C, "word_ngrams": list(self.word_ngrams), "char_ngrams": list(self.char_ngrams),
                "n_features": self.n_features, "calibration_folds": self.calibration_folds,
                "random_state": self.random_state}

    @property
    def version(self) -> str:
        return self.trained.version

    @property
    def classes_(self) -> list[str]:
        return self.trained.intents

    # --- features -----------------------------------------------------------------------------------

    def _counts(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        texts = [str(t) for t in texts]
        return self._word.transform(texts), self._char.transform(texts)

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        word, char = self._counts(texts)
        return sp.hstack([tfidf(word, self.word_idf_), tfidf(char, self.char_idf_)], format="csr")

    # --- fitting ------------------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> TopicModel:
        """Fit the intent classifier on `texts` and their BANKING77 `intents` (any labels will do:
        one the coarse mapping lacks routes as `other`)."""
        texts, labels = [str(t) for t in texts], np.asarray([str(i) for i in intents], dtype=object)
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"fit needs one intent per text: got {len(texts)} texts and {len(labels)} intents")
        intents_, y = np.unique(labels, return_inverse=True)
        if len(intents_) < 2:
            raise ValueError("fit needs at least two intents to tell apart")
        word, char = self._counts(texts)
        self.word_idf_, self.char_idf_ = fit_idf(word), fit_idf(char)
        matrix = sp.hstack([tfidf(word, self.word_idf_), tfidf(char, self.char_idf_)], format="csr")
        temperature = self._fit_temperature(matrix, y)
        coef, intercept, _ = _linear_svm(matrix, y, self.C, self.random_state)
        self._set_weights(coef, intercept, temperature)
        trained_at = datetime.now(UTC)
        fingerprint = _fingerprint(texts, labels)
        self.meta = TopicMeta(
            version=f"topic-{trained_at:%Y%m%d%H%M%S}-{fingerprint[:8]}",
            trained_at=trained_at.isoformat(),
            intents=[str(i) for i in intents_],
            coarse={str(i): coarse_topic(str(i), self.coarse) for i in intents_},
            temperature=temperature,
            min_confidence=self.min_confidence,
            training_rows=len(texts),
            data_fingerprint=fingerprint,
            params=self.params,
        )
        self._index_topics()
        return self

    def _fit_temperature(self, matrix: sp.csr_matrix, y: NDArray[np.int_]) -> float:
        """The softmax temperature that makes out-of-fold SVM margins the likeliest probabilities."""
        smallest = int(np.bincount(y).min())
        folds = min(self.calibration_folds, smallest)
        if folds < 2:
            raise ValueError(f"an intent has only {smallest} example(s): give each at least 2 to calibrate on")
        margins = np.zeros((len(y), int(y.max()) + 1))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        for train, held_out in split.split(np.zeros(len(y)), y):
            coef, intercept, classes = _linear_svm(matrix[train], y[train], self.C, self.random_state)
            margins[np.ix_(held_out, classes)] = matrix[held_out] @ coef.T + intercept
        rows = np.arange(len(y))

        def nll(t: float) -> float:
            return float(-log_softmax(margins * t, axis=1)[rows, y].mean())

        return float(minimize_scalar(nll, bounds=(0.01, 100.0), method="bounded").x)

    def _set_weights(self, coef: NDArray[np.float64], intercept: NDArray[np.float64], temperature: float) -> None:
        """Keep only the hashed columns that carry weight (a few percent of them), scaled by the temperature."""
        self.columns_ = np.flatnonzero(np.any(coef != 0.0, axis=0)).astype(np.int64)
        self.coef_ = (coef[:, self.columns_] * temperature).astype(np.float32)
        self.intercept_ = (np.asarray(intercept) * temperature).astype(np.float32)
        self._build_projection()

    def _build_projection(self) -> None:
        width = 2 * self.n_features
        n_classes = self.coef_.shape[0]
        rows = np.repeat(self.columns_, n_classes)
        cols = np.tile(np.arange(n_classes), len(self.columns_))
        self._projection = sp.csr_matrix((self.coef_.T.ravel(), (rows, cols)), shape=(width, n_classes))

    def _index_topics(self) -> None:
        meta = self.trained
        self._topics = sorted(set(meta.coarse.values()))
        topic_of = np.array([self._topics.index(meta.coarse[i]) for i in meta.intents])
        self._intent_to_topic = sp.csr_matrix(
            (np.ones(len(topic_of)), (np.arange(len(topic_of)), topic_of)), shape=(len(topic_of), len(self._topics))
        )

    # --- prediction ---------------------------------------------------------------------------------

    @property
    def trained(self) -> TopicMeta:
        """The fitted model's meta; a model not fitted or loaded says how to get one."""
        if self.meta is None:
            raise ModelNotTrainedError("topic", Path("<memory>"), "call fit() or TopicModel.load() first")
        return self.meta

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """P(intent) for each text, shape (n, n_intents), columns in `classes_` order."""
        intents = self.trained.intents
        if not len(texts):
            return np.zeros((0, len(intents)))
        margins = np.asarray((self._features(texts) @ self._projection).todense()) + self.intercept_
        return softmax(margins, axis=1)

    def predict(self, texts: Sequence[str], min_confidence: float | None = None) -> list[TopicPrediction]:
        """The likeliest topic and intent of each text; below `min_confidence` (the model's unless
        given) a topic or intent is None, so routing falls back to rules that do not test it."""
        bar = self.trained.min_confidence if min_confidence is None else min_confidence
        proba = self.predict_proba(texts)
        if not len(proba):
            return []
        topic_proba = np.asarray(proba @ self._intent_to_topic)
        best_intent, best_topic = proba.argmax(axis=1), topic_proba.argmax(axis=1)
        intents = self.classes_
        out = []
        for i in range(len(proba)):
            p_intent, p_topic = float(proba[i, best_intent[i]]), float(topic_proba[i, best_topic[i]])
            out.append(TopicPrediction(
                topic=self._topics[best_topic[i]] if p_topic >= bar else None,
                confidence=round(p_topic, 6),
                intent=intents[best_intent[i]] if p_intent >= bar else None,
                intent_confidence=round(p_intent, 6),
            ))
        return out

    def predict_one(self, text: str, min_confidence: float | None = None) -> TopicPrediction:
        return self.predict([text], min_confidence)[0]

    def topics(self, texts: Sequence[str], min_confidence: float | None = None) -> list[str | None]:
        """What routing takes per text: the intent when confident, else the routing topic when
        confident, else None (routing looks up an intent's topic itself)."""
        return [p.intent or p.topic for p in self.predict(texts, min_confidence)]

    # --- artefact -----------------------------------------------------------------------------------

    def save(self, directory: Path) -> Path:
        """weights.npz (plain arrays) and meta.json; idf is kept only where a training text had the n-gram."""
        meta = self.trained
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, NDArray] = {"columns": self.columns_, "coef": self.coef_, "intercept": self.intercept_}
        arrays |= idf_arrays("word", self.word_idf_) | idf_arrays("char", self.char_idf_)
        np.savez_compressed(directory / WEIGHTS_FILE, **arrays)
        (directory / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path, min_confidence: float | None = None) -> TopicModel:
        """A saved model; `min_confidence` overrides the one it was saved with."""
        if not (directory / WEIGHTS_FILE).is_file() or not (directory / META_FILE).is_file():
            raise ModelNotTrainedError("topic", directory)
        meta = TopicMeta(**json.loads((directory / META_FILE).read_text()))
        if min_confidence is not None:
            meta = TopicMeta(**{**asdict(meta), "min_confidence": min_confidence})
        p: dict[str, Any] = meta.params
        model = cls(C=float(p["C"]), word_ngrams=tuple(p["word_ngrams"]), char_ngrams=tuple(p["char_ngrams"]),
                    n_features=int(p["n_features"]), calibration_folds=int(p["calibration_folds"]),
                    min_confidence=meta.min_confidence, coarse=meta.coarse, random_state=int(p["random_state"]))
        with np.load(directory / WEIGHTS_FILE) as w:
            model.columns_, model.coef_, model.intercept_ = w["columns"], w["coef"], w["intercept"]
            model.word_idf_ = idf_from_arrays(w, "word", model.n_features)
            model.char_idf_ = idf_from_arrays(w, "char", model.n_features)
        model.meta = meta
        model._build_projection()
        model._index_topics()
        return model


def _linear_svm(matrix: sp.csr_matrix, y: NDArray[np.int_], C: float, seed: int) -> tuple[NDArray, NDArray, NDArray]:
    """One-vs-rest linear SVM weights, one row per class present in `y` (two rows for two classes,
    where liblinear fits one: ±half the margin each, which a softmax turns back into its sigmoid)."""
    svm = LinearSVC(C=C, random_state=seed).fit(matrix, y)  # liblinear shuffles: seed it
    coef, intercept = svm.coef_, svm.intercept_
    if len(svm.classes_) == 2:
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    return coef, intercept, svm.classes_


def _fingerprint(texts: Sequence[str], labels: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def topic_dir(settings: Settings) -> Path:
    """Where `train_topic` saves the model and the stream loads it from."""
    return settings.models_dir / "topic"


def load_topic_model(settings: Settings, min_confidence: float | None = None) -> TopicModel:
    return TopicModel.load(topic_dir(settings), min_confidence)

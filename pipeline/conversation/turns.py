"""How much trouble one turn signals for the rest of the conversation, read from its words.

The message scorer knows complaints, not conversations: an agent's "I'm sorry, there are no trains
that day" or a customer's "what if I left on Friday?" is no complaint, yet it is where dialogues
turn sour. Two linear models over hashed word n-grams, one for agent turns and one for customer
turns, learn from the User Satisfaction Simulation dialogues whether the next customer turn is
dissatisfied. They cost one hash and one dot product per message, so the stream can afford them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline.schema import Author

N_FEATURES = 2**18
_HASHER = HashingVectorizer(ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False, norm="l2")


def hashed(texts: Sequence[str]):  # -> scipy.sparse.csr_matrix
    """Word unigrams and bigrams, hashed: no vocabulary to fit, store or drift."""
    return _HASHER.transform(texts)


@dataclass(frozen=True)
class TurnModel:
    """Per-author weights over the hashed n-grams, and an intercept: a logit of trouble ahead."""

    agent_coef: np.ndarray
    agent_intercept: float
    customer_coef: np.ndarray
    customer_intercept: float

    @classmethod
    def fit(cls, texts: Sequence[str], authors: Sequence[Author], next_dissatisfied: Sequence[bool],
            c: float = 1.0, features=None) -> TurnModel:
        """`features` may pass the texts already hashed (cross-validation hashes once)."""
        x = hashed(texts) if features is None else features
        who = np.array([a is Author.agent for a in authors])
        y = np.asarray(next_dissatisfied, dtype=bool)
        parts = []
        for mask in (who, ~who):
            if y[mask].all() or not y[mask].any():
                raise ValueError("turn model needs dissatisfied and satisfied next turns for both authors: "
                                 "train on more dialogues")
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x[mask], y[mask])
            parts.append((model.coef_[0].astype(np.float32), float(model.intercept_[0])))
        (agent_coef, agent_intercept), (customer_coef, customer_intercept) = parts
        return cls(agent_coef, agent_intercept, customer_coef, customer_intercept)

    def trouble(self, texts: Sequence[str], authors: Sequence[Author], features=None) -> np.ndarray:
        """The logit for each turn, by its author's model."""
        x = hashed(texts) if features is None else features
        agent = x @ self.agent_coef + self.agent_intercept
        customer = x @ self.customer_coef + self.customer_intercept
        who = np.array([a is Author.agent for a in authors], dtype=bool)
        return np.where(who, agent, customer).astype(float)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"agent_coef": self.agent_coef, "agent_intercept": np.array(self.agent_intercept),
                "customer_coef": self.customer_coef, "customer_intercept": np.array(self.customer_intercept)}

    @classmethod
    def from_arrays(cls, stored) -> TurnModel:  # noqa: ANN001 - an NpzFile or a dict of arrays
        return cls(np.asarray(stored["agent_coef"], dtype=np.float32), float(stored["agent_intercept"]),
                   np.asarray(stored["customer_coef"], dtype=np.float32), float(stored["customer_intercept"]))

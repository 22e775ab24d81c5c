"""Sublinear TF-IDF over hashed n-gram counts, with the idf stored as plain arrays.

The hashers (`hashing.py`) keep no vocabulary, so the only fitted state is one idf value per hashed
column. scikit-learn's `TfidfTransformer` does the weighting; the models that use it (topics, the
learned vulnerability half) save its idf without pickles, and only where a training text had the
n-gram: every other column shares the largest idf, so it is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfTransformer


def fit_idf(counts: sp.csr_matrix) -> NDArray[np.float64]:
    """Smoothed idf, ln((1 + n) / (1 + df)) + 1."""
    return TfidfTransformer(sublinear_tf=True).fit(counts.astype(np.float64)).idf_


def tfidf(counts: sp.csr_matrix, idf: NDArray[np.float64]) -> sp.csr_matrix:
    """Sublinear tf (1 + ln tf) times idf, each row scaled to unit length."""
    transformer = TfidfTransformer(sublinear_tf=True)
    transformer.idf_ = idf
    return transformer.transform(counts.astype(np.float64))


def idf_arrays(name: str, idf: NDArray[np.float64]) -> dict[str, NDArray]:
    """The idf as `{name}_idf_columns`, `{name}_idf` and `{name}_idf_unseen`, for `np.savez`."""
    unseen = float(idf.max())  # every n-gram no training text had shares the largest idf
    seen = np.flatnonzero(idf != unseen)
    return {f"{name}_idf_columns": seen, f"{name}_idf": idf[seen], f"{name}_idf_unseen": np.array(unseen)}


def idf_from_arrays(stored: Mapping[str, NDArray], name: str, n_features: int) -> NDArray[np.float64]:
    """The full idf back from what `idf_arrays` wrote."""
    idf = np.full(n_features, float(stored[f"{name}_idf_unseen"]))
    idf[stored[f"{name}_idf_columns"]] = stored[f"{name}_idf"]
    return idf

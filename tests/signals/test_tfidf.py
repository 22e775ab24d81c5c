"""TF-IDF over hashed counts: the weighting, and the idf stored as plain arrays and read back."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pipeline.signals.hashing import WordNgramHasher
from pipeline.signals.tfidf import fit_idf, idf_arrays, idf_from_arrays, tfidf

TEXTS = ["my flight was cancelled again", "cancelled cancelled cancelled", "thanks for the help", ""]


def _counts() -> sp.csr_matrix:
    return WordNgramHasher((1, 1), n_features=2**10).transform(TEXTS)


def test_idf_is_smoothed_and_tf_sublinear() -> None:
    counts = _counts()
    idf = fit_idf(counts)
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    assert np.allclose(idf, np.log((1 + len(TEXTS)) / (1 + df)) + 1)
    weighted = tfidf(counts, idf)
    row = weighted[1].toarray().ravel()  # one word three times: 1 + ln 3, then scaled to unit length
    assert np.count_nonzero(row) == 1 and np.isclose(row.max(), 1.0)
    norms = np.sqrt(weighted.multiply(weighted).sum(axis=1)).A.ravel()
    assert np.allclose(norms[:3], 1.0) and norms[3] == 0.0  # an empty text stays empty


def test_idf_round_trips_through_plain_arrays() -> None:
    idf = fit_idf(_counts())
    stored = idf_arrays("word", idf)
    assert len(stored["word_idf_columns"]) < len(idf) / 10  # only the columns a training text had
    assert np.array_equal(idf_from_arrays(stored, "word", len(idf)), idf)

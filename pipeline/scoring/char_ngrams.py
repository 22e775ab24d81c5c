"""Character n-gram counts computed in numpy, hashed into a fixed number of columns.

scikit-learn's `char_wb` analyzer builds n-grams in a Python loop and tops out near 3,000 tweets/s
on this machine, which alone would cap the fast scorer far below its 10,000 messages/s budget.
This transformer produces the same kind of features, n-grams inside space-padded words (like
`char_wb`), with vectorised rolling hashes over the code points of a whole batch at once, and
runs at about a hundred thousand tweets a second. Being stateless, like `HashingVectorizer`, it pairs with
`TfidfTransformer` for the idf weighting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

_SPACE = 32
_DOC_END = 0
_BASE = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _padded_codes(texts: Sequence[str]) -> np.ndarray:
    """One code-point array for the batch: each word wrapped in its own spaces, words two spaces
    apart and documents ended by NUL, so no valid window crosses a word or a document."""
    joined = "".join(" " + "  ".join(str(t).lower().split()) + " \x00" for t in texts)
    return np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


class CharNgramHasher(TransformerMixin, BaseEstimator):
    """Counts of within-word character n-grams, hashed to `n_features` columns."""

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), n_features: int = 2**20) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features

    def fit(self, texts: Sequence[str], y: object = None) -> CharNgramHasher:
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = list(texts)
        codes = _padded_codes(texts)
        doc = np.concatenate([[0], np.cumsum(codes[:-1] == _DOC_END)])
        # breaks[i] marks a position no n-gram may span: a document end, or the gap between two words
        breaks = (codes == _DOC_END).astype(np.int64)
        breaks[:-1] |= (codes[:-1] == _SPACE) & (codes[1:] == _SPACE)
        breaks_before = np.concatenate([[0], np.cumsum(breaks)])
        rows, cols = [], []
        low, high = self.ngram_range
        with np.errstate(over="ignore"):  # the rolling hash wraps around 2**64 on purpose
            rolling = np.zeros(len(codes), dtype=np.uint64)
            for n in range(1, high + 1):
                width = len(codes) - n + 1
                rolling = rolling[:width] * _BASE + codes[n - 1 : n - 1 + width]
                if n < low:
                    continue
                starts = np.arange(width)
                # a window [i, i+n) is valid if no break lies at i..i+n-2 and its last char is no document end
                inner = breaks_before[starts + n - 1] - breaks_before[starts]
                valid = (inner == 0) & (codes[starts + n - 1] != _DOC_END)
                hashed = (rolling[valid] ^ (np.uint64(n) * _MIX)) * _MIX
                rows.append(doc[starts[valid]])
                cols.append((hashed >> np.uint64(20)) % np.uint64(self.n_features))
        if not rows:
            return sp.csr_matrix((len(texts), self.n_features), dtype=np.float32)
        # one sort of (row, column) keys gives the CSR layout and the counts without a COO detour
        keys, counts = np.unique(
            np.concatenate(rows).astype(np.int64) * self.n_features + np.concatenate(cols).astype(np.int64),
            return_counts=True,
        )
        row, col = np.divmod(keys, self.n_features)
        indptr = np.searchsorted(row, np.arange(len(texts) + 1))
        return sp.csr_matrix((counts.astype(np.float32), col, indptr), shape=(len(texts), self.n_features))

    def ngrams(self, text: str) -> list[str]:
        """The n-grams `transform` counts for one text, in plain form (for tests and explanations)."""
        low, high = self.ngram_range
        grams = []
        for word in str(text).lower().split():
            padded = f" {word} "
            for n in range(low, high + 1):
                grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
        return grams

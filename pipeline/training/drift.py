"""Model drift: is the live stream still the population the model was trained on?

A `Profile` summarises a population of scored messages in a few kilobytes: how the model's outputs
are spread (complaint probability, dissatisfaction, severity, the share flagged), how often each cue
fires, and what the texts look like (length, upper case, URLs, @mentions, hashtags, non-ASCII
letters, English function words). The reference profile is taken once per model version from the
training data and kept beside the model (`drift_reference.json` in its artefact folder); `compare`
sets a live profile against it feature by feature.

Two measures, each with its convention:

* Binned features (scores, severity classes, length, upper-case share, function-word share) by the
  population stability index, PSI = sum_i (a_i - e_i) ln(a_i / e_i) over matching bins (e: reference
  proportions, a: live). The credit-scoring rule of thumb (Siddiqi 2006, *Credit Risk Scorecards*;
  Yurdakul 2018, "Statistical properties of the population stability index") reads PSI < 0.1 as no
  significant change, 0.1 to 0.2 as a moderate shift worth watching, and > 0.2 as a significant shift:
  hence `psi_warn=0.1` and `psi_alert=0.2`.
* Rates (each cue label, the share flagged as complaints, URL / @mention / hashtag / non-ASCII shares)
  by Cohen's h = 2 asin(sqrt(p_live)) - 2 asin(sqrt(p_ref)), the effect size for two proportions
  (Cohen 1988: 0.2 small, 0.5 medium, 0.8 large): `rate_warn=0.2`, `rate_alert=0.5`. The arcsine
  scale weighs a change from 1% to 5% more than one from 50% to 54%, as an analyst would. For small
  shifts h^2 is about the PSI of the two-bin split, so h 0.5 sits beside PSI 0.25: the two alerts agree.

A shift must be large by its measure *and* unlikely to be sampling noise: a chi-square test of
homogeneity on the counts (for a rate, the 2x2 table without continuity correction, which is the
two-proportion z-test; simulated exactly where expected counts are small) must give p < `alpha`
(0.01), or the feature stays ok. A live window of a few dozen messages then seldom alerts on noise
alone, while in one of thousands every shift past the thresholds counts.

The reference's scores must be what the model says of *new* text like its training data, not of the
training texts themselves: the fast model all but memorises those, and an in-sample reference would
put every live stream in alert on the score features. `build_reference` therefore scores the
training texts out of fold (see there).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import rel_entr
from scipy.stats import MonteCarloMethod, chi2_contingency

from pipeline.config import Settings
from pipeline.ingest.sources.replay import ReplaySource
from pipeline.schema import Author, CueLabel, Message, MessageScore, Severity
from pipeline.scoring.base import Scorer
from pipeline.scoring.fast import FastScorer
from pipeline.scoring.registry import ScorerName, artefact_dir

REFERENCE_FILE = "drift_reference.json"
LATEST_FILE = "drift_latest.json"
SCORE_CUTS = [round(x, 6) for x in np.linspace(0.0, 1.0, 11)[1:-1]]  # 10 equal-width bins on [0, 1]
DECILES = np.linspace(0.1, 0.9, 9)
CHUNK = 1024

FeatureKind = Literal["score", "descriptor", "cue"]
Status = Literal["ok", "warn", "alert"]
_ORDER: tuple[Status, ...] = ("ok", "warn", "alert")

_URL = re.compile(r"https?://\S+|\bwww\.\w\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w#&])#\w*[^\W\d_]\w*")  # not `&#39;`, not `#1`
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

#: What each feature means, for the sentences an analyst reads.
TITLES: dict[str, str] = {
    "complaint_probability": "complaint probability",
    "dissatisfaction": "dissatisfaction score",
    "severity": "severity class",
    "flagged_complaint": "share scored as complaints",
    "length_chars": "text length in characters",
    "upper_case_share": "share of letters in upper case",
    "function_word_share": "share of words that are English function words",
    "has_url": "share of messages with a URL",
    "has_mention": "share of messages with an @mention",
    "has_hashtag": "share of messages with a hashtag",
    "has_non_ascii_letter": "share of messages with non-ASCII letters",
    **{f"cue_{label.value}": "share of messages with {} {} cue".format(
        "an" if label.value[0] in "aeiou" else "a", label.value.replace("_", " ")) for label in CueLabel},
}


class Distribution(BaseModel):
    """Proportions over bins: numeric bins between `cuts` (interior edges; a value equal to a cut falls
    in the bin above it), or named categories when `cuts` is None."""

    model_config = ConfigDict(frozen=True)

    kind: FeatureKind
    cuts: list[float] | None = None
    labels: list[str]
    proportions: list[float]


class Rate(BaseModel):
    """The share of messages with some property."""

    model_config = ConfigDict(frozen=True)

    kind: FeatureKind
    rate: float = Field(ge=0.0, le=1.0)


class Profile(BaseModel):
    """What a population of scored messages looks like; a few KB of JSON."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    model_version: str | None = None
    score_basis: Literal["served", "out_of_fold", "in_sample"] = Field(
        default="served", description="served: scored by the model in service (live traffic); out_of_fold: "
        "training texts scored by models that did not see them; in_sample: training texts scored by the "
        "model trained on them (optimistic)")
    source: str = ""
    created_at: str | None = None
    distributions: dict[str, Distribution]
    rates: dict[str, Rate]

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        return cls.model_validate_json(text)


class FeatureDrift(BaseModel):
    """One feature of the live profile against the reference."""

    name: str
    kind: FeatureKind
    measure: Literal["psi", "cohen_h"]
    psi: float = Field(description="PSI over the feature's bins (a rate: its two-bin split); ranks every feature")
    cohen_h: float | None = Field(default=None,
                                  description="rates only: live minus reference on the arcsine scale")
    p_value: float = Field(description="chi-square test of homogeneity of the counts")
    reference: float | None = Field(default=None, description="rates only: the reference rate")
    live: float | None = Field(default=None, description="rates only: the live rate")
    status: Status
    sentence: str


class DriftReport(BaseModel):
    status: Status
    summary: str
    reference_n: int
    live_n: int
    reference_version: str | None
    live_version: str | None
    thresholds: dict[str, float]
    features: list[FeatureDrift]
    alerts: list[str] = Field(description="one sentence per feature in alert, naming it and its numbers")
    warnings: list[str] = Field(description="one sentence per feature in warn, and any caveat")

    def top(self, k: int = 5) -> list[FeatureDrift]:
        """The features that moved most, by PSI."""
        return sorted(self.features, key=lambda f: f.psi, reverse=True)[:k]


# --- the measures ----------------------------------------------------------------------------------

def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index of `actual` against `expected` over the same bins.

    Both are proportions or counts (each is normalised to sum to 1), then floored at `eps` so a bin
    empty on one side adds a large but finite term rather than infinity. PSI is the symmetrised
    Kullback-Leibler (Jeffreys) divergence, sum (a - e) ln(a / e) = KL(a||e) + KL(e||a). Read it by the
    usual convention: < 0.1 stable, 0.1 to 0.2 a moderate shift, > 0.2 a significant one.
    """
    e, a = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.ndim != 1 or len(e) < 2:
        raise ValueError(f"psi needs two matching 1-d sets of at least 2 bins, not shapes {e.shape} "
                         f"and {a.shape}")
    if (e < 0).any() or (a < 0).any() or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("psi needs non-negative proportions or counts with a positive total on each side")
    e = np.clip(e / e.sum(), eps, None)
    a = np.clip(a / a.sum(), eps, None)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


def cohen_h(reference: float, live: float) -> float:
    """Cohen's h for two proportions: 2 asin(sqrt(live)) - 2 asin(sqrt(reference))."""
    return 2.0 * math.asin(math.sqrt(live)) - 2.0 * math.asin(math.sqrt(reference))


def homogeneity_p(reference_counts: Sequence[float], live_counts: Sequence[float]) -> float:
    """p-value of the chi-square test that both samples come from one distribution over these bins
    (no continuity correction: on two bins it is the pooled two-proportion z-test). Where an expected
    count is under 5 (Cochran's rule: a small live window, a rare cue) the chi-square approximation
    overstates significance, so the p-value is then simulated from random tables with the observed
    margins (the exact conditional test, as Fisher's; 9,999 draws, fixed seed). Bins empty on both
    sides are dropped; with fewer than two left there is nothing to test and p is 1."""
    table = np.asarray([reference_counts, live_counts], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    asymptotic = chi2_contingency(table, correction=False)
    if asymptotic.expected_freq.min() >= 5:
        return float(asymptotic.pvalue)
    exact = chi2_contingency(table.round().astype(int), correction=False,
                             method=MonteCarloMethod(n_resamples=9_999, rng=0))
    return float(exact.pvalue)


# --- profiles --------------------------------------------------------------------------------------

def _bin_labels(cuts: Sequence[float], lo: float | None = None, hi: float | None = None) -> list[str]:
    if not cuts:
        return ["all"]
    edges = [f"{c:.4g}" for c in cuts]
    first = f"[{lo:g}, {edges[0]})" if lo is not None else f"< {edges[0]}"
    last = f"[{edges[-1]}, {hi:g}]" if hi is not None else f">= {edges[-1]}"
    return [first, *(f"[{a}, {b})" for a, b in itertools.pairwise(edges)), last]


def _binned(values: np.ndarray, cuts: Sequence[float], kind: FeatureKind, labels: list[str]) -> Distribution:
    counts = np.bincount(np.searchsorted(np.asarray(cuts, dtype=float), values, side="right"),
                         minlength=len(cuts) + 1)
    return Distribution(kind=kind, cuts=list(cuts), labels=labels,
                        proportions=[round(float(c), 6) for c in counts / len(values)])


def _decile_cuts(values: np.ndarray) -> list[float]:
    """The reference's deciles as interior edges: duplicates (ties) merged, and a cut at the minimum
    dropped, since the bin below it would be empty on every sample."""
    cuts = np.unique(np.round(np.quantile(values, DECILES), 4))
    return [float(c) for c in cuts if c > values.min()]


def describe_texts(texts: Sequence[str]) -> pd.DataFrame:
    """The text descriptors, one row per text (plain Python and pandas: over 10,000 tweets a second)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    series = pd.Series(list(texts), dtype=object)
    letters = [[c for c in t if c.isalpha()] for t in texts]
    words = [_WORD.findall(t.lower()) for t in texts]
    return pd.DataFrame({
        "length_chars": series.str.len().astype(float),
        "upper_case_share": [sum(c.isupper() for c in ls) / len(ls) if ls else 0.0 for ls in letters],
        "function_word_share": [sum(w in STOP_WORDS for w in ws) / len(ws) if ws else 0.0 for ws in words],
        "has_url": series.str.contains(_URL),
        "has_mention": series.str.contains(_MENTION),
        "has_hashtag": series.str.contains(_HASHTAG),
        "has_non_ascii_letter": [any(not c.isascii() for c in ls) for ls in letters],
    })


def profile(texts: Sequence[str], scores: Sequence[MessageScore], reference: Profile | None = None, *,
            model_version: str | None = None, source: str = "") -> Profile:
    """The profile of scored texts (`scores[i]` is the score of `texts[i]`). With `reference`, every
    numeric feature is binned on the reference's edges so the two compare bin by bin; without, the
    descriptors are binned on this sample's own deciles (that is how a reference is made)."""
    if len(texts) != len(scores):
        raise ValueError(f"{len(texts)} texts but {len(scores)} scores: give one score per text, in order")
    if not texts:
        raise ValueError("no messages to profile: a profile needs at least one scored message")
    n = len(texts)
    versions = {s.model_version for s in scores}
    version = model_version or (versions.pop() if len(versions) == 1 else None)
    score_labels = _bin_labels(SCORE_CUTS, 0.0, 1.0)
    distributions: dict[str, Distribution] = {
        "complaint_probability": _binned(np.fromiter((s.complaint_probability for s in scores), float, n),
                                         SCORE_CUTS, "score", score_labels),
        "dissatisfaction": _binned(np.fromiter((s.dissatisfaction for s in scores), float, n),
                                   SCORE_CUTS, "score", score_labels),
    }
    severity = Counter(s.severity.name for s in scores)
    distributions["severity"] = Distribution(kind="score", labels=[s.name for s in Severity],
                                             proportions=[round(severity[s.name] / n, 6) for s in Severity])
    descriptors = describe_texts(texts)
    for name in ("length_chars", "upper_case_share", "function_word_share"):
        values = descriptors[name].to_numpy(dtype=float)
        if reference is not None:
            cuts = _reference_distribution(reference, name).cuts or []
        else:
            cuts = _decile_cuts(values)
        distributions[name] = _binned(values, cuts, "descriptor", _bin_labels(cuts))
    rates = {"flagged_complaint": Rate(kind="score", rate=_share(s.is_complaint for s in scores))}
    for name in ("has_url", "has_mention", "has_hashtag", "has_non_ascii_letter"):
        rates[name] = Rate(kind="descriptor", rate=round(float(descriptors[name].mean()), 6))
    present = [{c.label for c in s.cues} for s in scores]
    for label in CueLabel:
        rates[f"cue_{label.value}"] = Rate(kind="cue", rate=_share(label in p for p in present))
    return Profile(n=n, model_version=version, source=source,
                   created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   distributions=distributions, rates=rates)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 6)


def _reference_distribution(reference: Profile, name: str) -> Distribution:
    if name not in reference.distributions:
        raise ValueError(f"the reference profile has no '{name}': it was made by another version of "
                         f"pipeline/training/drift.py; rebuild it with build_reference")
    return reference.distributions[name]


# --- comparing -------------------------------------------------------------------------------------

def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_ORDER.index, default="ok")


def compare(reference: Profile, live: Profile, *, psi_warn: float = 0.1, psi_alert: float = 0.2,
            rate_warn: float = 0.2, rate_alert: float = 0.5, alpha: float = 0.01) -> DriftReport:
    """The live profile against the reference, feature by feature; the overall status is the worst.

    Binned features: PSI < `psi_warn` (0.1) ok, up to `psi_alert` (0.2) warn, above alert (the usual
    PSI convention: < 0.1 stable, 0.1-0.2 moderate, > 0.2 significant). Rates: |Cohen's h| at least
    `rate_warn` (0.2, small) warns, at least `rate_alert` (0.5, medium) alerts. Either only when the
    chi-square test of homogeneity on the counts gives p < `alpha`. `live` must be profiled with
    `profile(..., reference=reference)` so its bins are the reference's.
    """
    if not 0 < psi_warn <= psi_alert or not 0 < rate_warn <= rate_alert or not 0 < alpha < 1:
        raise ValueError("thresholds must satisfy 0 < warn <= alert, and 0 < alpha < 1")
    features: list[FeatureDrift] = []
    for name, ref in reference.distributions.items():
        got = live.distributions.get(name)
        if got is None or got.cuts != ref.cuts or got.labels != ref.labels:
            raise ValueError(f"the live profile's '{name}' is not binned as the reference's: build it with "
                             f"profile(texts, scores, reference=reference)")
        features.append(_compare_distribution(name, ref, got, reference.n, live.n, psi_warn, psi_alert, alpha))
    for name, ref_rate in reference.rates.items():
        if name not in live.rates:
            raise ValueError(f"the live profile has no rate '{name}': build it with the same drift.py "
                             f"as the reference")
        features.append(_compare_rate(name, ref_rate, live.rates[name], reference.n, live.n,
                                      rate_warn, rate_alert, alpha))
    alerts = [f.sentence for f in features if f.status == "alert"]
    warnings = [f.sentence for f in features if f.status == "warn"]
    if reference.score_basis == "in_sample":
        warnings.append("the reference's scores are in sample (the model scored its own training texts), so "
                        "score features read shifted even without drift; rebuild the reference out of fold "
                        "(build_reference with labels, fast model)")
    if reference.model_version and live.model_version and reference.model_version != live.model_version:
        warnings.append(f"the reference was scored by {reference.model_version} and the live messages by "
                        f"{live.model_version}: score and cue features compare two models, not two populations")
    status = _worst(f.status for f in features)
    return DriftReport(
        status=status,
        summary=_summary(status, features, reference, live),
        reference_n=reference.n, live_n=live.n,
        reference_version=reference.model_version, live_version=live.model_version,
        thresholds={"psi_warn": psi_warn, "psi_alert": psi_alert, "rate_warn": rate_warn,
                    "rate_alert": rate_alert, "alpha": alpha},
        features=features, alerts=alerts, warnings=warnings,
    )


def _compare_distribution(name: str, ref: Distribution, got: Distribution, n_ref: int, n_live: int,
                          warn: float, alert: float, alpha: float) -> FeatureDrift:
    e, a = np.asarray(ref.proportions), np.asarray(got.proportions)
    value = psi(e, a) if len(e) > 1 else 0.0
    p = homogeneity_p(np.round(e * n_ref), np.round(a * n_live))
    level: Status = "alert" if value >= alert else "warn" if value >= warn else "ok"
    significant = p < alpha
    status: Status = level if significant else "ok"
    head = f"{name} ({TITLES.get(name, name)}): PSI {value:.3f}"
    if level == "ok":
        sentence = f"{head}, stable (< {warn:g})."
    else:
        i = int(np.argmax(np.abs(a - e) * np.abs(np.log(np.clip(a, 1e-4, None) / np.clip(e, 1e-4, None)))))
        where = f"largest change in {got.labels[i]}: {_pct(e[i])} of reference messages, {_pct(a[i])} live"
        if significant:
            size = f"a significant shift (PSI >= {alert:g})" if level == "alert" else \
                f"a moderate shift ({warn:g} <= PSI < {alert:g})"
            sentence = f"{head}, {size}, {_p_text(p)}; {where}."
        else:
            sentence = f"{head} but {_p_text(p)} with {n_live} live messages: too few to tell from noise; {where}."
    return FeatureDrift(name=name, kind=ref.kind, measure="psi", psi=round(value, 4), p_value=p,
                        status=status, sentence=sentence)


def _compare_rate(name: str, ref: Rate, got: Rate, n_ref: int, n_live: int, warn: float, alert: float,
                  alpha: float) -> FeatureDrift:
    h = cohen_h(ref.rate, got.rate)
    k_ref, k_live = round(ref.rate * n_ref), round(got.rate * n_live)
    p = homogeneity_p([k_ref, n_ref - k_ref], [k_live, n_live - k_live])
    level: Status = "alert" if abs(h) >= alert else "warn" if abs(h) >= warn else "ok"
    status: Status = level if p < alpha else "ok"
    head = (f"{name} ({TITLES.get(name, name)}): {_pct(ref.rate)} in the reference, {_pct(got.rate)} live; "
            f"Cohen's h {h:+.2f}, {_p_text(p)}")
    if level == "ok":
        sentence = f"{head}: no material change (|h| < {warn:g})."
    elif status == "ok":
        sentence = f"{head}: too few live messages ({n_live}) to tell the change from noise."
    elif level == "alert":
        sentence = f"{head}: a {'large' if abs(h) >= 0.8 else 'medium'} change (|h| >= {alert:g})."
    else:
        sentence = f"{head}: a small but real change ({warn:g} <= |h| < {alert:g})."
    return FeatureDrift(name=name, kind=ref.kind, measure="cohen_h",
                        psi=round(psi([1 - ref.rate, ref.rate], [1 - got.rate, got.rate]), 4),
                        cohen_h=round(h, 4), p_value=p, reference=ref.rate, live=got.rate,
                        status=status, sentence=sentence)


def _summary(status: Status, features: list[FeatureDrift], reference: Profile, live: Profile) -> str:
    moved = {s: [f.name for f in sorted(features, key=lambda f: f.psi, reverse=True) if f.status == s]
             for s in ("alert", "warn")}
    sizes = f"{live.n} live messages against a reference of {reference.n}"
    if status == "ok":
        return f"ok: no feature has drifted ({sizes})."
    parts = [f"{len(moved[s])} {label} ({', '.join(moved[s])})"
             for s, label in (("alert", "in alert"), ("warn", "to watch")) if moved[s]]
    return f"{status}: {len(features)} features checked, {'; '.join(parts)} ({sizes})."


# --- the reference beside the model, and the checks ---------------------------------------------

def reference_profile_path(settings: Settings, target: Scorer | ScorerName | str | Path) -> Path:
    """Where the reference profile of a model lives: `drift_reference.json` in its artefact folder.

    `target` is that folder, a scorer name (`fast`), a model version (`fast-20261129…`: its family),
    or a scorer (by its name; a registry champion by the scorer it wraps).
    """
    if isinstance(target, Path):
        return target / REFERENCE_FILE
    return artefact_dir(settings, _family(target)) / REFERENCE_FILE


def _family(target: Scorer | ScorerName | str) -> ScorerName:
    if isinstance(target, ScorerName):
        return target
    names = {n.value for n in ScorerName}
    if isinstance(target, str):
        head = target if target in names else target.split("-", 1)[0]
    else:
        head = target.name if target.name in names else str(getattr(target, "scorer", target.name))
    if head not in names:
        raise ValueError(f"cannot tell which model '{head}' is: give one of {', '.join(sorted(names))}, "
                         f"or the artefact folder itself")
    return ScorerName(head)


def save_profile(p: Profile, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(p.to_json() + "\n")
    return path


def load_profile(path: Path) -> Profile:
    return Profile.from_json(path.read_text())


def _as_messages(texts: Sequence[str]) -> list[Message]:
    return [Message(id=f"ref-{i}", text=t) for i, t in enumerate(texts) if str(t).strip()]


def score_all(scorer: Scorer, messages: Sequence[Message]) -> list[MessageScore]:
    """Scores in chunks, as the stream sends them."""
    return [s for start in range(0, len(messages), CHUNK) for s in scorer.score(messages[start:start + CHUNK])]


def build_reference(settings: Settings, scorer: Scorer, texts: Sequence[str] | None = None,
                    labels: Sequence[int] | None = None, severity: Sequence[int] | None = None, *,
                    folds: int | None = None, path: Path | None = None, source: str | None = None,
                    on_fold: Callable[[int], None] | None = None) -> Profile:
    """Profile the training texts as the model sees new text of their kind, and save the profile beside
    the model (`reference_profile_path`, or `path`). Without `texts`: every complaint tweet, in the
    order `earlywarn train` fits them.

    Scoring a model's own training texts is no reference: the fast model all but memorises them (its
    in-sample probabilities never reach the middle bins that held-out tweets fill, PSI above 2 between
    the two). So when labels are known and the scorer is the fast model, the scores come out of fold:
    `folds` copies with the served model's parameters (default: its own calibration folds and seed,
    the very split its isotonic calibrator was fitted on), each trained on the other folds, score the
    texts they did not see; their raw complaint scores go through the *served* model's calibrator, so
    the probabilities take the served model's step values, and the served threshold decides. That
    costs `folds` trainings (minutes on the full data), once per model version. Any other scorer, or
    texts without labels, is profiled in sample and the profile says so (`score_basis`); `compare`
    then warns.
    """
    if texts is None:
        from pipeline.datasets.complaint_tweets import load_complaint_tweets

        tweets = load_complaint_tweets(settings.data_dir)
        texts, labels, severity = tweets["text"].tolist(), tweets["label"].tolist(), tweets["severity"].tolist()
        source = source or f"complaint tweets (Preotiuc-Pietro et al. 2019), all {len(tweets)}"
    keep = [i for i, t in enumerate(texts) if str(t).strip()]
    texts = [str(texts[i]) for i in keep]
    labels = None if labels is None else [int(labels[i]) for i in keep]
    severity = None if severity is None else [int(severity[i]) for i in keep]
    described = source or f"{len(texts)} training texts"
    fast = _refittable(scorer)
    if fast is not None and labels is not None:
        k = folds or int(fast.model.calibration_folds)
        scores, basis = _out_of_fold(fast, texts, labels, severity, k, on_fold), "out_of_fold"
        described += f"; scores out of fold ({k} folds, served calibrator and threshold)"
    else:
        scores, basis = score_all(scorer, _as_messages(texts)), "in_sample"
        described += "; scores in sample"
    ref = profile(texts, scores, model_version=scorer.version, source=described).model_copy(
        update={"score_basis": basis})
    save_profile(ref, path or reference_profile_path(settings, scorer))
    return ref


def _refittable(scorer: Scorer) -> FastScorer | None:
    """The fast model behind `scorer` (itself, or the one a registry champion wraps), if it is one."""
    for candidate in (scorer, getattr(scorer, "_inner", None)):
        if isinstance(candidate, FastScorer):
            return candidate
    return None


def _out_of_fold(scorer: FastScorer, texts: list[str], labels: list[int], severity: list[int] | None, folds: int,
                 on_fold: Callable[[int], None] | None) -> list[MessageScore]:
    from sklearn.model_selection import StratifiedKFold

    from pipeline.scoring.fast_model import message_scores
    from pipeline.signals import cue_features

    if folds < 2:
        raise ValueError(f"folds is {folds}: out-of-fold scores need at least 2 folds")
    analyses = scorer.extractor.extract_with_sentiment(texts)
    cues = np.asarray([cue_features(a.cues, t, a.sentiment) for t, a in zip(texts, analyses, strict=True)])
    # the fold's own calibrator is replaced by the served one: two calibration folds are enough to fit it
    params = {**scorer.model.get_params(), "calibration_folds": 2}
    scores: list[MessageScore | None] = [None] * len(texts)
    split = StratifiedKFold(folds, shuffle=True, random_state=scorer.model.random_state).split(texts, labels)
    for k, (train, test) in enumerate(split):
        fold = FastScorer.train([texts[i] for i in train], [labels[i] for i in train],
                                None if severity is None else [severity[i] for i in train],
                                extractor=scorer.extractor, cue_matrix=cues[train], **params)
        fold.model.calibrator_ = scorer.model.calibrator_
        held = [analyses[i] for i in test]
        prediction = fold.predict_analysed([texts[i] for i in test], held)
        fold_scores = message_scores([f"ref-{i}" for i in test], prediction, held, scorer.threshold, scorer.version)
        for i, s in zip(test, fold_scores, strict=True):
            scores[i] = s
        if on_fold:
            on_fold(k)
    return [s for s in scores if s is not None]


def load_reference(settings: Settings, scorer: Scorer, path: Path | None = None) -> Profile | None:
    """The saved reference of this scorer, or None when there is none or it was scored by another
    model version (a retrained model needs a new reference)."""
    path = path or reference_profile_path(settings, scorer)
    if not path.is_file():
        return None
    ref = load_profile(path)
    return ref if ref.model_version == scorer.version else None


def check_drift(settings: Settings, scorer: Scorer, live_messages: Sequence[Message],
                **thresholds: float) -> DriftReport:
    """Score the live messages and compare them with the model's reference (loaded, or built from the
    complaint tweets when missing or stale: minutes, once per model version). Pass what the stream
    scores: customer messages. `thresholds` go to `compare`."""
    ref = load_reference(settings, scorer) or build_reference(settings, scorer)
    messages = list(live_messages)
    live = profile([m.text for m in messages], score_all(scorer, messages), reference=ref,
                   model_version=scorer.version, source=f"{len(messages)} live messages")
    return compare(ref, live, **thresholds)


def drift_from_replay(settings: Settings, scorer: Scorer, limit: int = 5000, *, save: bool = True,
                      on_fold: Callable[[int], None] | None = None, **thresholds: float) -> dict[str, object]:
    """`earlywarn drift`: the first `limit` customer messages of the replayed Twitter threads (twcs
    head and airline threads, the live stream's stand-in; agent replies are skipped, as the stream
    skips them when scoring) against the model's reference. Returns a JSON-ready report with the
    per-feature table and timings; with `save`, also writes it beside the model (`latest_report_path`)
    so the report command and the workspace can show the last check without scoring again. When the
    model has no reference yet it is built first (`on_fold` follows the out-of-fold refits)."""
    if limit < 1:
        raise ValueError(f"limit is {limit}: give the number of live messages to check (e.g. 5000)")
    started = time.perf_counter()
    ref = load_reference(settings, scorer)
    built = ref is None
    if ref is None:
        ref = build_reference(settings, scorer, on_fold=on_fold)
    reference_s = time.perf_counter() - started
    t = time.perf_counter()
    customer = (m for m in ReplaySource(settings.data_dir).messages() if m.author is Author.customer)
    messages = list(itertools.islice(customer, limit))
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    scores = score_all(scorer, messages)
    score_s = time.perf_counter() - t
    live = profile([m.text for m in messages], scores, reference=ref, model_version=scorer.version,
                   source=f"replay: first {len(messages)} customer messages")
    report = compare(ref, live, **thresholds)
    sources = Counter(str(m.metadata.get("source", "unknown")) for m in messages)
    result: dict[str, object] = {
        "task": "drift",
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": "replayed Twitter support threads (twcs head, airline threads), customer messages",
        "model_version": scorer.version,
        "status": report.status,
        "summary": report.summary,
        "alerts": report.alerts,
        "warnings": report.warnings,
        "reference": {"n": ref.n, "source": ref.source, "model_version": ref.model_version,
                      "built_now": built, "path": str(reference_profile_path(settings, scorer))},
        "live": {"n": live.n, "sources": dict(sources)},
        "thresholds": report.thresholds,
        "top_by_psi": [{"name": f.name, "psi": f.psi, "status": f.status} for f in report.top(5)],
        "features": [f.model_dump(mode="json") for f in report.features],
        "seconds": {"reference": round(reference_s, 2), "read": round(read_s, 2), "score": round(score_s, 2),
                    "total": round(time.perf_counter() - started, 2)},
    }
    if save:
        path = latest_report_path(settings, scorer)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def latest_report_path(settings: Settings, target: Scorer | ScorerName | str | Path) -> Path:
    """Where `drift_from_replay` keeps its last report: `drift_latest.json` beside the reference."""
    return reference_profile_path(settings, target).with_name(LATEST_FILE)


def load_latest_report(settings: Settings,
                       target: Scorer | ScorerName | str | Path) -> dict[str, object] | None:
    """The last drift check saved for this model, or None: what `earlywarn report` and the workspace show."""
    path = latest_report_path(settings, target)
    return json.loads(path.read_text()) if path.is_file() else None

"""Spikes in complaint counts that call for a special review: a day (or week) and a category whose
count is higher than its own history explains.

Two detectors run over each category's series, one period at a time, as a monitor would have seen it:

- **poisson**: a one-period jump. The expected count is the category's level (a Huber-style mean
  over the trailing baseline, which leaves out the day itself and every earlier alarm, so one
  spike does not hide the next) times a day-of-week factor from the same baseline. Complaint
  volumes follow the working week (Mondays can run at three times Sundays), and a limit that
  ignored it would call every Monday a spike and miss every Sunday one. The factor is shrunk
  toward 1 by a few pseudo complaints, so a quiet category's weekday pattern is not read from
  noise. A count of at least `min_count` above the (1 - alpha) quantile of a Poisson count with
  that mean is a spike. The quantile is widened for the error in the mean itself (a gamma-Poisson
  whose extra variance is what eight Mondays' worth of complaints leaves uncertain): on simulated
  seasonal series a bare Poisson limit raised about twice the false alarms alpha promised,
  mostly on Mondays.
- **cusum**: a sustained moderate rise, which no single day betrays. A one-sided Poisson CUSUM
  (the log-likelihood ratio of "counts run `cusum_shift` above expected" against "as expected",
  summed and floored at zero) alarms when the sum passes `cusum_h`, then starts again from zero.
  Its reference value scales with each day's expected count, so it suits seasonal and quiet
  series alike; Wald's bound puts its false-alarm run length at no less than about e**h periods.
  It skips a day the Poisson limit flagged: one outlier is not a shift.

Weekly series have no day-of-week factor. A period is tested only once the series has
`min_history_days` (daily) or `min_history_weeks` (weekly) periods before it: with less history
the expected count is a guess, and a guess should not send a category to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import nbinom

COLUMNS = ("period", "category", "count")
Freq = Literal["D", "W"]
Method = Literal["poisson", "cusum"]


@dataclass(frozen=True, slots=True)
class SpikeConfig:
    """How sensitive the detectors are. On simulated seasonal Poisson counts the defaults raise about
    one false alarm per 1,000 category-days, and catch a doubled day or a +60% fortnight."""

    alpha: float = 0.001  #: false-alarm probability per period and category of the Poisson limit
    min_count: int = 5  #: fewest complaints a Poisson spike needs (a jump from 0 to 2 is not one)
    baseline_weeks: int = 8  #: trailing weeks the level and day-of-week factors are estimated from
    min_history_days: int = 14  #: daily series: periods of history before a day is tested
    min_history_weeks: int = 4  #: weekly series: periods of history before a week is tested
    season_prior: float = 2.0  #: pseudo complaints that shrink each day-of-week factor toward 1
    clip: float = 3.0  #: baseline periods further than this many Poisson SDs from the level are pulled in
    cusum_shift: float = 0.5  #: the relative rise the CUSUM is tuned to (0.5: 50% above expected)
    cusum_h: float = 7.0  #: CUSUM decision interval, in log-likelihood-ratio units

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(f"alpha is {self.alpha}: give a small false-alarm probability, e.g. 0.001")
        if self.min_count < 1:
            raise ValueError(f"min_count is {self.min_count}: give at least 1")
        if self.baseline_weeks < 1:
            raise ValueError(f"baseline_weeks is {self.baseline_weeks}: give at least 1")
        if self.min_history_days < 1 or self.min_history_weeks < 1:
            raise ValueError("min_history_days and min_history_weeks must be at least 1")
        if self.season_prior <= 0:
            raise ValueError(f"season_prior is {self.season_prior}: give a positive number of pseudo "
                             "complaints, e.g. 2")
        if self.clip <= 0:
            raise ValueError(f"clip is {self.clip}: give a positive number of standard deviations, e.g. 3")
        if self.cusum_shift <= 0 or self.cusum_h <= 0:
            raise ValueError("cusum_shift and cusum_h must be positive (e.g. 0.5 and 7)")


@dataclass(frozen=True, slots=True)
class Spike:
    """One alarm: a category and period to review, and why."""

    category: str
    period: date  #: the day (or the week's first day) the alarm fell on
    count: int  #: complaints in that period
    expected: float  #: what the category's history predicted for it
    upper_limit: float  #: the Poisson limit for that period (a count above it is a one-period spike)
    method: Method
    detail: str  #: one sentence for the reviewer
    since: date  #: first period of the rise: the period itself for poisson, the run's start for cusum


def detect_spikes(counts: pd.DataFrame, *, freq: Freq = "D", config: SpikeConfig | None = None) -> list[Spike]:
    """Alarms over a long table of counts (`period`, `category`, `count`), by period then category.

    A (period, category) pair the table lacks counts as zero, over the whole calendar from the first
    period to the last; rows that share a pair are added up. `freq` "D" reads periods as days (times
    of day are dropped), "W" as weeks, which must all fall on the same weekday.
    """
    config = config or SpikeConfig()
    matrix, periods, categories = _calendar(counts, freq)
    if matrix.size == 0:
        return []
    season = freq == "D"
    window = config.baseline_weeks * (7 if season else 1)
    history = config.min_history_days if season else config.min_history_weeks
    weekday = periods.day_of_week.to_numpy() if season else np.zeros(len(periods), dtype=np.int64)
    return _scan(matrix, periods, categories, weekday, window, history, season, config)


def _calendar(counts: pd.DataFrame, freq: str) -> tuple[NDArray[np.float64], pd.DatetimeIndex, list[str]]:
    """The counts as a periods × categories matrix on a complete calendar, zeros where rows are missing."""
    if not isinstance(counts, pd.DataFrame):
        raise ValueError(f"counts is a {type(counts).__name__}: give a DataFrame with columns "
                         f"{', '.join(COLUMNS)}")
    for column in COLUMNS:
        if column not in counts.columns:
            raise ValueError(f"counts has no '{column}' column: give a long table with columns "
                             f"{', '.join(COLUMNS)} (one row per period and category)")
    if freq not in ("D", "W"):
        raise ValueError(f"freq is {freq!r}: give 'D' for daily or 'W' for weekly counts")
    try:
        period = pd.to_datetime(counts["period"])
    except (ValueError, TypeError) as error:
        raise ValueError(f"the 'period' column holds values that are not dates ({error})") from error
    if getattr(period.dt, "tz", None) is not None:
        period = period.dt.tz_localize(None)
    period = period.dt.normalize()
    if period.isna().any():
        row = counts.index[period.isna().to_numpy()][0]
        raise ValueError(f"the 'period' column is empty at row {row!r}: give every row its date")
    number = pd.to_numeric(counts["count"], errors="coerce")
    bad = number.isna() | (number < 0) | (number != np.floor(number))
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"'count' must hold whole numbers of 0 or more; row {counts.index[at]!r} holds "
                         f"{counts['count'].iloc[at]!r}")
    if counts["category"].isna().any():
        raise ValueError("the 'category' column has empty values: give every row a category")
    if counts.empty:
        return np.zeros((0, 0)), pd.DatetimeIndex([]), []
    step = pd.Timedelta(days=1 if freq == "D" else 7)
    start, end = period.min(), period.max()
    off = (period - start) % step != pd.Timedelta(0)
    if off.any():
        raise ValueError(f"weekly periods must fall on one weekday, but {period[off].iloc[0]:%a %Y-%m-%d} is "
                         f"not a whole number of weeks after {start:%a %Y-%m-%d}: label each week by its first day")
    table = pd.DataFrame({"period": period.to_numpy(),
                          "category": counts["category"].astype(str).to_numpy(dtype=object),
                          "count": number.to_numpy(dtype=np.float64)})
    wide = table.pivot_table(index="period", columns="category", values="count", aggfunc="sum", fill_value=0.0)
    calendar = pd.date_range(start, end, freq=step)
    wide = wide.reindex(calendar, fill_value=0.0)
    return wide.to_numpy(dtype=np.float64), calendar, [str(c) for c in wide.columns]


def _robust_mean(values: NDArray[np.float64], valid: NDArray[np.bool_], clip: float) -> NDArray[np.float64]:
    """Column means of the valid cells, each cell first pulled to within `clip` Poisson standard
    deviations of the plain mean (a one-step Huber mean), all columns at once. Trimming a share off
    each end would not do: most days of a quiet category are 0, and trimming drops all its 1s and 2s."""
    n = np.maximum(valid.sum(axis=0), 1)
    mean = np.where(valid, values, 0.0).sum(axis=0) / n
    reach = clip * np.sqrt(np.maximum(mean, 1.0))
    pulled = np.clip(values, mean - reach, mean + reach)
    return np.where(valid, pulled, 0.0).sum(axis=0) / n


def _upper_limit(expected: NDArray[np.float64], spread: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """The (1 - alpha) quantile of a Poisson count whose mean is itself an estimate with relative
    variance `spread`: a gamma-Poisson (negative binomial), variance expected + spread * expected**2."""
    size = 1.0 / spread
    limit = nbinom.ppf(1.0 - alpha, size, size / (size + expected))
    return np.where(expected > 0, limit, 0.0)


def _scan(matrix: NDArray[np.float64], periods: pd.DatetimeIndex, categories: list[str],
          weekday: NDArray[np.int64], window: int, history: int, season: bool, config: SpikeConfig) -> list[Spike]:
    """Walk the periods in order (an alarm leaves the later baselines), every category at once."""
    n_periods, n_categories = matrix.shape
    onehot = np.eye(7)[weekday]  # periods × 7
    alarmed = np.zeros_like(matrix, dtype=bool)
    log_ratio = np.log1p(config.cusum_shift)
    cusum = np.zeros(n_categories)
    run_start = np.zeros(n_categories, dtype=np.int64)
    run_count = np.zeros(n_categories)
    run_expected = np.zeros(n_categories)
    spikes: list[Spike] = []
    for t in range(history, n_periods):
        lo = max(0, t - window)
        values, valid = matrix[lo:t], ~alarmed[lo:t]
        kept = np.where(valid, values, 0.0)
        total = kept.sum(axis=0)
        if season:
            days = onehot[lo:t]
            per_day = days.T @ kept  # 7 × categories: complaints per weekday
            seen = days.T @ valid  # 7 × categories: baseline days per weekday
            mean = total / np.maximum(valid.sum(axis=0), 1)
            factor = np.where(seen > 0, (per_day + config.season_prior) / (seen * mean + config.season_prior), 1.0)
            level = _robust_mean(values / factor[weekday[lo:t]], valid, config.clip)
            expected = level * factor[weekday[t]]
            # relative variance of `expected`: its weekday factor's, then its level's
            spread = 1.0 / (per_day[weekday[t]] + config.season_prior) + 1.0 / (total + config.season_prior)
        else:
            expected = _robust_mean(values, valid, config.clip)
            spread = 1.0 / (total + config.season_prior)
        observed = matrix[t]
        limit = _upper_limit(expected, spread, config.alpha)
        jump = (observed > limit) & (observed >= config.min_count)

        step = np.where(jump, 0.0, observed * log_ratio - expected * config.cusum_shift)
        fresh = (cusum <= 0.0) & (step > 0.0)
        run_start = np.where(fresh, t, run_start)
        run_count = np.where(fresh, 0.0, run_count) + observed  # the run's totals, for the reviewer
        run_expected = np.where(fresh, 0.0, run_expected) + expected
        cusum = np.maximum(0.0, cusum + step)
        shift = cusum > config.cusum_h

        for c in np.flatnonzero(jump | shift):
            method: Method = "poisson" if jump[c] else "cusum"
            spikes.append(_spike(categories[c], periods, t, t if jump[c] else int(run_start[c]), observed[c],
                                 expected[c], limit[c], run_count[c], run_expected[c], method, season))
        alarmed[t] = jump | shift
        cusum[shift] = 0.0
    spikes.sort(key=lambda s: (s.period, s.category))
    return spikes


def _spike(category: str, periods: pd.DatetimeIndex, t: int, start: int, observed: float, expected: float,
           limit: float, run_count: float, run_expected: float, method: Method, season: bool) -> Spike:
    if method == "poisson":
        when = f"on {periods[t]:%a %Y-%m-%d}" if season else f"in the week of {periods[t]:%Y-%m-%d}"
        detail = f"{observed:.0f} complaints against {expected:.1f} expected (limit {limit:.0f}) {when}"
    else:
        rise = f"{(run_count / run_expected - 1.0) * 100:+.0f}%" if run_expected > 0 else "from none"
        span = t - start + 1
        unit = ("day" if season else "week") + ("s" if span != 1 else "")
        detail = (f"sustained rise: {run_count:.0f} complaints against {run_expected:.1f} expected "
                  f"({rise}) over {span} {unit} to {periods[t]:%a %Y-%m-%d}")
    return Spike(category=category, period=periods[t].date(), count=int(observed),
                 expected=round(float(expected), 3), upper_limit=float(limit), method=method, detail=detail,
                 since=periods[start].date())

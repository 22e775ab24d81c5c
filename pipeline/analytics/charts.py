"""The report's charts as inline SVG (matplotlib, no display needed), shared by the HTML report and
the workspace dashboard so both draw the same picture of the same numbers.

Text stays text (`svg.fonttype = none`: half the size and time of glyph paths, and searchable);
matplotlib escapes it as XML, so a category name from the data never becomes markup in the page
(a test feeds it a script tag).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before any figure: charts are files, never windows

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

COLOURS = {"flags": "#4c78a8", "complaints": "#e45756", "prevented": "#54a24b", "closed": "#9d755d",
           "met": "#54a24b", "met_late": "#f2a03f", "breached": "#e45756", "running": "#bab0ac"}
_RC = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and doctype: the SVG sits inside HTML


def volume_chart(daily: pd.DataFrame, spikes: Sequence[tuple[pd.Timestamp, str]] = (),
                 title: str = "Flags, complaints, prevented and closed per day") -> str:
    """Lines per count; days the spike detector marked are shaded with the category named."""
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(8, 2.8))
        ax = figure.subplots()
        for column in ("flags", "complaints", "prevented", "closed"):
            if column in daily:
                ax.plot(daily.period, daily[column], label=column, color=COLOURS[column], linewidth=1.6)
        for day, _category in spikes:
            ax.axvspan(day, day + pd.Timedelta(days=1), color="#e45756", alpha=0.12, linewidth=0)
        ax.set_title(title, loc="left")
        _legend_below(ax, 4)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        figure.autofmt_xdate()
        return _svg(figure)


def bar_chart(table: pd.DataFrame, title: str, top: int = 10) -> str:
    """Flags and complaints per category, the largest at the top."""
    table = table.head(top).iloc[::-1]
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(4.2, 0.3 * max(len(table), 3) + 0.8))
        ax = figure.subplots()
        positions = range(len(table))
        ax.barh([p + 0.2 for p in positions], table["flags"], height=0.4, color=COLOURS["flags"], label="flags")
        ax.barh([p - 0.2 for p in positions], table.complaints, height=0.4, color=COLOURS["complaints"],
                label="complaints")
        ax.set_yticks(list(positions), [str(c)[:28] for c in table.category])
        ax.set_title(title, loc="left")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _legend_below(ax, 2)
        return _svg(figure)


def compliance_chart(rows: Sequence[dict[str, object]], title: str = "Deadlines on complaints received") -> str:
    """Per clock, how many were met, met late, breached or still running."""
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(4.2, 0.35 * max(len(rows), 3) + 0.8))
        ax = figure.subplots()
        left = [0.0] * len(rows)
        for status in ("met", "met_late", "breached", "running"):
            values = [float(r[status]) for r in rows]  # type: ignore[arg-type]
            ax.barh([str(r["clock"]) for r in rows], values, left=left, color=COLOURS[status],
                    label=status.replace("_", " "))
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_title(title, loc="left")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _legend_below(ax, 4)
        return _svg(figure)


def _legend_below(ax: object, columns: int) -> None:
    """Under the plot, so it never hides a bar or a line."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=columns, frameon=False)  # type: ignore[attr-defined]

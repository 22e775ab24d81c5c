"""Turning case data into safe page pieces: cue highlighting, countdowns and queue order, all escaped."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from pipeline.cases.contracts import CaseSummary

RISK_ORDER = {"complaint": 0, "high": 1, "elevated": 2, "low": 3}


def highlight(text: str, cues: Iterable[Mapping[str, Any]]) -> Markup:
    """Split the message at cue offsets and wrap each cue in <mark>; every piece of user text is escaped.

    Overlapping or out-of-range cues are skipped rather than trusted, so a bad offset cannot break the page.
    """
    out: list[str] = []
    at = 0
    for cue in sorted(cues, key=lambda c: (int(c.get("start", 0)), int(c.get("end", 0)))):
        start, end = int(cue.get("start", 0)), int(cue.get("end", 0))
        if start < at or end <= start or end > len(text):
            continue
        label = str(cue.get("label", "cue"))
        out.append(str(escape(text[at:start])))
        out.append(str(Markup('<mark class="cue cue-{}" title="{}: {}">{}</mark>').format(
            label, label, cue.get("explanation", ""), text[start:end])))
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def trajectory(messages: Iterable[Any], width: int = 360, height: int = 64) -> Markup:
    """The conversation's dissatisfaction, customer message by message, as a small inline SVG: a handler
    sees at a glance whether it is rising. Complaints are the red dots. Empty when nothing was scored."""
    points = [(float(m.score.get("dissatisfaction", 0.0)), bool(m.score.get("is_complaint")), str(m.message_id))
              for m in messages if m.author == "customer" and m.score]
    if not points:
        return Markup("")
    pad, step = 6, (width - 12) / max(len(points) - 1, 1)
    xy = [(pad + i * step, pad + (1 - d) * (height - 2 * pad)) for i, (d, _, _) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(
        str(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{}" class="{}"><title>{}: dissatisfaction {:.2f}</title>'
                   '</circle>').format(x, y, 4 if complaint else 3, "complaint" if complaint else "turn", mid, d))
        for (x, y), (d, complaint, mid) in zip(xy, points, strict=True))
    return Markup('<svg class="trajectory" role="img" aria-label="dissatisfaction by customer message" '
                  'width="{w}" height="{h}" viewBox="0 0 {w} {h}"><line x1="0" y1="{mid}" x2="{w}" y2="{mid}" '
                  'class="half"/><polyline points="{line}"/>{dots}</svg>').format(
        w=width, h=height, mid=height / 2, line=line, dots=Markup(dots))


def countdown(due: datetime | None, now: datetime) -> str:
    """'in 3 h 12 min' or 'overdue by 2 d 4 h': the nearest two units, so a handler reads it at a glance."""
    if due is None:
        return "no due time"
    seconds = int((due - now).total_seconds())
    words = _span(abs(seconds))
    return f"in {words}" if seconds >= 0 else f"overdue by {words}"


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{v} {u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min")) if v]
    return " ".join(parts[:2]) or "0 min"


def queue_order(cases: Iterable[CaseSummary]) -> list[CaseSummary]:
    """Riskiest first (complaint > high > elevated > low > unscored), then the nearest deadline."""

    def key(case: CaseSummary) -> tuple[int, float]:
        due = case.next_deadline.due_at if case.next_deadline and case.next_deadline.due_at else None
        return RISK_ORDER.get(case.risk_level or "", len(RISK_ORDER)), (due.timestamp() if due else math.inf)

    return sorted(cases, key=key)


def reach(case: Any) -> str:
    """How public the problem is, from what the case holds: the customer's public posts in the thread
    and whether they threaten to take it wider. A follower count is not in the data, so none is guessed."""
    posts = [m for m in case.messages if m.author == "customer" and m.channel == "social"]
    amplifies = any(c.get("label") == "public_amplification" for m in posts for c in (m.score or {}).get("cues", ()))
    words = f"{len(posts)} public post{'s' if len(posts) != 1 else ''} by the customer"
    return words + ("; threatens to take it wider (amplification cue)" if amplifies else "")

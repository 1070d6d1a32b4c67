"""Pure: turn an event and its sources into a message (subject, plain text, HTML). No I/O.

Everything that came from a feed is untrusted: the HTML body escapes it, and only http(s)
links become anchors.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from monitor.models import DateSource, Event, EventKind, Meeting, Message, Source, Span

_VERB = {
    EventKind.MEETING: "met",
    EventKind.CALL: "spoke by phone with",
    EventKind.PLANNED: "is to meet",
    EventKind.VISIT: "visited",
}
_DATE_HOW = {
    DateSource.TEXT: "stated in the text",
    DateSource.PUBLISHED: "publication date (the text gives none)",
    DateSource.UNKNOWN: "unknown",
}


def subject(m: Meeting) -> str:
    """One line an analyst can triage from: who, whom, country, date."""
    whom = m.counterpart or m.country
    if m.country.casefold() not in whom.casefold():
        whom = f"{whom} ({m.country})"
    day = m.date.isoformat() if m.date else "date unknown"
    return f"{m.official_name} ({m.official_country}) {_VERB[m.kind]} {whom} — {day}"


def _facts(event: Event) -> list[tuple[str, str]]:
    m = event.meeting
    return [
        ("Who", f"{m.official_name} ({m.official_country})"),
        ("Whom", m.counterpart or "—"),
        ("Country", m.country),
        ("Date", f"{m.date.isoformat() if m.date else 'unknown'} ({_DATE_HOW[m.date_source]})"),
        ("Kind", str(m.kind)),
        ("Trigger", m.trigger),
        ("Watchlist", m.watchlist),
    ]


def _source_line(s: Source) -> str:
    when = s.published.strftime("%Y-%m-%d %H:%M UTC") if s.published else "time unknown"
    return f"{s.feed_name}: {s.title} ({when})"


def render_text(event: Event) -> str:
    lines = [subject(event.meeting), ""]
    lines += [f"{k}: {v}" for k, v in _facts(event)]
    lines += ["", "Evidence:", f"  {event.meeting.evidence}", "", "Sources:"]
    for s in event.sources:
        lines.append(f"  - {_source_line(s)}")
        if s.link:
            lines.append(f"    {s.link}")
    lines += ["", f"Event #{event.id}, first seen {event.first_seen:%Y-%m-%d %H:%M UTC}."]
    return "\n".join(lines)


def mark_evidence(sentence: str, spans: Sequence[Span]) -> str:
    """Escape the sentence and wrap the matched parts in <b>; spans index the raw sentence."""
    out: list[str] = []
    pos = 0
    for sp in sorted(spans, key=lambda s: s.start):
        if sp.start < pos or sp.end > len(sentence):
            continue  # overlapping or stale spans are dropped rather than mis-marked
        out.append(html.escape(sentence[pos : sp.start]))
        out.append(f'<b class="{sp.role}">{html.escape(sentence[sp.start : sp.end])}</b>')
        pos = sp.end
    out.append(html.escape(sentence[pos:]))
    return "".join(out)


def _safe_link(url: str | None) -> str | None:
    if url and url.lower().startswith(("http://", "https://")):
        return html.escape(url, quote=True)
    return None


def render_html(event: Event) -> str:
    m = event.meeting
    rows = "".join(
        f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in _facts(event)
    )
    direction = ' dir="rtl"' if any("\u0600" <= c <= "\u06ff" for c in m.evidence) else ""
    sources = []
    for s in event.sources:
        label = html.escape(_source_line(s))
        link = _safe_link(s.link)
        sources.append(f'<li><a href="{link}">{label}</a></li>' if link else f"<li>{label}</li>")
    return (
        f"<h3>{html.escape(subject(m))}</h3><table>{rows}</table>"
        f"<p><b>Evidence</b></p><blockquote{direction}>{mark_evidence(m.evidence, m.spans)}"
        f"</blockquote><p><b>Sources</b></p><ul>{''.join(sources)}</ul>"
        f"<p>Event #{event.id}, first seen {event.first_seen:%Y-%m-%d %H:%M UTC}.</p>"
    )


def render(event: Event) -> Message:
    return Message(subject(event.meeting), render_text(event), render_html(event))

"""Pure: turn events and their sources into messages (subject, plain text, HTML, Slack). No I/O.

Everything that came from a feed is untrusted: the HTML body escapes it and only http(s)
links become anchors; the Slack text escapes ``& < >`` (``<!channel>`` and ``<url|x>`` are
live syntax there). One event → one alert; several → one digest (or one message of alerts
held through quiet hours).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

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


def slack_escape(text: str) -> str:
    """Slack treats <...> as links and mentions (<!channel>); escape the three it names."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def subject(m: Meeting, *, late: bool = False, peer: str = "") -> str:
    """One line an analyst can triage from: who, whom, country, date."""
    whom = m.counterpart or peer or m.country
    if m.country.casefold() not in whom.casefold():
        whom = f"{whom} ({m.country})"
    day = m.date.isoformat() if m.date else "date unknown"
    mark = " (reported late)" if late else ""
    return f"{m.official_name} ({m.official_country} MoD) {_VERB[m.kind]} {whom} — {day}{mark}"


def event_subject(event: Event) -> str:
    return subject(event.meeting, late=event.late, peer=event.peer)


def _late_line(event: Event) -> str | None:
    if not event.late:
        return None
    held = event.meeting.date.isoformat() if event.meeting.date else "an earlier day"
    return f"Reported late (held on {held}; first reported {event.first_seen:%Y-%m-%d})"


def _facts(event: Event) -> list[tuple[str, str]]:
    m = event.meeting
    day = m.date.isoformat() if m.date else "unknown"
    facts = [
        ("Who", f"{m.official_name} ({m.official_country})"),
        ("Whom", m.counterpart or event.peer or "—"),
        ("Country", m.country),
        ("Date", f"{day} ({_DATE_HOW[m.date_source]})"),
        ("Kind", str(m.kind)),
        ("Trigger", m.trigger),
        ("Watchlist", m.watchlist),
    ]
    if event.peer:
        facts.insert(2, ("Also watched", f"{event.peer} ({m.country})"))
    return facts


def _source_line(s: Source) -> str:
    when = s.published.strftime("%Y-%m-%d %H:%M UTC") if s.published else "time unknown"
    return f"{s.feed_name}: {s.title} ({when})"


def _marked(
    sentence: str, spans: Sequence[Span], esc: Callable[[str], str], mark: Callable[[str, str], str]
) -> str:
    out: list[str] = []
    pos = 0
    for sp in sorted(spans, key=lambda s: s.start):
        if sp.start < pos or sp.end > len(sentence) or sp.start >= sp.end:
            continue  # overlapping or stale spans are dropped rather than mis-marked
        out.append(esc(sentence[pos : sp.start]))
        out.append(mark(esc(sentence[sp.start : sp.end]), sp.role))
        pos = sp.end
    out.append(esc(sentence[pos:]))
    return "".join(out)


def mark_evidence(sentence: str, spans: Sequence[Span]) -> str:
    """Escape the sentence and wrap the matched parts in <b>; spans index the raw sentence."""
    return _marked(sentence, spans, html.escape, lambda t, role: f'<b class="{role}">{t}</b>')


def mark_text(sentence: str, spans: Sequence[Span], esc: Callable[[str], str] = str) -> str:
    """The sentence with the matched parts between asterisks (Slack bold)."""
    return _marked(sentence, spans, esc, lambda t, _: f"*{t}*")


def matched_parts(sentence: str, spans: Sequence[Span]) -> str:
    """The matched parts as a line for plain text, which cannot mark them in place."""
    parts = [
        f"{sp.role} \u201c{sentence[sp.start : sp.end]}\u201d"
        for sp in sorted(spans, key=lambda s: s.start)
        if 0 <= sp.start < sp.end <= len(sentence)
    ]
    return " · ".join(parts)


def _text_lines(event: Event) -> list[str]:
    m = event.meeting
    lines = [line for line in [_late_line(event)] if line]
    lines += [f"{k}: {v}" for k, v in _facts(event)]
    lines += ["", "Evidence:", f"  {m.evidence}"]
    if matched := matched_parts(m.evidence, m.spans):
        lines.append(f"  Matched: {matched}")
    lines += ["", "Sources:"]
    for s in event.sources:
        lines.append(f"  - {_source_line(s)}")
        if s.link:
            lines.append(f"    {s.link}")
    lines.append(f"Event #{event.id}, first seen {event.first_seen:%Y-%m-%d %H:%M UTC}.")
    return lines


def render_text(event: Event) -> str:
    return "\n".join([event_subject(event), "", *_text_lines(event)])


def _safe_link(url: str | None) -> str | None:
    if url and url.lower().startswith(("http://", "https://")):
        return html.escape(url, quote=True)
    return None


def _html_block(event: Event, heading: str) -> str:
    m = event.meeting
    late = _late_line(event)
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
        f"<{heading}>{html.escape(event_subject(event))}</{heading}>"
        + (f"<p><b>{html.escape(late)}</b></p>" if late else "")
        + f"<table>{rows}</table>"
        f"<p><b>Evidence</b></p><blockquote{direction}>{mark_evidence(m.evidence, m.spans)}"
        f"</blockquote><p><b>Sources</b></p><ul>{''.join(sources)}</ul>"
        f"<p>Event #{event.id}, first seen {event.first_seen:%Y-%m-%d %H:%M UTC}.</p>"
    )


def render_html(event: Event) -> str:
    return _html_block(event, "h3")


def _slack_lines(event: Event) -> list[str]:
    m = event.meeting
    late = _late_line(event)
    lines = [f"*{slack_escape(event_subject(event))}*"]
    if late:
        lines.append(f"_{slack_escape(late)}_")
    lines += [f"*{k}:* {slack_escape(v)}" for k, v in _facts(event)]
    lines.append("> " + mark_text(m.evidence, m.spans, slack_escape))
    for s in event.sources:
        link = f" {slack_escape(s.link)}" if s.link and _safe_link(s.link) else ""
        lines.append(f"• {slack_escape(_source_line(s))}{link}")
    return lines


def render_slack(event: Event) -> str:
    return "\n".join(_slack_lines(event))


def render(event: Event) -> Message:
    return Message(
        event_subject(event), render_text(event), render_html(event), render_slack(event)
    )


def render_batch(events: Sequence[Event], title: str) -> Message:
    """Several alerts as one message: a digest, or what quiet hours held back."""
    if len(events) == 1 and not title.startswith("Digest"):
        return render(events[0])
    n = len(events)
    head = f"{title}: {n} alert{'s' if n != 1 else ''}"
    index = [f"{i}. {event_subject(e)}" for i, e in enumerate(events, 1)]
    text = [head, "", *index]
    slack = [f"*{slack_escape(head)}*", *(slack_escape(line) for line in index)]
    blocks = []
    for i, e in enumerate(events, 1):
        text += ["", "-" * 72, f"{i}. {event_subject(e)}", "", *_text_lines(e)]
        slack += ["", f"{i}.", *_slack_lines(e)]
        blocks.append(_html_block(e, "h3"))
    page = (
        f"<h2>{html.escape(head)}</h2><ol>"
        + "".join(f"<li>{html.escape(event_subject(e))}</li>" for e in events)
        + "</ol><hr>"
        + "<hr>".join(blocks)
    )
    return Message(head, "\n".join(text), page, "\n".join(slack))

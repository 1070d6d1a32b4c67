"""Rendering: subjects analysts can triage from; feed text escaped everywhere it could bite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from monitor.models import DateSource, Event, EventKind, Meeting, Source, Span
from monitor.notify import slack_escape
from monitor.render import mark_evidence, mark_text, render, render_batch, subject

SEEN = datetime(2025, 11, 26, 9, 30, tzinfo=UTC)


def event(evidence: str = "Abu Qasra received the Jordanian ambassador.", **kw: object) -> Event:
    m = Meeting(
        "abu-qasra",
        "Murhaf Abu Qasra",
        "Syria",
        "syria",
        "Jordan",
        EventKind.MEETING,
        date(2025, 11, 22),
        DateSource.TEXT,
        evidence,
        "received",
        kw.get("counterpart", "the Jordanian ambassador"),  # type: ignore[arg-type]
        (Span(0, 9, "official"), Span(10, 18, "trigger")),
    )
    src = Source(
        "Wire",
        str(kw.get("title", "Minister meets envoy")),
        str(kw.get("link", "https://news.example/1")),
        SEEN,
    )
    return Event(7, m, SEEN, (src,))


@pytest.mark.parametrize(
    ("counterpart", "expected"),
    [
        pytest.param(
            "the Jordanian ambassador",
            "Murhaf Abu Qasra (Syria MoD) met the Jordanian ambassador — 2025-11-22",
            id="adjective",
        ),
        pytest.param(
            "Ambassador of Jordan Omar Haddad",
            "Murhaf Abu Qasra (Syria MoD) met Ambassador of Jordan Omar Haddad — 2025-11-22",
            id="country-named",
        ),
        pytest.param("", "Murhaf Abu Qasra (Syria MoD) met Jordan — 2025-11-22", id="no-words"),
        pytest.param(
            "a delegation",
            "Murhaf Abu Qasra (Syria MoD) met a delegation (Jordan) — 2025-11-22",
            id="country-added",
        ),
    ],
)
def test_subject(counterpart: str, expected: str) -> None:
    assert subject(event(counterpart=counterpart).meeting) == expected


def test_text_body_has_who_whom_date_evidence_and_sources() -> None:
    text = render(event()).text
    for part in [
        "Who: Murhaf Abu Qasra (Syria)",
        "Country: Jordan",
        "Date: 2025-11-22 (stated in the text)",
        "Kind: meeting",
        "Abu Qasra received the Jordanian ambassador.",
        "Wire: Minister meets envoy",
        "https://news.example/1",
    ]:
        assert part in text


def test_html_escapes_feed_text_and_marks_evidence() -> None:
    hostile = event(
        evidence="Abu Qasra received <script>alert(1)</script> & <img src=x onerror=alert(2)>",
        title="<b>bold</b> title",
        link="javascript:alert(3)",
    )
    page = render(hostile).html
    assert "<script>" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;" in page and "&amp;" in page
    assert "javascript:" not in page, "only http(s) links become anchors"
    assert '<b class="official">Abu Qasra</b> <b class="trigger">received</b>' in page


def test_mark_evidence_ignores_bad_spans() -> None:
    spans = (Span(0, 3, "official"), Span(2, 5, "trigger"), Span(10, 99, "counterpart"))
    assert mark_evidence("a<b c", spans) == '<b class="official">a&lt;b</b> c'


def test_slack_escape() -> None:
    assert (
        slack_escape("<!channel> & <https://x|y>") == "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
    )


def test_late_report_is_marked_in_subject_and_body() -> None:
    late = replace(event(), late=True)
    msg = render(late)
    assert msg.subject.endswith("— 2025-11-22 (reported late)")
    assert "Reported late (held on 2025-11-22; first reported 2025-11-26)" in msg.text
    assert "Reported late (held on 2025-11-22" in msg.html and "Reported late" in msg.slack


def test_text_marks_matched_parts_and_slack_escapes() -> None:
    msg = render(event(evidence="Abu Qasra received <!channel> & <https://x|y>"))
    assert "Abu Qasra received <!channel> & <https://x|y>" in msg.text, "plain text as written"
    assert "Matched: official \u201cAbu Qasra\u201d · trigger \u201creceived\u201d" in msg.text
    assert "*Abu Qasra* *received* &lt;!channel&gt; &amp; &lt;https://x|y&gt;" in msg.slack
    assert "<!channel>" not in msg.slack and "<https://x|y>" not in msg.slack
    assert mark_text("a<b c", (Span(0, 3, "official"),)) == "*a<b* c"


def test_peer_official_is_named() -> None:
    both = replace(event(counterpart=""), peer="Yusuf Haddad")
    msg = render(both)
    assert "met Yusuf Haddad (Jordan)" in msg.subject
    assert "Also watched: Yusuf Haddad (Jordan)" in msg.text


def test_digest_lists_every_event_once() -> None:
    first, second = event(), replace(event(counterpart="a delegation"), id=8)
    msg = render_batch([first, second], "Digest 2025-11-27")
    assert msg.subject == "Digest 2025-11-27: 2 alerts"
    assert msg.text.count("Evidence:") == 2
    assert "1. Murhaf Abu Qasra (Syria MoD) met the Jordanian ambassador" in msg.text
    assert "2. Murhaf Abu Qasra (Syria MoD) met a delegation (Jordan)" in msg.text
    assert msg.html.count("<h3>") == 2 and "<script>" not in msg.html
    assert "met the Jordanian ambassador" in msg.slack and "met a delegation" in msg.slack
    held_one = render_batch([first], "Held during quiet hours")
    assert held_one == render(first), "one held alert goes out as the alert itself"

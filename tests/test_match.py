"""Matcher v0: who met whom from which country, in plain English (and basic Arabic/French)."""

from __future__ import annotations

from datetime import date

import pytest
from monitor.gazetteer import load_gazetteer

from monitor.match import Matcher
from monitor.models import DateSource, EventKind, Official, Watchlist

ABU_QASRA = Official(
    id="abu-qasra",
    name="Murhaf Abu Qasra",
    country="Syria",
    aliases=("Abu Qasra", "مرهف أبو قصرة"),
    titles=("Defence Minister", "Minister of Defence", "وزير الدفاع", "ministre de la Défense"),
    since=date(2024, 12, 21),
    watchlist="syria",
)
WATCH = Watchlist("syria", (ABU_QASRA,), ("European Union", "Pakistan", "Jordan", "Russia"))
PUBLISHED = date(2025, 11, 27)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([WATCH], load_gazetteer())


# (title, text, expected [(country, date, kind)])
CASES = [
    pytest.param(
        "",
        "Syrian Defence Minister Murhaf Abu Qasra received the Pakistani ambassador on 25 "
        "November.",
        [("Pakistan", date(2025, 11, 25), EventKind.MEETING)],
        id="name-received",
    ),
    pytest.param(
        "",
        "On 22 November, Abu Qasra hosted Jordanian Ambassador Omar Haddad in Damascus.",
        [("Jordan", date(2025, 11, 22), EventKind.MEETING)],
        id="alias-hosted",
    ),
    pytest.param(
        "",
        "Syria's Defence Minister held talks today with the chargé d'affaires of the European "
        "Union.",
        [("European Union", PUBLISHED, EventKind.MEETING)],
        id="title-with-country",
    ),
    pytest.param(
        "",
        "Abu Qasra received a senior Russian delegation led by a deputy defence minister.",
        [("Russia", PUBLISHED, EventKind.MEETING)],
        id="delegation",
    ),
    pytest.param(
        "",
        "Abu Qasra held a phone call with his Jordanian counterpart yesterday.",
        [("Jordan", date(2025, 11, 26), EventKind.CALL)],
        id="phone-call",
    ),
    pytest.param(
        "",
        "استقبل وزير الدفاع السوري مرهف أبو قصرة سفير باكستان في دمشق.",
        [("Pakistan", PUBLISHED, EventKind.MEETING)],
        id="arabic",
    ),
    pytest.param(
        "",
        "Le ministre de la Défense syrien a reçu l'ambassadeur de Jordanie le 22 novembre.",
        [("Jordan", date(2025, 11, 22), EventKind.MEETING)],
        id="french",
    ),
    # negatives: the things keyword alerts get wrong
    pytest.param(
        "",
        "Abu Qasra gave a speech praising cooperation with Pakistan and Jordan.",
        [],
        id="speech-no-meeting",
    ),
    pytest.param(
        "",
        "The Syrian Foreign Minister received the Jordanian ambassador in Damascus.",
        [],
        id="other-ministry",
    ),
    pytest.param(
        "",
        "Turkey's Defence Minister received the Pakistani ambassador.",
        [],
        id="title-of-another-country",
    ),
    pytest.param(
        "",
        "Abu Qasra received a delegation from the Syrian army's southern command.",
        [],
        id="domestic-counterpart",
    ),
    pytest.param(
        "",
        "Abu Qasra received the ambassador of Japan.",
        [],
        id="country-not-watched",
    ),
]


@pytest.mark.parametrize(("title", "text", "expected"), CASES)
def test_match(matcher: Matcher, title: str, text: str, expected: list[tuple[object, ...]]) -> None:
    found = matcher.match(title, text, PUBLISHED)
    assert [(m.country, m.date, m.kind) for m in found] == expected
    for m in found:
        assert m.official_id == "abu-qasra"
        assert m.evidence in text
        assert m.spans and all(0 <= s.start < s.end <= len(m.evidence) for s in m.spans)


def test_title_outside_term_is_not_the_official(matcher: Matcher) -> None:
    text = "Syria's Defence Minister received the Russian ambassador on 3 March 2018."
    assert matcher.match("", text, date(2018, 3, 4)) == []


def test_roundup_gives_one_meeting_per_date(matcher: Matcher) -> None:
    text = (
        "Syria's Defence Minister Murhaf Abu Qasra held talks in Damascus today with the "
        "chargé d'affaires of the European Union.\n"
        "On 25 November, he met the Ambassador of the Islamic Republic of Pakistan.\n"
        "On 22 November, Abu Qasra hosted the Jordanian ambassador.\n"
        "On 16 November, Abu Qasra received a Russian delegation.\n"
        "The minister also addressed cadets about cooperation with Jordan."
    )
    found = matcher.match("Defence minister holds talks with EU envoy", text, date(2025, 11, 26))
    got = sorted((m.country, m.date) for m in found)
    assert ("European Union", date(2025, 11, 26)) in got
    assert ("Jordan", date(2025, 11, 22)) in got
    assert ("Russia", date(2025, 11, 16)) in got
    assert all(c != "Jordan" or d == date(2025, 11, 22) for c, d in got)


def test_evidence_spans_mark_the_parts(matcher: Matcher) -> None:
    text = "Abu Qasra received the Pakistani ambassador."
    (m,) = matcher.match("", text, PUBLISHED)
    parts = {s.role: m.evidence[s.start : s.end] for s in m.spans}
    assert parts == {"official": "Abu Qasra", "trigger": "received", "counterpart": "Pakistani"}
    assert m.date_source is DateSource.PUBLISHED
    assert "Pakistani ambassador" in m.counterpart

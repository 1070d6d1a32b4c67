"""Event identity and merging (pure): tables of reports against known events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from monitor.events import (
    KnownEvent,
    Report,
    absorb,
    event_key,
    find_same,
    is_late,
    merge_all,
    new_event,
    reports_of,
    score_merges,
    surname,
)
from monitor.models import DateSource, EventKind, Meeting

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)
TEXT, PUB, UNKNOWN = DateSource.TEXT, DateSource.PUBLISHED, DateSource.UNKNOWN
AQ = ("abu-qasra", "Murhaf Abu Qasra", "Syria")
KBS = ("khalid-bin-salman", "Khalid bin Salman", "Saudi Arabia")
YEV = ("yevkurov", "Yunus-Bek Yevkurov", "Russia")
BEL = ("belousov", "Andrei Belousov", "Russia")
MEN = ("menassa", "Michel Menassa", "Lebanon")
FOLLOW = "They also agreed to hold a follow-up meeting."


def meeting(
    country: str = "Jordan",
    on: date | None = date(2025, 11, 22),
    kind: EventKind = EventKind.MEETING,
    source: DateSource = TEXT,
    who: tuple[str, str, str] = AQ,
    evidence: str = "Abu Qasra received the Jordanian ambassador.",
    counterpart: str = "the Jordanian ambassador",
    counterpart_id: str = "",
) -> Meeting:
    if on is None:
        source = UNKNOWN
    oid, name, home = who
    return Meeting(
        oid,
        name,
        home,
        "wl",
        country,
        kind,
        on,
        source,
        evidence,
        "received",
        counterpart,
        counterpart_id=counterpart_id,
    )


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 11, day, hour, tzinfo=UTC)


AT_22 = at(22)


def known(
    eid: int,
    country: str = "Jordan",
    on: date | None = date(2025, 11, 22),
    kind: EventKind = EventKind.MEETING,
    anchor: datetime | None = AT_22,
    who: tuple[str, str, str] = AQ,
    peer: str = "",
    evidence: str = "Abu Qasra received the Jordanian ambassador.",
    counterpart: str = "",
) -> KnownEvent:
    oid, name, home = who
    return KnownEvent(eid, oid, home, country, kind, on, anchor, peer, counterpart, name, evidence)


def one(m: Meeting, peer: Meeting | None = None) -> Report:
    return Report(m, peer)


NOV = date(2025, 11, 1)


def d(day: int) -> date:
    return NOV.replace(day=day)


CASES = [
    pytest.param(one(meeting()), [known(1)], at(23), 1, id="same-day"),
    pytest.param(one(meeting(on=d(23))), [known(1)], at(23), 1, id="next-day-timezone"),
    pytest.param(one(meeting(on=d(25))), [known(1)], at(25), None, id="three-days-apart"),
    pytest.param(
        one(meeting(on=d(25))), [known(1, on=d(16))], at(26), None, id="same-pair-other-meeting"
    ),
    pytest.param(one(meeting(country="Pakistan")), [known(1)], at(23), None, id="other-country"),
    pytest.param(one(meeting(kind=EventKind.CALL)), [known(1)], at(23), None, id="call-vs-meeting"),
    pytest.param(
        one(meeting(kind=EventKind.PLANNED)), [known(1)], at(22), None, id="plan-vs-meeting"
    ),
    pytest.param(
        one(meeting(on=d(24), source=PUB)), [known(1)], at(24), 1, id="undated-2-days-after"
    ),
    pytest.param(one(meeting(on=None)), [known(1)], at(22), 1, id="undated-same-day-as-meeting"),
    pytest.param(
        one(meeting(on=d(27), source=PUB)), [known(1)], at(27), None, id="undated-5-days-after"
    ),
    pytest.param(
        one(meeting(on=None)), [known(1, on=d(25))], at(22), None, id="undated-before-meeting"
    ),
    pytest.param(
        one(meeting(on=None, kind=EventKind.PLANNED)),
        [known(1, on=d(30), kind=EventKind.PLANNED)],
        at(22),
        1,
        id="undated-plan-announced-ahead",
    ),
    pytest.param(
        one(meeting(on=d(21))),
        [known(1, on=None, anchor=at(22))],
        at(23),
        1,
        id="dated-joins-undated",
    ),
    pytest.param(
        one(meeting(on=d(12))),
        [known(1, on=None, anchor=at(22))],
        at(23),
        None,
        id="dated-not-near-undated",
    ),
    pytest.param(
        one(meeting(on=None)), [known(1, on=None, anchor=at(20))], at(22), 1, id="undated-pair"
    ),
    pytest.param(
        one(meeting(on=None)),
        [known(1, on=None, anchor=at(16))],
        at(22),
        None,
        id="undated-pair-far-apart",
    ),
    pytest.param(
        one(meeting()),
        [known(1, on=d(21)), known(2, on=d(22))],
        at(23),
        2,
        id="closest-wins",
    ),
    pytest.param(
        one(
            meeting(
                evidence="استقبل وزير الدفاع مرهف أبو قصرة السفير الأردني",
                counterpart="السفير الأردني",
            )
        ),
        [known(1)],
        at(23),
        1,
        id="arabic-and-english",
    ),
    pytest.param(
        one(
            meeting(
                "Saudi Arabia",
                d(27),
                evidence="Abu Qasra met Saudi Minister of Defense Prince Khalid bin Salman.",
            )
        ),
        [known(1, "Syria", d(27), who=KBS, evidence="Khalid bin Salman met Abu Qasra in Jeddah.")],
        at(28),
        1,
        id="other-side-named",
    ),
    pytest.param(
        one(meeting("Saudi Arabia", d(27), evidence="Abu Qasra met the Saudi ambassador.")),
        [known(1, "Syria", d(27), who=KBS, evidence="Khalid bin Salman met the Syrian envoy.")],
        at(28),
        None,
        id="other-side-not-named",
    ),
    # the other side's report names no one in its sentence, but its counterpart resolved to
    # the event's official (or the event's counterpart phrase names the report's official)
    pytest.param(
        one(meeting("Syria", None, who=MEN, evidence=FOLLOW, counterpart_id="abu-qasra")),
        [known(1, "Lebanon", None, anchor=at(27), evidence=FOLLOW)],
        at(27),
        1,
        id="other-side-counterpart-resolved",
    ),
    pytest.param(
        one(meeting("Syria", None, who=MEN, evidence=FOLLOW)),
        [known(1, "Lebanon", None, anchor=at(27), evidence=FOLLOW, counterpart="Michel Menassa")],
        at(27),
        1,
        id="other-side-named-as-counterpart",
    ),
    pytest.param(
        one(meeting("Syria", None, who=MEN, evidence=FOLLOW, counterpart_id="someone-else")),
        [known(1, "Lebanon", None, anchor=at(27), evidence=FOLLOW, counterpart="an envoy")],
        at(27),
        None,
        id="other-side-resolved-to-another",
    ),
    pytest.param(
        one(meeting("Syria", d(20), who=MEN, evidence=FOLLOW, counterpart_id="abu-qasra")),
        [known(1, "Lebanon", d(27), evidence=FOLLOW)],
        at(27),
        None,
        id="other-side-resolved-a-week-apart",
    ),
    pytest.param(
        one(
            meeting(
                "Syria",
                None,
                who=MEN,
                kind=EventKind.PLANNED,
                evidence=FOLLOW,
                counterpart_id="abu-qasra",
            )
        ),
        [known(1, "Lebanon", None, anchor=at(27), evidence=FOLLOW)],
        at(27),
        None,
        id="other-side-resolved-other-kind",
    ),
    pytest.param(
        one(
            meeting("Russia", d(16), evidence="Abu Qasra met Belousov."),
            meeting("Syria", d(16), who=BEL, evidence="Abu Qasra met Belousov."),
        ),
        [known(1, "Russia", d(16), peer="yevkurov")],
        at(16),
        None,
        id="other-official-on-their-side",
    ),
    pytest.param(
        one(meeting("Syria", d(16), who=YEV)),
        [known(1, "Russia", d(16), peer="yevkurov")],
        at(17),
        1,
        id="peer-reports-too",
    ),
    # corpora only: no publication, no hint, no stated date; taken as fetched together when
    # the corpus was collected, so they join each other and nothing placed in time
    pytest.param(
        one(meeting(on=None)), [known(1, on=None, anchor=None)], None, 1, id="timeless-pair"
    ),
    pytest.param(one(meeting(on=None)), [known(1, on=None)], None, None, id="timeless-vs-known"),
    pytest.param(
        one(meeting(on=None)),
        [known(1, on=d(22), anchor=None)],
        None,
        None,
        id="timeless-vs-dated-event",
    ),
    pytest.param(
        one(meeting(on=None)),
        [known(1, on=None, anchor=None)],
        at(22),
        None,
        id="placed-vs-timeless",
    ),
    pytest.param(
        one(meeting(on=d(22))),
        [known(1, on=None, anchor=None)],
        at(22),
        None,
        id="dated-vs-timeless",
    ),
    pytest.param(
        one(meeting(on=None, kind=EventKind.CALL)),
        [known(1, on=None, anchor=None)],
        None,
        None,
        id="timeless-other-kind",
    ),
    pytest.param(
        one(meeting("Pakistan", None)),
        [known(1, on=None, anchor=None)],
        None,
        None,
        id="timeless-other-country",
    ),
    pytest.param(one(meeting()), [], at(23), None, id="nothing-known"),
]


@pytest.mark.parametrize(("report", "events", "seen", "expected"), CASES)
def test_find_same(
    report: Report, events: list[KnownEvent], seen: datetime | None, expected: int | None
) -> None:
    found = find_same(report, events, seen)
    assert (found.id if found else None) == expected


def test_reports_of_one_item() -> None:
    headline = meeting(on=d(24), source=PUB, evidence="Minister receives envoy")
    body = meeting(on=d(22))
    older = meeting(on=d(10), evidence="Earlier, on 10 November, he met him too.")
    (first, second) = reports_of([headline, body, older])
    assert (first.meeting, first.repeats) == (body, (headline,)), "the dated sentence leads"
    assert second.meeting == older, "a roundup's other meeting stays a report of its own"

    both = "Abu Qasra received Yevkurov."
    aq, yev = (
        meeting("Russia", d(16), evidence=both),
        meeting("Syria", d(16), who=YEV, evidence=both),
    )
    (report,) = reports_of([aq, yev])
    assert report.peer == yev and report.pairs() == {("abu-qasra", "Russia"), ("yevkurov", "Syria")}
    apart = meeting("Syria", d(16), who=YEV, evidence="Yevkurov flew home.")
    assert len(reports_of([aq, apart])) == 2, "two sides in two sentences are not paired"


def test_absorb_fills_in() -> None:
    ev = replace(known(1, on=None), counterpart="the ambassador")
    better = meeting(on=d(22), counterpart="Jordanian Ambassador Sufyan al-Qudah")
    after = absorb(ev, one(better))
    assert (after.date, after.counterpart) == (d(22), "Jordanian Ambassador Sufyan al-Qudah")
    vaguer = absorb(after, one(meeting(counterpart="an envoy")))
    assert vaguer.counterpart == "Jordanian Ambassador Sufyan al-Qudah"
    both = "Abu Qasra received Yevkurov."
    sided = one(meeting("Russia", d(16), evidence=both), meeting("Syria", d(16), who=YEV))
    assert absorb(known(2, "Russia", d(16)), sided).peer == "yevkurov"


def test_new_event_takes_the_peers_date() -> None:
    sided = one(meeting("Russia", None), meeting("Syria", d(16), who=YEV))
    assert new_event(1, sided, at(16)).date == d(16)


def test_event_key_is_stable_and_distinct() -> None:
    assert event_key(meeting()) == "abu-qasra|Jordan|meeting|2025-11-22"
    assert event_key(meeting(on=None)).endswith("|undated")
    assert event_key(meeting(on=d(24), source=PUB), at(24)).endswith("|~2025-11-24")
    assert event_key(meeting()) != event_key(meeting(country="Russia"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Murhaf Abu Qasra", "qasra"),
        ("Khalid bin Salman", "salman"),
        ("Abdulaziz bin Mohammed al-Hussein", "hussein"),
        ("Selçuk Bayraktaroğlu", "bayraktaroglu"),
    ],
)
def test_surname(name: str, expected: str) -> None:
    assert surname(name) == expected


def test_is_late() -> None:
    assert is_late(d(16), at(26)) and not is_late(d(25), at(26)) and not is_late(None, at(26))


def test_merge_all_groups_reports_as_the_daemon_would() -> None:
    published = {"mod": at(22, 9), "sana-ar": at(22, 11), "wire": at(23), "roundup": at(26)}
    items = [
        ("mod", meeting()),
        ("sana-ar", meeting(evidence="استقبل وزير الدفاع السفير الأردني", counterpart="")),
        ("wire", meeting(on=d(23), source=PUB)),  # "yesterday" left undated by the text
        ("roundup", meeting(on=d(22))),
        ("roundup", meeting("Pakistan", d(25))),
        ("roundup", meeting(on=d(16))),  # the same pair, a week earlier: another meeting
    ]
    groups = merge_all(items, published.get)
    assert [[a for a, _ in g] for g in groups] == [
        ["mod", "sana-ar", "wire", "roundup"],
        ["roundup"],
        ["roundup"],
    ]


BAY = ("bayraktaroglu", "Selcuk Bayraktaroglu", "Turkey")
UNDATED_ENVOY = meeting(on=None, evidence="The minister received the Jordanian envoy.")
MERGE_CASES = [
    pytest.param(
        [("a", UNDATED_ENVOY), ("b", UNDATED_ENVOY), ("c", UNDATED_ENVOY)],
        {},
        [["a", "b", "c"]],
        id="timeless-reports-of-one-pair-merge",
    ),
    pytest.param(
        [("a", meeting()), ("b", UNDATED_ENVOY), ("c", UNDATED_ENVOY)],
        {"a": at(22)},
        [["a"], ["b", "c"]],
        id="timeless-never-join-a-placed-event",
    ),
    pytest.param(
        [("a", UNDATED_ENVOY), ("b", meeting("Pakistan", None)), ("c", UNDATED_ENVOY)],
        {},
        [["a", "c"], ["b"]],
        id="timeless-other-pair-apart",
    ),
    pytest.param(
        [("a", meeting()), ("b", meeting(on=d(23)))],
        {},
        [["a", "b"]],
        id="undated-articles-placed-by-stated-dates",
    ),
    pytest.param(
        [("a", meeting()), ("b", meeting(on=d(29)))],
        {},
        [["a"], ["b"]],
        id="undated-articles-a-week-apart",
    ),
    pytest.param(
        [
            ("sy", meeting("Turkey", None, counterpart="Bayraktaroglu", counterpart_id=BAY[0])),
            ("tr", meeting("Syria", None, who=BAY, evidence="Görüştü.", counterpart_id=AQ[0])),
        ],
        {},
        [["sy", "tr"]],
        id="timeless-two-sides-of-one-meeting",
    ),
    pytest.param(
        [
            ("ar", meeting("Lebanon", None, kind=EventKind.PLANNED, evidence=FOLLOW)),
            (
                "en",
                meeting(
                    "Syria",
                    None,
                    kind=EventKind.PLANNED,
                    who=MEN,
                    evidence=FOLLOW,
                    counterpart_id=AQ[0],
                ),
            ),
        ],
        {"ar": at(27), "en": at(28)},
        [["ar", "en"]],
        id="plan-reported-from-both-sides",
    ),
    pytest.param(
        [
            ("a", meeting(on=None, counterpart="the Jordanian defence minister")),
            ("a", meeting(on=None, counterpart="the Jordanian chief of staff")),
            ("b", meeting(on=None, counterpart="the Jordanian defence minister")),
        ],
        {"a": AT_22, "b": at(23)},
        [["a", "b"], ["a"]],
        id="one-item-two-offices-stay-two-events",
    ),
]


@pytest.mark.parametrize(("items", "published", "expected"), MERGE_CASES)
def test_merge_all_table(
    items: list[tuple[str, Meeting]], published: dict[str, datetime], expected: list[list[str]]
) -> None:
    groups = merge_all(items, published.get)
    assert [[a for a, _ in g] for g in groups] == expected


def test_score_merges_finds_over_merges_and_splits() -> None:
    a, b, c = meeting(), meeting(on=d(23)), meeting("Pakistan")
    plan = meeting(kind=EventKind.PLANNED)
    tri = meeting("Iraq", evidence="trilateral")
    gold = {id(a): "K1", id(b): "K2", id(c): "K3", id(plan): "K1", id(tri): "K1"}
    groups = [[("x", a), ("y", b)], [("z", c)], [("w", c)], [("v", plan)], [("u", tri)]]
    report = score_merges(groups, lambda _, m: gold[id(m)])
    assert [keys for keys, _ in report.over_merges] == [("K1", "K2")]
    assert [key for key, _ in report.splits] == ["K3 (meeting, Pakistan & Syria)"]
    assert report.multi_article_meetings == 2, "K1 (x, v, u) and K3 (z, w)"

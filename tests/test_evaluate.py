"""Scoring by the corpus rules, on a small labelled corpus written for this test."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.evaluate import Article, Gold, Prediction, Scorer, merge_corpus, placed
from monitor.gazetteer import load_gazetteer
from monitor.models import DateSource, EventKind, Meeting
from tests.test_match import ABU_QASRA, BELOUSOV

SCORER = Scorer([ABU_QASRA, BELOUSOV], load_gazetteer())


def gold(
    official: str = "Murhaf Abu Qasra",
    country: str = "Jordan",
    *,
    counterpart: str = "",
    official_country: str = "Syria",
    on: date | None = date(2025, 11, 22),
    kind: str = "meeting",
    background: bool = False,
) -> Gold:
    return Gold(official, official_country, counterpart, country, on, kind, background)


def pred(
    official: str = "abu-qasra",
    country: str = "Jordan",
    kind: str = "meeting",
    on: date | None = date(2025, 11, 22),
) -> Prediction:
    return Prediction("a", official, country, kind, on)


CASES = [
    pytest.param([gold()], [pred()], (1, 1, 1, 1), id="match"),
    pytest.param(
        [gold(country="Hashemite Kingdom of Jordan")],
        [pred()],
        (1, 1, 1, 1),
        id="country-through-gazetteer",
    ),
    pytest.param([gold()], [pred(kind="call")], (0, 1, 0, 0), id="kind-differs"),
    pytest.param([gold()], [pred(on=date(2025, 11, 23))], (1, 1, 1, 0), id="date-wrong"),
    pytest.param([gold(on=None)], [pred()], (1, 1, 0, 0), id="null-gold-date-not-scored"),
    pytest.param([gold()], [pred(), pred()], (1, 2, 1, 1), id="one-gold-one-prediction"),
    pytest.param(
        [
            gold(
                official="Andrey Belousov",
                official_country="Russia",
                country="Syria",
                counterpart="Murhaf Abu Qasra",
            )
        ],
        [pred(country="Russia")],
        (1, 1, 1, 1),
        id="either-orientation",
    ),
    pytest.param([gold(background=True)], [pred()], (0, 0, 0, 0), id="background-neutral"),
    pytest.param([gold(official="Someone Else")], [], (0, 0, 0, 0), id="out-of-scope"),
]


@pytest.mark.parametrize(("golds", "preds", "expected"), CASES)
def test_score(golds: list[Gold], preds: list[Prediction], expected: tuple[int, ...]) -> None:
    article = Article("a", "en", date(2025, 11, 27), "", "", tuple(golds))
    t = SCORER.score([article], {"a": preds}).total
    scored = t.predicted - t.background
    assert (t.correct, scored, t.dated, t.dates_right) == expected


def test_each_prediction_takes_the_gold_event_naming_its_counterpart() -> None:
    golds = (
        Gold(
            "Murhaf Abu Qasra",
            "Syria",
            "Omar Haddad",
            "Jordan",
            None,
            "meeting",
            False,
            "A",
            "Minister of Defence",
        ),
        Gold(
            "Murhaf Abu Qasra",
            "Syria",
            "Abdullah II",
            "Jordan",
            None,
            "meeting",
            False,
            "B",
            "King of Jordan",
        ),
    )
    article = Article("a", "en", date(2025, 11, 27), "", "", golds)
    preds = [
        Prediction("a", "abu-qasra", "Jordan", "meeting", None, counterpart="King Abdullah II"),
        Prediction("a", "abu-qasra", "Jordan", "meeting", None, counterpart="defence minister"),
    ]
    assert SCORER.gold_keys(article, preds) == ["B", "A"]
    assert SCORER.score([article], {"a": preds}).total.correct == 2


def test_eval_command_prints_the_summary_line(tmp_path: Path, capsys) -> None:
    watchlist = tmp_path / "watch.yaml"
    watchlist.write_text(
        "officials:\n  - id: abu-qasra\n    name: Murhaf Abu Qasra\n    aliases: [Abu Qasra]\n"
        "    country: Syria\ncountries: all\n"
    )
    records = [
        {
            "id": "1",
            "lang": "en",
            "published": "2025-11-27",
            "title": "",
            "text": "Abu Qasra received the Jordanian ambassador on 22 November.",
            "events": [
                {
                    "official": "Murhaf Abu Qasra",
                    "official_country": "Syria",
                    "counterpart": "",
                    "counterpart_title": "",
                    "counterpart_country": "Jordan",
                    "date": "2025-11-22",
                    "kind": "meeting",
                }
            ],
        },
        {
            "id": "2",
            "lang": "ar",
            "published": None,
            "title": "",
            "text": "ألقى أبو قصرة كلمة عن الأردن.",
            "events": [],
        },
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records))
    assert main(["eval", "--watchlist", str(watchlist), "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "events: precision=1.000 recall=1.000 f1=1.000 dates=1.000"
    assert any(line.startswith("keywords") for line in out)
    assert main(["eval", "--watchlist", str(watchlist), "--corpus", str(corpus), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (p,) = data["articles"][0]["predicted"]
    assert (p["official"], p["counterpart_country"], p["date"]) == (
        "Murhaf Abu Qasra",
        "Jordan",
        "2025-11-22",
    )


def test_match_command(tmp_path: Path, capsys) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Minister meets envoy\nAbu Qasra received the Jordanian ambassador.\n")
    watchlist = tmp_path / "watch.yaml"
    watchlist.write_text(
        "officials:\n  - id: abu-qasra\n    name: Murhaf Abu Qasra\n    aliases: [Abu Qasra]\n"
        "    country: Syria\ncountries: all\n"
    )
    argv = ["match", str(article), "--watchlist", str(watchlist), "--published", "2025-11-27"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "met Jordanian ambassador" in out
        and "[Abu Qasra] [received] the [Jordanian] ambassador" in out
    )
    assert "confidence=0.9" in out, "named in the sentence, dated by publication"
    assert "official='Abu Qasra'" in out


# ------------------------------------------------------------------ merging on a corpus

NOV = date(2025, 11, 1)


def met(
    on: date | None = None, source: DateSource = DateSource.TEXT, country: str = "Jordan"
) -> Meeting:
    return Meeting(
        "abu-qasra",
        "Murhaf Abu Qasra",
        "Syria",
        "wl",
        country,
        EventKind.MEETING,
        on,
        source if on else DateSource.UNKNOWN,
        "Abu Qasra received the Jordanian ambassador.",
        "received",
        "the Jordanian ambassador",
    )


def page(
    aid: str,
    published: date | None = None,
    key: str = "K",
    hint: date | None = None,
    country: str = "Jordan",
) -> Article:
    g = Gold("Murhaf Abu Qasra", "Syria", "", country, None, "meeting", meeting_key=key)
    return Article(aid, "en", published, "", "", (g,), hint)


@pytest.mark.parametrize(
    ("article", "meetings", "expected"),
    [
        pytest.param(
            page("a", NOV.replace(day=24)), [met(NOV)], NOV.replace(day=24), id="published"
        ),
        pytest.param(
            page("a", hint=NOV.replace(day=22)), [met()], NOV.replace(day=22), id="group-date-hint"
        ),
        pytest.param(
            page("a"),
            [met(NOV.replace(day=20)), met(NOV.replace(day=22))],
            NOV.replace(day=22),
            id="latest-stated-date",
        ),
        pytest.param(
            page("a"),
            [met(NOV.replace(day=22), DateSource.PUBLISHED)],
            None,
            id="publication-guess-is-not-stated",
        ),
        pytest.param(page("a"), [met()], None, id="nothing-places-it"),
    ],
)
def test_placed(article: Article, meetings: list[Meeting], expected: date | None) -> None:
    assert placed(article, meetings) == expected


def day(n: int) -> date:
    return NOV.replace(day=n)


MERGE_CORPUS_CASES = [
    pytest.param(
        [page("wire", day(22)), page("copy", hint=day(22))],
        {"wire": [met(day(22))], "copy": [met()]},
        (0, 0, 1),
        id="undated-page-placed-by-its-hint",
    ),
    pytest.param(
        [page("b"), page("a"), page("c")],
        {"a": [met()], "b": [met()], "c": [met()]},
        (0, 0, 1),
        id="pages-with-no-time-merge-together",
    ),
    pytest.param(
        [page("late", key="K2"), page("mod", day(22))],
        {"late": [met(day(29))], "mod": [met(day(22))]},
        (0, 0, 0),
        id="page-placed-by-its-text-a-week-later",
    ),
    pytest.param(
        [page("mod", day(22)), page("old", day(8), key="K0"), page("copy", hint=day(23))],
        {"mod": [met(day(22))], "old": [met(day(8))], "copy": [met()]},
        (0, 0, 1),
        id="other-meeting-of-the-pair-stays-apart",
    ),
    pytest.param(
        [page("mod", day(22)), page("nodate")],
        {"mod": [met(day(22))], "nodate": [met()]},
        (0, 1, 1),
        id="no-time-never-joins-a-placed-event",
    ),
]


@pytest.mark.parametrize(("articles", "found", "expected"), MERGE_CORPUS_CASES)
def test_merge_corpus(
    articles: list[Article], found: dict[str, list[Meeting]], expected: tuple[int, int, int]
) -> None:
    report = merge_corpus(articles, found, SCORER)
    got = (len(report.over_merges), len(report.splits), report.multi_article_meetings)
    assert got == expected

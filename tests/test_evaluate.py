"""Scoring by the corpus rules, on a small labelled corpus written for this test."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.evaluate import Article, Gold, Prediction, Scorer
from monitor.gazetteer import load_gazetteer
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

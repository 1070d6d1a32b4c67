"""Measure detection on a labelled corpus: precision, recall, F1, date accuracy, per language,
beside a keyword co-occurrence baseline. I/O only in ``load_corpus``; scoring is pure.

Scoring follows the corpus README: a gold event is in scope when its official (or, when both
sides are defence officials, its counterpart) is a watched official; a prediction matches a
gold event of the same article with the same watched official, the same counterpart country
through the gazetteer, and the same kind; a prediction matching a background event is
neither right nor wrong; dates are scored only where the gold date is known.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from monitor.events import MergeReport, merge_all, score_merges, stated
from monitor.gazetteer import Gazetteer
from monitor.models import EventKind, Meeting, Official
from monitor.normalise import fold, squash


@dataclass(frozen=True, slots=True)
class Gold:
    official: str
    official_country: str
    counterpart: str
    counterpart_country: str
    date: date | None
    kind: str
    background: bool = False
    meeting_key: str | None = None
    counterpart_title: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    lang: str
    published: date | None
    title: str
    text: str
    events: tuple[Gold, ...]
    group_date: date | None = None  # corpus hint: the date other reports of it give


def _day(value: str | None) -> date | None:
    if value and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return None  # "YYYY-MM", "YYYY" or unknown: no day to resolve relative dates against


def load_corpus(path: Path) -> list[Article]:
    """Read a JSONL corpus in the format of shared/corpus/README.md."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            events = tuple(
                Gold(
                    e["official"],
                    e.get("official_country") or "",
                    e.get("counterpart") or "",
                    e.get("counterpart_country") or "",
                    _day(e.get("date")),
                    e["kind"],
                    bool(e.get("background")),
                    e.get("meeting_key"),
                    e.get("counterpart_title") or "",
                )
                for e in raw.get("events", [])
            )
            hints = sorted(d for e in raw.get("events", []) if (d := _day(e.get("group_date"))))
            out.append(
                Article(
                    raw["id"],
                    raw.get("lang") or "?",
                    _day(raw.get("published")),
                    raw.get("title") or "",
                    raw.get("text") or "",
                    events,
                    hints[0] if hints else None,
                )
            )
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{path}:{n}: bad corpus record: {e}") from e
    return out


@dataclass(frozen=True, slots=True)
class Prediction:
    article: str
    official_id: str
    country: str
    kind: str
    date: date | None
    evidence: str = ""
    counterpart: str = ""


@dataclass
class Tally:
    predicted: int = 0
    correct: int = 0
    background: int = 0
    gold: int = 0
    dated: int = 0
    dates_right: int = 0

    @property
    def precision(self) -> float:
        scored = self.predicted - self.background
        return self.correct / scored if scored else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def dates(self) -> float:
        return self.dates_right / self.dated if self.dated else 1.0


@dataclass
class Report:
    total: Tally = field(default_factory=Tally)
    by_lang: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    false_positives: list[Prediction] = field(default_factory=list)
    false_negatives: list[tuple[str, Gold]] = field(default_factory=list)
    wrong_dates: list[tuple[Prediction, Gold]] = field(default_factory=list)


class Scorer:
    """Matches predictions to gold events by the corpus README's rules."""

    def __init__(self, officials: Sequence[Official], gazetteer: Gazetteer) -> None:
        self._gaz = gazetteer
        self._by_name: dict[str, Official] = {}
        for o in officials:
            for n in (o.name, *o.aliases):
                self._by_name.setdefault(fold(squash(n)), o)

    def watched(self, name: str) -> Official | None:
        return self._by_name.get(fold(squash(name)))

    def place(self, name: str) -> str:
        p = self._gaz.lookup(name) or self._gaz.lookup(re.sub(r"\s*\(.*\)$", "", name))
        return p.name if p else name

    def _fits(self, p: Prediction, g: Gold) -> bool:
        if p.kind != g.kind:
            return False
        mine = self.watched(g.official)
        if mine and mine.id == p.official_id and self.place(g.counterpart_country) == p.country:
            return True
        theirs = self.watched(g.counterpart)
        return bool(
            theirs and theirs.id == p.official_id and self.place(g.official_country) == p.country
        )

    def assign(self, gold: Sequence[Gold], predictions: Sequence[Prediction]) -> list[int | None]:
        """For each prediction, the gold event it matches (an index into ``gold``) or None.
        Each gold event matches at most one prediction; among those that fit, the one whose
        counterpart words share most with the prediction's (the president, not the minister)."""
        used: set[int] = set()
        out: list[int | None] = []
        for p in predictions:
            fits = [i for i, g in enumerate(gold) if i not in used and self._fits(p, g)]
            hit = max(fits, key=lambda i: (_affinity(p, gold[i]), -i), default=None)
            if hit is not None:
                used.add(hit)
            out.append(hit)
        return out

    def gold_keys(self, article: Article, predictions: Sequence[Prediction]) -> list[str | None]:
        """The real-world meeting each prediction reports (its gold ``meeting_key``), if any."""
        return [
            article.events[i].meeting_key if i is not None else None
            for i in self.assign(article.events, predictions)
        ]

    def in_scope(self, g: Gold) -> bool:
        return self.watched(g.official) is not None or self.watched(g.counterpart) is not None

    def score(
        self, articles: Iterable[Article], predictions: dict[str, list[Prediction]]
    ) -> Report:
        report = Report()
        for a in articles:
            tally = report.by_lang[a.lang]
            gold = [g for g in a.events if self.in_scope(g)]
            mine = predictions.get(a.id, [])
            used: set[int] = set()
            for p, hit in zip(mine, self.assign(gold, mine), strict=True):
                for t in (tally, report.total):
                    t.predicted += 1
                if hit is None:
                    report.false_positives.append(p)
                    continue
                used.add(hit)
                g = gold[hit]
                for t in (tally, report.total):
                    if g.background:
                        t.background += 1
                        continue
                    t.correct += 1
                    if g.date is not None:
                        t.dated += 1
                        t.dates_right += p.date == g.date
                if not g.background and g.date is not None and p.date != g.date:
                    report.wrong_dates.append((p, g))
            for i, g in enumerate(gold):
                if g.background:
                    continue
                for t in (tally, report.total):
                    t.gold += 1
                if i not in used:
                    report.false_negatives.append((a.id, g))
        return report


def _affinity(p: Prediction, g: Gold) -> int:
    """Words the prediction's counterpart shares with the gold counterpart's name and title."""
    words = set(re.findall(r"\w{3,}", fold(p.counterpart)))
    return len(words & set(re.findall(r"\w{3,}", fold(f"{g.counterpart} {g.counterpart_title}"))))


def detect(
    articles: Iterable[Article], match: Callable[[str, str, date | None], list[Meeting]]
) -> dict[str, list[Meeting]]:
    return {a.id: match(a.title, a.text, a.published) for a in articles}


def as_prediction(article: str, m: Meeting) -> Prediction:
    return Prediction(
        article, m.official_id, m.country, str(m.kind), m.date, m.evidence, m.counterpart
    )


def predict(
    articles: Iterable[Article], match: Callable[[str, str, date | None], list[Meeting]]
) -> dict[str, list[Prediction]]:
    return {
        aid: [as_prediction(aid, m) for m in found]
        for aid, found in detect(articles, match).items()
    }


def placed(article: Article, meetings: Sequence[Meeting]) -> date | None:
    """The day a daemon would have seen ``article``: its publication; else the corpus's
    ``group_date`` hint (the date other reports of the meeting give: news is fetched soon
    after it appears); else the latest date its text states; else None, nothing in the
    corpus places it (``events`` then takes it as fetched when the corpus was collected)."""
    days = [d for m in meetings if (d := stated(m))]
    return article.published or article.group_date or (max(days) if days else None)


def merge_corpus(
    articles: Sequence[Article], found: dict[str, list[Meeting]], scorer: Scorer
) -> MergeReport:
    """Merge every article's meetings as the daemon would (in the order it would have seen
    them, ``placed``; what nothing places comes last) and compare the events with the gold
    meeting keys: over-merges and splits."""
    day = {a.id: placed(a, found.get(a.id, [])) for a in articles}
    order = sorted(articles, key=lambda a: (day[a.id] or date.max, a.id))
    members = [(a.id, m) for a in order for m in found.get(a.id, [])]

    def seen_at(aid: str) -> datetime | None:
        d = day[aid]
        return datetime(d.year, d.month, d.day, 12, tzinfo=UTC) if d else None

    keys: dict[int, str | None] = {}
    for a in articles:
        mine = found.get(a.id, [])
        predicted = [as_prediction(a.id, m) for m in mine]
        keys.update(zip(map(id, mine), scorer.gold_keys(a, predicted), strict=True))
    groups = merge_all(members, seen_at)
    return score_merges(groups, lambda aid, m: keys.get(id(m)))


def keyword_baseline(
    articles: Iterable[Article], officials: Sequence[Official], gazetteer: Gazetteer
) -> dict[str, list[Prediction]]:
    """Google-Alerts style: a watched name and a foreign country in the same article."""
    forms = [(fold(f), p.name) for f, p in gazetteer.surface_forms() if len(f) > 3]
    out: dict[str, list[Prediction]] = {}
    for a in articles:
        text = fold(f"{a.title}\n{a.text}")
        words = set(re.findall(r"\w+", text))
        places = {name for f, name in forms if (f in words if " " not in f else f in text)}
        preds = []
        for o in officials:
            if any(fold(n) in text for n in (o.name, *o.aliases)):
                preds += [
                    Prediction(a.id, o.id, c, str(EventKind.MEETING), a.published)
                    for c in sorted(places)
                    if c != o.country
                ]
        out[a.id] = preds
    return out


def as_json(
    report: Report,
    baseline: Report,
    articles: Sequence[Article],
    predictions: dict[str, list[Prediction]],
    officials: Sequence[Official],
) -> dict[str, Any]:
    names = {o.id: o for o in officials}

    def figures(t: Tally) -> dict[str, float | int]:
        return {
            "precision": round(t.precision, 3),
            "recall": round(t.recall, 3),
            "f1": round(t.f1, 3),
            "dates": round(t.dates, 3),
            "predicted": t.predicted,
            "correct": t.correct,
            "gold": t.gold,
        }

    return {
        "events": figures(report.total),
        "by_lang": {k: figures(v) for k, v in sorted(report.by_lang.items())},
        "baseline": figures(baseline.total),
        "articles": [
            {
                "id": a.id,
                "predicted": [
                    {
                        "official": names[p.official_id].name,
                        "official_country": names[p.official_id].country,
                        "counterpart_country": p.country,
                        "kind": p.kind,
                        "date": p.date.isoformat() if p.date else None,
                        "evidence": p.evidence,
                    }
                    for p in predictions.get(a.id, [])
                ],
            }
            for a in articles
        ],
    }

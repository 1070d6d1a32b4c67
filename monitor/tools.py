"""Edge: the `monitor match` and `monitor eval` commands (detection for admins and for
measurement). Reads files and prints; the work is done by match and evaluate."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from monitor.config import load_watchlist
from monitor.evaluate import (
    Prediction,
    Report,
    Scorer,
    Tally,
    as_json,
    as_prediction,
    detect,
    keyword_baseline,
    load_corpus,
    merge_corpus,
)
from monitor.events import MergeReport
from monitor.evidence import confidence
from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from monitor.models import Meeting, Watchlist
from monitor.render import subject


def run_match(
    watchlists: list[Watchlist], source: str, published: date | None, as_json_out: bool
) -> int:
    """Print the meetings found in one article (a file, or - for standard input)."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    title, _, body = text.partition("\n") if "\n" in text else ("", "", text)
    meetings = Matcher(watchlists, load_gazetteer()).match(title.strip(), body, published)
    if as_json_out:
        print(
            json.dumps(
                [
                    {
                        "official": m.official_id,
                        "country": m.country,
                        "kind": str(m.kind),
                        "date": m.date.isoformat() if m.date else None,
                        "date_source": str(m.date_source),
                        "counterpart": m.counterpart,
                        "trigger": m.trigger,
                        "evidence": m.evidence,
                        "spans": [[s.start, s.end, s.role] for s in m.spans],
                    }
                    for m in meetings
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not meetings:
        print("no meetings found")
    for m in meetings:
        print(subject(m))
        print(explain(m))
    return 0


def explain(m: Meeting) -> str:
    """The evidence with its matched parts in [brackets], and how each fact was found."""
    marked = m.evidence
    for s in sorted(m.spans, key=lambda s: s.start, reverse=True):
        marked = marked[: s.start] + "[" + marked[s.start : s.end] + "]" + marked[s.end :]
    roles = ", ".join(f"{s.role}={m.evidence[s.start : s.end]!r}" for s in m.spans)
    return (
        f"  kind={m.kind} date={m.date} ({m.date_source}) confidence={confidence(m)}\n"
        f"  matched: {roles}\n"
        f"  evidence: {marked}"
    )


CORE_LANGUAGES = ("en", "ar", "fr")  # the languages detection is held to; others are a stretch


def _row(name: str, t: Tally) -> str:
    return (
        f"{name:<10} {t.predicted:>5} {t.correct:>5} {t.gold:>5}  {t.precision:6.3f} "
        f"{t.recall:6.3f} {t.f1:6.3f} {t.dates:6.3f}"
    )


def run_eval(watchlist_path: Path, corpus_path: Path, as_json_out: bool) -> int:
    watchlist = load_watchlist(watchlist_path)
    gazetteer = load_gazetteer()
    articles = load_corpus(corpus_path)
    matcher = Matcher([watchlist], gazetteer)
    scorer = Scorer(watchlist.officials, gazetteer)
    found = detect(articles, matcher.match)
    predictions = {aid: [as_prediction(aid, m) for m in ms] for aid, ms in found.items()}
    report = scorer.score(articles, predictions)
    merges = merge_corpus(articles, found, scorer)
    base_predictions = keyword_baseline(articles, watchlist.officials, gazetteer)
    baseline = scorer.score(articles, base_predictions)
    if as_json_out:
        print(
            json.dumps(
                as_json(report, baseline, articles, predictions, watchlist.officials),
                ensure_ascii=False,
            )
        )
        return 0
    _print_report(report, baseline)
    _print_merges(merges)
    t = report.total
    print(
        f"events: precision={t.precision:.3f} recall={t.recall:.3f} f1={t.f1:.3f} "
        f"dates={t.dates:.3f}"
    )
    return 0


def _print_report(report: Report, baseline: Report) -> None:
    print(
        f"{'':<10} {'pred':>5} {'right':>5} {'gold':>5}  {'prec':>6} {'recall':>6} "
        f"{'f1':>6} {'dates':>6}"
    )
    core = Tally()
    for lang, tally in sorted(report.by_lang.items()):
        print(_row(lang, tally))
        if lang in CORE_LANGUAGES:
            for f in ("predicted", "correct", "background", "gold", "dated", "dates_right"):
                setattr(core, f, getattr(core, f) + getattr(tally, f))
    print(_row("en+ar+fr", core))
    print(_row("all", report.total))
    print(_row("keywords", baseline.total) + "   (baseline: name + country in one article)")
    print()
    for p in report.false_positives:
        print(f"FP {p.article}: {_pred(p)}  « {p.evidence[:160]} »")
    for article, g in report.false_negatives:
        print(
            f"FN {article}: {g.official} ~ {g.counterpart_country} {g.kind} {g.date} "
            f"({g.counterpart[:60]})"
        )
    for p, g in report.wrong_dates:
        print(f"DATE {p.article}: {_pred(p)} gold={g.date}")
    print()


def _print_merges(merges: MergeReport) -> None:
    multi = merges.multi_article_meetings
    share = len(merges.splits) / multi if multi else 0.0
    print(
        f"merging: over-merges={len(merges.over_merges)} splits={len(merges.splits)} "
        f"of {multi} meetings reported by more than one article ({share:.1%})"
    )
    for keys, members in merges.over_merges:
        print(
            f"OVER-MERGE {', '.join(keys)}: "
            + "; ".join(f"{a} {m.official_id}~{m.country} {m.date}" for a, m in members)
        )
    for key, events in merges.splits:
        print(
            f"SPLIT {key}: "
            + " | ".join(", ".join(f"{a} {m.date}" for a, m in ev) for ev in events)
        )
    print()


def _pred(p: Prediction) -> str:
    return f"{p.official_id} ~ {p.country} {p.kind} {p.date}"

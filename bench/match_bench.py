"""Matching throughput on one core: articles/s through ``monitor.match.Matcher``.

    /tmp/venv/bin/python bench/match_bench.py [--aliases 50 5000] [--seconds 2]

Watchlists of synthetic officials with plausible three-word names, five name forms each
(name + four aliases: short form, transliteration, "al-" form...) and the usual five defence
titles, so 50 aliases = 10 officials and 5,000 aliases = 1,000 officials. Two article sets,
texts as ``monitor.parse`` hands them to the matcher (HTML flattened):
- no mention: defence news naming no watched official (a third are hard negatives with a
  meeting phrase, a title and two foreign countries);
- mention: a watched official (any name form) meets, receives or phones someone from a
  foreign country.
Targets (issue 7, at 5,000 aliases): >= 20,000/s no-mention, >= 2,000/s mention.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import common
from articles import mention_article, no_mention_article

from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from monitor.models import Official, Watchlist
from monitor.parse import html_to_text

FORMS = 5


def watchlist(n_aliases: int, gazetteer: Any) -> tuple[Watchlist, list[common.SynthOfficial]]:
    synth = common.make_officials(max(1, n_aliases // FORMS), FORMS)
    officials = tuple(
        Official(
            id=o.id,
            name=o.name,
            country=gazetteer.lookup(o.country).name,
            role="Minister of Defence",
            aliases=o.aliases,
            titles=o.titles,
            watchlist="bench",
        )
        for o in synth
    )
    return Watchlist(name="bench", officials=officials, countries=None), synth


def articles(
    kind: str, count: int, synth: list[common.SynthOfficial], seed: int = 11
) -> list[tuple[str, str, date]]:
    rng = random.Random(seed)
    out = []
    for k in range(count):
        if kind == "mention":
            o = synth[rng.randrange(len(synth))]
            place = common.PLACES[rng.randrange(len(common.PLACES))]
            title, html = mention_article(rng, o, place, form=k)
        else:
            title, html = no_mention_article(rng)
        out.append((title, html_to_text(html), date(2026, 11, 20)))
    return out


def rate(fn: Callable[[], int], n: int, seconds: float) -> tuple[float, int]:
    """Items/s of ``fn`` (which processes ``n`` items), best of repeated runs over ``seconds``."""
    fn()  # warm caches (lexicon, regexes, dateparser locales)
    best = 0.0
    found = 0
    spent = 0.0
    while spent < seconds:
        gc.collect()
        t = time.perf_counter()
        found = fn()
        dt = time.perf_counter() - t
        spent += dt
        best = max(best, n / dt)
    return best, found


def main() -> None:
    p = argparse.ArgumentParser(description="Matcher throughput on one core")
    p.add_argument("--aliases", type=int, nargs="+", default=[50, 5000])
    p.add_argument("--articles", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=2.0)
    a = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t = time.perf_counter()
    gazetteer = load_gazetteer()
    gaz_s = time.perf_counter() - t
    results: list[dict[str, Any]] = []
    for n_aliases in a.aliases:
        wl, synth = watchlist(n_aliases, gazetteer)
        builds = []
        for _ in range(3):
            t = time.perf_counter()
            matcher = Matcher([wl], gazetteer)
            builds.append(time.perf_counter() - t)
        for kind in ("no mention", "mention"):
            arts = articles("mention" if kind == "mention" else "none", a.articles, synth)

            def run(m: Matcher = matcher, arts: list[tuple[str, str, date]] = arts) -> int:
                return sum(1 for title, text, pub in arts if m.match(title, text, pub))

            per_s, hits = rate(run, len(arts), a.seconds)
            results.append(
                {
                    "aliases": sum(1 + len(o.aliases) for o in wl.officials),
                    "officials": len(wl.officials),
                    "articles": kind,
                    "per_s": per_s,
                    "us_per_article": 1e6 / per_s,
                    "with_meeting": hits / len(arts),
                    "build_s_first": builds[0],
                    "build_s_median": statistics.median(builds),
                    "mean_chars": sum(len(t) + len(x) for t, x, _ in arts) / len(arts),
                }
            )
    print("## Matching, one core\n")
    print(f"gazetteer load: {gaz_s:.2f} s (once per process)\n")
    print(
        "| aliases | officials | articles | articles/s | µs/article | with a meeting "
        "| matcher build s (first / median of 3) | target |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---|")
    for r in results:
        target = ""
        if r["aliases"] >= 5000:
            goal = 20_000 if r["articles"] == "no mention" else 2_000
            target = f"≥ {goal:,}/s: {'met' if r['per_s'] >= goal else 'missed'}"
        print(
            f"| {r['aliases']:,} | {r['officials']:,} | {r['articles']} | {r['per_s']:,.0f} "
            f"| {r['us_per_article']:.0f} | {100 * r['with_meeting']:.0f}% "
            f"| {r['build_s_first']:.3f} / {r['build_s_median']:.3f} | {target} |"
        )
    print(f"\nmean article length: {results[0]['mean_chars']:.0f} chars (title + text)\n")
    print(json.dumps({"gazetteer_s": gaz_s, "results": results}))


if __name__ == "__main__":
    main()

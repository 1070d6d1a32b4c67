"""Source health: failing or silent longer than allowed → one admin alert, one recovery."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import monitor.outbox as outbox
import monitor.pipeline as pipeline
from monitor.health import HealthState, NoticeKind, Thresholds, health_transitions, state_of
from tests.site import Reply, Running, poll_all, rss, serve_site, write_config

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass(frozen=True)
class Feed:
    id: int = 1
    url: str = "https://mod.example/feed"
    name: str = "MoD"
    active: bool = True
    failures: int = 0
    failing_since: datetime | None = None
    last_success_at: datetime | None = NOW - H
    last_new_item_at: datetime | None = NOW - H
    created_at: datetime | None = NOW - 100 * H
    last_error_kind: str | None = None
    last_error: str | None = None
    health_state: str | None = None


LIMITS = Thresholds(failing_after=6 * H, silent_after=48 * H)
FAILING = HealthState.FAILING
SILENT = HealthState.SILENT


@pytest.mark.parametrize(
    ("feed", "limits", "expected"),
    [
        pytest.param(Feed(), LIMITS, None, id="healthy"),
        pytest.param(Feed(failures=3, failing_since=NOW - 5 * H), LIMITS, None, id="blip"),
        pytest.param(Feed(failures=9, failing_since=NOW - 6 * H), LIMITS, FAILING, id="failing"),
        pytest.param(Feed(last_new_item_at=NOW - 49 * H), LIMITS, SILENT, id="silent"),
        pytest.param(
            Feed(last_new_item_at=None, created_at=NOW - 49 * H), LIMITS, SILENT, id="never-new"
        ),
        pytest.param(
            Feed(last_new_item_at=NOW - 99 * H), Thresholds(6 * H), None, id="no-cadence-set"
        ),
        pytest.param(
            Feed(failures=1, failing_since=NOW - 7 * H, last_new_item_at=NOW - 99 * H),
            LIMITS,
            FAILING,
            id="failing-beats-silent",
        ),
        pytest.param(
            Feed(failures=1, failing_since=NOW - H, health_state="silent"),
            LIMITS,
            SILENT,
            id="blip-keeps-notified-state",
        ),
    ],
)
def test_state_of(feed: Feed, limits: Thresholds, expected: HealthState | None) -> None:
    assert state_of(feed, NOW, limits) is expected


@pytest.mark.parametrize(
    ("feed", "kind"),
    [
        pytest.param(Feed(failures=9, failing_since=NOW - 7 * H), NoticeKind.FAILING, id="alert"),
        pytest.param(
            Feed(failures=9, failing_since=NOW - 7 * H, health_state="failing"), None, id="once"
        ),
        pytest.param(Feed(health_state="failing"), NoticeKind.RECOVERED, id="recovered"),
        pytest.param(Feed(health_state="silent"), NoticeKind.RECOVERED, id="silent-recovered"),
        pytest.param(Feed(last_new_item_at=NOW - 50 * H), NoticeKind.SILENT, id="silent"),
        pytest.param(
            Feed(last_new_item_at=NOW - 50 * H, health_state="failing"),
            NoticeKind.SILENT,
            id="fetching-again-but-silent",
        ),
        pytest.param(Feed(active=False, health_state="failing"), None, id="inactive"),
        pytest.param(Feed(url="https://gone.example/"), None, id="not-configured"),
    ],
)
def test_health_transitions(feed: Feed, kind: NoticeKind | None) -> None:
    notices = health_transitions([feed], NOW, {"https://mod.example/feed": LIMITS})
    assert [n.kind for n in notices] == ([kind] if kind else [])


def test_notice_text_says_what_and_since_when() -> None:
    feed = Feed(
        failures=12,
        failing_since=NOW - 7 * H,
        last_error_kind="http_5xx",
        last_error="https://mod.example/feed: http_5xx (HTTP 503)",
    )
    (notice,) = health_transitions([feed], NOW, {feed.url: LIMITS})
    assert notice.subject == "Feed failing: MoD"
    assert "since 2025-11-27 05:00 UTC" in notice.text and "7.0 h" in notice.text
    assert "12 attempts" in notice.text and "http_5xx" in notice.text
    assert (notice.previous, notice.state) == (None, HealthState.FAILING)
    (back,) = health_transitions(
        [replace(feed, failures=0, health_state="failing")], NOW, {feed.url: LIMITS}
    )
    assert back.subject == "Feed recovered: MoD" and back.state is None


def test_admins_hear_once_and_recovery_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []

    async def record(deps: object, subject: str, text: str) -> None:
        told.append(subject)

    monkeypatch.setattr(outbox, "notify_admins", record)
    with serve_site() as site:
        site.serve("/feed", Reply(500, b"down"))
        feeds = [
            f"{{name: Flaky, url: '{site.url('/feed')}', failing_after: 2h}}",
            f"{{name: Quiet, url: '{site.url('/quiet')}', silent_after: 1d}}",
        ]
        site.serve("/quiet", Reply(200, rss(("q1", "Old news", "Nothing new."))))
        path = write_config(tmp_path, feeds)

        async def scenario() -> None:
            async with Running(path) as deps:
                start = deps.clock()
                await poll_all(deps)  # Flaky fails, Quiet has its one item
                assert told == []
                deps.clock = lambda: start + timedelta(hours=3)
                assert await pipeline.check_health(deps, force=True) == 1
                assert await pipeline.check_health(deps, force=True) == 0, "only once"
                assert told == ["Feed failing: Flaky"]
                # a day later the feed works again, and Quiet has said nothing new since
                site.serve("/feed", Reply(200, rss(("f1", "Back", "Up again."))))
                deps.clock = lambda: start + timedelta(hours=27)
                await poll_all(deps)
                await pipeline.check_health(deps, force=True)
                await pipeline.check_health(deps, force=True)
                assert sorted(told[1:]) == ["Feed recovered: Flaky", "Feed silent: Quiet"]

        asyncio.run(scenario())

"""The fetching SQL (monitor.feedstore) on real SQLite and real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.models import Entry, FeedSpec
from monitor.store import Store
from tests.test_store import FEED, NOW, make_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (
        f"sqlite:///{tmp_path / 'm.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    s = make_store(url)
    yield s
    s.engine.dispose()


def test_known_keys_and_has_items(store: Store) -> None:
    store.sync_feeds([FEED, FeedSpec("Other", "http://127.0.0.1:1/o", FEED.interval)], NOW)
    by_name = {f.name: f for f in store.feeds()}
    feed, other = by_name["Wire"], by_name["Other"]
    assert not store.has_items(feed.id)
    store.add_items(feed.id, [Entry("a", "A", ""), Entry("b", "B", "")], NOW)
    assert store.has_items(feed.id) and not store.has_items(other.id)
    assert store.known_keys(feed.id, ["a", "c", "b"]) == {"a", "b"}
    assert store.known_keys(other.id, ["a"]) == set()
    assert store.known_keys(feed.id, []) == set()


def test_save_poll_keeps_fetch_url_and_hash_and_tracks_failing_since(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.feeds()
    later = NOW + timedelta(minutes=5)
    store.save_poll(feed.id, NOW, later, body_hash="h1", fetch_url="http://127.0.0.1:1/new")
    store.save_poll(feed.id, later, later, etag='"e"')  # 304: nothing new to remember
    (feed,) = store.feeds()
    assert (feed.body_hash, feed.fetch_url, feed.etag) == ("h1", "http://127.0.0.1:1/new", '"e"')
    store.save_poll(feed.id, NOW + timedelta(hours=1), later, error_kind="timeout", error="slow")
    store.save_poll(feed.id, NOW + timedelta(hours=2), later, error_kind="http_5xx", error="503")
    (feed,) = store.feeds()
    assert feed.failing_since == NOW + timedelta(hours=1), "the streak's first failure"
    assert (feed.failures, feed.last_error_kind) == (2, "http_5xx")
    assert feed.body_hash == "h1" and feed.fetch_url == "http://127.0.0.1:1/new"
    store.save_poll(feed.id, NOW + timedelta(hours=3), later)
    (feed,) = store.feeds()
    assert (feed.failures, feed.failing_since) == (0, None)
    store.sync_feeds([FEED], NOW)  # a reload matches on the configured URL
    assert store.feeds()[0].fetch_url == "http://127.0.0.1:1/new"


def test_set_health_is_compare_and_set(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.feeds()
    assert store.set_health(feed.id, None, "failing", NOW)
    assert not store.set_health(feed.id, None, "failing", NOW), "another instance was first"
    assert store.feeds()[0].health_state == "failing"
    assert store.set_health(feed.id, "failing", None, NOW)
    assert store.feeds()[0].health_state is None


def test_article_cache_round_trip(store: Store) -> None:
    url = "https://news.example/a/" + "x" * 3000  # longer than an index entry may be
    assert store.article(url) is None
    store.save_article(url, NOW, text=None, error_kind="http_429", retry_at=NOW + timedelta(1))
    cached = store.article(url)
    assert cached is not None and cached.error_kind == "http_429" and cached.text is None
    store.save_article(url, NOW, text="The minister met the envoy.")
    cached = store.article(url)
    assert cached is not None
    assert (cached.url, cached.text, cached.error_kind, cached.retry_at) == (
        url,
        "The minister met the envoy.",
        None,
        None,
    )

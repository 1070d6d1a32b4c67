"""The web interface over HTTP (issue 8): pages, filters, counts, Atom/JSON/iCalendar/CSV, auth,
read-only methods and escaping. Data comes from the real pipeline polling a local feed."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import signal
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import feedparser
import icalendar
import jsonschema
import pytest
from httpx import Client

from monitor import db, queries
from monitor.cli import main
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.feeds_out import is_web_link
from monitor.models import EventKind
from monitor.queries import EventFilter
from monitor.render import event_subject
from monitor.store import Store
from monitor.websettings import WebSettings
from tests.webdata import (
    EXPECTED,
    HOSTILE_EVIDENCE,
    HOSTILE_TITLE,
    JS_LINK,
    Daemon,
    World,
    polled_world,
    serve_web,
    web_daemon,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "events.schema.json").read_text())


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    with polled_world(tmp_path_factory.mktemp("web")) as w:
        yield w


@pytest.fixture(scope="module")
def store(world: World) -> Iterator[Store]:
    s = Store(db.make_engine(world.database))
    yield s
    s.engine.dispose()


@pytest.fixture(scope="module")
def client(store: Store) -> Iterator[Client]:
    with serve_web(store) as c:
        yield c


def base(client: Client) -> str:
    return str(client.base_url).rstrip("/")


def rows(html: str) -> int:
    return html.count('<tr class="event"')


def ids_of(client: Client, query: str = "") -> list[int]:
    return [e["id"] for e in client.get("/events.json" + query).json()["events"]]


def test_the_pipeline_made_the_expected_events(client: Client) -> None:
    doc = client.get("/events.json").json()
    assert {(e["country"], e["kind"], e["date"]) for e in doc["events"]} == EXPECTED
    assert doc["total"] == len(EXPECTED)


def test_event_list_with_counts(client: Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert rows(r.text) == len(EXPECTED)
    assert f"{len(EXPECTED)} events" in r.text
    by_country = r.text.split('id="by-country"')[1].split("</table>")[0]
    for country, n in [("Pakistan", 2), ("Russia", 2), ("Jordan", 2), ("European Union", 1)]:
        assert f'>{country}</a></td><td class="n">{n}<' in by_country
    by_official = r.text.split('id="by-official"')[1].split("</table>")[0]
    assert f'>Murhaf Abu Qasra</a></td><td class="n">{len(EXPECTED)}<' in by_official


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?country=Jordan", {("Jordan", "meeting"), ("Jordan", "call")}),
        ("?kind=call", {("Russia", "call"), ("Jordan", "call")}),
        ("?kind=planned", {("Pakistan", "planned")}),
        ("?since=2025-11-17&until=2025-11-25", {("Russia", "meeting"), ("Pakistan", "meeting")}),
        ("?until=2025-11-03", {("Jordan", "meeting")}),
        ("?q=ohnmacht", {("European Union", "meeting")}),
        ("?q=القضاة", {("Jordan", "meeting")}),
        ("?q=Islamabad", {("Pakistan", "planned")}),
        ("?q=moscow", {("Russia", "call")}),  # a source title
        ("?q=100%25", set()),  # % is a literal, not a wildcard
        ("?official=abu-qasra&watchlist=syria", {(c, k) for c, k, _ in EXPECTED}),
        ("?official=someone-else", set()),
        ("?country=Russia&kind=call", {("Russia", "call")}),
    ],
)
def test_filters(client: Client, query: str, expected: set[tuple[str, str]]) -> None:
    doc = client.get("/events.json" + query).json()
    assert {(e["country"], e["kind"]) for e in doc["events"]} == expected
    assert doc["total"] == len(expected)
    page = client.get("/" + query).text
    assert rows(page) == len(expected)


def test_html_pages(client: Client) -> None:
    first = client.get("/?limit=3&kind=")
    assert rows(first.text) == 3 and 'id="prev"' not in first.text
    assert 'href="/?limit=3&amp;page=2"' in first.text
    last = client.get("/?limit=3&page=3")
    assert rows(last.text) == len(EXPECTED) - 6 and 'id="next"' not in last.text


def test_counts_follow_the_chosen_period(client: Client) -> None:
    page = client.get("/?since=2025-11-20").text
    by_country = page.split('id="by-country"')[1].split("</table>")[0]
    assert "Jordan" not in by_country and "Russia" not in by_country
    assert '>Pakistan</a></td><td class="n">2<' in by_country


@pytest.mark.parametrize(
    "query",
    ["?since=yesterday", "?kind=lunch", "?page=0", "?limit=100000", "?page=x"],
)
def test_bad_parameters_are_400(client: Client, query: str) -> None:
    for path in ("/", "/events.json", "/timeline", "/events.atom", "/events.ics"):
        if ("page" in query or "limit" in query) and path not in ("/", "/events.json"):
            continue
        r = client.get(path + query)
        assert r.status_code == 400, (path, query)


def test_event_page_evidence_date_and_sources(client: Client) -> None:
    (pk,) = client.get("/events.json?country=Pakistan&kind=meeting").json()["events"]
    page = client.get(f"/events/{pk['id']}").text
    assert '<b class="official">Murhaf Abu Qasra</b>' in page
    assert "stated in the text" in page
    assert page.count('<li class="source">') == 2
    assert "Defence Minister receives Pakistani ambassador" in page
    assert "وزير الدفاع يستقبل سفير باكستان" in page
    assert 'href="https://news.example.org/pk-1" rel="noopener noreferrer"' in page

    (jo,) = client.get("/events.json?country=Jordan&kind=meeting").json()["events"]
    page = client.get(f"/events/{jo['id']}").text
    assert 'id="evidence" class="evidence" dir="rtl" lang="ar"' in page
    assert '<b class="official">مرهف أبو قصرة</b>' in page


def test_a_javascript_link_from_a_feed_is_not_a_link(client: Client) -> None:
    (call,) = client.get("/events.json?country=Jordan&kind=call").json()["events"]
    assert call["sources"][0]["link"] == JS_LINK, "kept as data in the JSON"
    page = client.get(f"/events/{call['id']}").text
    assert 'href="javascript:' not in page
    assert f"<code>{JS_LINK}</code>" in page
    atom = client.get("/events.atom").text
    assert 'href="javascript:' not in atom


def test_unknown_event_is_404(client: Client) -> None:
    assert client.get("/events/999999").status_code == 404
    assert client.get("/nowhere").status_code == 404


PAGES = ["/", "/timeline", "/feeds", "/events.atom", "/events.json", "/events.ics"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_read_only(client: Client, path: str, method: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"


def test_head_and_security_headers(client: Client) -> None:
    assert client.head("/").status_code == 200
    r = client.get("/")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "script-src" not in r.headers["content-security-policy"], "no scripts at all"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    css = client.get("/static/monitor.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_feed_text_is_escaped_on_every_page(client: Client) -> None:
    (ru,) = client.get("/events.json?country=Russia&kind=meeting").json()["events"]
    assert HOSTILE_EVIDENCE in ru["evidence"] and "<script>" in ru["evidence"]
    assert ru["sources"][0]["title"] == HOSTILE_TITLE
    for path in ["/", "/timeline", "/feeds", f"/events/{ru['id']}", "/?q=Yevkurov"]:
        page = client.get(path).text
        assert "<script" not in page and "<img" not in page, path
        assert "onerror=" not in page.replace("onerror=alert(1)&gt;", ""), path
        assert "<b>wire" not in page, path
    page = client.get(f"/events/{ru['id']}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "Local &lt;b&gt;wire&lt;/b&gt;" in page


def test_feeds_page_shows_health(client: Client) -> None:
    page = client.get("/feeds").text
    assert page.count('<tr class="feed') == 2
    assert "Local &lt;b&gt;wire&lt;/b&gt;" in page
    ok, broken = page.split('<tr class="feed')[1:]
    assert "state-ok" in ok or "state-ok" in broken
    failing = ok if "Broken source" in ok else broken
    assert "state-failing" in failing and "network" in failing


def test_json_pages_follow_next_and_match_the_schema(client: Client) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    seen: list[int] = []
    url: str | None = "/events.json?limit=3&kind="
    pages = 0
    while url:
        doc = client.get(url).json()
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
        pages += 1
        assert doc["limit"] == 3 and doc["page"] == pages
        seen += [e["id"] for e in doc["events"]]
        url = doc["next"]
        if url:
            assert url.startswith(f"{base(client)}/events.json?") and "page=" in url
            assert client.get(url).json()["prev"] is not None
    assert pages == 3 and len(seen) == len(set(seen)) == len(EXPECTED)


def test_atom_parses_back_with_every_field(client: Client, store: Store) -> None:
    r = client.get("/events.atom?kind=meeting")
    assert r.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "monitor: defence-ministry meetings"
    assert parsed.feed.id == f"{base(client)}/events.atom?kind=meeting"
    assert parsed.feed.updated_parsed is not None
    assert {(li.rel, li.href) for li in parsed.feed.links} == {
        ("self", f"{base(client)}/events.atom?kind=meeting"),
        ("alternate", f"{base(client)}/"),
    }
    assert parsed.feed.author == "monitor" and parsed.feed.generator == "monitor"
    meetings = [e for e in EXPECTED if e[1] == "meeting"]
    assert len(parsed.entries) == len(meetings)
    for entry in parsed.entries:
        event_id = int(entry.id.rsplit("/", 1)[1])
        event = store.event(event_id)
        assert event is not None
        m = event.meeting
        assert entry.id == f"{base(client)}/events/{event_id}"
        assert entry.title == event_subject(event)
        assert entry.link == entry.id
        assert entry.published_parsed[:6] == event.first_seen.utctimetuple()[:6]
        assert entry.updated_parsed[:6] == event.first_seen.utctimetuple()[:6]
        assert entry.summary == m.evidence
        assert entry.content[0].type == "text/html"
        assert html.escape(m.counterpart) in entry.content[0].value
        assert {t.term for t in entry.tags} == {m.country, "meeting", m.official_id}
        related = [li.href for li in entry.links if li.rel == "related"]
        assert related == [s.link for s in event.sources]
    russia = next(e for e in parsed.entries if "Russia" in {t.term for t in e.tags})
    assert HOSTILE_EVIDENCE in russia.summary, "text stays text, escaped once in the XML"
    assert b"<script>" not in r.content


def test_icalendar_one_all_day_event_per_dated_meeting(client: Client) -> None:
    r = client.get("/events.ics")
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    assert str(cal["version"]) == "2.0" and "monitor" in str(cal["prodid"])
    vevents = cal.walk("VEVENT")
    assert len(vevents) == len(EXPECTED)
    doc = client.get("/events.json").json()
    by_id = {e["id"]: e for e in doc["events"]}
    assert len({str(v["uid"]) for v in vevents}) == len(vevents)
    for v in vevents:
        event = by_id[int(str(v["uid"]).split("-")[1].split("@")[0])]
        start, end = v.decoded("dtstart"), v.decoded("dtend")
        assert type(start) is date and start.isoformat() == event["date"]
        assert end == start + timedelta(days=1)
        assert str(v["summary"]) == event["subject"]
        assert str(v["url"]) == event["url"]
        assert event["evidence"] in str(v["description"])
        assert str(v["status"]) == ("TENTATIVE" if event["kind"] == "planned" else "CONFIRMED")
    jordan = client.get("/events.ics?country=Jordan").content
    assert len(icalendar.Calendar.from_ical(jordan).walk("VEVENT")) == 2


def test_cli_events_csv(world: World, capsys) -> None:
    assert main(["--config", str(world.config), "events", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    table = list(csv.DictReader(io.StringIO(out)))
    assert {(r["country"], r["kind"], r["date"]) for r in table} == EXPECTED
    ru = next(r for r in table if r["country"] == "Russia" and r["kind"] == "meeting")
    assert HOSTILE_EVIDENCE in ru["evidence"]
    assert ru["first_link"] == "https://news.example.org/ru-1"
    pk = next(r for r in table if r["country"] == "Pakistan" and r["kind"] == "meeting")
    assert pk["sources"] == "2"


# ---------------------------------------------------------------- credentials


def test_token(store: Store) -> None:
    with serve_web(store, WebSettings("127.0.0.1", 0, token="s3cret")) as c:
        r = c.get("/")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        page = c.get("/?token=s3cret&country=Jordan")
        assert page.status_code == 200
        assert 'href="/timeline?country=Jordan&amp;token=s3cret"' in page.text
        assert 'type="hidden" name="token" value="s3cret"' in page.text
        atom = c.get("/events.atom?token=s3cret").text
        assert "s3cret" not in atom, "identifiers that readers keep never carry the token"
        assert "s3cret" not in c.get("/events.ics?token=s3cret").text
        assert c.get("/events.json?token=wrong").status_code == 401


def test_basic_users(store: Store) -> None:
    def basic(user: str, password: str) -> dict[str, str]:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    with serve_web(store, WebSettings("127.0.0.1", 0, users=(("ana", "pw1"), ("bo", "pw2")))) as c:
        r = c.get("/feeds")
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="monitor"'
        assert c.get("/feeds", headers=basic("ana", "pw1")).status_code == 200
        assert c.get("/feeds", headers=basic("bo", "pw2")).status_code == 200
        assert c.get("/feeds", headers=basic("ana", "pw2")).status_code == 401
        assert c.get("/feeds", headers={"Authorization": "Basic !!!"}).status_code == 401
        assert c.get("/feeds?token=pw1").status_code == 401


# ---------------------------------------------------------------- in the daemon


def test_daemon_serves_web_and_keeps_its_signals(world: World, tmp_path: Path) -> None:
    """uvicorn runs inside the daemon's loop: SIGHUP still reloads (a new token applies at
    once), SIGTERM still stops the daemon cleanly with exit code 0."""
    with web_daemon(world, tmp_path / "daemon.log", "token: first") as (daemon, url):
        with Client(base_url=url, trust_env=False, timeout=10) as c:
            assert c.get("/").status_code == 401
            assert c.get("/?token=first").status_code == 200
            world.config.write_text(world.config.read_text().replace("first", "second"))
            daemon.signal(signal.SIGHUP)
            assert daemon.wait_for("config reloaded"), daemon.output()
            assert c.get("/?token=first").status_code == 401
            assert rows(c.get("/?token=second").text) == len(EXPECTED)
        assert daemon.stop() == 0
        out = daemon.output()
        assert "web interface stopped" in out and "daemon stopped clean=True" in out, out


def test_daemon_refuses_to_start_when_the_port_is_taken(world: World, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        text = world.config.read_text()
        world.config.write_text(f'{text}web: {{listen: "127.0.0.1:{port}"}}\n')
        try:
            daemon = Daemon(world.config, tmp_path / "daemon.log")
            daemon.start()
            assert daemon.proc is not None and daemon.proc.wait(timeout=30) == 1
        finally:
            world.config.write_text(text)
    assert f"web: cannot listen on 127.0.0.1:{port}" in daemon.output()


# ---------------------------------------------------------------- config


def test_web_is_off_by_default(config_dir: Path) -> None:
    assert load_config(config_dir / "monitor.yaml").web is None


@pytest.mark.parametrize(
    ("web", "expected"),
    [
        ('{listen: "127.0.0.1:8787"}', WebSettings("127.0.0.1", 8787)),
        ('{listen: "[::1]:8787"}', WebSettings("::1", 8787)),
        ('{listen: "localhost:80"}', WebSettings("localhost", 80)),
        ('{listen: "0.0.0.0:8787", token: "${WEB_TOKEN}"}', WebSettings("0.0.0.0", 8787, "t0k")),
        (
            '{listen: "10.0.0.5:8787", users: [{name: ana, password: "${WEB_PASS}"}]}',
            WebSettings("10.0.0.5", 8787, users=(("ana", "pw"),)),
        ),
    ],
)
def test_web_config(config_dir: Path, web: str, expected: WebSettings) -> None:
    path = config_dir / "monitor.yaml"
    path.write_text(path.read_text() + f"web: {web}\n")
    env = {"WEB_TOKEN": "t0k", "WEB_PASS": "pw"}
    assert load_config(path, environ=env).web == expected


@pytest.mark.parametrize(
    ("web", "key", "message"),
    [
        ('{listen: "0.0.0.0:8787"}', "web.listen", "needs a token or users"),
        ('{listen: "monitor.example.org:8787"}', "web.listen", "needs a token or users"),
        ('{listen: "8787"}', "web.listen", "expected host:port"),
        ('{listen: "::1:8787"}', "web.listen", "brackets"),
        ('{listen: "127.0.0.1:99999"}', "web.listen", "expected host:port"),
        ('{listen: "0.0.0.0:1", token: "${UNSET_TOKEN}"}', "web.token", "UNSET_TOKEN"),
        ('{listen: "127.0.0.1:1", port: 2}', "web.port", "unknown key"),
    ],
)
def test_bad_web_config(config_dir: Path, web: str, key: str, message: str) -> None:
    path = config_dir / "monitor.yaml"
    path.write_text(path.read_text() + f"web: {web}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert err.value.key == key and message in err.value.message
    assert err.value.line == 3


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://news.example.org/a", True),
        ("HTTP://news.example.org/a", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>x</script>", False),
        ("//evil.example/x", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_links_become_links(url: str | None, ok: bool) -> None:
    assert is_web_link(url) is ok


# ---------------------------------------------------------------- PostgreSQL


def test_queries_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """The same filters, counts and pages on PostgreSQL (ILIKE, NULLS LAST, aware times)."""
    with polled_world(tmp_path, pg_url) as world:
        store = Store(db.make_engine(world.database))
        try:
            everything = queries.list_events(store.engine, EventFilter(), limit=100)
            assert {
                (e.meeting.country, e.meeting.kind, str(e.meeting.date)) for e in everything
            } == EXPECTED
            assert [e.meeting.date for e in everything] == sorted(
                (e.meeting.date for e in everything), reverse=True
            )
            cases = [
                (EventFilter(country="Jordan"), 2),
                (EventFilter(text="OHNMACHT"), 1),
                (EventFilter(text="moscow"), 1),
                (EventFilter(text="القضاة"), 1),
                (EventFilter(since=date(2025, 11, 17), until=date(2025, 11, 25)), 2),
                (EventFilter(kind=EventKind.CALL, official="abu-qasra"), 2),
                (EventFilter(watchlist="syria"), len(EXPECTED)),
            ]
            for f, n in cases:
                assert queries.count_events(store.engine, f) == n, f
                assert len(queries.list_events(store.engine, f, limit=100)) == n, f
            counts = queries.count_by(store.engine, EventFilter())
            assert counts.total == len(EXPECTED)
            assert [(c.label, c.n) for c in counts.countries][-1] == ("European Union", 1)
            page2 = queries.list_events(store.engine, EventFilter(), limit=3, offset=3)
            assert [e.id for e in page2] == [e.id for e in everything[3:6]]
            with serve_web(store) as c:
                assert rows(c.get("/?country=Russia").text) == 2
                cal = icalendar.Calendar.from_ical(c.get("/events.ics").content)
                assert len(cal.walk("VEVENT")) == len(EXPECTED)
        finally:
            store.engine.dispose()


def test_database_trouble_is_a_503_page(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    broken = Store(create_engine(f"sqlite:///{tmp_path}/missing/dir/m.db"))
    with serve_web(broken) as c:
        r = c.get("/")
        assert r.status_code == 503 and "list events" in r.text
        assert c.get("/feeds").status_code == 503
    broken.engine.dispose()

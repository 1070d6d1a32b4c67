"""Edge: parse the command line, configure logging, call app. No logic of its own."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from monitor import __version__, app, db
from monitor.config import Config, config_path, load_config, load_watchlist
from monitor.errors import ConfigError, MonitorError
from monitor.logs import configure
from monitor.models import SubscriberSpec
from monitor.notify import validate_channels
from monitor.render import event_subject
from monitor.store import Store

log = logging.getLogger("monitor.cli")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="monitor",
        description="Watch news and official feeds for defence-ministry meetings; alert once each.",
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help="monitor.yaml (default: $MONITOR_CONFIG or config/monitor.yaml)",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    p.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the daemon (polls, matches, alerts until stopped)")
    poll = sub.add_parser("poll", help="poll every feed now, alert, and exit")
    poll.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="one pass of polling, matching and delivery",
    )
    sub.add_parser("check-config", help="validate monitor.yaml, watchlists and channels")
    ev = sub.add_parser("events", help="recently detected meetings")
    ev.add_argument("--limit", type=int, default=20)
    ev.add_argument("--format", choices=["text", "json", "csv"], default="text")
    ev.add_argument(
        "--explain",
        action="store_true",
        help="show the evidence with its matched parts and how each was found",
    )
    sub.add_parser("feeds", help="each feed's state: last success, errors, next poll")
    tn = sub.add_parser("test-notify", help="send a sample alert to a subscriber's channels")
    tn.add_argument("subscriber", help="a subscriber name from monitor.yaml")
    dl = sub.add_parser("deliveries", help="pending, sent and failed alerts, with their errors")
    dl.add_argument("--status", choices=["pending", "sent", "failed"])
    dl.add_argument("--limit", type=int, default=50)
    mp = sub.add_parser(
        "match", help="print the meetings found in one article (title on the first line)"
    )
    mp.add_argument("file", help="a text file, or - for standard input")
    mp.add_argument("--published", type=date.fromisoformat, help="publication date YYYY-MM-DD")
    mp.add_argument("--lang", help="language hint (en, ar, fr…); the script usually tells")
    mp.add_argument("--json", action="store_true")
    mp.add_argument("--watchlist", type=Path, help="use this watchlist, not the config's")
    evp = sub.add_parser("eval", help="measure detection on a labelled corpus (JSONL)")
    evp.add_argument("--watchlist", type=Path, required=True)
    evp.add_argument("--corpus", type=Path, required=True)
    evp.add_argument("--json", action="store_true")
    dbp = sub.add_parser("db", help="database maintenance")
    dbsub = dbp.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="apply schema migrations")
    bk = dbsub.add_parser("backup", help="online copy of the SQLite database (issue 6)")
    bk.add_argument("path", type=Path, help="where to write the copy")
    sub.add_parser("status", help="the daemon, its health, feeds and outbox at a glance")
    sub.add_parser("reload", help="validate the config, then SIGHUP the running daemon")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure(args.log_level, json_lines=args.log_json)
    path = config_path(args.config)
    # each command imports what only it needs: ``run`` and ``poll`` start without the
    # evaluation tools, the status probe or the backup code
    try:
        if args.command == "eval":
            from monitor.tools import run_eval

            return run_eval(args.watchlist, args.corpus, args.json)
        if args.command == "match":
            from monitor.tools import run_match

            if args.watchlist:
                watchlists = [load_watchlist(args.watchlist)]
            else:
                watchlists = list(load_config(path).watchlists)
            return run_match(watchlists, args.file, args.published, args.json)
        config = load_config(path)
        if args.command == "check-config":
            return _check(config)
        if args.command == "test-notify":
            from monitor.commands import send_test_alert

            return send_test_alert(config, args.subscriber, app.make_notifier(config))
        if args.command == "run":
            return asyncio.run(app.run(path, config))
        if args.command == "poll":
            return asyncio.run(app.poll_once(config))
        if args.command == "db" and args.db_command == "backup":
            from monitor.opscli import backup

            return backup(config, args.path)
        if args.command == "status":
            from monitor.opscli import status

            return status(config)
        if args.command == "reload":
            from monitor.opscli import reload

            return reload(config)
        if args.command == "db":
            db.upgrade(config.database)
            print(f"database at head: {db.redact(config.database)}")
            return 0
        store = app.open_store(config)
        if args.command == "events":
            return _events(store, args.limit, args.format, args.explain)
        if args.command == "deliveries":
            from monitor.commands import deliveries

            return deliveries(store, app.make_notifier(config), args.status, args.limit)
        return _feeds(store, config)
    except ConfigError as e:
        print(f"monitor: config error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except MonitorError as e:
        print(f"monitor: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _check(config: Config) -> int:
    problems = validate_channels([*config.subscribers, SubscriberSpec("admins", config.admins)])
    for line in problems:
        print(f"monitor: config error: {config.path}: {line}", file=sys.stderr)
    if problems:
        return EXIT_CONFIG
    print(
        f"{config.path}: OK — {len(config.watchlists)} watchlists, {len(config.officials)} "
        f"officials, {len(config.feeds)} feeds, {len(config.subscribers)} subscribers"
    )
    return 0


def _events(store: Store, limit: int, fmt: str, explain: bool = False) -> int:
    events = store.recent_events(limit)
    if fmt == "csv":
        from monitor.feeds_out import events_csv

        sys.stdout.write(events_csv(events))
        return 0
    if fmt == "json":
        out = []
        for e in events:
            d = asdict(e)
            d["subject"] = event_subject(e)
            out.append(d)
        print(json.dumps(out, default=str, ensure_ascii=False, indent=2))
        return 0
    from monitor.tools import explain as explained

    if not events:
        print("no meetings detected yet")
    for e in events:
        print(f"#{e.id}  {event_subject(e)}  [{len(e.sources)} source(s)]")
        print(explained(e.meeting) if explain else f"      {e.meeting.evidence}")
    return 0


def _feeds(store: Store, config: Config) -> int:
    from monitor.health import feed_report

    rows = store.feeds()
    if not rows:
        print("no feeds configured")
    kinds = {f.url: str(f.kind) for f in config.feeds}
    for f in rows:
        print(feed_report(f, kinds.get(f.url, "-"), f.next_poll_at, f.fetch_url))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

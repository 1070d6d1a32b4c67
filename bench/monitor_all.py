"""Poll *every* configured feed once with monitor's own pipeline, then deliver; print JSON.

    python bench/monitor_all.py --config monitor.yaml

``monitor poll --once`` claims at most one batch (``poll_due``'s limit, 500 feeds at the time
of writing), so above that it polls only part of the list. This driver does what the daemon
does tick after tick, without waiting between ticks: the same ``app.open_store`` and
``app.build_deps``, then ``pipeline.poll_due`` until nothing is due, then ``drain_outbox``
until nothing is left. It uses only monitor's public functions and changes none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import app, pipeline
from monitor.config import load_config
from monitor.logs import configure


async def poll_all(config_path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    config = load_config(config_path)
    t_config = time.perf_counter() - t0
    # as ``poll --once`` does: worker processes start while the store opens (issue 7); an
    # older snapshot without them opens the store alone
    opener = getattr(app, "open_with_workers", None)
    if opener is not None:
        store, workers = await opener(config)
        deps = app.build_deps(config, store, workers)
    else:
        store = await asyncio.to_thread(app.open_store, config)
        deps = app.build_deps(config, store)
    t_setup = time.perf_counter() - t0
    out: dict[str, Any] = {"feeds": 0, "failed": 0, "new_items": 0, "events": 0, "ticks": 0}
    try:
        await asyncio.to_thread(store.make_all_due, datetime.now(UTC))
        started = time.perf_counter()
        while True:
            s = await pipeline.poll_due(deps)
            if not s.feeds:
                break
            out["ticks"] += 1
            for k, v in (("feeds", s.feeds), ("failed", s.failed), ("new_items", s.new_items)):
                out[k] += v
            out["events"] += s.new_events
        out["poll_wall"] = time.perf_counter() - started
        sent = 0
        while True:
            ok, failed = await pipeline.drain_outbox(deps)
            sent += ok
            if not ok and not failed:
                break
        out["sent"] = sent
        out["config_s"] = t_config
        out["setup_s"] = t_setup
        out["total_s"] = time.perf_counter() - t0
        return out
    finally:
        # the HTTP side was ``deps.client`` and becomes ``deps.http`` (issue 5): close either
        for name in ("client", "http"):
            closer = getattr(getattr(deps, name, None), "aclose", None)
            if closer is not None:
                await closer()
        # worker processes, store thread: ``deps.close`` (``pipeline.close`` before the split)
        try:
            from monitor.deps import close
        except ImportError:
            close = getattr(pipeline, "close", None)
        if close is not None:
            await close(deps)
        store.engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description="monitor's pipeline over every feed, once")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--log-level", default="WARNING")
    a = p.parse_args()
    configure(a.log_level)
    logging.getLogger("monitor.notify").setLevel(logging.WARNING)
    print(json.dumps(asyncio.run(poll_all(a.config))))


if __name__ == "__main__":
    main()

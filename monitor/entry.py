"""Process entry point: the ``monitor`` console script and ``python -m monitor``. Sets the
garbage collector up for start-up, then hands over to the CLI. No I/O of its own."""

from __future__ import annotations

import gc


def main(argv: list[str] | None = None) -> int:
    # Importing the CLI makes ~85,000 objects that live as long as the process (modules,
    # SQLAlchemy's and pydantic's classes, the tables). Collecting while they are made walks
    # them again and again and frees nothing: ~200 young passes and a full one during the
    # imports, and another full one, over all of them, while the config loads; ~0.1 s of a
    # 1.1 s unchanged ``poll --once`` at 1,000 feeds. So collect nothing until they exist,
    # then freeze them out of every later pass (as app.start_workers does once the config
    # is loaded; the gc module's documentation advises both for processes that fork).
    gc.disable()
    try:
        from monitor import cli
    finally:
        gc.freeze()
        gc.enable()
    return cli.main(argv)

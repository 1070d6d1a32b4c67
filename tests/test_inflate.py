"""Bounded decoding: a gzip bomb never costs more memory than the cap plus one chunk."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from monitor.inflate import BodyTooLarge, Inflater, UnsupportedEncoding

TEXT = b"<rss>" + b"feed " * 2000 + b"</rss>"


def chunks(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def decode(encoding: str, data: bytes, cap: int = 1_000_000) -> bytes:
    inflater = Inflater(encoding, cap)
    return b"".join([*(inflater.feed(c) for c in chunks(data, 100)), inflater.flush()])


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        pytest.param("", TEXT, id="identity"),
        pytest.param("identity", TEXT, id="identity-named"),
        pytest.param("gzip", gzip.compress(TEXT), id="gzip"),
        pytest.param("x-gzip", gzip.compress(TEXT), id="x-gzip"),
        pytest.param("GZIP", gzip.compress(TEXT), id="case"),
        pytest.param("deflate", zlib.compress(TEXT), id="deflate-zlib"),
        pytest.param("deflate", zlib.compress(TEXT)[2:-4], id="deflate-raw"),
    ],
)
def test_decodes(encoding: str, data: bytes) -> None:
    assert decode(encoding, data) == TEXT


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_refuses_what_we_did_not_ask_for(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        Inflater(encoding, 100)


def test_corrupt_gzip_raises_zlib_error() -> None:
    with pytest.raises(zlib.error):
        decode("gzip", b"\x1f\x8b\x08\x00garbage-that-is-not-deflate")


@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_cap_is_exact(encoding: str) -> None:
    data = gzip.compress(TEXT) if encoding else TEXT
    assert decode(encoding, data, cap=len(TEXT)) == TEXT
    with pytest.raises(BodyTooLarge):
        decode(encoding, data, cap=len(TEXT) - 1)


def test_bomb_memory_stays_near_the_cap() -> None:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(z.compress(b"\0" * 2**20) for _ in range(64)) + z.flush()  # 64 MiB
    assert len(bomb) < 100_000
    inflater = Inflater("gzip", 1_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            for chunk in chunks(bomb):  # one 64 KiB read inflates to ~64 MiB in httpx
                inflater.feed(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"peak {peak} bytes"

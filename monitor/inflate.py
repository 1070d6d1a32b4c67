"""Pure (CPU only): decode a gzip/deflate body chunk by chunk, never past a size cap. No I/O.

httpx decodes a whole network read at once, and one 64 KiB read of a gzip bomb inflates to
about 64 MiB before anyone can count it. Decoding here with zlib's ``max_length`` keeps the
memory of a hostile response at the cap plus one chunk, whatever its compression ratio.
"""

from __future__ import annotations

import zlib

# What fetch advertises in Accept-Encoding; anything else from a server is refused.
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The decoded body passed the cap."""


class UnsupportedEncoding(ValueError):
    """A Content-Encoding we did not ask for (or a chain of them)."""


class Inflater:
    """Feed raw chunks in, get decoded bytes out; raises BodyTooLarge past ``max_bytes``."""

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise UnsupportedEncoding(f"unsupported content-encoding {content_encoding!r}")
        self.coding = codings[0] if codings else None
        self.room = max_bytes
        self._z: zlib._Decompress | None = None
        if self.coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.coding == "deflate":
            self._z = zlib.decompressobj()
        self._first = True

    def feed(self, raw: bytes) -> bytes:
        """Decode one raw chunk (zlib.error on corrupt data)."""
        out = raw if self._z is None else self._decompress(raw)
        self.room -= len(out)
        if self.room < 0:
            raise BodyTooLarge()
        return out

    def _decompress(self, raw: bytes) -> bytes:
        assert self._z is not None
        try:
            # one byte over the room left is enough to know the body is too large
            out = self._z.decompress(raw, self.room + 1)
        except zlib.error:
            if self.coding != "deflate" or not self._first:
                raise
            # "deflate" is often sent raw, without the zlib header (as httpx also allows)
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(raw, self.room + 1)
        self._first = False
        return out

    def flush(self) -> bytes:
        """The decoded tail once the raw stream has ended."""
        if self._z is None:
            return b""
        out = self._z.flush()
        self.room -= len(out)
        if self.room < 0:
            raise BodyTooLarge()
        return out

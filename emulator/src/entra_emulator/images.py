"""Tiny PNG profile photos generated at start-up (no imaging library needed)."""

import hashlib
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def square_png(seed: str, size: int = 64) -> bytes:
    """A solid square in a colour derived from seed, with a lighter inner square."""
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    outer = bytes((r // 2 + 64, g // 2 + 64, b // 2 + 64))
    inner = bytes(min(255, c + 70) for c in outer)
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter type "none"
        for x in range(size):
            centre = size // 4 <= x < 3 * size // 4 and size // 4 <= y < 3 * size // 4
            row += inner if centre else outer
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )

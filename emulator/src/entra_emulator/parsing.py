"""Numbers from callers, read strictly: bad input must become a 400, never a 500.

`str.isdigit()` accepts '²' (which `int()` then rejects) and `int()` accepts '١٢' and
'1_000'; JSON numbers may be floats, booleans or huge (1e400 is inf). These helpers
answer None for all of that, so each caller can raise its own 400.
"""

from __future__ import annotations

import math

MAX_DIGITS = 9  # enough for any page size, offset or count the emulator takes


def ascii_int(raw: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of a string of ASCII digits 0-9, at most max_digits long; else None."""
    if not 0 < len(raw) <= max_digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def json_int(value: object, max_digits: int = MAX_DIGITS) -> int | None:
    """A JSON integer (not a bool, float or string) of at most max_digits digits; else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if abs(value) < 10**max_digits else None


def json_number(value: object) -> float | None:
    """A finite JSON number (int or float, not bool); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < 10**15 else math.inf
    return number if math.isfinite(number) else None

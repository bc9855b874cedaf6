"""Print `export` lines for the demo's SECRET_KEY and TOKEN_CACHE_KEY, made once and kept.

Usage: demo_keys.py FOLDER (the demo uses .state/app)

Kept keys let a restarted demo read the sessions and token caches it wrote before, so
signed-in users stay signed in. Each key is its own owner-only file, never overwritten
while it holds a usable key.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import shlex
import sys
from collections.abc import Callable
from pathlib import Path


def new_secret_key() -> str:
    return secrets.token_hex(32)


def new_token_cache_key() -> str:
    # Fernet.generate_key()'s format: 32 random bytes, URL-safe base64.
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def is_secret_key(value: str) -> bool:
    return len(value) >= 32


def is_token_cache_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode("ascii"))) == 32
    except (binascii.Error, ValueError):
        return False


def kept(path: Path, make: Callable[[], str], valid: Callable[[str], bool]) -> str:
    """The key in PATH; made (owner-only) when missing, replaced when unusable."""
    try:
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        value = None
    except (OSError, UnicodeDecodeError):
        value = ""
    if value is not None:
        if valid(value):
            return value
        print(f"{path} was not a usable key: replaced it; sign in again.", file=sys.stderr)
        path.unlink()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    cache_key = kept(folder / "token_cache_key", new_token_cache_key, is_token_cache_key)
    keys = {
        "SECRET_KEY": kept(folder / "secret_key", new_secret_key, is_secret_key),
        "TOKEN_CACHE_KEY": cache_key,
    }
    for name, value in keys.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Check that the demo's ports are free before it starts or writes anything.

Usage: demo_ports.py [--emulator-json PATH] VARIABLE=PORT...
Exit status 0 when every port is free; else 1, with what to do on stderr. Standard library
only: it runs before the virtual environment is set up.
"""

from __future__ import annotations

import json
import os
import socket
import sys

WHAT = {
    "APP_PORT": "the app",
    "EMULATOR_HTTPS_PORT": "the emulator's https listener",
    "EMULATOR_HTTP_PORT": "the emulator's http sign-in pages",
}
PROBE_TIMEOUT = 0.3


def is_taken(port: int) -> bool:
    """Something answers on the loopback addresses, or the port cannot be bound as the
    servers bind it (SO_REUSEADDR, so connections closing in TIME_WAIT do not count)."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(PROBE_TIMEOUT)
                if probe.connect_ex((host, port)) == 0:
                    return True
        except OSError:
            continue  # no IPv6 on this machine
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def running_demo(emulator_json: str | None) -> int | None:
    """The pid of the emulator an earlier demo started here, if it still runs."""
    if not emulator_json:
        return None
    try:
        with open(emulator_json, encoding="utf-8") as fh:
            pid = json.load(fh)["pid"]
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid


def advice(variable: str, port: int) -> str:
    taken = f"Port {port} ({WHAT[variable]}) is taken"
    if variable == "APP_PORT" and port == 5000 and sys.platform == "darwin":
        taken += (
            " (on macOS, AirPlay Receiver listens on port 5000: turn it off in"
            " System Settings > General > AirDrop & Handoff)"
        )
    other = port + 1 if port < 65535 else port - 1
    return f"{taken}: stop what uses it, or choose another, e.g. {variable}={other}"


def main(argv: list[str]) -> int:
    emulator_json = None
    if argv[:1] == ["--emulator-json"]:
        emulator_json, argv = argv[1], argv[2:]
    problems, seen = [], {}
    for pair in argv:
        variable, _, raw = pair.partition("=")
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 65535):
            problems.append(f"{variable} must be a port number from 1 to 65535, not {raw!r}.")
        elif int(raw) in seen:
            problems.append(f"{variable} and {seen[int(raw)]} are both {raw}: choose two ports.")
        elif is_taken(int(raw)):
            problems.append(advice(variable, int(raw)))
        if raw.isascii() and raw.isdigit():
            seen.setdefault(int(raw), variable)
    if not problems:
        return 0
    pid = running_demo(emulator_json)
    if pid is not None:
        problems.insert(
            0,
            f"Another demo seems to be running here (its emulator has pid {pid}): use it, or "
            "stop it with Ctrl-C in its terminal first.",
        )
    print("The demo did not start; nothing was changed.", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""entra-emulator (python -m entra_emulator): run the identity platform and Graph emulator.

It keeps its signing key, certificates, consents and grants in --state-dir, so a restart
leaves signed-in users signed in; delete that folder to start afresh.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .server import LOOPBACK_HOSTS, start


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="entra-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--https-port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--http-port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--state-dir", default=".state/emulator")
    parser.add_argument("--access-token-lifetime", type=int, default=3600, metavar="SECONDS")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URL",
        help="extra redirect URI for the demo client (repeatable)",
    )
    parser.add_argument("--data", default=None, metavar="FILE", help="tenant data JSON file")
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        parser.error(f"--host must be a loopback address ({', '.join(LOOPBACK_HOSTS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        handle = start(
            args.state_dir,
            https_port=args.https_port,
            http_port=args.http_port,
            access_token_lifetime=args.access_token_lifetime,
            redirect_uris=tuple(args.redirect_uri),
            data_file=args.data,
            host=args.host,
            keep_state=True,
        )
    except OSError as error:
        # Most often a port in use: say which, without a traceback.
        print(f"entra-emulator: cannot listen on {error.strerror}", file=sys.stderr)
        return 1
    print(f"emulator ready: {handle.settings_path}", flush=True)
    stop.wait()
    handle.stop()
    return 0

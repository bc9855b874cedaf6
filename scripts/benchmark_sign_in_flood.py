"""Measure what a flood of anonymous sign-ins costs: storage growth and /login latency.

Runs the app in-process (Flask's test client) against the local emulator over real
HTTPS, with file sessions (or Redis, started here on a free loopback port). It times
/login for new visitors, sends FLOOD anonymous /login requests that carry no cookies
(each a new browser) with a long `next` and `claims`, times /login again, moves the
clock past the sign-in timeout (time-machine) for one more /login, and finally signs
a user in through the emulator's pages (as scripts/benchmark.py does) to show that
sign-in still works.

    .venv/bin/python scripts/benchmark_sign_in_flood.py [--flood 2000] [--backend redis]

Figures are printed, not asserted: machines are shared and noisy. The storage
figures (records and bytes) are exact and repeatable.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import redis
import time_machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark import sign_in  # noqa: E402
from entra_emulator import start  # noqa: E402

from app import create_app  # noqa: E402

USER = "adele@contoso.example"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=2000, help="anonymous sign-ins to send")
    parser.add_argument("--samples", type=int, default=200, help="timed /login requests")
    parser.add_argument("--next-bytes", type=int, default=60_000, help="length of next")
    parser.add_argument("--claims-bytes", type=int, default=0, help="length of claims")
    parser.add_argument("--backend", choices=("files", "redis"), default="files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        emulator = start(root / "emulator", redirect_uris=["http://localhost/getAToken"])
        os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_bundle  # as the demo configures it
        storage_dir = root / "storage"
        env = {
            "CLIENT_ID": emulator.client_id,
            "CLIENT_SECRET": emulator.client_secret,
            "AUTHORITY": emulator.authority,
            "INSTANCE_DISCOVERY": "false",
            "SECRET_KEY": os.urandom(32).hex(),
            "TOKEN_CACHE_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "SESSION_FILE_DIR": str(storage_dir / "sessions"),
        }
        redis_server = None
        if args.backend == "redis":
            redis_server, url = start_redis(root / "redis")
            env |= {"SESSION_TYPE": "redis", "REDIS_URL": url}
            storage = RedisStorage(url)
        else:
            storage = FileStorage(storage_dir)
        try:
            app = create_app(env)
            logging.getLogger().setLevel(logging.WARNING)
            run(app, storage, args)
            sign_in(app.test_client(), USER)  # asserts the form_post's 303
            print("a sign-in after the flood: completed")
        finally:
            emulator.stop()
            if redis_server:
                redis_server.terminate()
                redis_server.wait(timeout=10)
    return 0


def run(app, storage, args) -> None:
    anonymous = app.test_client(use_cookies=False)
    assert anonymous.get("/login").status_code == 302  # warm-up: OIDC discovery
    print(f"backend: {args.backend}; flood: {args.flood} anonymous /login without cookies,")
    print(f"each with a {args.next_bytes}-character next and {args.claims_bytes}-byte claims")
    print()
    print(f"{'':<34}{'records':>9}{'bytes':>13}{'p50 ms':>9}{'p95 ms':>9}")
    report("before the flood", storage, login_timings(app, args.samples))

    query = flood_query(args.next_bytes, args.claims_bytes)
    started = time.perf_counter()
    for _ in range(args.flood):
        assert anonymous.get(query).status_code == 302
    flood_seconds = time.perf_counter() - started
    report(f"after {args.flood} anonymous sign-ins", storage, login_timings(app, args.samples))
    print(f"  (the flood itself: {1000 * flood_seconds / max(args.flood, 1):.1f} ms per /login)")

    if isinstance(storage, RedisStorage):
        # Redis keeps its own clock: what expires them is a TTL on every key.
        print(f"  keys without a TTL: {storage.keys_without_ttl()}")
        return
    # Past the sign-in timeout (600 s) every flood record has expired.
    with time_machine.travel(time.time() + 660, tick=True):
        assert anonymous.get("/login").status_code == 302
        report("11 minutes later, after one /login", storage, None)


def login_timings(app, samples: int) -> list[float]:
    """/login for SAMPLES new visitors, each with its own browser (cookie jar)."""
    timings = []
    for _ in range(samples):
        client = app.test_client()
        t0 = time.perf_counter()
        response = client.get("/login?next=/graphcall")
        timings.append(1000 * (time.perf_counter() - t0))
        assert response.status_code == 302
    return timings


def report(label: str, storage, timings: list[float] | None) -> None:
    records, size = storage.usage()
    line = f"{label:<34}{records:>9}{size:>13,}"
    if timings:
        p95 = statistics.quantiles(timings, n=20)[-1]
        line += f"{statistics.median(timings):>9.1f}{p95:>9.1f}"
    print(line)


def flood_query(next_bytes: int, claims_bytes: int) -> str:
    params = {"next": "/" + "a" * max(next_bytes - 1, 0)}
    if claims_bytes:
        filler = "x" * max(claims_bytes - 30, 0)
        params["claims"] = json.dumps({"access_token": {"xms_pad": filler}})
    return "/login?" + urlencode(params)


class FileStorage:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def usage(self) -> tuple[int, int]:
        """Files and bytes under the storage folder (sessions and pending sign-ins)."""
        files = [p for p in self.folder.rglob("*") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)


class RedisStorage:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def usage(self) -> tuple[int, int]:
        """Keys, and the bytes Redis reports for them (MEMORY USAGE)."""
        keys = list(self.client.scan_iter(count=1000))
        return len(keys), sum(self.client.memory_usage(key) or 0 for key in keys)

    def keys_without_ttl(self) -> int:
        return sum(1 for key in self.client.scan_iter(count=1000) if self.client.ttl(key) < 0)


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    server = shutil.which("redis-server")
    if not server:
        sys.exit("redis-server is needed for --backend redis")
    folder.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.05)
    process.terminate()
    sys.exit("redis-server did not start")


if __name__ == "__main__":
    sys.exit(main())

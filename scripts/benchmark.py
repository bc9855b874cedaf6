"""Measure what a page view costs: outbound requests, session bytes, latency.

Runs the app in-process (Flask's test client, so no HTTP server overhead is
counted) against the local emulator over real HTTPS, signs a demo user in
through the emulator's pages, then views each Graph page many times.

    .venv/bin/python scripts/benchmark.py [--views 100]

Figures are printed, not asserted: machines are shared and noisy. The counts
(requests per view, session bytes) are exact and repeatable.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from entra_emulator import start  # noqa: E402
from entra_emulator.scripted_browser import Browser  # noqa: E402

from app import create_app  # noqa: E402

PAGES = ["/graphcall", "/people", "/groups", "/directory", "/files/", "/search?q=report", "/sites"]
SCOPES = ["User.ReadBasic.All", "Group.Read.All", "Directory.AccessAsUser.All", "Files.Read"]
SCOPES += ["Files.Read.All", "Sites.Read.All"]


def sign_in(client, user: str) -> None:
    """/login, the emulator's account picker and consent, then the form_post back."""
    query = urlencode({"next": "/", "scope": SCOPES}, doseq=True)
    auth_uri = client.get(f"/login?{query}").headers["Location"]
    browser = Browser()
    browser.open(auth_uri)
    browser.pick_user(user)
    browser.consent()
    action, fields = browser.auth_response()
    response = client.post(urlsplit(action).path, data=fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def session_bytes(session_dir: Path) -> int:
    files = [p for p in session_dir.iterdir() if p.is_file()]
    return max(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=100, help="views of each page")
    parser.add_argument("--profile", metavar="PAGE", help="print a cProfile of PAGE's views")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        emulator = start(Path(tmp) / "emulator", redirect_uris=["http://localhost/getAToken"])
        os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_bundle  # as the demo configures it
        session_dir = Path(tmp) / "sessions"
        app = create_app(
            {
                "CLIENT_ID": emulator.client_id,
                "CLIENT_SECRET": emulator.client_secret,
                "AUTHORITY": emulator.authority,
                "INSTANCE_DISCOVERY": "false",
                "GRAPH_ENDPOINT": emulator.graph_endpoint,
                "SECRET_KEY": os.urandom(32).hex(),
                "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
                "REDIRECT_URI": "http://localhost/getAToken",
                "SESSION_FILE_DIR": str(session_dir),
            }
        )
        client = app.test_client()
        logging.getLogger().setLevel(logging.WARNING)  # one INFO line per Graph call otherwise
        try:
            started = time.perf_counter()
            sign_in(client, "adele@contoso.example")
            elapsed = 1000 * (time.perf_counter() - started)
            print(f"sign-in (login + callback, in-process): {elapsed:.0f} ms")
            print(f"session after sign-in: {session_bytes(session_dir)} bytes on disk")
            print()
            print(
                f"{'page':<20}{'graph/view':>11}{'batched':>9}{'token/view':>11}"
                f"{'other/view':>11}{'median ms':>11}{'p95 ms':>9}"
            )
            for page in PAGES + detail_pages(client):
                assert client.get(page).status_code == 200, page  # warm-up
                http, inside = graph_requests_of(emulator, lambda page=page: client.get(page))
                before = read_counters(emulator)
                timings = []
                for _ in range(args.views):
                    t0 = time.perf_counter()
                    response = client.get(page)
                    timings.append(1000 * (time.perf_counter() - t0))
                    assert response.status_code == 200, page
                after = read_counters(emulator)
                token = (after["token"] - before["token"]) / args.views
                other = sum(after[k] - before[k] for k in after if k not in ("graph", "token"))
                p95 = statistics.quantiles(timings, n=20)[-1]
                print(
                    f"{page[:19]:<20}{http:>11}{inside:>9}{token:>11.2f}"
                    f"{other / args.views:>11.2f}{statistics.median(timings):>11.1f}{p95:>9.1f}"
                )
            print()
            people_with_photos(client, emulator)
            if args.profile:
                profile(client, args.profile, args.views)
            print()
            print(f"session after browsing every page: {session_bytes(session_dir)} bytes on disk")
        finally:
            emulator.stop()
    return 0


def detail_pages(client) -> list[str]:
    """A group's page and a library's, found as a user would, by their links."""
    group = re.search(r'href="(/groups/[^"?]+)"', client.get("/groups").get_data(as_text=True))
    site = re.search(r'href="(/sites/[^"?]+)"', client.get("/sites").get_data(as_text=True))
    page = client.get(site.group(1)).get_data(as_text=True)
    library = re.search(r'href="(/drives/[^"?]+)"', page)
    return [group.group(1), library.group(1)]


def graph_requests_of(emulator, action) -> tuple[int, int]:
    """Graph requests `action` sent over HTTP (a $batch is one), and the requests in batches."""
    control = f"{emulator.control_url}/requests"
    requests.delete(control, verify=emulator.ca_bundle, timeout=10)
    action()
    log = requests.get(control, params={"path": "/v1.0/*"}, verify=emulator.ca_bundle, timeout=10)
    entries = log.json()["value"]
    return sum(not e["batch"] for e in entries), sum(e["batch"] for e in entries)


def people_with_photos(client, emulator) -> None:
    """The People page and the photos on it, as a browser loads them: cold, then warm."""
    for label in ("cold", "warm"):
        before = read_counters(emulator)["token"]
        found: list[str] = []

        def load(found=found) -> None:
            page = client.get("/people").get_data(as_text=True)
            found.extend(re.findall(r'src="(/photo/[^"]+)"', page))
            for photo in found:
                client.get(photo).close()

        http, _ = graph_requests_of(emulator, load)
        tokens = read_counters(emulator)["token"] - before
        print(
            f"/people with its {len(found)} photos, {label}: {http} Graph requests "
            f"(1 list + {http - 1} photos), {tokens} token requests"
        )


def profile(client, page: str, views: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(views):
        client.get(page)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def read_counters(emulator) -> dict[str, int]:
    response = requests.get(
        emulator.control_url + "/counters", verify=emulator.ca_bundle, timeout=10
    )
    body = response.json()
    return {k: v for k, v in body.items() if isinstance(v, int)}


if __name__ == "__main__":
    sys.exit(main())

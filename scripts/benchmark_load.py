"""Load test: every page under gunicorn, with file and Redis sessions, against a reference app.

Starts, on free loopback ports, the emulator (`python -m entra_emulator`), redis-server,
and the app under gunicorn with the top-level gunicorn.conf.py (GUNICORN_BIND,
WEB_CONCURRENCY, GUNICORN_THREADS), once with file sessions and once with Redis
sessions. Signs USERS demo users in through the emulator's pages over real HTTP,
asking for every page's scopes (the first user, an admin, consents for the
organization), then drives each page with CONCURRENCY keep-alive clients for SECONDS.
Taking turns with each /graphcall (three slices each), the same load goes to
scripts/reference_app.py under the same gunicorn settings (one pooled GET /me and a
template, nothing else), so both meet the same machine; their ratio is printed last.

    .venv/bin/python scripts/benchmark_load.py [--users 4] [--concurrency 4] [--seconds 3]

Per page: requests/s, latency percentiles, errors, Graph and token requests per view
(the emulator's counters), session bytes per user and Redis writes per view, the app's
CPU per view (gunicorn master and workers, from /proc/PID/stat) and its workers' peak
RSS (VmHWM). The emulator's server closes every connection, so each Graph call also
costs both apps a TLS handshake that Graph's keep-alive would spare them. Timings
are printed, not asserted: the machine is shared. Every process started here is
stopped by its PID, on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import msal
import redis
import requests
from entra_emulator.net import free_port, trusting_session
from entra_emulator.scripted_browser import Browser

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60
STOP_TIMEOUT = 15
REQUEST_TIMEOUT = 30
# Every page's permission, asked for at sign-in: no page needs consent during the run.
SCOPES = [
    "User.Read",
    "User.ReadBasic.All",
    "Group.Read.All",
    "Directory.AccessAsUser.All",
    "Files.Read",
    "Files.Read.All",
    "Sites.Read.All",
]
# {group} and {site} become the first group and site the list pages link to.
PAGES = [
    "/graphcall",
    "/people",
    "/groups",
    "{group}",
    "/directory",
    "/files/",
    "/search?q=report",
    "/sites",
    "{site}",
    "/photo/me",
]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REFERENCE_ROW = "reference /graphcall"
# /graphcall and the reference take turns, in this many slices of --seconds each.
PAIRED_SLICES = 3


@dataclass
class Figures:
    """What one page cost under load."""

    name: str
    views: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    graph: int
    token: int
    cpu_seconds: float
    session_bytes: float | None
    store_writes: int | None
    peak_rss_kib: int

    def row(self) -> str:
        per_view = max(self.views, 1)
        p50, p95, p99 = percentiles(self.latencies_ms)
        size = f"{self.session_bytes:.0f}" if self.session_bytes is not None else "-"
        writes = f"{self.store_writes / per_view:.2f}" if self.store_writes is not None else "-"
        return (
            f"{self.name:<26}{self.views / self.seconds:>8.1f}{p50:>8.1f}{p95:>8.1f}{p99:>8.1f}"
            f"{self.errors:>7}{self.graph / per_view:>7.2f}{self.token / per_view:>7.2f}"
            f"{size:>9}{writes:>8}{1000 * self.cpu_seconds / per_view:>8.2f}"
            f"{self.peak_rss_kib / 1024:>8.1f}"
        )


HEADER = (
    f"{'page':<26}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>7}"
    f"{'graph':>7}{'token':>7}{'session':>9}{'writes':>8}{'CPU ms':>8}{'RSS MB':>8}"
)
LEGEND = (
    "graph, token: emulator requests per view; session: bytes stored per user;\n"
    "writes: Redis SET/SETEX per view; CPU ms: gunicorn master + workers per view;\n"
    "RSS MB: the largest worker's peak (VmHWM)"
)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        only = values[0] if values else 0.0
        return only, only, only
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


class Processes:
    """Every process this run starts, stopped by PID in reverse order, whatever happens."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None):
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
        with log:
            process = subprocess.Popen(  # noqa: S603 - our own fixed arguments
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        # gunicorn's workers too: a master killed before they stop would leave them behind.
        children = {pid: started_at(pid) for pid in worker_pids(process.pid)}
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for pid, started in children.items():
            # Only the very process seen above: once it is gone its PID may be another's.
            if started is not None and started_at(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.running)):
            self.stop(process)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]


def wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not check():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT} s")
        time.sleep(0.1)


def answers(port: int, path: str) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code < 500
    except requests.RequestException:
        return False


# -- /proc: CPU time and memory of gunicorn's processes -------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...


def started_at(pid: int) -> str | None:
    """When the process started (field 22 of /proc/PID/stat): with the PID, who it is."""
    fields = _stat_fields(pid)
    return fields[19] if fields else None


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == master:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of each process (fields 14 and 15 of /proc/PID/stat)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def peak_rss_kib(pids: list[int]) -> int:
    peak = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        peak = max(peak, int(found.group(1)) if found else 0)
    return peak


# -- the emulator ----------------------------------------------------------------------


class EmulatorProcess:
    def __init__(self, processes: Processes, state_dir: Path, redirect_uris: list[str]) -> None:
        args = [sys.executable, "-m", "entra_emulator", "--state-dir", str(state_dir)]
        args += ["--https-port", "0", "--http-port", "0"]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        info_path = state_dir / "emulator.json"
        process = processes.start("emulator", args, dict(os.environ))
        wait_until(info_path.exists, "the emulator", process)
        self.info = json.loads(info_path.read_text(encoding="utf-8"))
        self.http = trusting_session(self.info["ca_bundle"])

    def counters(self) -> dict[str, int]:
        response = self.http.get(self.info["control_url"] + "/counters", timeout=10)
        response.raise_for_status()
        return {k: v for k, v in response.json().items() if isinstance(v, int)}

    def users(self, count: int) -> list[tuple[str, bool]]:
        """(upn, is_admin) of COUNT members with a OneDrive, an admin first."""
        usable = [u for u in self.info["users"] if u["label"].startswith(("admin", "member"))]
        usable = [u for u in usable if "no OneDrive" not in u["label"]]
        usable.sort(key=lambda u: not u["label"].startswith("admin"))
        if len(usable) < count:
            raise SystemExit(f"--users: the emulator has {len(usable)} suitable demo users")
        return [(u["upn"], u["label"].startswith("admin")) for u in usable[:count]]

    def walk_sign_in(self, auth_uri: str, upn: str, admin: bool) -> tuple[str, dict[str, str]]:
        """The account picker and, if shown, the consent page: where to post, and what."""
        browser = Browser(trusting_session(self.info["ca_bundle"]))
        browser.open(auth_uri)
        browser.pick_user(upn)
        if "Permissions requested" in browser.page.text:
            browser.consent(for_organization=admin)
        return browser.auth_response()


# -- the app and the reference under gunicorn ------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen

    @property
    def pids(self) -> list[int]:
        return [self.process.pid, *worker_pids(self.process.pid)]


def gunicorn(
    processes: Processes, name: str, port: int, env: dict[str, str], args, app_args=()
) -> Server:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "GUNICORN_")) and k not in ("WEB_CONCURRENCY", "PORT")
    }
    env = (
        inherited
        | {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "LOG_FORMAT": "text",
        }
        | env
    )
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), *app_args]
    process = processes.start(name, command, env)
    try:
        wait_until(lambda: len(worker_pids(process.pid)) == args.workers, name, process)
        wait_until(lambda: answers(port, "/healthz"), name, process)
    except RuntimeError as error:
        raise RuntimeError(f"{error}; its log ends:\n{processes.log(name)}") from None
    return Server(name, port, process)


def app_env(emulator: EmulatorProcess, port: int, tmp: Path, backend: str) -> dict[str, str]:
    info = emulator.info
    return {
        "CLIENT_ID": info["client_id"],
        "CLIENT_SECRET": info["client_secret"],
        "AUTHORITY": info["common_authority"],
        "INSTANCE_DISCOVERY": "false",
        "GRAPH_ENDPOINT": info["graph_endpoint"],
        "REQUESTS_CA_BUNDLE": info["ca_bundle"],
        "REDIRECT_URI": f"http://localhost:{port}/getAToken",
        "SECRET_KEY": os.urandom(32).hex(),
        "TOKEN_CACHE_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "SESSION_FILE_DIR": str(tmp / f"sessions-{backend}"),
        "DEVELOPER_PANELS": "false",
    }


def sign_in(app_url: str, emulator: EmulatorProcess, upn: str, admin: bool) -> str:
    """A user signed in to the app: their session cookie (name=value)."""
    http = requests.Session()
    query = urlencode({"next": "/", "scope": SCOPES}, doseq=True)
    started = http.get(f"{app_url}/login?{query}", allow_redirects=False, timeout=REQUEST_TIMEOUT)
    action, fields = emulator.walk_sign_in(started.headers["Location"], upn, admin)
    done = http.post(
        app_url + urlsplit(action).path, data=fields, allow_redirects=False, timeout=60
    )
    if done.status_code != 303:
        raise RuntimeError(f"sign-in of {upn} answered {done.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies if c.name == "session")


def reference_token(emulator: EmulatorProcess, redirect_uri: str, upn: str) -> str:
    """A User.Read access token for the reference app, by the auth-code flow, once."""
    info = emulator.info
    client = msal.ConfidentialClientApplication(
        info["client_id"],
        client_credential=info["client_secret"],
        authority=info["authority"],
        instance_discovery=False,
        http_client=trusting_session(info["ca_bundle"]),
    )
    flow = client.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=redirect_uri, response_mode="form_post"
    )
    _, fields = emulator.walk_sign_in(flow["auth_uri"], upn, admin=False)
    result = client.acquire_token_by_auth_code_flow(flow, fields)
    if "access_token" not in result:
        raise RuntimeError(f"no token for the reference app: {result.get('error')}")
    return result["access_token"]


def first_link(port: int, cookie: str, page: str, pattern: str) -> str:
    """The first link on PAGE whose path matches PATTERN (a group's, a site's)."""
    response = requests.get(
        f"http://127.0.0.1:{port}{page}", headers={"Cookie": cookie}, timeout=REQUEST_TIMEOUT
    )
    found = re.search(rf'href="({pattern})"', response.text)
    if response.status_code != 200 or not found:
        raise RuntimeError(f"{page} ({response.status_code}) links to nothing like {pattern}")
    return found.group(1).replace("&amp;", "&")


# -- load ----------------------------------------------------------------------------


def drive(port: int, path: str, cookies: list[str], concurrency: int, seconds: float):
    """CONCURRENCY keep-alive clients GET PATH for SECONDS: latencies (ms), errors, elapsed."""
    start = threading.Barrier(concurrency + 1, timeout=REQUEST_TIMEOUT)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = [0.0]

    def client(index: int) -> None:
        headers = {"Cookie": cookies[index % len(cookies)]} if cookies else {}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        start.wait()
        while time.monotonic() < deadline[0]:
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()  # the next request opens a new connection
            latencies[index].append(1000 * (time.perf_counter() - began))
            errors[index] += not ok
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 2 * REQUEST_TIMEOUT)
    elapsed = time.monotonic() - began
    return [ms for each in latencies for ms in each], sum(errors), elapsed


def measure(
    server: Server,
    emulator: EmulatorProcess,
    page: str,
    cookies: list[str],
    args,
    store,
    seconds: float | None = None,
) -> Figures:
    for cookie in cookies or [""]:  # warm-up: each user's token for this page's scopes
        requests.get(
            f"http://127.0.0.1:{server.port}{page}",
            headers={"Cookie": cookie} if cookie else {},
            timeout=REQUEST_TIMEOUT,
        )
    pids = server.pids
    counters, cpu, writes = emulator.counters(), cpu_seconds(pids), store.writes()
    seconds = seconds or args.seconds
    latencies, errors, elapsed = drive(server.port, page, cookies, args.concurrency, seconds)
    cpu = cpu_seconds(pids) - cpu
    after, writes_after = emulator.counters(), store.writes()
    return Figures(
        name=page if len(page) <= 26 else page[:23] + "...",
        views=len(latencies),
        seconds=elapsed,
        latencies_ms=latencies,
        errors=errors,
        graph=after["graph"] - counters["graph"],
        token=after["token"] - counters["token"],
        cpu_seconds=cpu,
        session_bytes=store.bytes_per_user(),
        store_writes=None if writes is None else writes_after - writes,
        peak_rss_kib=peak_rss_kib(pids[1:]),
    )


def combined(name: str, parts: list[Figures]) -> Figures:
    """Several measurements of one page as one."""
    writes = [p.store_writes for p in parts]
    return Figures(
        name=name,
        views=sum(p.views for p in parts),
        seconds=sum(p.seconds for p in parts),
        latencies_ms=[ms for p in parts for ms in p.latencies_ms],
        errors=sum(p.errors for p in parts),
        graph=sum(p.graph for p in parts),
        token=sum(p.token for p in parts),
        cpu_seconds=sum(p.cpu_seconds for p in parts),
        session_bytes=parts[-1].session_bytes,
        store_writes=None if None in writes else sum(writes),
        peak_rss_kib=max(p.peak_rss_kib for p in parts),
    )


def paired(server, reference, emulator, cookies, args, store) -> tuple[Figures, Figures]:
    """/graphcall of the app and of the reference, in alternating slices of the load, so a
    burst of other work on the machine lands on both alike."""
    ours: list[Figures] = []
    theirs: list[Figures] = []
    for _ in range(PAIRED_SLICES):
        seconds = args.seconds / PAIRED_SLICES
        ours.append(measure(server, emulator, "/graphcall", cookies, args, store, seconds))
        theirs.append(measure(reference, emulator, "/graphcall", [], args, NoSessions(), seconds))
    return combined("/graphcall", ours), combined(REFERENCE_ROW, theirs)


class FileSessions:
    """Sizes of the users' session files (writes are not counted: "-")."""

    def __init__(self, folder: Path, cookies: list[str]) -> None:
        # cachelib's FileSystemCache names each file by the SHA-256 of flask-session's key.
        names = [hashlib.sha256(f"session:{sid(c)}".encode()).hexdigest() for c in cookies]
        self.paths = [folder / name for name in names]

    def bytes_per_user(self) -> float | None:
        sizes = [p.stat().st_size for p in self.paths if p.exists()]
        return statistics.mean(sizes) if sizes else None

    def writes(self) -> int | None:
        return None


class RedisSessions:
    """Sizes of the users' sessions in Redis, and the writes Redis has answered."""

    def __init__(self, url: str, cookies: list[str]) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=10)
        self.keys = [f"session:{sid(c)}" for c in cookies]

    def bytes_per_user(self) -> float | None:
        sizes = [self.client.strlen(key) for key in self.keys]
        return statistics.mean(sizes) if any(sizes) else None

    def writes(self) -> int | None:
        stats = self.client.info("commandstats")
        return sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("set", "setex"))


class NoSessions:
    def bytes_per_user(self) -> None:
        return None

    def writes(self) -> None:
        return None


def sid(cookie: str) -> str:
    return cookie.split("=", 1)[1]


def run_app(processes, emulator, name, port, env, args, store_for, reference) -> list[Figures]:
    """Every page of the app; with /graphcall, the reference's, taking turns with it."""
    server = gunicorn(processes, f"app-{name}", port, env, args)
    try:
        app_url = f"http://localhost:{port}"
        users = emulator.users(args.users)
        cookies = [sign_in(app_url, emulator, upn, admin) for upn, admin in users]
        group = first_link(port, cookies[0], "/groups", r"/groups/[^\"?]+")
        site = first_link(port, cookies[0], "/sites", r"/sites/[^\"?]+")
        store = store_for(cookies)
        results = []
        for page in args.pages:
            path = page.format(group=group, site=site)
            if path == "/graphcall" and reference is not None:
                pair = paired(server, reference, emulator, cookies, args, store)
            else:
                pair = (measure(server, emulator, path, cookies, args, store),)
            for figures in pair:
                print(figures.row(), flush=True)
            results += pair
        return results
    finally:
        processes.stop(server.process)


def start_reference(processes, emulator, port, tmp: Path, args) -> Server:
    upn, _ = emulator.users(1)[0]
    token_file = tmp / "reference-token"
    token_file.touch(mode=0o600)
    token_file.write_text(
        reference_token(emulator, f"http://localhost:{port}/getAToken", upn), encoding="utf-8"
    )
    env = {
        "REFERENCE_TOKEN_FILE": str(token_file),
        "GRAPH_ENDPOINT": emulator.info["graph_endpoint"],
        "REQUESTS_CA_BUNDLE": emulator.info["ca_bundle"],
    }
    app_args = ["--pythonpath", str(ROOT / "scripts"), "reference_app:create_app()"]
    return gunicorn(processes, "reference", port, env, args, app_args)


def start_redis(processes: Processes, tmp: Path) -> str:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp)]
    args += ["--save", "", "--appendonly", "no"]
    process = processes.start("redis", args)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)

    def pongs() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    wait_until(pongs, "redis-server", process)
    return url


def ratio_line(ours: Figures, reference: Figures) -> str:
    throughput = (ours.views / ours.seconds) / (reference.views / reference.seconds)
    cpu = (ours.cpu_seconds / max(ours.views, 1)) / (
        reference.cpu_seconds / max(reference.views, 1)
    )
    return f"/graphcall, ours/reference: throughput {throughput:.2f}x, CPU per view {cpu:.2f}x"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="demo users signed in (default 4)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel clients (4)")
    parser.add_argument("--seconds", type=float, default=3.0, help="load per page (3 s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument(
        "--page",
        action="append",
        dest="pages",
        metavar="PATH",
        help=f"only this page (repeatable); default all: {' '.join(PAGES)}",
    )
    parser.add_argument(
        "--backend",
        choices=("file", "redis"),
        action="append",
        dest="backends",
        help="only this session store (repeatable); default both",
    )
    args = parser.parse_args(argv)
    args.pages = args.pages or PAGES
    args.backends = args.backends or ["file", "redis"]
    for name in ("users", "concurrency", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM ends the run like Ctrl-C: through the finally that stops every process.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="benchmark-load-") as tmp_name:
        tmp = Path(tmp_name)
        processes = Processes(tmp)
        try:
            ports = {name: free_port() for name in ("file", "redis", "reference")}
            redirect_uris = [f"http://localhost:{port}/getAToken" for port in ports.values()]
            emulator = EmulatorProcess(processes, tmp / "emulator", redirect_uris)
            print(
                f"{args.workers} gunicorn workers x {args.threads} threads, {args.users} users, "
                f"{args.concurrency} clients, {args.seconds:g} s per page; {os.cpu_count()} cores"
            )
            print(LEGEND)
            reference = None
            if "/graphcall" in args.pages:
                reference = start_reference(processes, emulator, ports["reference"], tmp, args)
            results: dict[str, list[Figures]] = {}
            for backend in args.backends:
                print(f"\n{backend} sessions")
                print(HEADER)
                port = ports[backend]
                env = app_env(emulator, port, tmp, backend)
                if backend == "redis":
                    url = start_redis(processes, tmp)
                    env |= {"SESSION_TYPE": "redis", "REDIS_URL": url}
                    store = functools.partial(RedisSessions, url)
                else:
                    store = functools.partial(FileSessions, Path(env["SESSION_FILE_DIR"]))
                results[backend] = run_app(
                    processes, emulator, backend, port, env, args, store, reference
                )
            print()
            for backend, figures in results.items():
                pair = [f for f in figures if f.name in ("/graphcall", REFERENCE_ROW)]
                if len(pair) == 2:
                    print(f"{backend} sessions: {ratio_line(*pair)}")
        except KeyboardInterrupt:
            print("\ninterrupted: stopping what was started", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

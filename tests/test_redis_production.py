"""Redis as production runs it: a password, TLS, Sentinel, and explicit timeouts and retries.

Every server here is a real redis-server on a free loopback port (a Sentinel is
`redis-server --sentinel`), started for the test and stopped by its PID. TLS uses a CA
and a server certificate made with `cryptography` for the test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from app_helpers import SignIn, signed_in
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis_server import RedisServer, free_loopback_port

from app import create_app
from app_config import load_settings

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - the test server's own
MASTER = "sessions-master"
WAIT = 30.0  # seconds: the longest any server may take to start or fail over


def error_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def stored_sessions(client: redis.Redis) -> list[bytes]:
    return list(client.scan_iter("session:*"))


def until(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {WAIT} s"
        time.sleep(0.1)


@pytest.fixture
def serve(env, emulator):
    """Build the app from ENV plus the given settings; its Redis connections closed after."""
    apps = []

    def build(**settings: str):
        app = create_app(env | {"SESSION_TYPE": "redis", **settings})
        assert "This app needs configuration" not in app.test_client().get("/").text
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.session_interface.close()


@pytest.fixture
def servers(tmp_path) -> Iterator[list]:
    """Servers the test starts; each stopped at the end, by its PID."""
    started: list = []
    yield started
    for server in reversed(started):
        server.stop()


def start_redis(servers: list, folder: Path, *options: str) -> RedisServer:
    folder.mkdir()
    server = RedisServer(folder, *options)
    server.start()
    servers.append(server)
    return server


# --- Password ----------------------------------------------------------------------------


def test_a_password_in_redis_url_works(serve, servers, tmp_path, emulator):
    server = start_redis(servers, tmp_path / "redis", "--requirepass", PASSWORD)
    url = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
    app = serve(REDIS_URL=url)
    sign_in = SignIn(app.test_client(), emulator)
    assert sign_in().status_code == 303
    assert signed_in(sign_in.client)
    with redis.Redis.from_url(url) as direct:
        assert len(stored_sessions(direct)) == 1


@pytest.mark.parametrize("credentials", ["wrong-password@", ""], ids=["wrong", "none"])
def test_a_wrong_or_missing_password_is_the_store_unavailable_page(
    serve, servers, tmp_path, credentials, caplog
):
    server = start_redis(servers, tmp_path / "redis", "--requirepass", PASSWORD)
    userinfo = f":{credentials}" if credentials else ""
    client = serve(REDIS_URL=f"redis://{userinfo}127.0.0.1:{server.port}/0").test_client()
    for response in (client.get("/login"), client.post("/getAToken", data={"state": "s"})):
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.text
    assert error_lines(caplog) == ["session store unavailable: AuthenticationError"] * 2
    assert "wrong-password" not in caplog.text and "Traceback" not in caplog.text


# --- TLS -----------------------------------------------------------------------------------


def write_tls_files(folder: Path) -> dict[str, Path]:
    """A CA, and a certificate it issued for 127.0.0.1 and localhost, as PEM files."""
    now = dt.datetime.now(dt.UTC)

    def issue(subject, key, issuer, issuer_key, extensions) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Redis CA")])
    ca = issue(ca_name, ca_key, ca_name, ca_key, [(x509.BasicConstraints(True, None), True)])
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    server = issue(
        server_name,
        server_key,
        ca_name,
        ca_key,
        [(x509.SubjectAlternativeName(names), False), (x509.BasicConstraints(False, None), True)],
    )
    files = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@pytest.fixture
def tls_redis(servers, tmp_path) -> tuple[int, Path]:
    """redis-server speaking TLS on its own port: that port, and the CA file that trusts it."""
    files = write_tls_files(tmp_path)
    tls_port = free_loopback_port()
    start_redis(
        servers,
        tmp_path / "redis",
        *("--tls-port", str(tls_port), "--tls-auth-clients", "no"),
        *("--tls-cert-file", str(files["cert"]), "--tls-key-file", str(files["key"])),
        *("--tls-ca-cert-file", str(files["ca"])),
    )
    return tls_port, files["ca"]


def test_rediss_with_its_ca_file_keeps_sessions_over_tls(serve, tls_redis, emulator):
    tls_port, ca_file = tls_redis
    url = f"rediss://127.0.0.1:{tls_port}/0"
    app = serve(REDIS_URL=url, REDIS_CA_CERTS=str(ca_file))
    sign_in = SignIn(app.test_client(), emulator)
    assert sign_in().status_code == 303
    assert signed_in(sign_in.client)
    with redis.Redis.from_url(url, ssl_ca_certs=str(ca_file)) as direct:
        assert len(stored_sessions(direct)) == 1
    # The port speaks only TLS: the sessions could not have gone there in the clear.
    with redis.Redis(port=tls_port, socket_timeout=0.5) as plain, pytest.raises(redis.RedisError):
        plain.ping()


def test_rediss_to_a_server_the_app_does_not_trust_is_the_store_unavailable_page(
    serve, tls_redis, caplog
):
    tls_port, _ = tls_redis
    client = serve(REDIS_URL=f"rediss://127.0.0.1:{tls_port}/0").test_client()
    response = client.get("/login")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert error_lines(caplog) == ["session store unavailable: ConnectionError"]


# --- Sentinel ------------------------------------------------------------------------------


class SentinelServer:
    """`redis-server --sentinel` watching one master, on a free loopback port."""

    def __init__(self, folder: Path, master_port: int) -> None:
        folder.mkdir()
        self.port = free_loopback_port()
        config = folder / "sentinel.conf"  # Sentinel rewrites it with what it learns
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
            f"sentinel auth-pass {MASTER} {PASSWORD}\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 10000\n"
        )
        server = shutil.which("redis-server")
        assert server, "redis-server is needed (scripts/test.sh installs it)"
        with open(folder / "sentinel.log", "ab") as log:
            self.process = subprocess.Popen(
                [server, str(config), "--sentinel"], stdout=log, stderr=subprocess.STDOUT
            )
        self.client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)
        until(self._answers, "the Sentinel's start")

    def master_port(self) -> int:
        # As clients ask (SENTINEL MASTERS): it names the new master once the failover ends.
        return int(self.client.sentinel_master(MASTER)["port"])

    def _answers(self) -> bool:
        assert self.process.poll() is None, "redis-server --sentinel exited; see sentinel.log"
        try:
            return self.client.ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=WAIT)


def start_sentinel(servers: list, folder: Path, master_port: int) -> SentinelServer:
    sentinel = SentinelServer(folder, master_port)
    servers.append(sentinel)
    return sentinel


@pytest.fixture
def sentinel_setup(servers, tmp_path):
    """A master with a password and a Sentinel watching it under MASTER."""
    master = start_redis(servers, tmp_path / "master", "--requirepass", PASSWORD)
    return master, start_sentinel(servers, tmp_path / "sentinel", master.port)


def sentinel_settings(sentinel: SentinelServer, master: str = MASTER) -> dict[str, str]:
    # The URL's host is not looked up: the Sentinel says where the master is.
    return {
        "REDIS_URL": f"redis://:{PASSWORD}@{MASTER}/0",
        "REDIS_SENTINELS": f"127.0.0.1:{sentinel.port}",
        "REDIS_SENTINEL_MASTER": master,
    }


def test_sessions_work_through_sentinel(serve, sentinel_setup, emulator):
    master, sentinel = sentinel_setup
    app = serve(**sentinel_settings(sentinel))
    sign_in = SignIn(app.test_client(), emulator)
    assert sign_in().status_code == 303
    assert signed_in(sign_in.client)
    with redis.Redis(port=master.port, password=PASSWORD) as direct:
        assert len(stored_sessions(direct)) == 1


def test_after_a_sentinel_failover_the_same_sessions_are_served_by_the_new_master(
    serve, servers, tmp_path, emulator
):
    master = start_redis(servers, tmp_path / "master", "--requirepass", PASSWORD)
    replica = start_redis(
        servers,
        tmp_path / "replica",
        *("--replicaof", "127.0.0.1", str(master.port)),
        *("--requirepass", PASSWORD, "--masterauth", PASSWORD),
    )
    with redis.Redis(port=replica.port, password=PASSWORD) as direct:
        until(lambda: direct.info("replication")["master_link_status"] == "up", "replication")
    # Started after the replica: the master's first INFO names it, no 10 s wait for the next.
    sentinel = start_sentinel(servers, tmp_path / "sentinel", master.port)
    app = serve(**sentinel_settings(sentinel))
    sign_in = SignIn(app.test_client(), emulator)
    assert sign_in().status_code == 303

    def replica_ready() -> bool:
        known = sentinel.client.sentinel_slaves(MASTER)
        return any(
            r["port"] == replica.port
            and r["master-link-status"] == "ok"
            and not (r["is_disconnected"] or r["is_sdown"])
            for r in known
        )

    with redis.Redis(port=replica.port, password=PASSWORD) as direct:
        until(lambda: len(stored_sessions(direct)) == 1, "replication of the session")
    until(replica_ready, "the Sentinel's discovery of the replica")
    sentinel.client.execute_command("SENTINEL FAILOVER", MASTER)
    until(lambda: sentinel.master_port() == replica.port, "the failover")
    with redis.Redis(port=master.port, password=PASSWORD) as old:
        # What the Sentinel does to the old master at its next look (in 10 s), done now:
        # a replica of the new one, its clients' connections closed so they ask again.
        old.replicaof("127.0.0.1", replica.port)
        old.client_kill_filter(_type="normal")
    assert signed_in(sign_in.client)
    assert sign_in.client.get("/login").status_code == 302  # a pending sign-in written
    with redis.Redis(port=replica.port, password=PASSWORD) as new_master:
        assert list(new_master.scan_iter("authflow:*"))


def test_a_master_name_the_sentinels_do_not_know_is_the_store_unavailable_page(
    serve, sentinel_setup, caplog
):
    _, sentinel = sentinel_setup
    client = serve(**sentinel_settings(sentinel, master="no-such-master")).test_client()
    response = client.get("/login")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert error_lines(caplog) == ["session store unavailable: MasterNotFoundError"]


# --- Timeouts and retries ------------------------------------------------------------------


def test_a_redis_restart_between_two_page_views_goes_unnoticed(serve, servers, tmp_path, emulator):
    server = start_redis(servers, tmp_path / "redis")
    sign_in = SignIn(serve(REDIS_URL=server.url).test_client(), emulator)
    assert sign_in().status_code == 303
    assert signed_in(sign_in.client)
    server.stop()  # the app's pooled connection is now closed at the other end
    server.start()
    # A new connection, not the 503 page.
    assert signed_in(sign_in.client)


def test_a_redis_that_drops_every_connection_is_tried_three_times_then_the_503_page(serve, caplog):
    dropped = 0

    def drop_each_connection(listener: socket.socket) -> None:
        nonlocal dropped
        with contextlib.suppress(OSError):  # the listener closed: the test is over
            while True:
                connection, _ = listener.accept()
                dropped += 1
                connection.close()

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        threading.Thread(target=drop_each_connection, args=(listener,), daemon=True).start()
        client = serve(REDIS_URL=f"redis://127.0.0.1:{port}/0").test_client()
        response = client.get("/login")  # one write: the pending sign-in
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert error_lines(caplog) == ["session store unavailable: ConnectionError"]
    assert dropped == 3  # the first try and two retries, no more


def test_a_paused_redis_costs_one_timeout_not_one_per_retry(serve, servers, tmp_path, emulator):
    server = start_redis(servers, tmp_path / "redis")
    sign_in = SignIn(serve(REDIS_URL=server.url, REDIS_TIMEOUT="2").test_client(), emulator)
    assert sign_in().status_code == 303
    with server.paused():
        started = time.monotonic()
        response = sign_in.client.get("/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    # A timeout is not retried: about one REDIS_TIMEOUT (2 s); three would be six seconds.
    assert 2 <= elapsed < 5


# --- Settings ------------------------------------------------------------------------------


def problems_for(**settings: str) -> dict[str, str]:
    base = {
        "CLIENT_ID": "00000000-0000-0000-0000-00000000000c",
        "CLIENT_SECRET": "s",
        "FLASK_DEBUG": "1",
        "SESSION_TYPE": "redis",
    }
    return {p.variable: p.message for p in load_settings(base | settings)[1]}


def test_a_redis_url_of_another_scheme_is_named_without_quoting_it():
    problems = problems_for(REDIS_URL="http://:hunter2@cache:6379/0")
    assert "rediss://" in problems["REDIS_URL"] and "hunter2" not in problems["REDIS_URL"]


def test_a_ca_file_needs_rediss_and_must_exist(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert "REDIS_CA_CERTS" in problems_for(REDIS_URL="redis://cache/0", REDIS_CA_CERTS=str(ca))
    missing = str(tmp_path / "missing.pem")
    assert "REDIS_CA_CERTS" in problems_for(REDIS_URL="rediss://cache/0", REDIS_CA_CERTS=missing)
    assert problems_for(REDIS_URL="rediss://cache/0", REDIS_CA_CERTS=str(ca)) == {}


@pytest.mark.parametrize(
    ("sentinels", "master", "variable"),
    [
        ("10.0.0.5", MASTER, "REDIS_SENTINELS"),
        ("10.0.0.5:sentinel", MASTER, "REDIS_SENTINELS"),
        ("10.0.0.5:26379,:26379", MASTER, "REDIS_SENTINELS"),
        ("10.0.0.5:70000", MASTER, "REDIS_SENTINELS"),
        ("10.0.0.5:26379", "", "REDIS_SENTINEL_MASTER"),
        ("", MASTER, "REDIS_SENTINEL_MASTER"),
    ],
)
def test_sentinel_settings_are_checked(sentinels, master, variable):
    problems = problems_for(
        REDIS_URL="redis://cache/0", REDIS_SENTINELS=sentinels, REDIS_SENTINEL_MASTER=master
    )
    assert list(problems) == [variable]


def test_sentinels_are_read_as_hosts_and_ports():
    settings, problems = load_settings(
        {
            "CLIENT_ID": "00000000-0000-0000-0000-00000000000c",
            "CLIENT_SECRET": "s",
            "FLASK_DEBUG": "1",
            "REDIS_SENTINELS": "10.0.0.5:26379, [::1]:26380",
            "REDIS_SENTINEL_MASTER": MASTER,
        }
    )
    assert problems == []
    assert settings.redis_sentinels == (("10.0.0.5", 26379), ("::1", 26380))

"""A real redis-server on a free loopback port, which tests can pause, stop and start again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT = 10.0


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """redis-server with an append-only file, so what it held survives a stop and a start."""

    def __init__(self, folder: Path, *options: str) -> None:
        """OPTIONS are redis-server's own (--requirepass, --tls-port ...)."""
        self.folder = folder
        self.options = list(options)
        self.port = free_loopback_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed (scripts/test.sh installs it)"
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "always", *self.options]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the child keeps it
        with log:
            self.process = subprocess.Popen([server, *args], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self.folder}/redis.log")
            time.sleep(0.05)

    def stop(self) -> None:
        """Shut down (it writes its data out first)."""
        if self.process is not None:
            self.resume()  # a paused process would not act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=START_TIMEOUT)
            self.process = None

    def pause(self) -> None:
        """Frozen: connections open, but nothing is answered (SIGSTOP)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.pause()
        try:
            yield
        finally:
            self.resume()

    @contextmanager
    def down(self) -> Iterator[None]:
        """Stopped (connections refused) until the block ends, then started with its data."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                # Up, whether or not it wants a password first.
                return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False


@pytest.fixture(name="redis_server")
def redis_server_fixture(tmp_path) -> Iterator[RedisServer]:
    """A fresh redis-server for one test (import the fixture into the test module)."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()

"""gunicorn with gunicorn.conf.py, run from only the files the app image holds (Dockerfile)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from image_files import copy_app_image_files
from server_process import ServerProcess, app_env, free_port

SEARCH_TERM = "secret-term"


@pytest.fixture
def image(tmp_path):
    return copy_app_image_files(tmp_path / "app")


def start_gunicorn(image, tmp_path, **settings) -> ServerProcess:
    port = free_port()
    env = app_env(
        tmp_path,
        PORT=str(port),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="2",
        **settings,
    )
    # gunicorn's own access log on too, to see that it carries no query either.
    args = [sys.executable, "-m", "gunicorn", "-c", str(image / "gunicorn.conf.py")]
    args += ["--access-logfile", "-"]
    # Started from another folder: the conf alone must find the app.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return ServerProcess(args, env, port, tmp_path, cwd=elsewhere)


def container_healthcheck(image, port: int) -> int:
    """The Dockerfile's HEALTHCHECK: python -m health in the image's folder."""
    env = {"PORT": str(port), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "health"], cwd=image, env=env, capture_output=True, timeout=30
    )
    return done.returncode


def test_gunicorn_serves_health_and_logs_each_request_once_without_its_query(image, tmp_path):
    server = start_gunicorn(image, tmp_path)
    try:
        health = server.get("/healthz")
        healthy = container_healthcheck(image, server.port)
        # Without TRUSTED_PROXY_HOPS nobody's X-Forwarded-Proto is believed.
        page = server.get(
            f"/?q={SEARCH_TERM}",
            headers={"X-Request-Id": "probe-1234", "X-Forwarded-Proto": "https"},
        )
        other = server.get(f"/people?q={SEARCH_TERM}")
    finally:
        exit_code = server.stop()
    assert exit_code == 0  # SIGTERM: a graceful stop
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert healthy == 0
    assert container_healthcheck(image, server.port) == 1  # stopped: unhealthy
    assert page.status_code == 200 and page.headers["X-Request-Id"] == "probe-1234"
    assert "Strict-Transport-Security" not in page.headers
    other_id = other.headers["X-Request-Id"]

    errors, access = server.stderr, server.stdout
    assert SEARCH_TERM not in errors + access
    assert len(re.findall(r"INFO request_log \[probe-1234\]: GET / 200 \d+ ms", errors)) == 1
    assert re.search(rf"INFO request_log \[{other_id}\]: GET /people 302 \d+ ms", errors)
    assert errors.count("Booting worker") == 2 and "Using worker: gthread" in errors
    assert re.search(r'"GET /" 200 \d+ms request_id=probe-1234', access)
    assert re.search(rf'"GET /people" 302 \d+ms request_id={other_id}', access)


def test_gunicorn_logs_every_line_as_json_and_trusts_the_configured_proxy(image, tmp_path):
    server = start_gunicorn(image, tmp_path, LOG_FORMAT="json", TRUSTED_PROXY_HOPS="1")
    try:
        page = server.get(f"/?q={SEARCH_TERM}", headers={"X-Forwarded-Proto": "https"})
    finally:
        server.stop()
    # One proxy trusted: the app knows the browser used https.
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    lines = [line for line in (server.stderr + server.stdout).splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert any(
        e["logger"] == "gunicorn.error" and e["message"].startswith("Starting gunicorn")
        for e in entries
    )
    (request,) = [e for e in entries if e["logger"] == "request_log"]
    assert request["path"] == "/" and request["status"] == 200
    assert request["request_id"] == page.headers["X-Request-Id"]
    (access,) = [e for e in entries if e["logger"] == "gunicorn.access"]
    assert access["message"].endswith("request_id=" + page.headers["X-Request-Id"])
    assert SEARCH_TERM not in "\n".join(lines)


@pytest.mark.parametrize(
    ("variable", "value"), [("GUNICORN_THREADS", "lots"), ("WEB_CONCURRENCY", "0")]
)
def test_a_malformed_worker_setting_stops_gunicorn_with_its_name(image, tmp_path, variable, value):
    env = app_env(tmp_path, PORT="8000", **{variable: value})
    args = [sys.executable, "-m", "gunicorn", "-c", str(image / "gunicorn.conf.py")]
    done = subprocess.run(
        [*args, "--check-config"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert done.returncode != 0
    assert f"{variable} must be a whole number" in done.stderr.decode()

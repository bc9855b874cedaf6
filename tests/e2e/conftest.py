"""Browser tests: headless Chromium against the real app and emulator processes.

The app runs at http://localhost:PORT and the emulator's sign-in pages at
http://127.0.0.1:PORT: different sites, so the identity provider's form_post
back to the app is a real cross-site POST under real SameSite cookie rules.
Screenshots of failures go to test-artifacts/e2e/.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from entra_emulator.net import free_port
from playwright.sync_api import Page, sync_playwright
from processes import ROOT, App, EmulatorProcess, app_env, port_open, wait_until

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser test artifacts (failure screenshots, process logs): {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    return {"app": free_port(), "oidc_app": free_port()}


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory, artifacts, ports):
    """entra-emulator as a separate process, as the demo runs it."""
    # /getAToken for sign-in; the home page, where the admin consent link returns (README).
    redirect_uris = [
        f"http://localhost:{ports[n]}{path}"
        for n in ("app", "oidc_app")
        for path in ("/getAToken", "/")
    ]
    process = EmulatorProcess(
        tmp_path_factory.mktemp("emulator"), redirect_uris, artifacts / "emulator.log"
    )
    yield process
    process.stop()


@pytest.fixture(scope="session")
def app_server(emulator_process, tmp_path_factory, artifacts, ports):
    """The app under `flask run`, with file sessions, against the Entra-shaped authority."""
    tmp = tmp_path_factory.mktemp("app")
    process = App(ports["app"], app_env(emulator_process, tmp), artifacts / "app.log")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory, artifacts):
    port = free_port()
    server = shutil.which("redis-server")
    assert server, "redis-server is needed (scripts/test.sh installs it)"
    log = open(artifacts / "redis.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until(lambda: port_open(port), "redis-server", process)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def oidc_app_server(emulator_process, redis_url, tmp_path_factory, artifacts, ports):
    """The app under gunicorn (2 workers sharing Redis sessions) against an OIDC authority."""
    tmp = tmp_path_factory.mktemp("oidc_app")
    env = app_env(emulator_process, tmp, oidc=True) | {
        "SESSION_TYPE": "redis",
        "REDIS_URL": redis_url,
    }
    process = App(ports["oidc_app"], env, artifacts / "oidc_app.log", gunicorn=True)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium (the system's, never downloaded)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def page(chromium, request, artifacts, emulator_process) -> Page:
    # Every test starts as a new visitor: fresh cookies, nothing consented yet.
    emulator_process.control("POST", "/consent/reset")
    emulator_process.control("DELETE", "/faults")
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "failed_call", False):
        shot = artifacts / f"{request.node.name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    context.close()

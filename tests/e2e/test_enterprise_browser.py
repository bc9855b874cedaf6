"""App roles, groups (with the overage) and credentials without a secret, in a real browser.

These tests start their own emulator (they move its clock) and two apps: one signing in
with a certificate made and uploaded by the demo's helper, one with a federated token
file the test rotates.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
from entra_emulator.directory import load_directory
from entra_emulator.net import free_port
from flows import sign_in
from playwright.sync_api import expect
from processes import ROOT, App, EmulatorProcess, app_env

from app_config import load_settings

# Rowan is in 240 groups: past the 200 an ID token can name (the groups overage).
ROWANS_GROUP = "Project Room 117"


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"certificate": free_port(), "federated": free_port()}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, artifacts, ports):
    uris = [f"http://localhost:{port}/getAToken" for port in ports.values()]
    process = EmulatorProcess(
        tmp_path_factory.mktemp("enterprise_emulator"), uris, artifacts / "enterprise_emulator.log"
    )
    yield process
    process.stop()


def demo_exports(emulator: EmulatorProcess, cwd, credential: str) -> dict[str, str]:
    """What scripts/demo.sh exports through scripts/demo_enterprise_env.py."""
    script = ROOT / "scripts" / "demo_enterprise_env.py"
    info = cwd / "emulator.json"
    info.write_text(json.dumps(emulator.info))
    output = subprocess.run(
        [sys.executable, str(script), str(info)],
        cwd=cwd,
        env=os.environ | {"DEMO_CREDENTIAL": credential},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return dict(shlex.split(line)[1].split("=", 1) for line in output.splitlines())


@pytest.fixture(scope="module")
def certificate_app(emulator, tmp_path_factory, artifacts, ports):
    """The app with the demo's certificate instead of a secret; its group page is gated on
    one of Rowan's groups, as a real tenant's FINANCE_GROUP_ID names its own group."""
    tmp = tmp_path_factory.mktemp("certificate_app")
    exports = demo_exports(emulator, tmp, "certificate")
    assert exports["CLIENT_SECRET"] == "" and exports["CLIENT_CERTIFICATE_PATH"]
    rooms = {g["displayName"]: g["id"] for g in load_directory(None).groups}
    env = app_env(emulator, tmp) | exports | {"FINANCE_GROUP_ID": rooms[ROWANS_GROUP]}
    process = App(ports["certificate"], env, artifacts / "certificate_app.log")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def token_file(tmp_path_factory):
    return tmp_path_factory.mktemp("workload") / "azure-identity-token"


@pytest.fixture(scope="module")
def federated_app(emulator, token_file, tmp_path_factory, artifacts, ports):
    tmp = tmp_path_factory.mktemp("federated_app")
    rotate(token_file, emulator.control("POST", "/federated-token")["token"])
    env = app_env(emulator, tmp) | {
        "CLIENT_SECRET": "",
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
    }
    process = App(ports["federated"], env, artifacts / "federated_app.log")
    yield process
    process.stop()


def rotate(token_file, token: str) -> None:
    """Replace the token file at once, as the kubelet swaps its projected volume."""
    fresh = token_file.with_name(token_file.name + ".new")
    fresh.write_text(token)
    fresh.replace(token_file)


@pytest.fixture
def browser(chromium, emulator, request, artifacts):
    """new_page(): a page in a new browser profile; nobody has consented to anything yet."""
    emulator.control("POST", "/consent/reset")
    contexts = []

    def new_page():
        emulator.control("POST", "/consent/reset")
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for n, context in enumerate(contexts):
        if getattr(request.node, "failed_call", False):
            for page in context.pages:
                page.screenshot(
                    path=str(artifacts / f"{request.node.name}-{n}.png"), full_page=True
                )
        context.close()
    emulator.control("POST", "/clock", offset=0)


def nav(page):
    return page.get_by_role("navigation", name="Main")


def test_a_reports_reader_signed_in_with_a_certificate_opens_reports(browser, certificate_app):
    page = browser()
    sign_in(page, certificate_app.url, "Adele Vance")
    expect(page.get_by_role("heading", name="Welcome, Adele Vance")).to_be_visible()
    nav(page).get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Reports.Reader")
    nav(page).get_by_role("link", name="Profile").click()
    expect(page.get_by_text("adele@contoso.example").first).to_be_visible()


def test_without_the_role_reports_is_not_offered_and_says_whom_to_ask(browser, certificate_app):
    page = browser()
    sign_in(page, certificate_app.url, "Megan Bowen")
    expect(nav(page).get_by_role("link", name="Profile")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Reports")).to_have_count(0)
    response = page.goto(certificate_app.url + "/reports")
    assert response.status == 403 and page.url == certificate_app.url + "/reports"
    expect(page.get_by_role("heading", name="You don't have access to this page")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Reports.Reader")
    expect(page.locator("main")).to_contain_text("Users and groups")


def test_an_overage_user_opens_the_group_page_after_graph_says_so(browser, certificate_app):
    page = browser()
    sign_in(page, certificate_app.url, "Rowan Sparks")
    nav(page).get_by_role("link", name="Finance").click()
    expect(page.get_by_role("heading", name="Finance", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("groups overage")
    expect(nav(page).get_by_role("link", name="Reports")).to_have_count(0)


def test_a_rotated_federated_token_is_used_at_the_next_sign_in(
    browser, federated_app, emulator, token_file
):
    # A token that the emulator's clock, set back ten minutes, still accepts...
    emulator.control("POST", "/clock", offset=-600)
    rotate(token_file, emulator.control("POST", "/federated-token", lifetime=60)["token"])
    first = browser()
    sign_in(first, federated_app.url, "Adele Vance")
    expect(first.get_by_role("heading", name="Welcome, Adele Vance")).to_be_visible()

    # ...has expired by the time of the next sign-in: Entra refuses it.
    emulator.control("POST", "/clock", offset=0)
    stale = browser()
    sign_in(stale, federated_app.url, "Adele Vance")
    expect(stale.get_by_role("heading", name="Sign-in did not complete")).to_be_visible()
    expect(stale.locator("main")).to_contain_text("AADSTS700024")

    # The platform rotates the file; the app reads it at the next token request.
    rotate(token_file, emulator.control("POST", "/federated-token")["token"])
    after = browser()
    sign_in(after, federated_app.url, "Adele Vance")
    expect(after.get_by_role("heading", name="Welcome, Adele Vance")).to_be_visible()


def test_the_demo_configures_a_federated_token_or_refuses_an_unknown_credential(emulator, tmp_path):
    exports = demo_exports(emulator, tmp_path, "federated")
    served = {"TRUSTED_HOSTS": "app.example"}  # App() sets its own host and port
    settings, problems = load_settings(app_env(emulator, tmp_path) | exports | served)
    assert problems == [] and settings.federated_token_file == exports["AZURE_FEDERATED_TOKEN_FILE"]
    with pytest.raises(subprocess.CalledProcessError) as refused:
        demo_exports(emulator, tmp_path, "password")
    assert "use secret, certificate or federated" in refused.value.stderr

"""The pytest11 plugin of the installed distribution, run in a pytest of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "emulator" / "README.md"

TESTS = """
import msal

def test_adds_a_user(entra_emulator):
    entra_emulator.add_user("kim@contoso.example", "Kim Akers")
    assert "kim@contoso.example" in {u["upn"] for u in entra_emulator.users}

def test_starts_from_the_seeded_tenant(entra_emulator):
    assert "kim@contoso.example" not in {u["upn"] for u in entra_emulator.users}

def test_session_fixture_is_the_same_emulator(entra_emulator, entra_emulator_session):
    assert entra_emulator is entra_emulator_session

def test_signs_in_over_the_listeners_and_tls(entra_emulator):
    uri = "http://localhost/getAToken"
    entra_emulator.register_client("my-app", "my-secret", [uri])
    app = msal.ConfidentialClientApplication(
        "my-app", client_credential="my-secret", authority=entra_emulator.authority,
        instance_discovery=False, http_client=entra_emulator.http_client())
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=uri, response_mode="form_post")
    fields = entra_emulator.sign_in(flow["auth_uri"], "adele@contoso.example")
    token = app.acquire_token_by_auth_code_flow(flow, fields)["access_token"]
    me = entra_emulator.trusting_session().get(
        entra_emulator.graph_endpoint + "/me", headers={"Authorization": "Bearer " + token},
        timeout=10)
    assert me.json()["displayName"] == "Adele Vance"
"""


def _quick_start() -> str:
    """The README's quick start, run as written, so the README cannot drift."""
    text = README.read_text(encoding="utf-8")
    return re.search(r"```python\n(import msal\n.*?)```", text, re.DOTALL).group(1)


def _run_pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_with_plugin.py").write_text(TESTS, encoding="utf-8")
    (tmp_path / "test_quick_start.py").write_text(_quick_start(), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fixtures_come_from_the_entry_point(tmp_path):
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_in_process_only_when_configured(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nentra_emulator_listen = false\n")
    result = _run_pytest(tmp_path, "test_with_plugin.py", "-k", "not listeners")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "test_offline.py").write_text(
        "def test_offline(entra_emulator):\n"
        "    assert entra_emulator.graph_endpoint == 'https://graph.microsoft.com/v1.0'\n",
        encoding="utf-8",
    )
    assert _run_pytest(tmp_path, "test_offline.py").returncode == 0

"""A restart of a state-keeping emulator (the entra-emulator command) leaves users signed in.

Each test starts its own emulators on one state folder, as the demo restarts its own.
"""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
from pathlib import Path

import entra_emulator
import msal
import pytest
from emulator_helpers import ADELE, REDIRECT_URI, make_app, sign_in
from entra_emulator.net import free_port

SCOPES = ["User.Read"]
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("entra-emulator"))


def start_keeping(state_dir: Path, https_port: int = 0) -> entra_emulator.Emulator:
    return entra_emulator.start(
        state_dir, https_port=https_port, redirect_uris=[REDIRECT_URI], keep_state=True
    )


def https_port_of(emulator) -> int:
    return int(emulator.authority.split(":")[2].split("/")[0])


def refresh_token_of(app: msal.ConfidentialClientApplication) -> str:
    (entry,) = app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)
    return entry["secret"]


def graph_me(emulator, access_token: str):
    with emulator.trusting_session() as session:
        return session.get(
            f"{emulator.graph_endpoint}/me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=10,
        )


def folder_snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_after_a_restart_access_and_refresh_tokens_still_work(tmp_path):
    with start_keeping(tmp_path) as before:
        app = make_app(before)
        result = sign_in(app, SCOPES)
        access_token, refresh_token = result["access_token"], refresh_token_of(app)
        ca = (tmp_path / "ca.pem").read_bytes()
        jwks = before.state.signer.jwks()
    # The same https port, as the demo restarts: the issuer names it.
    with start_keeping(tmp_path, https_port_of(before)) as after:
        assert (tmp_path / "ca.pem").read_bytes() == ca  # apps trusting ca.pem still do
        assert after.state.signer.jwks() == jwks
        me = graph_me(after, access_token)
        assert me.status_code == 200 and me.json()["userPrincipalName"] == ADELE
        # The app's refresh token is still good, and the consent behind it too.
        renewed = make_app(after).acquire_token_by_refresh_token(refresh_token, SCOPES)
        assert "access_token" in renewed, renewed.get("error_description")
        assert graph_me(after, renewed["access_token"]).status_code == 200


def test_a_revoked_grant_stays_revoked_after_a_restart(tmp_path):
    with start_keeping(tmp_path) as before:
        app = make_app(before)
        sign_in(app, SCOPES)
        before.revoke(ADELE)
    with start_keeping(tmp_path) as after:
        result = make_app(after).acquire_token_by_refresh_token(refresh_token_of(app), SCOPES)
        assert result["error"] == "invalid_grant"
        assert "AADSTS50173" in result["error_description"]


def test_reset_is_kept_too_no_grant_survives_it(tmp_path):
    with start_keeping(tmp_path) as before:
        app = make_app(before)
        sign_in(app, SCOPES)
        before.reset()
    with start_keeping(tmp_path) as after:
        result = make_app(after).acquire_token_by_refresh_token(refresh_token_of(app), SCOPES)
        assert result["error"] == "invalid_grant"


def test_a_start_on_a_taken_port_changes_no_file_and_the_running_one_keeps_serving(tmp_path):
    with start_keeping(tmp_path) as running:
        sign_in(make_app(running), SCOPES)
        port = https_port_of(running)
        files = folder_snapshot(tmp_path)
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            start_keeping(tmp_path, https_port=port)
        assert folder_snapshot(tmp_path) == files
        assert "access_token" in sign_in(make_app(running), SCOPES)


def test_what_is_kept_is_readable_by_its_owner_only(tmp_path):
    with start_keeping(tmp_path) as emulator:
        sign_in(make_app(emulator), SCOPES)
    for name in ("kept-state.json", "token-signing-key.pem", "server-key.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_an_unreadable_kept_state_or_certificate_is_replaced_with_a_warning(tmp_path, caplog):
    with start_keeping(tmp_path):
        pass
    (tmp_path / "kept-state.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "ca.pem").write_text("garbage", encoding="utf-8")
    warnings = caplog.at_level(logging.WARNING, logger="entra_emulator")
    with warnings, start_keeping(tmp_path) as fresh:
        assert "access_token" in sign_in(make_app(fresh), SCOPES)
    assert "must sign in again" in caplog.text
    assert (tmp_path / "ca.pem").read_text(encoding="utf-8").startswith("-----BEGIN CERTIFICATE")


def test_without_keep_state_every_start_is_fresh(tmp_path):
    with entra_emulator.start(tmp_path, redirect_uris=[REDIRECT_URI]) as before:
        app = make_app(before)
        sign_in(app, SCOPES)
        ca = (tmp_path / "ca.pem").read_bytes()
    with entra_emulator.start(tmp_path, redirect_uris=[REDIRECT_URI]) as after:
        assert (tmp_path / "ca.pem").read_bytes() != ca
        result = make_app(after).acquire_token_by_refresh_token(refresh_token_of(app), SCOPES)
        assert result["error"] == "invalid_grant"
    assert not (tmp_path / "kept-state.json").exists()


def test_the_command_on_a_taken_port_says_which_and_exits(tmp_path):
    with start_keeping(tmp_path) as running:
        port = https_port_of(running)
        result = subprocess.run(
            [CONSOLE_SCRIPT, "--state-dir", str(tmp_path), "--https-port", str(port)]
            + ["--http-port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_kept_state_of_another_shape_is_set_aside_with_a_warning(tmp_path, caplog):
    (tmp_path / "kept-state.json").write_text('{"format": 1, "consents": 3}', encoding="utf-8")
    warnings = caplog.at_level(logging.WARNING, logger="entra_emulator")
    with warnings, start_keeping(tmp_path) as fresh:
        assert fresh.state.consents == {} and fresh.state.refresh_tokens == {}
        assert "access_token" in sign_in(make_app(fresh), SCOPES)
    assert "must sign in again" in caplog.text

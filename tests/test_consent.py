"""Incremental consent and claims challenges, end to end through sign-in and back."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

GRAPH = "https://graph.microsoft.com/v1.0"
ADELE = "adele@contoso.example"

BUDGET = {"id": "i1", "name": "Budget.xlsx", "size": 2048, "file": {}}
ME = {"id": "u1", "displayName": "Adele Vance", "mail": "adele@contoso.example"}
CLAIMS_B64 = (
    "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0="
)
CLAIMS = base64.b64decode(CLAIMS_B64).decode()
CHALLENGE = (
    'Bearer realm="", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'error="insufficient_claims", claims="{CLAIMS_B64}"'
)
CAE_REJECTION = {
    "error": {
        "code": "InvalidAuthenticationToken",
        "message": "Continuous access evaluation resulted in challenge",
    }
}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def follow_to_authorize(client, response) -> str:
    """From the app's redirect to /login, on to the identity provider's authorize URL."""
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    login = client.get(response.headers["Location"])
    assert login.status_code == 302
    return login.headers["Location"]


@pytest.fixture
def my_files(http_mock):
    return http_mock.get(f"{GRAPH}/me/drive/root/children", json={"value": [BUDGET]})


@pytest.fixture
def my_profile(http_mock):
    return http_mock.get(f"{GRAPH}/me", json=ME)


def test_user_grants_files_read_when_first_opening_files_and_lands_back_on_them(
    signed_in_client, emulator, my_files
):
    assert emulator.consented(ADELE) == {
        "openid",
        "profile",
        "offline_access",
        "User.Read",
    }
    response = signed_in_client.get("/files")
    assert response.status_code == 308
    response = signed_in_client.get(response.headers["Location"])
    login = urlsplit(response.headers["Location"])
    assert (login.path, parse_qs(login.query)) == (
        "/login",
        {"next": ["/files/"], "scope": ["Files.Read"]},
    )
    assert my_files.call_count == 0  # no Graph call without the permission

    authorize = follow_to_authorize(signed_in_client, response)
    asked = set(query_of(authorize)["scope"][0].split())
    assert {"User.Read", "Files.Read"} <= asked
    assert "prompt" not in query_of(authorize)  # same account: no account picker

    back = signed_in_client.post("/getAToken", data=emulator.sign_in(authorize, ADELE))
    assert back.status_code == 303
    assert back.headers["Location"] == "/files/"
    page = signed_in_client.get("/files/")
    assert page.status_code == 200
    assert "Budget.xlsx" in page.get_data(as_text=True)


def test_after_granting_files_read_other_pages_need_no_new_sign_in(
    signed_in_client, emulator, my_files, my_profile
):
    authorize = follow_to_authorize(signed_in_client, signed_in_client.get("/files/"))
    signed_in_client.post("/getAToken", data=emulator.sign_in(authorize, ADELE))
    profile = signed_in_client.get("/graphcall")
    files = signed_in_client.get("/files/")
    assert profile.status_code == 200 and "Adele Vance" in profile.get_data(as_text=True)
    assert files.status_code == 200 and "Budget.xlsx" in files.get_data(as_text=True)
    assert my_profile.call_count == 1 and my_files.call_count == 1


def test_declining_files_read_explains_what_it_is_for_and_keeps_the_user_signed_in(
    signed_in_client, emulator, my_files, my_profile
):
    authorize = follow_to_authorize(signed_in_client, signed_in_client.get("/files/"))
    declined = emulator.sign_in(authorize, ADELE, consent=False)  # Cancel on the consent page
    response = signed_in_client.post("/getAToken", data=declined, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You declined the permission" in page
    assert "browse the files in your OneDrive" in page
    assert "<code>Files.Read</code>" in page
    assert "Try again" in page

    profile = signed_in_client.get("/graphcall")
    assert profile.status_code == 200
    assert "Adele Vance" in profile.get_data(as_text=True)
    assert my_files.call_count == 0
    # Still without the permission: the files page asks for it again rather than failing.
    response = signed_in_client.get("/files/")
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["scope"] == ["Files.Read"]


def test_claims_challenge_signs_the_user_in_again_with_the_claims_and_the_page_renders(
    signed_in_client, emulator, http_mock
):
    http_mock.get(
        f"{GRAPH}/me",
        json=CAE_REJECTION,
        status=401,
        headers={"WWW-Authenticate": CHALLENGE},
    )
    http_mock.get(f"{GRAPH}/me", json=ME)
    with signed_in_client.session_transaction() as session:
        session["signed_in_at"] = 0  # signed in long ago
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302
    login = query_of(response.headers["Location"])
    assert login["next"] == ["/graphcall"]
    assert json.loads(login["claims"][0]) == json.loads(CLAIMS)

    authorize = follow_to_authorize(signed_in_client, response)
    claims = json.loads(query_of(authorize)["claims"][0])
    assert claims["access_token"]["nbf"] == {"essential": True, "value": "1604106651"}
    assert claims["access_token"]["xms_cc"] == {"values": ["CP1"]}

    back = signed_in_client.post("/getAToken", data=emulator.sign_in(authorize, ADELE))
    assert back.headers["Location"] == "/graphcall"
    page = signed_in_client.get("/graphcall")
    assert page.status_code == 200
    assert "Adele Vance" in page.get_data(as_text=True)

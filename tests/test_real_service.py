"""What the real Entra ID and Graph do that a kind fake would not: CAE, guests, no OneDrive."""

from __future__ import annotations

import base64
import json
from html import unescape
from urllib.parse import parse_qs, urlsplit

GRAPH = "https://graph.microsoft.com/v1.0"
ADELE = "adele@contoso.example"

ME = {"id": "u1", "displayName": "Adele Vance", "department": "Retail"}
CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}'
CLAIMS_B64 = base64.b64encode(CLAIMS.encode()).decode()
OTHER_CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1704106651"}}}'
CAE_REJECTION = {
    "error": {
        "code": "InvalidAuthenticationToken",
        "message": "Continuous access evaluation resulted in challenge",
    }
}


def challenge(claims_b64: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": f'Bearer realm="", error="insufficient_claims", claims="{claims_b64}"'
    }


def login_query(response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    return parse_qs(location.query)


def test_a_claims_challenge_right_after_sign_in_signs_the_user_in_again_with_the_claims(
    signed_in_client, http_mock
):
    # A revocation can reach Graph a second after sign-in; time is no reason to give up.
    http_mock.get(f"{GRAPH}/me", json=CAE_REJECTION, status=401, headers=challenge(CLAIMS_B64))
    login = login_query(signed_in_client.get("/graphcall"))
    assert json.loads(login["claims"][0]) == json.loads(CLAIMS)
    assert login["next"] == ["/graphcall"]


def test_a_challenge_for_the_claims_the_last_sign_in_carried_is_shown_not_looped(
    client_sign_in, http_mock
):
    assert client_sign_in("/graphcall", claims=CLAIMS).status_code == 303
    http_mock.get(f"{GRAPH}/me", json=CAE_REJECTION, status=401, headers=challenge(CLAIMS_B64))
    response = client_sign_in.client.get("/graphcall")
    assert response.status_code == 401
    assert "Continuous access evaluation resulted in challenge" in response.get_data(as_text=True)


def test_a_challenge_for_new_claims_after_a_claims_sign_in_asks_again(client_sign_in, http_mock):
    assert client_sign_in("/graphcall", claims=CLAIMS).status_code == 303
    other = base64.b64encode(OTHER_CLAIMS.encode()).decode()
    http_mock.get(f"{GRAPH}/me", json=CAE_REJECTION, status=401, headers=challenge(other))
    login = login_query(client_sign_in.client.get("/graphcall"))
    assert json.loads(login["claims"][0]) == json.loads(OTHER_CLAIMS)


def test_a_conditional_access_403_with_a_claims_challenge_signs_in_again(
    signed_in_client, http_mock
):
    http_mock.get(f"{GRAPH}/me", json=CAE_REJECTION, status=403, headers=challenge(CLAIMS_B64))
    login = login_query(signed_in_client.get("/graphcall"))
    assert json.loads(login["claims"][0]) == json.loads(CLAIMS)


def test_interaction_required_on_refresh_passes_its_claims_to_the_next_sign_in(
    client_sign_in, emulator, token_endpoint
):
    emulator.set_access_token_lifetime(60)  # MSAL refreshes tokens this close to expiry
    assert client_sign_in("/graphcall").status_code == 303
    # The emulator has no MFA or Conditional Access: Entra's answer is scripted.
    token_endpoint.script(
        status=400,
        json={
            "error": "interaction_required",
            "error_description": "AADSTS50076: Due to a configuration change made by your "
            "administrator, you must use multi-factor authentication.",
            "error_codes": [50076],
            "suberror": "basic_action",
            "claims": CLAIMS,
        },
    )
    login = login_query(client_sign_in.client.get("/graphcall"))
    assert json.loads(login["claims"][0]) == json.loads(CLAIMS)


def test_a_guest_refused_the_directory_is_told_why_and_not_sent_to_sign_in(
    signed_in_client, emulator, http_mock
):
    emulator.grant_consent(ADELE, ["User.ReadBasic.All"])
    http_mock.get(
        f"{GRAPH}/users",
        status=403,
        json={
            "error": {
                "code": "Authorization_RequestDenied",
                "message": "Insufficient privileges to complete the operation.",
            }
        },
    )
    with signed_in_client.session_transaction() as session:
        session["signed_in_at"] = 0  # long ago: no time-based guard may hide a bounce
    response = signed_in_client.get("/people")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "The organization you signed in to does not let your account" in page
    assert "guest" in page


def test_a_user_without_a_onedrive_is_told_so(signed_in_client, emulator, http_mock):
    emulator.grant_consent(ADELE, ["Files.Read"])
    http_mock.get(
        f"{GRAPH}/me/drive/root/children",
        status=404,
        json={"error": {"code": "ResourceNotFound", "message": "User's mysite not found."}},
    )
    response = signed_in_client.get("/files/")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "You don't have a OneDrive" in page
    assert "Try again" not in page


def test_the_profile_asks_graph_for_the_department_it_shows(signed_in_client, http_mock):
    # /me leaves department out of its default properties.
    me = http_mock.get(f"{GRAPH}/me", json=ME)
    page = signed_in_client.get("/graphcall").get_data(as_text=True)
    select = parse_qs(urlsplit(me.calls[-1].request.url).query)["$select"][0].split(",")
    assert "department" in select and "displayName" in select
    assert "Retail" in page


def idp_answers_with_an_error(sign_in, next_path: str, scope: str, **error: str):
    """Start signing in for SCOPE, and post back the identity provider's error for it."""
    authorize = sign_in.start(next_path, scope=scope)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    return sign_in.client.post("/getAToken", data={**error, "state": state}, follow_redirects=True)


def test_a_permission_that_needs_an_administrator_is_explained_with_the_admin_consent_link(
    client_sign_in, emulator
):
    # What Entra sends back when a user leaves its "Need admin approval" page.
    response = idp_answers_with_an_error(
        client_sign_in,
        "/groups",
        "Group.Read.All",
        error="access_denied",
        error_subcode="cancel",
        error_description="AADSTS90094: The grant requires admin permission.",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "An administrator must approve this permission for your organization" in page
    assert "list your groups and their members" in page
    assert "Try again" not in page
    (link,) = [
        line.split('href="', 1)[1].split('"', 1)[0]
        for line in page.splitlines()
        if "adminconsent" in line
    ]
    url = urlsplit(unescape(link))
    query = parse_qs(url.query)
    assert url.path == f"/{emulator.tenant_id}/v2.0/adminconsent"
    assert query["client_id"] == [emulator.client_id]
    assert query["scope"] == ["Group.Read.All"]
    assert query["redirect_uri"] == ["http://localhost/"]


def test_a_declined_consent_still_offers_to_try_again(client_sign_in):
    response = idp_answers_with_an_error(
        client_sign_in,
        "/files/",
        "Files.Read",
        error="access_denied",
        error_subcode="cancel",
        error_description="AADSTS65004: User declined to consent to access the app.",
    )
    page = response.get_data(as_text=True)
    assert "You declined the permission" in page and "Try again" in page
    assert "adminconsent" not in page


def test_a_scope_the_account_type_cannot_have_is_explained(client_sign_in):
    response = idp_answers_with_an_error(
        client_sign_in,
        "/people",
        "User.ReadBasic.All",
        error="invalid_scope",
        error_description="AADSTS70011: The provided value for the input parameter "
        "'scope' is not valid.",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "not available to your account" in page
    assert "work or school account" in page
    assert "Try again" not in page


def test_a_groups_members_page_also_asks_to_read_their_basic_profiles(signed_in_client, emulator):
    # Without a user permission Graph lists members as type and id only.
    emulator.grant_consent(ADELE, ["Group.Read.All"])
    login = login_query(signed_in_client.get("/groups/g-1"))
    assert set(login["scope"]) == {"Group.Read.All", "User.ReadBasic.All"}


def test_the_home_page_says_whether_an_administrators_consent_went_through(client):
    # Where the admin consent link returns: Entra adds admin_consent=True, or an error.
    granted = client.get("/?admin_consent=True&tenant=t1&scope=Group.Read.All")
    assert "granted the permissions for your organization" in granted.get_data(as_text=True)
    refused = client.get("/?error=consent_required&error_description=AADSTS65004%3A+declined")
    page = refused.get_data(as_text=True)
    assert "The permissions were not granted" in page
    assert "AADSTS65004" not in page  # query values are not echoed into the page
    assert "permissions" not in client.get("/").get_data(as_text=True)

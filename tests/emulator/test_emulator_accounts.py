"""Kinds of account as Entra and Graph treat them: personal accounts, guests, no OneDrive,
the basic profile of other people, and the optional login_hint claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from account_helpers import (
    CONSUMER_TID,
    ELLIS,
    GRADY,
    KAI,
    LEE,
    LOGIN,
    MEGAN,
    claims,
    flow_for,
    graph,
    msal_app,
    signed_in,
)
from emulator_helpers import ADELE
from entra_emulator.headless import SignInError
from entra_emulator.scopes import ScopeError

ROOT = Path(__file__).resolve().parents[2]
ORG_ONLY = [
    "User.ReadBasic.All",
    "User.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
    "Sites.Read.All",
    "Files.Read.All",
]
INSUFFICIENT = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _error(response) -> tuple[str, str]:
    body = response.json()["error"]
    return body["code"], body["message"]


@pytest.mark.parametrize("segment", ["common", "consumers"])
def test_personal_account_signs_in_with_the_consumer_tenant(emulator, segment):
    result = signed_in(emulator, KAI, ["User.Read", "Files.Read"], segment)
    id_claims = result["id_token_claims"]
    assert id_claims["tid"] == CONSUMER_TID
    assert id_claims["iss"] == f"{LOGIN}/{CONSUMER_TID}/v2.0"
    assert id_claims["oid"].startswith("00000000-0000-0000-")
    assert claims(result["access_token"])["tid"] == CONSUMER_TID


def test_discovery_issuers_for_consumers_and_common(emulator):
    with emulator.http_client() as http:
        consumers = http.get(f"{LOGIN}/consumers/v2.0/.well-known/openid-configuration").json()
        common = http.get(f"{LOGIN}/common/v2.0/.well-known/openid-configuration").json()
    assert consumers["issuer"] == f"{LOGIN}/{CONSUMER_TID}/v2.0"
    assert common["issuer"] == f"{LOGIN}/{{tenantid}}/v2.0"


def test_personal_account_home_account_is_in_the_consumer_tenant(emulator):
    app = msal_app(emulator, "common")
    flow = flow_for(app, ["User.Read"])
    app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], KAI))
    (account,) = app.get_accounts()
    assert account["home_account_id"].endswith(f".{CONSUMER_TID}")


def test_personal_account_reads_me_photo_and_onedrive(emulator):
    token = signed_in(emulator, KAI, ["User.Read", "Files.Read"], "common")["access_token"]
    me = graph(emulator, token, "/me").json()
    # Graph's id for a personal account is the 16-hex CID, not the token's oid.
    assert (me["displayName"], me["id"], me["mail"]) == ("Kai Carter", "5a1c3f0e9b2d7c48", None)
    assert graph(emulator, token, "/me/photo/$value").status_code == 200
    drive = graph(emulator, token, "/me/drive").json()
    assert drive["driveType"] == "personal"
    children = graph(emulator, token, "/me/drive/root/children").json()["value"]
    assert "Documents" in {c["name"] for c in children}


@pytest.mark.parametrize("segment", ["organizations", "tenant"])
def test_personal_account_is_refused_by_organization_authorities(emulator, segment):
    app = msal_app(emulator, emulator.tenant_id if segment == "tenant" else segment)
    flow = flow_for(app, ["User.Read"])
    with pytest.raises(SignInError, match="AADSTS500200"):
        emulator.sign_in(flow["auth_uri"], KAI)


def test_work_account_is_refused_by_the_consumers_authority(emulator):
    flow = flow_for(msal_app(emulator, "consumers"), ["User.Read"])
    with pytest.raises(SignInError, match="AADSTS50020"):
        emulator.sign_in(flow["auth_uri"], MEGAN)


@pytest.mark.parametrize("scope", ORG_ONLY)
def test_organization_only_scope_is_invalid_scope_for_a_personal_account(emulator, scope):
    flow = flow_for(msal_app(emulator, "common"), ["User.Read", scope])
    fields = emulator.sign_in(flow["auth_uri"], KAI)
    assert fields["error"] == "invalid_scope"
    assert fields["error_description"].startswith("AADSTS70011")
    assert fields["state"] == flow["state"]
    assert "code" not in fields


def test_consumers_authority_refuses_organization_scopes_before_any_page(emulator):
    flow = flow_for(msal_app(emulator, "consumers"), ["User.ReadBasic.All"])
    browser = emulator.browser()
    browser.open(flow["auth_uri"])
    _, fields = browser.auth_response()  # straight back to the app: no account picker
    assert fields["error"] == "invalid_scope" and fields["state"] == flow["state"]
    assert "AADSTS70011" in fields["error_description"]


def test_graph_refuses_directory_endpoints_to_personal_accounts_whatever_the_token_says(emulator):
    kai = emulator.state.directory.find_user(KAI)
    token, _ = emulator.state.signer.access_token(
        issuer=f"{LOGIN}/{CONSUMER_TID}/v2.0",
        client_id=emulator.client_id,
        user=kai,
        tid=CONSUMER_TID,
        scp="User.Read User.ReadBasic.All Group.Read.All Directory.Read.All",
        lifetime=3600,
        now=emulator.now(),
    )
    emulator.state.record_access_token(claims(token)["uti"])
    assert graph(emulator, token, "/me").status_code == 200
    adele = emulator.state.directory.find_user(ADELE)["id"]
    for path in ("/users", f"/users/{adele}", "/groups", "/me/memberOf", "/organization"):
        response = graph(emulator, token, path)
        assert (response.status_code, _error(response)) == (403, INSUFFICIENT), path


def test_personal_accounts_are_not_in_the_organizations_directory(emulator):
    emulator.grant_admin_consent(["User.Read.All"])
    token = signed_in(emulator, ADELE, ["User.Read.All"])["access_token"]
    upns = {
        u["userPrincipalName"]
        for u in graph(emulator, token, "/users", **{"$top": "50"}).json()["value"]
    }
    assert KAI not in upns and ELLIS in upns
    assert graph(emulator, token, f"/users/{KAI}").status_code == 404


def test_guest_cannot_list_users_or_groups_whatever_was_consented(emulator):
    emulator.grant_admin_consent(["User.Read.All", "Group.Read.All", "Directory.Read.All"])
    token = signed_in(emulator, ELLIS, ["User.ReadBasic.All", "Group.Read.All"])["access_token"]
    assert {"User.Read.All", "Group.Read.All"} <= set(claims(token)["scp"].split())
    for path in ("/users", "/groups"):
        response = graph(emulator, token, path)
        assert (response.status_code, _error(response)) == (403, INSUFFICIENT), path
    assert graph(emulator, token, "/me").json()["userPrincipalName"] == ELLIS


@pytest.mark.parametrize("upn", [LEE, ELLIS])
@pytest.mark.parametrize(
    "path", ["/me/drive", "/me/drive/root", "/me/drive/root/children", "/me/drive/root:/Documents:"]
)
def test_user_without_a_onedrive_gets_mysite_not_found(emulator, upn, path):
    token = signed_in(emulator, upn, ["User.Read", "Files.Read"])["access_token"]
    response = graph(emulator, token, path)
    assert response.status_code == 404
    assert _error(response) == ("ResourceNotFound", "User's mysite not found.")


def test_other_users_are_basic_profiles_under_user_readbasic_all(emulator):
    token = signed_in(emulator, GRADY, ["User.Read", "User.ReadBasic.All"])["access_token"]
    adele = emulator.state.directory.find_user(ADELE)["id"]
    other = graph(emulator, token, f"/users/{adele}").json()
    assert (other["displayName"], other["mail"], other["id"]) == ("Adele Vance", ADELE, adele)
    assert other["jobTitle"] is None and other["officeLocation"] is None
    selected = graph(emulator, token, f"/users/{adele}", **{"$select": "displayName,department"})
    assert selected.json()["department"] is None  # even when $select'ed
    listed = graph(emulator, token, "/users", **{"$top": "50", "$select": "mail,jobTitle"})
    titles = {u["mail"]: u["jobTitle"] for u in listed.json()["value"]}
    assert titles[GRADY] == "Designer"  # yourself: the full profile
    assert titles[ADELE] is None
    me = graph(emulator, token, "/me").json()
    assert me["jobTitle"] == "Designer" and "department" not in me  # default property set


def test_user_read_all_reads_other_users_full_profile(emulator):
    emulator.grant_admin_consent(["User.Read.All"])
    token = signed_in(emulator, GRADY, ["User.Read.All"])["access_token"]
    other = graph(emulator, token, f"/users/{ADELE}", **{"$select": "jobTitle,department"})
    assert other.json()["jobTitle"] == "Retail Manager"
    assert other.json()["department"] == "Retail"


def test_group_members_without_a_user_permission_are_type_and_id_only(emulator):
    emulator.grant_admin_consent(["Group.Read.All"])
    everyone = "c0bc0162-cfe7-41fd-b346-d1781c6e7f0f"
    narrow = signed_in(emulator, GRADY, ["Group.Read.All"])["access_token"]
    members = graph(emulator, narrow, f"/groups/{everyone}/members", **{"$top": "50"})
    assert members.json()["value"][0].keys() == {"@odata.type", "id"}
    basic = signed_in(emulator, GRADY, ["Group.Read.All", "User.ReadBasic.All"])["access_token"]
    members = graph(emulator, basic, f"/groups/{everyone}/members", **{"$top": "50"}).json()
    adele = next(m for m in members["value"] if m["mail"] == ADELE)
    assert adele["displayName"] == "Adele Vance" and adele["jobTitle"] is None


def test_login_hint_is_an_optional_claim_of_the_registration(emulator):
    assert "login_hint" in signed_in(emulator, MEGAN, ["User.Read"])["id_token_claims"]
    emulator.register_client("plain-app", "s-1", ["http://localhost:5000/getAToken"])
    emulator.register_client(
        "hinting-app", "s-2", ["http://localhost:5000/getAToken"], optional_claims=["login_hint"]
    )
    for client_id, secret, expected in [("plain-app", "s-1", False), ("hinting-app", "s-2", True)]:
        app = msal_app(emulator, client_id=client_id, secret=secret)
        flow = flow_for(app, ["User.Read"])
        result = app.acquire_token_by_auth_code_flow(
            flow, emulator.sign_in(flow["auth_uri"], MEGAN)
        )
        assert ("login_hint" in result["id_token_claims"]) is expected, client_id


def test_grant_consent_refuses_what_the_account_could_not_consent_to(emulator):
    with pytest.raises(ScopeError, match="AADSTS70011"):
        emulator.grant_consent(KAI, ["User.ReadBasic.All"])
    with pytest.raises(ValueError, match="AADSTS90094"):
        emulator.grant_consent(MEGAN, ["Group.Read.All"])
    emulator.grant_consent(ADELE, ["Group.Read.All"])  # an admin consents for herself
    assert "Group.Read.All" in emulator.consented(ADELE)
    assert "Group.Read.All" not in emulator.consented(MEGAN)


def test_users_are_labelled_for_the_demo_banner(entra_emulator_session):
    labels = {u["upn"]: u["label"] for u in entra_emulator_session.users}
    assert labels[ADELE].startswith("admin")
    assert (labels[ELLIS], labels[KAI], labels[LEE], labels[MEGAN]) == (
        "guest, no OneDrive",
        "personal Microsoft account",
        "member, no OneDrive",
        "member",
    )
    script = ROOT / "scripts" / "emulator_env.py"
    printed = subprocess.run(
        [sys.executable, str(script), "--users", str(entra_emulator_session.settings_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    kai = next(line for line in printed.splitlines() if KAI in line)
    assert kai.split() == [KAI, "Kai", "Carter", "personal", "Microsoft", "account"]

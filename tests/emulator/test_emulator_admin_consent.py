"""Admin consent as Entra does it: "Need admin approval", the organization checkbox, the
v2 /adminconsent endpoint and the tenant's consent settings."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from account_helpers import LOGIN, MEGAN, flow_for, msal_app, redirect_fields, signed_in
from emulator_helpers import ADELE, REDIRECT_URI, TIMEOUT


def _open(emulator, scopes, **flow_kwargs):
    """Start a sign-in in a new browser; return (browser, flow)."""
    flow = flow_for(msal_app(emulator), scopes, **flow_kwargs)
    browser = emulator.browser()
    browser.open(flow["auth_uri"])
    return browser, flow


def _approval_as(emulator, upn, scopes, **flow_kwargs):
    browser, flow = _open(emulator, scopes, **flow_kwargs)
    browser.pick_user(upn)
    assert "Need admin approval" in browser.page.text, browser.page.text[:400]
    return browser, flow


def _admin_consent_url(emulator, **params) -> str:
    query = {"client_id": emulator.client_id, "redirect_uri": REDIRECT_URI, "state": "s-42"}
    query.update(params)
    return f"{LOGIN}/{emulator.tenant_id}/v2.0/adminconsent?{urlencode(query)}"


@pytest.mark.parametrize("scope", ["Group.Read.All", "Directory.AccessAsUser.All"])
def test_non_admin_meets_need_admin_approval_and_back_to_app_is_cancel(emulator, scope):
    browser, flow = _approval_as(emulator, MEGAN, ["User.Read", scope])
    assert "AADSTS90094" in browser.page.text and scope in browser.page.text
    browser.approval("back")
    _, fields = browser.auth_response()  # form_post, as the app asked
    assert (fields["error"], fields["error_subcode"]) == ("access_denied", "cancel")
    assert fields["error_description"].startswith("AADSTS90094")
    assert fields["state"] == flow["state"] and "code" not in fields
    assert scope not in emulator.consented(MEGAN)


def test_headless_sign_in_answers_the_approval_page_with_back_to_app(emulator):
    flow = flow_for(msal_app(emulator), ["Group.Read.All"])
    fields = emulator.sign_in(flow["auth_uri"], MEGAN)
    assert fields["error_subcode"] == "cancel"


def test_admin_consents_for_herself_unless_she_ticks_the_organization_box(emulator):
    browser, _ = _open(emulator, ["Group.Read.All"])
    browser.pick_user(ADELE)
    assert "Consent on behalf of your organization" in browser.page.text
    browser.consent()
    assert "code" in browser.auth_response()[1]
    assert "Group.Read.All" in emulator.consented(ADELE)
    _approval_as(emulator, MEGAN, ["Group.Read.All"])  # still needs an admin


def test_consent_on_behalf_of_the_organization_lets_a_non_admin_in_without_any_page(emulator):
    signed_in(emulator, ADELE, ["Group.Read.All"], for_organization=True)
    browser, flow = _open(emulator, ["Group.Read.All"])
    browser.pick_user(MEGAN)
    _, fields = browser.auth_response()  # no consent page, no approval page
    result = msal_app(emulator).acquire_token_by_auth_code_flow(flow, fields)
    assert "Group.Read.All" in result["scope"]


def test_non_admin_pages_show_no_organization_box(emulator):
    browser, _ = _open(emulator, ["User.Read"])
    browser.pick_user(MEGAN)
    assert "Permissions requested" in browser.page.text
    assert "on behalf of your organization" not in browser.page.text


def test_a_non_admin_cannot_consent_by_posting_the_form(emulator):
    browser, _ = _open(emulator, ["User.Read"])
    browser.pick_user(MEGAN)
    refused = browser.consent(for_organization=True)
    assert refused.status_code == 400
    assert emulator.state.tenant_consents == {}


def test_prompt_consent_interrupts_a_non_admin_even_after_tenant_consent(emulator):
    emulator.grant_admin_consent(["Group.Read.All", "openid", "profile", "offline_access"])
    assert "code" in emulator.sign_in(
        flow_for(msal_app(emulator), ["Group.Read.All"])["auth_uri"], MEGAN
    )
    _approval_as(emulator, MEGAN, ["Group.Read.All"], prompt="consent")


def test_have_an_admin_account_switches_to_the_picker(emulator):
    browser, _ = _approval_as(emulator, MEGAN, ["Group.Read.All"])
    browser.approval("switch")
    assert "Pick an account" in browser.page.text
    browser.pick_user(ADELE)
    assert "Consent on behalf of your organization" in browser.page.text


def test_admin_consent_workflow_offers_a_request_form(emulator):
    emulator.set_admin_consent_workflow(True)
    browser, _ = _approval_as(emulator, MEGAN, ["Group.Read.All"])
    assert "AADSTS90095" in browser.page.text
    browser.approval("request", justification="For the team's group pages")
    assert "Request sent" in browser.page.text
    assert emulator.admin_consent_requests() == [
        {
            "user": MEGAN,
            "client_id": emulator.client_id,
            "scopes": ["offline_access", "openid", "profile", "Group.Read.All"],
            "justification": "For the team's group pages",
        }
    ]
    browser.submit(browser.forms()[0], decision="back")
    fields = browser.auth_response()[1]
    assert fields["error_subcode"] == "cancel" and "AADSTS90095" in fields["error_description"]


def test_without_user_consent_every_permission_needs_an_admin(emulator):
    emulator.set_user_consent_allowed(False)
    browser, _ = _approval_as(emulator, MEGAN, ["User.Read"])
    assert "AADSTS90093" in browser.page.text
    signed_in(emulator, ADELE, ["User.Read"])  # admins still consent
    emulator.grant_admin_consent(["User.Read", "openid", "profile", "offline_access"])
    signed_in(emulator, MEGAN, ["User.Read"])


def test_adminconsent_endpoint_grants_for_the_tenant(emulator):
    browser = emulator.browser()
    browser.open(_admin_consent_url(emulator, scope="https://graph.microsoft.com/Group.Read.All"))
    browser.pick_user(ADELE)
    assert "for everyone in your organization" in browser.page.text
    fields = redirect_fields(browser.consent())
    assert fields == {
        "admin_consent": "True",
        "tenant": emulator.tenant_id,
        "scope": "https://graph.microsoft.com/Group.Read.All",
        "state": "s-42",
    }
    signed_in(emulator, MEGAN, ["Group.Read.All"])


def test_adminconsent_endpoint_tells_a_non_admin_to_ask_an_admin(emulator):
    browser = emulator.browser()
    browser.open(_admin_consent_url(emulator, scope="User.Read"))
    browser.pick_user(MEGAN)
    assert "Need admin approval" in browser.page.text
    fields = redirect_fields(browser.approval("back"))
    assert fields["admin_consent"] == "True" and fields["error"] == "access_denied"
    assert fields["state"] == "s-42"
    assert emulator.state.tenant_consents == {}


def test_adminconsent_cancelled_by_the_admin_is_consent_required(emulator):
    browser = emulator.browser()
    browser.open(_admin_consent_url(emulator, scope="Group.Read.All"))
    browser.pick_user(ADELE)
    fields = redirect_fields(browser.consent(accept=False))
    assert fields["error"] == "consent_required" and "AADSTS65004" in fields["error_description"]


@pytest.mark.parametrize(
    ("tenant", "params", "code"),
    [
        ("consumers", {}, "AADSTS90002"),
        (None, {"redirect_uri": "http://localhost:5000/elsewhere"}, "AADSTS50011"),
        (None, {"client_id": "not-registered"}, "AADSTS700016"),
    ],
)
def test_adminconsent_endpoint_errors_are_pages(emulator, tenant, params, code):
    url = _admin_consent_url(emulator, scope="User.Read", **params)
    if tenant:
        url = url.replace(emulator.tenant_id, tenant)
    browser = emulator.browser()
    page = browser.open(url)
    assert page.status_code == 400 and code in " ".join(browser.errors())


def test_reset_consent_forgets_tenant_wide_consent_too(emulator):
    emulator.grant_admin_consent(["Group.Read.All"])
    assert "Group.Read.All" in emulator.consented(MEGAN)
    emulator.reset_consent()
    assert "Group.Read.All" not in emulator.consented(MEGAN)


def test_control_api_sets_tenant_settings_and_grants_admin_consent(
    entra_emulator, ca_trusting_session
):
    def control(method, path, **body):
        url = entra_emulator.control_url + path
        return ca_trusting_session.request(method, url, json=body or None, timeout=TIMEOUT)

    assert control("GET", "/tenant-settings").json() == {
        "user_consent_allowed": True,
        "admin_consent_workflow": False,
    }
    changed = control("POST", "/tenant-settings", user_consent_allowed=False)
    assert changed.json()["user_consent_allowed"] is False
    assert control("POST", "/tenant-settings", user_consent_allowed="no").status_code == 400
    granted = control("POST", "/admin-consent", scopes=["Group.Read.All"])
    assert granted.status_code == 200 and "Group.Read.All" in granted.json()["scopes"]
    assert "Group.Read.All" in entra_emulator.consented(MEGAN)
    assert control("POST", "/admin-consent", scopes=["Mail.Send"]).status_code == 400
    assert control("GET", "/admin-consent-requests").json() == {"value": []}

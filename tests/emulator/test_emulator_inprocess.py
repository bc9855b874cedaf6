"""No listener at all: real MSAL and requests reach the emulator through its in-process
transport, at the real service's URLs (nothing resolves them here, so a request that tried
the network would fail)."""

from __future__ import annotations

import entra_emulator
import msal
import pytest
import requests
import responses
from emulator_helpers import ADELE, REDIRECT_URI


def _msal_app(emulator, client_id=None, secret=None, **kwargs):
    kwargs.setdefault("http_client", emulator.http_client())
    return msal.ConfidentialClientApplication(
        client_id or emulator.client_id,
        client_credential=secret or emulator.client_secret,
        authority=emulator.authority,
        **kwargs,
    )


def _flow(app, scopes=("User.Read",)):
    return app.initiate_auth_code_flow(
        list(scopes), redirect_uri=REDIRECT_URI, response_mode="form_post"
    )


def _graph_me(emulator, token: str) -> requests.Response:
    with requests.Session() as graph:
        graph.mount(emulator.graph_endpoint, emulator.requests_adapter())
        return graph.get(
            f"{emulator.graph_endpoint}/me", headers={"Authorization": f"Bearer {token}"}
        )


def _redeem(emulator, app, user=ADELE) -> dict:
    """Sign USER in headlessly and redeem the code with MSAL."""
    flow = _flow(app)
    return app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], user))


def test_urls_are_the_real_services(emulator):
    assert emulator.authority == f"https://login.microsoftonline.com/{emulator.tenant_id}"
    assert emulator.graph_endpoint == "https://graph.microsoft.com/v1.0"
    assert emulator.ca_bundle is None and not emulator.listening


def test_msal_signs_in_through_sign_in_and_graph_answers_me(emulator):
    app = _msal_app(emulator)  # instance discovery left on: login.microsoftonline.com is known
    flow = _flow(app)
    fields = emulator.sign_in(flow["auth_uri"], ADELE)
    assert set(fields) == {"code", "client_info", "session_state", "state"}
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert "access_token" in result, result
    assert result["id_token_claims"]["iss"] == f"{emulator.authority}/v2.0"
    me = _graph_me(emulator, result["access_token"])
    assert me.status_code == 200 and me.json()["userPrincipalName"] == ADELE
    assert me.json()["@odata.context"].startswith("https://graph.microsoft.com/v1.0/$metadata")
    (account,) = app.get_accounts()
    assert account["environment"] == "login.microsoftonline.com"
    assert app.acquire_token_silent(["User.Read"], account, force_refresh=True)["access_token"]


def test_sign_in_returns_query_mode_fields_from_the_redirect(emulator):
    app = _msal_app(emulator)
    flow = _flow(app)
    # MSAL warns about query mode, so the URL is changed after the fact.
    uri = flow["auth_uri"].replace("response_mode=form_post", "response_mode=query")
    fields = emulator.sign_in(uri, ADELE)
    assert fields["state"] == flow["state"]
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, fields)


def test_declined_consent_is_access_denied_for_msal(emulator):
    app = _msal_app(emulator)
    flow = _flow(app, ["Files.Read"])
    fields = emulator.sign_in(flow["auth_uri"], "jose@contoso.example", consent=False)
    assert fields["error"] == "access_denied"
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert result["error"] == "access_denied"


def test_sign_in_stops_at_error_pages(emulator):
    app = _msal_app(emulator)
    with pytest.raises(entra_emulator.SignInError, match="AADSTS50034"):
        emulator.sign_in(_flow(app)["auth_uri"], "nobody@contoso.example")
    stranger = _msal_app(emulator, "11111111-1111-1111-1111-111111111111", "x")
    with pytest.raises(entra_emulator.SignInError, match="AADSTS700016"):
        emulator.sign_in(_flow(stranger)["auth_uri"], ADELE)


def test_http_client_refuses_every_other_url(emulator):
    with pytest.raises(entra_emulator.NotServedByEmulator):
        emulator.http_client().get("https://example.com/")
    with pytest.raises(entra_emulator.NotServedByEmulator):
        emulator.http_client().get("https://login.microsoftonline.com.example.com/")


def test_instance_discovery_answers_only_for_its_own_host(emulator):
    client = emulator.http_client()
    url = "https://login.microsoftonline.com/common/discovery/instance"
    ok = client.get(
        url,
        params={
            "api-version": "1.1",
            "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/authorize",
        },
    )
    assert ok.json()["metadata"][0]["aliases"] == ["login.microsoftonline.com"]
    other = client.get(url, params={"authorization_endpoint": "https://evil.example/x"})
    assert other.status_code == 400 and other.json()["error_codes"] == [50049]


def test_responses_callbacks_serve_msal_default_http_client(emulator):
    """How unit tests that already use `responses` get the emulator's answers."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        emulator.register_with(mock)
        app = _msal_app(emulator, http_client=None)  # MSAL's own requests.Session
        flow = _flow(app)
        result = app.acquire_token_by_auth_code_flow(
            flow, emulator.sign_in(flow["auth_uri"], ADELE)
        )
        me = requests.get(
            f"{emulator.graph_endpoint}/me",
            headers={"Authorization": f"Bearer {result['access_token']}"},
            timeout=10,
        )
        assert me.json()["displayName"] == "Adele Vance"
        token_calls = [c for c in mock.calls if c.request.url.endswith("/oauth2/v2.0/token")]
        assert len(token_calls) == 1


def test_added_user_signs_in_is_listed_and_is_gone_after_reset(emulator):
    user = emulator.add_user(
        "kim@contoso.example", "Kim Akers", groups=["All Company"], jobTitle="Engineer"
    )
    kim = {"upn": "kim@contoso.example", "name": "Kim Akers", "id": user["id"], "label": "member"}
    assert kim in emulator.users
    result = _redeem(emulator, _msal_app(emulator), "kim@contoso.example")
    me = _graph_me(emulator, result["access_token"]).json()
    assert (me["id"], me["jobTitle"]) == (user["id"], "Engineer")
    emulator.reset()
    assert "kim@contoso.example" not in {u["upn"] for u in emulator.users}
    # Tokens issued before a reset are no longer honoured.
    assert _graph_me(emulator, result["access_token"]).status_code == 401


def test_reset_forgets_consent(emulator):
    app = _msal_app(emulator)
    assert "access_token" in _redeem(emulator, app)
    emulator.reset()
    flow = _flow(app)
    declined = emulator.sign_in(flow["auth_uri"], ADELE, consent=False)
    assert declined["error"] == "access_denied"  # the consent page was shown again


def test_registered_client_signs_in_with_its_own_secret(emulator):
    emulator.register_client("c-2", "s-2", [REDIRECT_URI], display_name="Second app")
    result = _redeem(emulator, _msal_app(emulator, "c-2", "s-2"))
    assert result["id_token_claims"]["aud"] == "c-2"
    refused = _redeem(emulator, _msal_app(emulator, "c-2", "nope"))
    assert refused["error_codes"] == [7000215]


def test_handle_knobs_match_the_control_api(emulator):
    app = _msal_app(emulator)
    result = _redeem(emulator, app)
    emulator.set_fault(429, count=1, retry_after=3)
    throttled = _graph_me(emulator, result["access_token"])
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    assert _graph_me(emulator, result["access_token"]).status_code == 200
    assert emulator.counters()["graph_paths"] == {"/v1.0/me": 2}
    assert emulator.revoke(ADELE) == 1
    (account,) = app.get_accounts()
    refreshed = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert refreshed["error_codes"] == [50173]
    emulator.expire_tokens()
    assert _graph_me(emulator, result["access_token"]).status_code == 401


def test_granted_consent_needs_no_consent_page_and_lets_refreshes_add_scopes(emulator):
    app = _msal_app(emulator)
    assert "access_token" in _redeem(emulator, app)
    assert emulator.consented(ADELE) == {"openid", "profile", "offline_access", "User.Read"}

    emulator.grant_consent(ADELE, ["https://graph.microsoft.com/Files.Read"])
    assert "Files.Read" in emulator.consented(ADELE)
    (account,) = app.get_accounts()
    granted = app.acquire_token_silent_with_error(["Files.Read"], account)
    assert "access_token" in granted, granted  # without the grant: consent_required
    flow = _flow(app, ["Files.Read"])
    # No consent page any more: Cancel is never pressed, a code comes back.
    assert "code" in emulator.sign_in(flow["auth_uri"], ADELE, consent=False)


def test_grant_consent_refuses_what_the_tenant_does_not_know(emulator):
    with pytest.raises(ValueError, match="AADSTS70011"):
        emulator.grant_consent(ADELE, ["Mail.Send"])
    with pytest.raises(KeyError):
        emulator.grant_consent("nobody@contoso.example", ["Files.Read"])
    with pytest.raises(KeyError):
        emulator.grant_consent(ADELE, ["Files.Read"], client_id="not-registered")
    assert emulator.consented(ADELE) == set()

"""Signing in: the auth-code flow end to end, and every way it can fail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from app_helpers import ADELE, SignIn, sign_out

GRAPH = "https://graph.microsoft.com/v1.0"
MEGAN = "megan@contoso.example"


def signed_in_name(client) -> bool:
    return "Welcome, Adele Vance" in client.get("/").get_data(as_text=True)


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def cross_site_post(client, form: dict, **kwargs):
    """The identity provider's form_post as a browser sends it, and the page it leads to.

    The POST comes from another site, so the Lax session cookie stays behind; the GET
    the 303 leads to is a top-level navigation, which it comes with again.
    """
    session = client.get_cookie("session")
    client.delete_cookie("session")
    response = client.post("/getAToken", data=form, **kwargs)
    assert response.status_code == 303
    if session is not None and client.get_cookie("session") is None:
        client.set_cookie("session", session.value)
    return client.get(response.headers["Location"], **kwargs)


def spoil_nonce(token_endpoint, form: dict) -> dict:
    """The IdP's ID token for this code will carry another sign-in's nonce."""
    token_endpoint.tamper_id_tokens({"nonce": "someone-elses-nonce"}, code=form["code"])
    return form


def refuse_code(token_endpoint, form: dict) -> dict:
    """A code the token endpoint does not know (expired, made up)."""
    return {**form, "code": "expired-or-made-up"}


def test_login_redirects_to_the_authorize_endpoint_with_pkce_state_nonce_and_form_post(
    client_sign_in,
):
    location = client_sign_in.start()
    url = urlsplit(location)
    query = parse_qs(url.query)
    assert url.path.endswith("/oauth2/v2.0/authorize")
    assert query["response_mode"] == ["form_post"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://localhost/getAToken"]
    assert {"state", "nonce", "code_challenge"} <= query.keys()
    assert "User.Read" in query["scope"][0].split()


def test_flow_cookie_survives_the_cross_site_form_post(client_sign_in):
    header = client_sign_in.client.get("/login").headers.getlist("Set-Cookie")
    binding = next(h for h in header if h.startswith("auth_flow="))
    assert "SameSite=None" in binding and "Secure" in binding and "HttpOnly" in binding
    assert "Max-Age=600" in binding


def test_main_session_cookie_stays_lax_and_http_only(client_sign_in):
    header = client_sign_in().headers.getlist("Set-Cookie")
    main = next(h for h in header if h.startswith("session="))
    assert "SameSite=Lax" in main and "HttpOnly" in main


def test_user_signs_in_and_sees_their_name(client_sign_in):
    response = client_sign_in()
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client_sign_in.client.get("/").get_data(as_text=True)
    assert "Welcome, Adele Vance" in page
    assert "Sign out" in page


def test_sign_in_returns_to_the_page_the_user_asked_for(client_sign_in):
    response = client_sign_in("/graphcall?x=1")
    assert response.headers["Location"] == "/graphcall?x=1"


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example", "/\\evil.example", "/\t/evil.example", "evil"],
)
def test_return_to_outside_the_site_is_ignored(client_sign_in, target):
    response = client_sign_in(target)
    assert response.headers["Location"] == "/"


def test_session_id_changes_at_sign_in(client_sign_in):
    client_sign_in()  # a session exists now, e.g. one an attacker planted
    before = session_cookie(client_sign_in.client)
    assert before
    client_sign_in()
    after = session_cookie(client_sign_in.client)
    assert after and after != before


def test_signing_in_as_someone_else_starts_from_an_empty_session(
    client_sign_in, token_endpoint, http_mock
):
    """Nothing of Adele's visit, here her just-renewed tokens, carries over to Megan."""
    rejected = {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}
    http_mock.get(f"{GRAPH}/me", json=rejected, status=401)  # Adele's token
    http_mock.get(f"{GRAPH}/me", json=rejected, status=401)  # Megan's first token
    http_mock.get(f"{GRAPH}/me", json={"displayName": "Megan Bowen"})
    client = client_sign_in.client
    client_sign_in()
    assert client.get("/graphcall").headers["Location"] == "/graphcall"  # Adele's renewed

    assert client_sign_in(user=MEGAN).status_code == 303
    megans_tokens = token_endpoint.calls()[-1].answer  # her code redeemed
    assert "Welcome, Megan Bowen" in client.get("/").get_data(as_text=True)
    # Megan's token was never renewed, so Graph's refusal of it is answered by renewing it.
    response = client.get("/graphcall")
    assert response.status_code == 302
    assert response.headers["Location"] == "/graphcall"
    renewal = token_endpoint.calls()[-1]
    assert renewal.form["grant_type"] == "refresh_token"
    assert renewal.form["refresh_token"] == megans_tokens["refresh_token"]
    assert "Megan Bowen" in client.get("/graphcall").get_data(as_text=True)


def test_tokens_never_reach_the_browser(client_sign_in, token_endpoint):
    response = client_sign_in()
    cookies = " ".join(response.headers.getlist("Set-Cookie"))
    page = client_sign_in.client.get("/").get_data(as_text=True)
    (redeemed,) = token_endpoint.calls()
    tokens = [redeemed.answer[k] for k in ("access_token", "refresh_token", "id_token")]
    for token in tokens:
        assert token not in cookies and token not in page
    assert "eyJ" not in cookies  # no JWT (ID or access token) in any cookie


def test_two_tabs_can_sign_in_at_once(client_sign_in):
    first = client_sign_in.authorize("/first")
    second = client_sign_in.authorize("/second")
    assert client_sign_in.client.post("/getAToken", data=second).headers["Location"] == "/second"
    assert client_sign_in.client.post("/getAToken", data=first).headers["Location"] == "/first"


def test_user_declining_consent_sees_a_friendly_error(client_sign_in):
    location = client_sign_in.start()
    state = parse_qs(urlsplit(location).query)["state"][0]
    response = client_sign_in.client.post(
        "/getAToken",
        data={
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent <b>now</b>",
            "state": state,
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Sign-in did not complete" in page
    assert "AADSTS65004: User declined to consent &lt;b&gt;now&lt;/b&gt;" in page
    assert "Try again" in page
    assert not signed_in_name(client_sign_in.client)


def test_callback_without_state_says_the_sign_in_expired(client_sign_in):
    client_sign_in.start()
    response = client_sign_in.client.post("/getAToken", data={"code": "abc"}, follow_redirects=True)
    assert response.status_code == 400
    assert "Your sign-in expired" in response.get_data(as_text=True)
    assert "start again" in response.get_data(as_text=True)


def test_callback_with_unknown_state_is_rejected(client_sign_in):
    form = client_sign_in.authorize()
    form["state"] = "forged-state"
    response = client_sign_in.client.post("/getAToken", data=form, follow_redirects=True)
    assert response.status_code == 400
    assert "Your sign-in expired" in response.get_data(as_text=True)
    assert not signed_in_name(client_sign_in.client)


def test_a_callback_reaching_another_browser_is_rejected(client_sign_in, app):
    """Login CSRF: an attacker's code posted to the victim's browser does nothing."""
    attacker_form = client_sign_in.authorize()
    victim = app.test_client()
    response = victim.post("/getAToken", data=attacker_form, follow_redirects=True)
    assert response.status_code == 400
    assert "started elsewhere" in response.get_data(as_text=True)
    assert not signed_in_name(victim)


@pytest.mark.parametrize("sign_out_first", [False, True], ids=["signed-in", "signed-out"])
def test_a_replayed_callback_is_refused_without_asking_the_token_endpoint(
    client_sign_in, token_endpoint, sign_out_first
):
    """The same authorization response posted again (back button, resubmit) is used up."""
    client = client_sign_in.client
    form = client_sign_in.authorize()
    assert client.post("/getAToken", data=form).status_code == 303
    if sign_out_first:
        sign_out(client)
    before = len(token_endpoint.calls())
    again = cross_site_post(client, form)
    assert token_endpoint.calls()[before:] == []  # refused by us, not by the IdP's replay check
    if sign_out_first:
        assert again.status_code == 400
        assert "Your sign-in expired" in again.get_data(as_text=True)
    else:
        assert again.status_code == 200
        assert "You are already signed in" in again.get_data(as_text=True)
    assert signed_in_name(client) == (not sign_out_first)  # and nothing else changed


def declined_form(client_sign_in, next_path: str = "/", scope: str = "Files.Read") -> dict:
    """What the identity provider posts back when the user cancels on its consent page."""
    state = parse_qs(urlsplit(client_sign_in.start(next_path, scope=scope)).query)["state"][0]
    return {
        "error": "access_denied",
        "error_subcode": "cancel",
        "error_description": "AADSTS65004: User declined to consent to access the app.",
        "state": state,
    }


def test_a_failed_callback_is_answered_with_a_303_carrying_nothing_of_the_response(
    client_sign_in,
):
    form = {**client_sign_in.authorize(), "state": "forged-state"}
    response = client_sign_in.client.post("/getAToken", data=form)
    assert response.status_code == 303
    assert response.headers["Location"] == "/getAToken"  # no code, state or error in the URL
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "sign_in_outcome=" in c]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/getAToken" in cookie
    assert form["code"] not in cookie and "forged-state" not in cookie
    assert len(cookie) < 4096


def test_a_signed_in_user_declining_a_permission_still_sees_themselves_signed_in(
    signed_in_client, client_sign_in
):
    page = cross_site_post(signed_in_client, declined_form(client_sign_in, "/files/"))
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "You declined the permission" in text
    assert "AADSTS65004" in text
    assert "Sign out" in text and "Signed in as adele@contoso.example" in text
    assert "/login?next=/files/" in unescape(text)  # Try again returns to the page


def test_the_back_button_after_sign_in_says_already_signed_in_and_leads_on(
    client_sign_in, emulator
):
    """Back re-runs the authorize request: the IdP answers again, with the used state."""
    authorize = client_sign_in.start("/graphcall?x=1")
    client = client_sign_in.client
    assert cross_site_post(client, emulator.sign_in(authorize, ADELE)).request.path == "/graphcall"
    again = cross_site_post(client, emulator.sign_in(authorize, ADELE))
    text = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "You are already signed in" in text
    assert "more than 10 minutes" not in text
    assert 'href="/graphcall?x=1"' in text


def test_a_replay_reaching_another_signed_in_browser_does_not_learn_where_it_went(
    client_sign_in, emulator, app
):
    authorize = client_sign_in.start("/files/Secret%20plans")
    form = emulator.sign_in(authorize, ADELE)
    assert client_sign_in.client.post("/getAToken", data=form).status_code == 303
    other = SignIn(app.test_client(), emulator)
    assert other(user=MEGAN).status_code == 303
    again = cross_site_post(other.client, emulator.sign_in(authorize, ADELE))
    text = again.get_data(as_text=True)
    assert "You are already signed in" in text and "Secret" not in text


@pytest.mark.parametrize("query", ["", "?code=abc", "?state=made-up"])
def test_opening_the_redirect_uri_while_signed_in_says_already_signed_in(signed_in_client, query):
    response = signed_in_client.get(f"/getAToken{query}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You are already signed in" in text
    assert 'href="/"' in text


def test_opening_the_redirect_uri_while_signed_out_says_the_sign_in_expired(client):
    response = client.get("/getAToken")
    assert response.status_code == 400
    assert "Your sign-in expired" in response.get_data(as_text=True)


def test_an_outcome_cookie_the_app_did_not_sign_is_not_believed(client_sign_in):
    client = client_sign_in.client
    client.post("/getAToken", data=declined_form(client_sign_in))
    genuine = client.get_cookie("sign_in_outcome", path="/getAToken").value
    forged = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    client.set_cookie("sign_in_outcome", forged, path="/getAToken")
    text = client.get("/getAToken").get_data(as_text=True)
    assert "Your sign-in expired" in text and "declined" not in text


def test_the_outcome_is_forgotten_after_two_minutes(client_sign_in, time_machine):
    time_machine.move_to(datetime.now(UTC))
    client = client_sign_in.client
    client.post("/getAToken", data=declined_form(client_sign_in))
    assert "You declined" in client.get("/getAToken").get_data(as_text=True)  # and on reload
    assert "You declined" in client.get("/getAToken").get_data(as_text=True)
    time_machine.shift(timedelta(minutes=3))
    assert "Your sign-in expired" in client.get("/getAToken").get_data(as_text=True)


def test_a_sign_in_after_a_failed_one_forgets_the_failure(client_sign_in):
    client = client_sign_in.client
    client.post("/getAToken", data=declined_form(client_sign_in))
    assert client_sign_in().status_code == 303
    assert client.get_cookie("sign_in_outcome", path="/getAToken") is None


def test_a_very_long_error_description_is_cut_and_still_fits_a_cookie(client_sign_in):
    form = {**declined_form(client_sign_in), "error_description": "AADSTS65004: " + "x" * 5000}
    response = client_sign_in.client.post("/getAToken", data=form)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "sign_in_outcome" in c)
    assert len(cookie) < 4096
    text = client_sign_in.client.get("/getAToken").get_data(as_text=True)
    assert "AADSTS65004: xxx" in text and "x" * 1000 not in text


def test_a_sign_in_finished_within_ten_minutes_of_starting_succeeds(client_sign_in, time_machine):
    time_machine.move_to(datetime.now(UTC))
    form = client_sign_in.authorize()
    time_machine.shift(timedelta(minutes=9))
    assert client_sign_in.client.post("/getAToken", data=form).status_code == 303
    assert signed_in_name(client_sign_in.client)


def test_a_sign_in_finished_more_than_ten_minutes_after_it_started_has_expired(
    client_sign_in, token_endpoint, time_machine
):
    time_machine.move_to(datetime.now(UTC))
    form = client_sign_in.authorize()
    time_machine.shift(timedelta(minutes=11))
    # The test client still sends the binding cookie (as a browser with a wrong clock
    # would), so what refuses the response is the pending sign-in's own expiry.
    before = len(token_endpoint.calls())
    response = client_sign_in.client.post("/getAToken", data=form, follow_redirects=True)
    assert token_endpoint.calls()[before:] == []
    assert response.status_code == 400
    assert "Your sign-in expired" in response.get_data(as_text=True)
    assert not signed_in_name(client_sign_in.client)


def test_id_token_with_the_wrong_nonce_is_rejected_and_nothing_kept(
    client_sign_in, token_endpoint, http_mock
):
    form = spoil_nonce(token_endpoint, client_sign_in.authorize())
    response = client_sign_in.client.post("/getAToken", data=form, follow_redirects=True)
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)
    assert not signed_in_name(client_sign_in.client)
    me = http_mock.get(f"{GRAPH}/me", json={"displayName": "Adele Vance"})
    profile = client_sign_in.client.get("/graphcall")
    assert profile.status_code == 302  # no token was kept: sign in first
    assert urlsplit(profile.headers["Location"]).path == "/login"
    assert me.call_count == 0


@pytest.mark.parametrize("spoil", [spoil_nonce, refuse_code], ids=["wrong-nonce", "code-refused"])
def test_a_failed_sign_in_leaves_the_signed_in_user_with_their_own_tokens(
    signed_in_client, client_sign_in, token_endpoint, http_mock, spoil
):
    me = http_mock.get(f"{GRAPH}/me", json={"displayName": "Adele Vance"})
    assert signed_in_client.get("/graphcall").status_code == 200
    own_token = me.calls[-1].request.headers["Authorization"]

    # She starts another sign-in (say, for a page's permission) and it fails.
    failed = cross_site_post(signed_in_client, spoil(token_endpoint, client_sign_in.authorize()))
    assert failed.status_code == 400

    assert signed_in_name(signed_in_client)
    assert signed_in_client.get("/graphcall").status_code == 200
    assert me.calls[-1].request.headers["Authorization"] == own_token


def test_invalid_code_shows_the_identity_providers_error(client_sign_in, token_endpoint):
    form = refuse_code(token_endpoint, client_sign_in.authorize())
    response = client_sign_in.client.post("/getAToken", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    # Entra's answer to a code it never issued (54005 is for a code already redeemed).
    assert "invalid_grant" in page and "AADSTS70000" in page
    assert not signed_in_name(client_sign_in.client)


def test_forged_client_info_is_a_failed_sign_in_not_a_crash(client_sign_in):
    form = client_sign_in.authorize()
    form["client_info"] = base64.urlsafe_b64encode(b"42").decode()  # "uid" in 42: TypeError
    response = client_sign_in.client.post("/getAToken", data=form, follow_redirects=True)
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)


def test_failed_sign_in_is_logged_in_one_line_without_secrets(
    client_sign_in, token_endpoint, caplog
):
    form = spoil_nonce(token_endpoint, client_sign_in.authorize())
    client_sign_in.client.post("/getAToken", data=form)
    lines = [r for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].exc_info is None
    assert form["code"] not in caplog.text


def test_callback_by_get_query_also_works(client_sign_in):
    form = client_sign_in.authorize()
    response = client_sign_in.client.get("/getAToken", query_string=form)
    assert response.status_code == 303


def test_many_sign_in_attempts_share_one_binding_cookie(client_sign_in):
    """Cookies do not pile up (and overflow request headers) however often /login is hit."""
    for _ in range(20):
        client_sign_in.start()
    assert client_sign_in.client.get_cookie("auth_flow") is not None
    headers = client_sign_in.client.get("/login").headers.getlist("Set-Cookie")
    assert sorted(h.split("=")[0] for h in headers) == ["auth_flow", "auth_flow_legacy"]


def test_a_client_that_drops_secure_cookies_on_http_still_signs_in(client_sign_in):
    form = client_sign_in.authorize()
    assert client_sign_in.client.get_cookie("auth_flow").secure
    assert not client_sign_in.client.get_cookie("auth_flow_legacy").secure
    client_sign_in.client.delete_cookie("auth_flow")
    assert client_sign_in.client.post("/getAToken", data=form).status_code == 303
    assert signed_in_name(client_sign_in.client)


def test_a_callback_without_any_binding_cookie_is_rejected(client_sign_in):
    form = client_sign_in.authorize()
    client_sign_in.client.delete_cookie("auth_flow")
    client_sign_in.client.delete_cookie("auth_flow_legacy")
    response = client_sign_in.client.post("/getAToken", data=form, follow_redirects=True)
    assert response.status_code == 400
    assert not signed_in_name(client_sign_in.client)


def test_scopes_no_page_declares_are_not_asked_for(client_sign_in):
    location = client_sign_in.start(scope=["Mail.Send", "Files.Read", "Directory.ReadWrite.All"])
    scopes = parse_qs(urlsplit(location).query)["scope"][0].split()
    assert "Files.Read" in scopes
    assert "Mail.Send" not in scopes and "Directory.ReadWrite.All" not in scopes


def test_a_signed_in_user_signs_in_again_as_themselves_without_a_picker(
    signed_in_client, client_sign_in
):
    query = parse_qs(urlsplit(client_sign_in.start(scope=["Files.Read"])).query)
    assert query["login_hint"] == ["adele@contoso.example"]
    assert "prompt" not in query


def authorize_claims(location: str) -> dict | None:
    """The claims an authorize URL asks the identity provider for, or None."""
    claims = parse_qs(urlsplit(location).query).get("claims")
    return json.loads(claims[0]) if claims else None


@pytest.mark.parametrize(
    "claims",
    ["not json", '{"access_token": ', "[]", '["access_token"]', '"access_token"', "42", "null"],
)
def test_login_ignores_claims_that_are_not_a_json_object(client_sign_in, claims):
    plain = authorize_claims(client_sign_in.start())
    response = client_sign_in.client.get("/login", query_string={"claims": claims})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).path.endswith("/oauth2/v2.0/authorize")
    assert authorize_claims(location) == plain  # asked for as if no claims had been given


def test_login_passes_a_json_object_of_claims_on_to_the_identity_provider(client_sign_in):
    wanted = {"id_token": {"auth_time": {"essential": True}}}
    asked = authorize_claims(client_sign_in.start(claims=json.dumps(wanted)))
    assert asked["id_token"] == wanted["id_token"]


def test_a_new_visitor_may_pick_an_account(client_sign_in):
    query = parse_qs(urlsplit(client_sign_in.start()).query)
    assert query["prompt"] == ["select_account"]
    assert "login_hint" not in query


def test_on_https_the_binding_cookie_is_secure_only_and_strict_transport_security_is_sent(
    client,
):
    # An attribute-less copy on https could be planted over http to bind a victim's browser.
    response = client.get("/login", base_url="https://localhost")
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split("=")[0] for c in cookies] == ["auth_flow"]
    assert "Secure" in cookies[0] and "SameSite=None" in cookies[0]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    home = client.get("/", base_url="https://localhost")
    assert "Strict-Transport-Security" in home.headers


def test_on_plain_http_there_is_no_strict_transport_security(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_on_https_a_binding_cookie_without_attributes_is_not_believed(client_sign_in):
    # Such a cookie can be planted over plain http by a network attacker.
    form = client_sign_in.authorize()
    client_sign_in.client.delete_cookie("auth_flow")
    assert client_sign_in.client.get_cookie("auth_flow_legacy") is not None
    response = client_sign_in.client.post(
        "/getAToken", data=form, base_url="https://localhost", follow_redirects=True
    )
    assert response.status_code == 400
    assert "This sign-in was started elsewhere" in response.get_data(as_text=True)

"""/graphcall: the signed-in user's Microsoft Graph profile."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

GRAPH = "https://graph.microsoft.com/v1.0"
ADELE = "adele@contoso.example"

ME = {
    "id": "00000000-0000-0000-0000-0000000000aa",
    "displayName": "Zoë Ðorđević",
    "jobTitle": "Ingénieure <script>alert(1)</script>",
    "mail": "zoe@contoso.example",
    "userPrincipalName": "zoe@contoso.example",
    "businessPhones": ["+1 425 555 0100", "+1 425 555 0101"],
    "officeLocation": None,
}


def graph_me(http_mock, body=ME, status=200, headers=None):
    return http_mock.get(f"{GRAPH}/me", json=body, status=status, headers=headers or {})


def test_signed_out_user_is_sent_to_sign_in_and_back(client):
    response = client.get("/graphcall")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/graphcall"]


def test_profile_is_a_readable_page_with_escaped_values(signed_in_client, http_mock):
    graph_me(http_mock)
    response = signed_in_client.get("/graphcall")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Zoë Ðorđević" in page
    assert "+1 425 555 0100, +1 425 555 0101" in page
    assert "<script>alert(1)</script>" not in page
    assert "Ingénieure &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"displayName"' not in page  # not a JSON dump


def test_graph_receives_the_users_access_token(signed_in_client, http_mock, token_endpoint):
    call = graph_me(http_mock)
    signed_in_client.get("/graphcall")
    (redeemed,) = token_endpoint.calls()
    assert call.calls[0].request.headers["Authorization"] == (
        f"Bearer {redeemed.answer['access_token']}"
    )


def test_one_outbound_request_per_view_after_warm_up(signed_in_client, http_mock):
    graph_me(http_mock)
    signed_in_client.get("/graphcall")  # warm-up
    before = len(http_mock.calls)
    signed_in_client.get("/graphcall")
    made = [c.request.url.split("?")[0] for c in http_mock.calls[before:]]
    assert made == [f"{GRAPH}/me"]


def test_expired_access_token_is_refreshed_silently(
    client_sign_in, emulator, token_endpoint, http_mock
):
    graph_me(http_mock)
    emulator.set_access_token_lifetime(60)  # MSAL refreshes tokens with under 5 minutes left
    client_sign_in()
    before = len(token_endpoint.calls())
    response = client_sign_in.client.get("/graphcall")
    assert response.status_code == 200
    assert [c.form["grant_type"] for c in token_endpoint.calls()[before:]] == ["refresh_token"]


def test_revoked_refresh_token_sends_the_user_to_sign_in(client_sign_in, emulator, http_mock):
    graph_me(http_mock)
    emulator.set_access_token_lifetime(60)
    client_sign_in()
    emulator.revoke(ADELE)
    response = client_sign_in.client.get("/graphcall")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_graph_error_shows_code_message_and_request_id(signed_in_client, http_mock):
    graph_me(
        http_mock,
        body={"error": {"code": "Request_ResourceNotFound", "message": "No <such> user."}},
        status=404,
        headers={"request-id": "req-1234"},
    )
    response = signed_in_client.get("/graphcall")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Request_ResourceNotFound" in page
    assert "No &lt;such&gt; user." in page
    assert "req-1234" in page


def test_graph_server_error_is_a_friendly_502(signed_in_client, http_mock):
    graph_me(http_mock, body={"error": {"code": "generalException", "message": "Oops"}}, status=500)
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 502
    assert "generalException" in response.get_data(as_text=True)


def test_graph_unreachable_is_a_friendly_page(signed_in_client, http_mock):
    http_mock.add(responses.GET, f"{GRAPH}/me", body=requests.ConnectionError("refused"))
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 504
    assert "Microsoft Graph could not answer" in response.get_data(as_text=True)


def test_token_rejected_by_graph_is_renewed_once_then_the_page_renders(
    signed_in_client, token_endpoint, http_mock
):
    rejected = {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}
    http_mock.get(f"{GRAPH}/me", json=rejected, status=401)
    http_mock.get(f"{GRAPH}/me", json=ME)
    before = len(token_endpoint.calls())
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302
    assert response.headers["Location"] == "/graphcall"
    assert [c.form["grant_type"] for c in token_endpoint.calls()[before:]] == ["refresh_token"]
    assert "Zoë Ðorđević" in signed_in_client.get("/graphcall").get_data(as_text=True)


def test_identity_provider_unreachable_while_renewing_a_rejected_token_is_a_502_page(
    signed_in_client, token_endpoint, http_mock
):
    rejected = {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}
    http_mock.get(f"{GRAPH}/me", json=rejected, status=401)
    token_endpoint.refuse_connections()
    response = signed_in_client.get("/graphcall")
    page = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "The sign-in service could not be reached" in page
    assert "renew your access to Microsoft Graph" in page


def test_token_still_rejected_after_renewal_leads_to_sign_in(signed_in_client, http_mock):
    graph_me(
        http_mock,
        body={"error": {"code": "InvalidAuthenticationToken", "message": "expired"}},
        status=401,
    )
    with signed_in_client.session_transaction() as session:
        session["signed_in_at"] = 0  # signed in long ago
    assert signed_in_client.get("/graphcall").headers["Location"] == "/graphcall"  # renewed
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_token_rejected_and_refresh_token_revoked_leads_to_sign_in(
    signed_in_client, emulator, http_mock
):
    graph_me(
        http_mock,
        body={"error": {"code": "InvalidAuthenticationToken", "message": "revoked"}},
        status=401,
    )
    emulator.revoke(ADELE)
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_photo_is_revalidated_every_time_so_none_outlives_sign_out(signed_in_client, http_mock):
    http_mock.get(f"{GRAPH}/me/photo/$value", body=b"\x89PNG-bytes", content_type="image/png")
    response = signed_in_client.get("/photo/me")
    assert response.status_code == 200
    assert response.data == b"\x89PNG-bytes"
    # Kept by the browser but never used without asking us, and we ask for sign-in.
    assert response.headers["Cache-Control"] == "private, no-cache"
    again = signed_in_client.get("/photo/me", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_missing_photo_gets_the_placeholder(signed_in_client, http_mock):
    http_mock.get(
        f"{GRAPH}/me/photo/$value",
        json={"error": {"code": "ImageNotFound", "message": "none"}},
        status=404,
    )
    response = signed_in_client.get("/photo/me")
    response.close()  # the placeholder is streamed from a file
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        ("text/html", b"<html><body><script>alert(1)</script></body></html>"),
        ("application/octet-stream", b"<script>alert(1)</script>"),
        ("image/SVG+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>'),
        ("image/svg+xml; charset=utf-8", b"<svg><script>alert(1)</script></svg>"),
    ],
    ids=["svg", "html", "octet-stream", "svg-upper-case", "svg-with-parameters"],
)
def test_a_photo_that_is_not_a_raster_image_is_never_served_from_our_origin(
    signed_in_client, emulator, http_mock, content_type, body
):
    """Graph's bytes could be script; a browser would run them as our site's."""
    emulator.grant_consent(ADELE, ["User.ReadBasic.All"])
    no_photo = {"error": {"code": "ImageNotFound", "message": "none"}}
    http_mock.get(f"{GRAPH}/users/u-plain/photo/$value", json=no_photo, status=404)
    http_mock.get(f"{GRAPH}/users/u-evil/photo/$value", body=body, content_type=content_type)
    with signed_in_client.get("/photo/u-plain") as placeholder:
        expected = (placeholder.get_data(), placeholder.content_type)
    with signed_in_client.get("/photo/u-evil") as response:
        assert response.status_code == 200
        assert body not in response.get_data()
        # The same picture as someone who has no photo.
        assert (response.get_data(), response.content_type) == expected


def test_your_own_photo_needs_only_the_sign_in_permission_a_colleagues_asks_for_more(
    signed_in_client, http_mock
):
    http_mock.get(f"{GRAPH}/me/photo/$value", body=b"\x89PNG-me", content_type="image/png")
    assert signed_in_client.get("/photo/me").data == b"\x89PNG-me"
    response = signed_in_client.get("/photo/u-megan")
    assert response.status_code == 302
    login = parse_qs(urlsplit(response.headers["Location"]).query)
    assert login["scope"] == ["User.ReadBasic.All"]


def test_a_photo_graph_refuses_to_show_is_the_placeholder(signed_in_client, emulator, http_mock):
    emulator.grant_consent(ADELE, ["User.ReadBasic.All"])
    denied = {
        "error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}
    }
    http_mock.get(f"{GRAPH}/users/u-guest/photo/$value", json=denied, status=403)
    with signed_in_client.get("/photo/u-guest") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"


def test_a_page_view_that_changes_nothing_writes_no_session(signed_in_client, http_mock, env):
    graph_me(http_mock)
    signed_in_client.get("/graphcall")  # warm-up
    sessions = list(Path(env["SESSION_FILE_DIR"]).iterdir())
    stamps = {p: p.stat().st_mtime_ns for p in sessions}
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert {p: p.stat().st_mtime_ns for p in sessions} == stamps


def test_personal_pages_are_not_cached_and_cannot_be_framed(signed_in_client, http_mock):
    graph_me(http_mock)
    response = signed_in_client.get("/graphcall")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_profile_from_the_emulators_graph_with_the_token_the_app_holds(
    signed_in_client, emulator_graph
):
    """A real resource accepts the app's token: signature, audience, scope and user."""
    response = signed_in_client.get("/graphcall")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Adele Vance" in page and "Retail Manager" in page
    assert emulator_graph.counters()["graph_paths"] == {"/v1.0/me": 1}


def test_a_signed_in_users_error_pages_are_not_cached_either(signed_in_client, http_mock):
    graph_me(http_mock, body={"error": {"code": "generalException", "message": "x"}}, status=500)
    for url in ("/graphcall", "/no-such-page", "/groups/..%2f"):
        assert signed_in_client.get(url).headers["Cache-Control"] == "no-store"

"""Helpers for the emulator tests: real MSAL clients and a scripted browser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import msal
import requests

REDIRECT_URI = "http://localhost:5000/getAToken"
ADELE = "adele@contoso.example"
TIMEOUT = 10


def make_app(emulator, *, oidc: bool = False, secret: str | None = None):
    """A real MSAL confidential client pointed at the emulator, as the app builds it."""
    session = requests.Session()
    session.verify = emulator.ca_bundle
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment wins over .verify
    where = (
        {"oidc_authority": emulator.oidc_authority}
        if oidc
        else {"authority": emulator.authority, "instance_discovery": False}
    )
    return msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=secret or emulator.client_secret,
        http_client=session,
        **where,
    )


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("action", "")))
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1].fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "button" and self.forms and attrs.get("name"):
            self.forms[-1].buttons.append((attrs["name"], attrs.get("value", "")))


class Browser:
    """Walks the emulator's sign-in pages the way a person would, with cookies."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.page: requests.Response | None = None

    def open(self, url: str) -> requests.Response:
        self.page = self.session.get(url, allow_redirects=False, timeout=TIMEOUT)
        return self.page

    def forms(self) -> list[Form]:
        parser = _FormParser()
        parser.feed(self.page.text)
        return parser.forms

    def submit(self, form: Form, **extra: str) -> requests.Response:
        url = urljoin(self.page.url, form.action)
        data = {**form.fields, **extra}
        self.page = self.session.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)
        return self.page

    def pick_user(self, upn: str) -> requests.Response:
        return self.submit(self.forms()[0], username=upn)

    def consent(self, accept: bool = True) -> requests.Response:
        assert "Permissions requested" in self.page.text
        return self.submit(self.forms()[0], decision="accept" if accept else "cancel")

    def auth_response(self) -> dict[str, str]:
        """The fields the form_post page would POST to the app's redirect URI."""
        assert "Returning to the application" in self.page.text, self.page.text[:500]
        (form,) = self.forms()
        assert form.action == REDIRECT_URI
        return form.fields


def sign_in(app, scopes, browser: Browser | None = None, upn: str = ADELE, **flow_kwargs):
    """Sign a user in through the pages and redeem the code with MSAL; returns the result."""
    browser = browser or Browser()
    flow = app.initiate_auth_code_flow(
        scopes, redirect_uri=REDIRECT_URI, response_mode="form_post", **flow_kwargs
    )
    browser.open(flow["auth_uri"])
    if "Pick an account" in browser.page.text:
        browser.pick_user(upn)
    if "Permissions requested" in browser.page.text:
        browser.consent()
    return app.acquire_token_by_auth_code_flow(flow, browser.auth_response())

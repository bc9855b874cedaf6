"""A scripted browser for the emulator's sign-in pages, for tests and benchmarks.

It follows no redirects by itself and runs no JavaScript: callers step
through the pages (pick an account, answer consent) and read the form that
the form_post page would submit to the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

TIMEOUT = 10


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _PageParser(HTMLParser):
    """The forms of a page, and the text of its error messages (class "error")."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.errors: list[str] = []
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("action", "")))
        elif tag == "input" and self.forms and attrs.get("name"):
            if attrs.get("type") == "checkbox" and "checked" not in attrs:
                return  # browsers send unchecked boxes not at all
            self.forms[-1].fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "button" and self.forms and attrs.get("name"):
            self.forms[-1].buttons.append((attrs["name"], attrs.get("value", "")))
        elif tag == "p" and "error" in (attrs.get("class") or "").split():
            self._in_error = True
            self.errors.append("")

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_error = False

    def handle_data(self, data):
        if self._in_error:
            self.errors[-1] += data


class Browser:
    """Walks the emulator's sign-in pages the way a person would, with cookies.

    Pass a session from Emulator.http_client() to walk them in-process, without sockets.
    """

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session or requests.Session()
        self.page: requests.Response | None = None

    def open(self, url: str) -> requests.Response:
        self.page = self.session.get(url, allow_redirects=False, timeout=TIMEOUT)
        return self.page

    def _parsed(self) -> _PageParser:
        parser = _PageParser()
        parser.feed(self.page.text)
        return parser

    def forms(self) -> list[Form]:
        return self._parsed().forms

    def errors(self) -> list[str]:
        """The error messages the page shows (AADSTS code and text)."""
        return [" ".join(e.split()) for e in self._parsed().errors]

    def submit(self, form: Form, **extra: str) -> requests.Response:
        url = urljoin(self.page.url, form.action)
        data = {**form.fields, **extra}
        self.page = self.session.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)
        return self.page

    def pick_user(self, upn: str) -> requests.Response:
        return self.submit(self.forms()[0], username=upn)

    def consent(self, accept: bool = True, for_organization: bool = False) -> requests.Response:
        """Answer the consent page; an admin may tick "Consent on behalf of your organization"."""
        assert "Permissions requested" in self.page.text
        extra = {"for_organization": "1"} if for_organization else {}
        return self.submit(self.forms()[0], decision="accept" if accept else "cancel", **extra)

    def approval(self, decision: str = "back", **extra: str) -> requests.Response:
        """Answer "Need admin approval": back (to the app), switch (account) or request."""
        assert "Need admin approval" in self.page.text
        form = next(f for f in self.forms() if ("decision", decision) in f.buttons)
        return self.submit(form, decision=decision, **extra)

    def auth_response(self) -> tuple[str, dict[str, str]]:
        """Where the form_post page would POST, and the fields it would send."""
        assert "Returning to the application" in self.page.text, self.page.text[:500]
        (form,) = self.forms()
        return form.action, form.fields

"""What the unit tests do as a user would: sign in through the emulator, press Sign out."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import entra_emulator

ADELE = "adele@contoso.example"
# The identity provider's host: discovery, token endpoint, sign-in pages (in-process).
LOGIN = re.compile(r"https://login\.microsoftonline\.com/")


class SignIn:
    """Plays a user's trip: /login, the emulator's sign-in and consent pages, the form_post."""

    def __init__(self, client, emulator: entra_emulator.Emulator) -> None:
        self.client = client
        self.emulator = emulator

    def start(self, next_path: str = "/", **params) -> str:
        """The app's first leg: /login, and the authorize URL it redirects to."""
        query = urlencode({"next": next_path, **params}, doseq=True)
        response = self.client.get(f"/login?{query}")
        assert response.status_code == 302
        return response.headers["Location"]

    def authorize(self, next_path: str = "/", *, user: str = ADELE, **params) -> dict[str, str]:
        """/login, then USER at the emulator's pages: what the emulator posts back to the app."""
        return self.emulator.sign_in(self.start(next_path, **params), user)

    def __call__(self, next_path: str = "/", *, user: str = ADELE, **params):
        """The whole trip: a success is the callback's 303 to `next_path`; a failure is
        the page its 303 leads to (the redirect URI's GET), as the browser shows it."""
        form = self.authorize(next_path, user=user, **params)
        response = self.client.post("/getAToken", data=form)
        if response.headers.get("Location") == "/getAToken":
            return self.client.get("/getAToken")
        return response


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_out_form_token(client) -> str:
    """The token the header's Sign out button posts, as a browser reads it from the page."""
    return CSRF_FIELD.search(client.get("/").get_data(as_text=True)).group(1)


def sign_out(client):
    """Press Sign out: the form's POST with its token."""
    return client.post("/logout", data={"csrf_token": sign_out_form_token(client)})


def signed_in(client) -> bool:
    """Whether the home page greets the demo user (Adele Vance) as signed in."""
    return "Welcome, Adele Vance" in client.get("/").get_data(as_text=True)

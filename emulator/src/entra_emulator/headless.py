"""A headless sign-in: follow an authorization URL through the emulator's pages."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from .scripted_browser import Browser

SIGN_IN_ACTION = "/_emulator/signin"
CONSENT_ACTION = "/_emulator/consent"
APPROVAL_ACTION = "/_emulator/approval"
MAX_PAGES = 5  # picker, consent or approval, response: more means the pages loop


class SignInError(Exception):
    """The emulator showed an error page instead of returning to the app (as Entra does
    for an unknown client or redirect URI), or refused the account."""


def _form(browser: Browser, action: str):
    return next((f for f in browser.forms() if urlsplit(f.action).path == action), None)


def _redirect_fields(location: str) -> dict[str, str]:
    """query or fragment response mode: the fields are in the URL the emulator redirects to."""
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))


def sign_in(
    browser: Browser,
    auth_uri: str,
    user: str,
    consent: bool = True,
    for_organization: bool = False,
) -> dict[str, str]:
    """Sign USER (UPN or object id) in; return the authorization response's fields.

    Those are what the app's redirect URI would receive (form_post body, or the query or
    fragment of the redirect), as MSAL's acquire_token_by_auth_code_flow takes them: a code,
    or an error such as access_denied when consent=False and the consent page is shown, or
    when "Need admin approval" is shown (its "Back to app"). FOR_ORGANIZATION ticks an admin's
    "Consent on behalf of your organization".
    """
    page = browser.open(auth_uri)
    picked = False
    for _ in range(MAX_PAGES):
        if page.is_redirect:
            return _redirect_fields(page.headers["Location"])
        if (picker := _form(browser, SIGN_IN_ACTION)) is not None:
            if picked:
                raise SignInError("; ".join(browser.errors()) or f"{user!r} was not accepted")
            page = browser.submit(picker, username=user)
            picked = True
        elif (form := _form(browser, CONSENT_ACTION)) is not None:
            extra = {"for_organization": "1"} if for_organization else {}
            page = browser.submit(form, decision="accept" if consent else "cancel", **extra)
        elif _form(browser, APPROVAL_ACTION) is not None:
            page = browser.approval("back")
        elif forms := browser.forms():
            return forms[0].fields  # the form_post page: its one form posts to the app
        else:
            raise SignInError(
                "; ".join(browser.errors()) or f"unexpected page ({page.status_code})"
            )
    raise SignInError(f"the sign-in did not finish within {MAX_PAGES} pages")

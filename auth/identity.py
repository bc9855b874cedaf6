"""MSAL Python behind four calls: the only module that imports msal.

`Identity` builds MSAL's ConfidentialClientApplication in one place, shares one
http cache and one pooled HTTP session across the process (so OIDC discovery is
fetched once), and speaks in plain values: a flow dict, a serialized token cache,
a `Redeemed` record. Failures are `AuthError`s and `SignInRequired`s; the words a
user reads are chosen by the error handler, not here.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import msal
import requests

from app_config import Settings

from .credentials import CredentialUnavailable, client_credential
from .errors import AuthError, SignInRequired
from .id_token import InvalidIdToken, check_claims

log = logging.getLogger(__name__)
APP_NAME = "ms-identity-flask-webapp"
# How long a failed discovery fetch is remembered, so sign-outs do not queue behind it.
DISCOVERY_RETRY_SECONDS = 30


@dataclass(frozen=True)
class Redeemed:
    """A completed sign-in: who signed in, and their new token cache."""

    claims: dict
    home_account_id: str
    token_cache: str


class _TimeoutSession(requests.Session):
    """A pooled session for MSAL's calls that never waits without a limit."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)


class _RefreshNeeded(Exception):
    """MSAL went to the token endpoint: the cache alone holds no usable access token."""


class _CacheOnly:
    """MSAL's transport for cache look-ups: discovery goes through, token requests stop."""

    def __init__(self, http_client: requests.Session) -> None:
        self._http_client = http_client

    def get(self, url, **kwargs):
        return self._http_client.get(url, **kwargs)

    def post(self, url, **kwargs):
        raise _RefreshNeeded

    def close(self) -> None:
        """The shared session stays open for the other requests."""


class Identity:
    """The app's confidential client at the identity provider. One per Flask app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Shared by every MSAL app of this process: OIDC discovery is fetched once.
        self._http_cache: dict = {}
        self._http_client = _TimeoutSession((settings.connect_timeout, settings.identity_timeout))
        self._metadata: dict | None = None
        self._metadata_failed_at: float | None = None
        self._metadata_lock = threading.Lock()
        # A secret, a certificate or a federated token (read at each token request).
        self._client_credential = client_credential(settings)

    def _msal_app(self, token_cache: msal.TokenCache | None = None, *, http_client=None):
        s = self.settings
        return msal.ConfidentialClientApplication(
            s.client_id,
            client_credential=self._client_credential,
            authority=s.authority,
            oidc_authority=s.oidc_authority,
            instance_discovery=s.instance_discovery,
            token_cache=token_cache,
            http_cache=self._http_cache,
            http_client=http_client or self._http_client,
            # CP1: we can handle claims challenges (Continuous Access Evaluation).
            client_capabilities=["CP1"],
            app_name=APP_NAME,
        )

    def start(
        self,
        scopes: list[str],
        *,
        redirect_uri: str,
        claims: str | None,
        login_hint: str | None,
        next_path: str,
    ) -> dict:
        """MSAL's auth-code flow (PKCE, state, nonce) for a form_post sign-in."""
        try:
            return self._msal_app().initiate_auth_code_flow(
                scopes,
                redirect_uri=redirect_uri,
                response_mode="form_post",
                claims_challenge=claims,
                login_hint=login_hint,
                # Someone already signed in goes back as themselves, with no account picker.
                prompt=None if login_hint else "select_account",
            )
        except (ValueError, requests.RequestException) as exc:
            log.warning("could not start sign-in: %s", type(exc).__name__)
            raise AuthError.unreachable("discovery", next_path) from None

    def redeem(self, flow: dict, auth_response: dict[str, str], next_path: str) -> Redeemed:
        """Redeem the code in the identity provider's response for tokens."""
        # A fresh cache: if the answer is rejected, whatever MSAL put in it is dropped.
        token_cache = msal.SerializableTokenCache()
        msal_app = self._msal_app(token_cache)
        try:
            result = msal_app.acquire_token_by_auth_code_flow(flow, auth_response)
        except requests.RequestException as exc:
            log.warning("sign-in failed: token endpoint unreachable (%s)", type(exc).__name__)
            raise AuthError.unreachable("redeem", next_path) from None
        except CredentialUnavailable:
            raise  # the app's own credential, not the response: its own page
        except Exception as exc:  # noqa: BLE001 - forged input makes MSAL raise many types
            log.warning("sign-in failed: response rejected (%s)", type(exc).__name__)
            raise AuthError("unverified", next_path=next_path) from None
        if "error" in result:
            log.warning("sign-in failed: token endpoint returned %s", log_safe(result["error"]))
            raise AuthError(
                "refused",
                error=result.get("error"),
                description=result.get("error_description"),
                next_path=next_path,
            )
        claims = result.get("id_token_claims") or {}
        try:
            check_claims(
                claims,
                issuer=self._discovery().get("issuer"),
                client_id=self.settings.client_id,
                tenant_id=self.settings.tenant_id,
                now=time.time(),
            )
        except InvalidIdToken as exc:
            log.warning("sign-in failed: ID token refused (%s)", exc)
            raise AuthError("unverified", next_path=next_path) from None
        accounts = msal_app.get_accounts()
        if len(accounts) != 1:
            log.warning("sign-in failed: expected one account, got %d", len(accounts))
            raise AuthError("no_account", next_path=next_path)
        return Redeemed(
            claims=claims,
            home_account_id=accounts[0]["home_account_id"],
            token_cache=token_cache.serialize(),
        )

    def cached_token(
        self, token_cache: str | None, home_account_id: str, scopes: Iterable[str]
    ) -> str | None:
        """The access token MSAL would answer with from the cache alone, or None when it
        would go to the token endpoint (expired, nearly expired or missing).

        MSAL itself decides, with a transport that stops at its first token request, so
        no refresh and no write happens here. Raises SignInRequired without the account.
        """
        scopes = list(scopes)
        cache = msal.SerializableTokenCache()
        cache.deserialize(token_cache)
        msal_app = self._msal_app(cache, http_client=_CacheOnly(self._http_client))
        account = _account(msal_app, home_account_id, scopes)
        try:
            result = msal_app.acquire_token_silent_with_error(scopes, account)
        except _RefreshNeeded:
            return None
        return result["access_token"] if result and "access_token" in result else None

    def id_token_claims(self, token_cache: str | None, home_account_id: str) -> dict:
        """The claims of the account's ID token in the cache, {} if it holds none.

        The newest one MSAL kept (a refresh may replace the sign-in's), read without a
        signature check: it came from the token endpoint over TLS, like the sign-in's.
        """
        cache = msal.SerializableTokenCache()
        cache.deserialize(token_cache)
        query = {"home_account_id": home_account_id, "client_id": self.settings.client_id}
        for entry in cache.search(msal.TokenCache.CredentialType.ID_TOKEN, query=query):
            return _jwt_payload(entry.get("secret") or "")
        return {}

    def acquire(
        self,
        token_cache: str | None,
        home_account_id: str,
        scopes: Iterable[str],
        *,
        force_refresh: bool,
        next_path: str,
    ) -> tuple[str, str | None]:
        """An access token from the cache or refreshed, and the cache if it changed.

        Raises SignInRequired when no token can be had without the user.
        """
        scopes = list(scopes)
        cache = msal.SerializableTokenCache()
        cache.deserialize(token_cache)
        msal_app = self._msal_app(cache)
        account = _account(msal_app, home_account_id, scopes)
        try:
            result = msal_app.acquire_token_silent_with_error(
                scopes, account, force_refresh=force_refresh
            )
        except requests.RequestException as exc:
            log.warning("token refresh failed: %s", type(exc).__name__)
            raise AuthError.unreachable("refresh", next_path) from None
        changed = cache.serialize() if cache.has_state_changed else None
        if result and "access_token" in result:
            if changed is not None:
                log.info("token refresh completed")
            return result["access_token"], changed
        result = result or {}
        reason = result.get("suberror") or result.get("error") or "no token"
        log.info("token refresh refused: %s", log_safe(reason))
        # interaction_required (MFA step-up, sign-in frequency) may name claims to ask for.
        claims = result.get("claims")
        raise SignInRequired(
            tuple(scopes), claims=claims if isinstance(claims, str) else None, reason=reason
        )

    def admin_consent_url(self, scopes: tuple[str, ...], redirect_uri: str) -> str | None:
        """The v2 admin consent endpoint for `scopes`, or None off Entra ID (OIDC, B2C).

        It sits beside the authorize endpoint that discovery names (on the sign-in host).
        """
        authority = self.settings.authority
        if not authority or ".b2clogin." in authority:
            return None
        authorize = self._discovery().get("authorization_endpoint")
        marker = "/oauth2/v2.0/authorize"
        if not isinstance(authorize, str) or not authorize.endswith(marker):
            return None
        base, _, tenant = authorize.removesuffix(marker).rpartition("/")
        # Admin consent is for an organization: "common" and "consumers" name none.
        if tenant.lower() in ("common", "consumers"):
            tenant = "organizations"
        query = urlencode(
            {
                "client_id": self.settings.client_id,
                # Unqualified scopes are Microsoft Graph's, in every cloud.
                "scope": " ".join(scopes),
                "redirect_uri": redirect_uri,
            }
        )
        return f"{base}/{tenant}/v2.0/adminconsent?{query}"

    def end_session_endpoint(self) -> str | None:
        """The authority's end-session endpoint from OIDC discovery."""
        return self._discovery().get("end_session_endpoint")

    def _discovery(self) -> dict:
        """The authority's OIDC discovery document, fetched once per process ({} if unknown).

        No lock is held across the network call, and a failure is remembered briefly.
        """
        if self._metadata is not None:
            return self._metadata
        failed_at = self._metadata_failed_at
        if failed_at is not None and time.monotonic() - failed_at < DISCOVERY_RETRY_SECONDS:
            return {}
        try:
            response = self._http_client.get(self.settings.discovery_url)
            response.raise_for_status()
            metadata = response.json()
            if not isinstance(metadata, dict):
                raise ValueError("discovery document is not a JSON object")
        except (requests.RequestException, ValueError) as exc:
            log.warning("OIDC discovery failed: %s", type(exc).__name__)
            with self._metadata_lock:
                self._metadata_failed_at = time.monotonic()
            return {}
        with self._metadata_lock:
            self._metadata = metadata
        return metadata


def _account(msal_app, home_account_id: str, scopes: list[str]) -> dict:
    account = next(
        (a for a in msal_app.get_accounts() if a.get("home_account_id") == home_account_id),
        None,
    )
    if account is None:
        raise SignInRequired(tuple(scopes), reason="no account in token cache")
    return account


def _jwt_payload(token: str) -> dict:
    """A JWT's payload as JSON, {} when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def log_safe(value: object) -> str:
    """A log-safe rendering of an error code: short, one line."""
    return re.sub(r"[^A-Za-z0-9_.:\-]", "?", str(value))[:60]

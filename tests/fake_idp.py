"""A scripted identity provider and Graph at the HTTP boundary, for unit tests.

It registers `responses` handlers for OIDC discovery, instance discovery, the
token endpoint and Graph, and plays the browser's trip through the IdP: read
the authorize URL the app redirected to, then post back a code (or an error)
the way Entra's form_post does. Adele signs in unless another Account (MEGAN)
is named.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import jwt
import responses

AUTHORITY_HOST = "https://login.microsoftonline.com"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
GRAPH = "https://graph.microsoft.com/v1.0"
USER_OID = "00000000-0000-0000-0000-0000000000aa"
PERSONAL_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
# Scopes every sign-in gets without consent; they never appear in consented_scopes.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access"})
GRAPH_RESOURCE = "https://graph.microsoft.com/"


@dataclass(frozen=True)
class Account:
    """A person who can sign in at the fake IdP."""

    name: str
    username: str
    oid: str
    login_hint: str


ADELE = Account("Adele Vance", "adele@contoso.example", USER_OID, "O.hint-for-adele")
MEGAN = Account(
    "Megan Bowen",
    "megan@contoso.example",
    "00000000-0000-0000-0000-0000000000bb",
    "O.hint-for-megan",
)


def b64url(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class FakeIdP:
    mock: responses.RequestsMock
    base: str = f"{AUTHORITY_HOST}/{TENANT_ID}"
    issuer: str = f"{AUTHORITY_HOST}/{TENANT_ID}/v2.0"
    discovery_url: str = f"{AUTHORITY_HOST}/{TENANT_ID}/v2.0/.well-known/openid-configuration"
    oidc: bool = False
    access_token_lifetime: int = 3600
    codes: dict = field(default_factory=dict)
    # Each refresh token the IdP issued, and the account it belongs to.
    refresh_tokens: dict = field(default_factory=dict)
    token_requests: list = field(default_factory=list)
    # Graph scopes the user has consented to: those asked for at any authorize, plus consent().
    consented_scopes: set = field(default_factory=set)
    authorize_requests: list = field(default_factory=list)
    id_token_claims: dict = field(default_factory=dict)
    decline_next_authorize: bool = False

    def install(self) -> FakeIdP:
        endpoints = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{self.base}/oauth2/v2.0/token",
            "end_session_endpoint": f"{self.base}/oauth2/v2.0/logout",
            "jwks_uri": f"{self.base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
        }
        self.mock.get(self.discovery_url, json=endpoints)
        self.mock.get(
            f"{AUTHORITY_HOST}/common/discovery/instance",
            json={
                "tenant_discovery_endpoint": self.discovery_url,
                "metadata": [
                    {
                        "preferred_network": "login.microsoftonline.com",
                        "preferred_cache": "login.windows.net",
                        "aliases": ["login.microsoftonline.com", "login.windows.net"],
                    }
                ],
            },
        )
        self.mock.add_callback(responses.POST, endpoints["token_endpoint"], callback=self._token)
        return self

    # -- the browser's trip -------------------------------------------------

    def authorize(self, auth_uri: str, *, account: Account = ADELE) -> dict[str, str]:
        """What the IdP would form_post back after `account` signs in."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()}
        self.authorize_requests.append(query)
        if self.decline_next_authorize:
            # The user saw the consent prompt and pressed Cancel.
            self.decline_next_authorize = False
            return {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                "state": query["state"],
            }
        self.consent(*query["scope"].split())
        code = "code-" + uuid.uuid4().hex
        self.codes[code] = {
            "nonce": query.get("nonce"),
            "scope": query["scope"],
            "account": account,
        }
        return {"code": code, "state": query["state"], "client_info": self.client_info(account)}

    def consent(self, *scopes: str) -> None:
        """The user (or an admin) consents to these Graph scopes, as at a sign-in."""
        self.consented_scopes.update(graph_scopes(" ".join(scopes)))

    def decline_next(self) -> None:
        """The next authorize ends with the user declining consent (error=access_denied)."""
        self.decline_next_authorize = True

    def client_info(self, account: Account) -> str:
        return b64url({"uid": account.oid, "utid": TENANT_ID})

    def id_token(self, nonce: str | None, account: Account, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "sub-" + account.oid,
            "oid": account.oid,
            "tid": TENANT_ID,
            "name": account.name,
            "preferred_username": account.username,
            "login_hint": account.login_hint,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        claims.update(overrides)
        return jwt.encode(claims, "unit-test-signing-key-not-checked-by-msal", algorithm="HS256")

    # -- the token endpoint -------------------------------------------------

    def _token(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.token_requests.append(form)
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code"), None)
            if grant is None:
                return _error(
                    "invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed."
                )
            return self._tokens(grant["scope"], grant["nonce"], grant["account"])
        if form.get("grant_type") == "refresh_token":
            account = self.refresh_tokens.get(form.get("refresh_token"))
            if account is None:
                return _error(
                    "invalid_grant",
                    "AADSTS50173: The provided grant has expired due to it being revoked.",
                )
            missing = graph_scopes(form.get("scope", "")) - self.consented_scopes
            if missing:
                return _consent_required(missing)
            return self._tokens(form["scope"], None, account)
        return _error("unsupported_grant_type", "AADSTS70003: unsupported grant type")

    def _tokens(self, scope: str, nonce: str | None, account: Account):
        refresh = "rt-" + uuid.uuid4().hex
        self.refresh_tokens[refresh] = account
        body = {
            "token_type": "Bearer",
            "scope": " ".join(
                s for s in scope.split() if s not in ("openid", "profile", "offline_access")
            ),
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": "at-" + uuid.uuid4().hex,
            "refresh_token": refresh,
            "id_token": self.id_token(nonce, account, **self.id_token_claims),
        }
        if not self.oidc:
            body["client_info"] = self.client_info(account)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def revoke_all(self) -> None:
        self.refresh_tokens.clear()


def graph_scopes(scope: str) -> set[str]:
    """The Graph permissions in a scope string, without OIDC scopes or the resource prefix."""
    return {s.removeprefix(GRAPH_RESOURCE) for s in scope.split() if s.lower() not in OIDC_SCOPES}


def _consent_required(missing: set[str]):
    """What Entra answers a refresh for a permission the user never granted."""
    body = {
        "error": "invalid_grant",
        "error_description": (
            f"AADSTS65001: The user or administrator has not consented to use the application "
            f"with ID '{CLIENT_ID}' for {', '.join(sorted(missing))}. "
            "Send an interactive authorization request for this user and resource."
        ),
        "error_codes": [65001],
        "suberror": "consent_required",
    }
    return 400, {"Content-Type": "application/json"}, json.dumps(body)


def _error(error: str, description: str):
    body = {"error": error, "error_description": description, "error_codes": [50173]}
    return 400, {"Content-Type": "application/json"}, json.dumps(body)

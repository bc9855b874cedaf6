"""The HTTPS token endpoint: client authentication, code and refresh-token redemption."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote_plus

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from . import cae, client_assertions, federation, membership_claims, token_faults
from .aad_errors import OAuthError, unknown_tenant
from .accounts import is_personal
from .endpoints import ENTRA, Authority, authority_for, oidc_authority, tenant_issuer
from .scopes import (
    GRAPH_PERMISSIONS,
    RequestedScopes,
    ScopeError,
    organization_only,
    parse_scopes,
    personal_account_scope_error,
)
from .state import CODE_LIFETIME, EmulatorState, RefreshGrant
from .token_variants import minter
from .tokens import client_info

bp = Blueprint("token", __name__)


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


bp.before_request(token_faults.apply)


@bp.post("/<tenant>/oauth2/v2.0/token")
def entra_token(tenant: str) -> ResponseReturnValue:
    if not _state().directory.is_known_tenant(tenant):
        _state().count("token")
        return unknown_tenant(tenant).response()
    return _token(authority_for(_state(), ENTRA, tenant))


@bp.post("/oidc/token")
def oidc_token() -> ResponseReturnValue:
    return _token(oidc_authority(_state()))


def _token(authority: Authority) -> ResponseReturnValue:
    state = _state()
    state.count("token")
    correlation_id = request.headers.get("client-request-id")
    try:
        client_id, client_acr = _authenticate_client(authority)
        grant_type = request.form.get("grant_type", "")
        if grant_type == "authorization_code":
            body = _redeem_code(state, authority, client_id, client_acr)
        elif grant_type == "refresh_token":
            body = _redeem_refresh_token(state, authority, client_id, client_acr)
        else:
            raise OAuthError(
                "unsupported_grant_type",
                f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
            )
    except OAuthError as error:
        return error.response(correlation_id)
    return jsonify(body), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _authenticate_client(authority: Authority) -> tuple[str, str]:
    """client_secret_basic, client_secret_post or private_key_jwt (a client assertion from
    a certificate or a federated issuer): (client id, appidacr "1" secret, "2" assertion)."""
    client_id, secret = _sent_secret()
    if "client_assertion" in request.form:
        if secret is not None:  # RFC 6749 2.3: one authentication method per request
            raise OAuthError(
                "invalid_request",
                "AADSTS9002313: Invalid request. Request is malformed or invalid. Send either "
                "a client_secret or a client_assertion, not both.",
            )
        return _authenticate_assertion(authority, client_id or None), "2"
    client = _state().directory.find_client(client_id)
    if client is None:
        raise _unknown_client(client_id)
    if secret is None:
        raise OAuthError(
            "invalid_client",
            "AADSTS7000218: The request body must contain the following parameter: "
            "'client_assertion' or 'client_secret'.",
            401,
        )
    if not hmac.compare_digest(secret.encode(), client["client_secret"].encode()):
        raise OAuthError(
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
            f"request is the client secret value, not the client secret ID, for a secret added "
            f"to app '{client_id}'.",
            401,
        )
    return client_id, "1"


def _sent_secret() -> tuple[str, str | None]:
    """(client id, secret) from the Basic header or the form; the secret None if absent."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return request.form.get("client_id", ""), request.form.get("client_secret")
    try:
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
    except ValueError:
        raise OAuthError(
            "invalid_client", "AADSTS7000215: Invalid client secret provided.", 401
        ) from None
    # RFC 6749 2.3.1: both halves are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def _unknown_client(client_id: str) -> OAuthError:
    return OAuthError(
        "unauthorized_client",
        f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
        "directory. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant.",
    )


def _authenticate_assertion(authority: Authority, client_id: str | None) -> str:
    state = _state()
    assertion = client_assertions.read_assertion(request.form)
    if not client_assertions.is_certificate_assertion(state, assertion):
        return federation.authenticate(state, assertion, client_id)
    # The token endpoint's URL, as MSAL sends it (discovery's) or as the request reached it.
    audiences = {authority.token_endpoint, request.base_url}
    return client_assertions.authenticate(state, assertion, client_id, audiences)


def _requested_scopes(fallback: RequestedScopes) -> RequestedScopes:
    raw = request.form.get("scope")
    if not raw:
        return fallback
    try:
        return parse_scopes(raw)
    except ScopeError as error:
        raise OAuthError("invalid_scope", str(error)) from None


def _redeem_code(
    state: EmulatorState, authority: Authority, client_id: str, client_acr: str
) -> dict:
    value = request.form.get("code", "")
    with state.lock:
        code = state.codes.get(value)
        if code is None or code.authority != authority.kind:
            raise OAuthError(
                "invalid_grant",
                "AADSTS70000: The provided value for the 'code' parameter is not valid.",
            )
        if code.used:
            raise OAuthError(
                "invalid_grant",
                "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with "
                "a new valid code or use an existing refresh token.",
            )
        code.used = True  # single use, whether or not the rest of the checks pass
    if state.clock.now() - code.issued > CODE_LIFETIME:
        raise OAuthError(
            "invalid_grant",
            "AADSTS70008: The provided authorization code or refresh token has expired due to "
            "inactivity. Send a new interactive authorization request for this user and resource.",
        )
    if code.client_id != client_id:
        raise OAuthError(
            "invalid_grant",
            "AADSTS70000: The provided value for the 'code' parameter is not valid. "
            "The code was issued to a different client.",
        )
    if request.form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError(
            "invalid_grant",
            "AADSTS500117: The reply uri specified in the token request does not match the reply "
            "uri specified in the authorization request.",
        )
    verifier = request.form.get("code_verifier")
    if not verifier:
        raise OAuthError(
            "invalid_request",
            "AADSTS50148: The code_verifier does not match the code_challenge supplied in the "
            "authorization request for PKCE.",
        )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    if not hmac.compare_digest(challenge.rstrip(b"=").decode(), code.code_challenge):
        raise OAuthError(
            "invalid_grant",
            "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the "
            "authorization request.",
        )
    scopes = _requested_scopes(code.scopes)
    evidence = cae.evidence_of_sign_in(code.claims, code.issued)
    evidence = cae.with_token_request(evidence, request.form.get("claims"))
    state.cae.check_mfa(code.user_id, evidence)
    return issue_tokens(
        state,
        authority,
        client_id,
        code.user_id,
        scopes,
        code.nonce,
        code.sid,
        evidence,
        client_acr=client_acr,
    )


def _redeem_refresh_token(
    state: EmulatorState, authority: Authority, client_id: str, client_acr: str
) -> dict:
    value = request.form.get("refresh_token", "")
    with state.lock:
        grant = state.refresh_tokens.get(value)
        if grant is None or grant.authority != authority.kind or grant.client_id != client_id:
            raise OAuthError(
                "invalid_grant",
                "AADSTS9002313: Invalid request. Request is malformed or invalid.",
            )
        if grant.revoked:
            raise OAuthError(
                "invalid_grant",
                "AADSTS50173: The provided grant has expired due to it being revoked, a fresh "
                "auth token is needed. The user might have changed or reset their password.",
            )
        # As in Entra, a new refresh token does not revoke this one; only revocation does.
    scopes = _requested_scopes(grant.scopes)
    evidence = cae.with_token_request(grant.evidence, request.form.get("claims"))
    state.cae.check_mfa(grant.user_id, evidence)
    return issue_tokens(
        state,
        authority,
        client_id,
        grant.user_id,
        scopes,
        None,
        grant.sid,
        evidence,
        client_acr=client_acr,
    )


def issue_tokens(
    state: EmulatorState,
    authority: Authority,
    client_id: str,
    user_id: str,
    scopes: RequestedScopes,
    nonce: str | None,
    sid: str,
    evidence: cae.SignInEvidence,
    *,
    client_acr: str = "1",
) -> dict:
    """The token response; refuses Graph scopes this user has not consented to.

    CLIENT_ACR: how the client authenticated, the access token's appidacr ("1" a secret,
    "2" a certificate or federated assertion)."""
    directory = state.directory
    user = directory.find_user(user_id)
    if user is None:
        raise OAuthError("invalid_grant", "AADSTS50034: The user account does not exist.")
    g.user = user  # for the request log
    if is_personal(user) and organization_only(scopes):
        error = personal_account_scope_error(" ".join(scopes.all_for_consent()))
        raise OAuthError("invalid_scope", str(error))
    consented = state.consented(user_id, client_id)
    missing = sorted(scopes.graph - consented)
    if missing or (scopes.default and not consented & GRAPH_PERMISSIONS):
        raise OAuthError(
            "invalid_grant",
            f"AADSTS65001: The user or administrator has not consented to use the application "
            f"with ID '{client_id}' named '{directory.find_client(client_id)['displayName']}'. "
            "Send an interactive authorization request for this user and resource. "
            f"Missing: {' '.join(missing) or '.default'}",
            suberror="consent_required",
        )
    # Like Entra, the access token carries every Graph permission the user has consented to.
    graph_granted = sorted(consented & GRAPH_PERMISSIONS)
    oidc_in_token = [s for s in ("openid", "profile", "email") if s in scopes.oidc]
    lifetime = state.access_token_lifetime
    tid = user["tenant_id"]  # the consumer tenant for personal accounts
    issuer = tenant_issuer(state, tid) if authority.kind == ENTRA else authority.issuer
    now = state.clock.now()
    variant = state.token_variants.take(client_id, user_id)
    access_token, uti = state.signer.access_token(
        issuer=issuer,
        client_id=client_id,
        user=user,
        tid=tid,
        scp=" ".join(graph_granted + oidc_in_token),
        lifetime=lifetime,
        now=now,
        mint=minter(state.signer, variant, "access_token", tid),
        extra={**_cae_claims(evidence), "appidacr": client_acr},
    )
    state.record_access_token(uti)
    if evidence.capabilities:
        state.cae.record_token(uti, evidence)
    body = {
        "token_type": "Bearer",
        "scope": " ".join(graph_granted + sorted(scopes.oidc)),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }
    if "offline_access" in scopes.oidc:
        body["refresh_token"] = state.new_refresh_token(
            RefreshGrant(authority.kind, client_id, user_id, scopes, sid, evidence=evidence)
        )
    if "openid" in scopes.oidc:
        client = directory.find_client(client_id)
        body["id_token"] = state.signer.id_token(
            issuer=issuer,
            client_id=client_id,
            user=user,
            tid=tid if authority.kind == ENTRA else None,
            nonce=nonce,
            sid=sid,
            now=now,
            mint=minter(state.signer, variant, "id_token", tid),
            optional_claims=client.get("optional_claims", ()),
            extra=membership_claims.id_token_claims(directory, client, user),
        )
    if authority.kind == ENTRA and request.form.get("client_info") == "1":
        body["client_info"] = client_info(user["id"], tid)
    return body


def _cae_claims(evidence: cae.SignInEvidence) -> dict:
    """`amr` as v1 access tokens carry it; `xms_cc` only for clients that declared CP1."""
    claims: dict = {"amr": evidence.amr}
    if evidence.capabilities:
        claims["xms_cc"] = list(evidence.capabilities)
    return claims

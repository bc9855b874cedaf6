"""HTTPS metadata MSAL reads first: instance and OIDC discovery documents, and the JWKS."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from .aad_errors import OAuthError, unknown_tenant
from .endpoints import Authority, entra_authority, oidc_authority
from .state import EmulatorState

bp = Blueprint("discovery", __name__)


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


def discovery_document(authority: Authority, common_issuer: bool) -> dict:
    issuer = authority.issuer
    if common_issuer:
        issuer = issuer.replace(_state().directory.tenant_id, "{tenantid}")
    return {
        "issuer": issuer,
        "authorization_endpoint": authority.authorization_endpoint,
        "token_endpoint": authority.token_endpoint,
        "end_session_endpoint": authority.end_session_endpoint,
        "jwks_uri": authority.jwks_uri,
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "nbf",
            "nonce",
            "name",
            "preferred_username",
            "oid",
            "tid",
            "sid",
            "login_hint",
            "ver",
        ],
        "request_uri_parameter_supported": False,
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "tenant_region_scope": "NA",
        "cloud_instance_name": "emulator.local",
        "msgraph_host": _state().bases.graph.removeprefix("https://"),
    }


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def entra_discovery(tenant: str) -> ResponseReturnValue:
    _state().count("discovery")
    if not _state().directory.is_known_tenant(tenant):
        return unknown_tenant(tenant).response()
    common = tenant.lower() in ("common", "organizations")
    return jsonify(discovery_document(entra_authority(_state(), tenant), common))


@bp.get("/oidc/.well-known/openid-configuration")
def oidc_discovery() -> ResponseReturnValue:
    _state().count("discovery")
    return jsonify(discovery_document(oidc_authority(_state()), False))


@bp.get("/<tenant>/discovery/v2.0/keys")
@bp.get("/oidc/keys")
def jwks(tenant: str | None = None) -> ResponseReturnValue:
    _state().count("jwks")
    return jsonify(_state().signer.jwks())


@bp.get("/<tenant>/discovery/instance")
def instance_discovery(tenant: str) -> ResponseReturnValue:
    """What MSAL asks a well-known authority host for its aliases (MSAL's own URL shape)."""
    _state().count("discovery")
    host = urlsplit(_state().bases.login).netloc
    endpoint = request.args.get("authorization_endpoint", "")
    if urlsplit(endpoint).netloc.lower() != host:
        return OAuthError(
            "invalid_instance",
            "AADSTS50049: Unknown or invalid instance.",
        ).response(request.headers.get("client-request-id"))
    segment = urlsplit(endpoint).path.strip("/").split("/")[0] or "common"
    return jsonify(
        {
            "tenant_discovery_endpoint": (
                f"{_state().bases.login}/{segment}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": request.args.get("api-version", "1.1"),
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )

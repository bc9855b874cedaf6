"""URLs of the two emulated authorities, built from the listeners' real ports."""

from __future__ import annotations

from dataclasses import dataclass

from .accounts import CONSUMER_SEGMENTS, CONSUMER_TENANT_ID, MULTI_TENANT_SEGMENTS
from .state import EmulatorState

ENTRA = "entra"
OIDC = "oidc"


@dataclass(frozen=True)
class Authority:
    kind: str
    tenant: str  # path segment as the caller used it ("common", a GUID, a domain, "oidc")
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str
    jwks_uri: str


def tenant_issuer(state: EmulatorState, tid: str) -> str:
    """The v2.0 issuer of tokens for users of tenant TID (the consumer tenant included)."""
    return f"{state.bases.login}/{tid}/v2.0"


def entra_authority(state: EmulatorState, tenant: str) -> Authority:
    tid = state.directory.tenant_id
    # Entra answers a domain name with the tenant GUID; common, organizations and consumers
    # stay as typed. Personal accounts' tokens come from the consumer tenant.
    if tenant.lower() in (*MULTI_TENANT_SEGMENTS, CONSUMER_TENANT_ID):
        segment = tenant.lower()
    else:
        segment = tid
    if segment in CONSUMER_SEGMENTS:
        tid = CONSUMER_TENANT_ID
    https, http = state.bases.login, state.bases.browser
    return Authority(
        kind=ENTRA,
        tenant=segment,
        issuer=tenant_issuer(state, tid),
        authorization_endpoint=f"{http}/{segment}/oauth2/v2.0/authorize",
        token_endpoint=f"{https}/{segment}/oauth2/v2.0/token",
        end_session_endpoint=f"{http}/{segment}/oauth2/v2.0/logout",
        jwks_uri=f"{https}/{segment}/discovery/v2.0/keys",
    )


def oidc_authority(state: EmulatorState) -> Authority:
    https, http = state.bases.login, state.bases.browser
    return Authority(
        kind=OIDC,
        tenant="oidc",
        issuer=f"{https}/oidc",  # MSAL's oidc_authority= requires issuer == authority
        authorization_endpoint=f"{http}/oidc/authorize",
        token_endpoint=f"{https}/oidc/token",
        end_session_endpoint=f"{http}/oidc/logout",
        jwks_uri=f"{https}/oidc/keys",
    )


def authority_for(state: EmulatorState, kind: str, tenant: str) -> Authority:
    return oidc_authority(state) if kind == OIDC else entra_authority(state, tenant)

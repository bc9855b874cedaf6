"""Kinds of account and where each may sign in: members, admins, guests, personal accounts."""

from __future__ import annotations

# Every personal Microsoft account (outlook.com, live.com) signs in to this tenant.
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
CONSUMER_SEGMENTS = ("consumers", CONSUMER_TENANT_ID)
MULTI_TENANT_SEGMENTS = ("common", "organizations", "consumers")

# Directory roles that may grant tenant-wide consent to delegated Graph permissions
# (grant-admin-consent; delegate-by-task): Global Administrator, Privileged Role
# Administrator, Cloud Application Administrator, Application Administrator.
CONSENT_ADMIN_ROLES = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    }
)


def is_personal(user: dict) -> bool:
    return user.get("tenant_id") == CONSUMER_TENANT_ID


def is_guest(user: dict) -> bool:
    return user.get("userType") == "Guest"


def has_onedrive(user: dict) -> bool:
    return user.get("oneDrive", True)


def graph_id(user: dict) -> str:
    """Graph's id: the object id, except personal accounts, whose /me id is the 16-hex CID
    that ends their zero-prefixed oid (00000000-0000-0000-xxxx-xxxxxxxxxxxx)."""
    if is_personal(user):
        return user["id"].replace("-", "")[-16:]
    return user["id"]


def refusal(segment: str, user: dict, tenant_name: str) -> str | None:
    """Why USER cannot sign in through the authority path SEGMENT, or None."""
    segment = segment.lower()
    if is_personal(user):
        if segment in ("common", *CONSUMER_SEGMENTS):
            return None
        return (
            f"AADSTS500200: User account '{user['userPrincipalName']}' is a personal Microsoft "
            "account. Personal Microsoft accounts are not supported for this application "
            "unless explicitly invited to an organization. Try signing out and signing back "
            "in with an organizational account."
        )
    if segment in CONSUMER_SEGMENTS:
        return (
            f"AADSTS50020: User account '{user['userPrincipalName']}' from identity provider "
            f"'{tenant_name}' does not exist in tenant 'Microsoft Accounts' and cannot access "
            "the application through the consumers endpoint. Sign in with a personal "
            "Microsoft account instead."
        )
    return None


def label(user: dict, admin: bool) -> str:
    """What the demo's banner says about an account."""
    if is_personal(user):
        return "personal Microsoft account"
    kind = "admin: can consent for the organization" if admin else "member"
    parts = ["guest" if is_guest(user) else kind]
    if not has_onedrive(user):
        parts.append("no OneDrive")
    return ", ".join(parts)

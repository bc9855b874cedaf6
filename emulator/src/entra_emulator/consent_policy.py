"""Who may consent to what: admin-only permissions and the tenant's user-consent settings.

Texts from "Unexpected error when performing consent to an application"
(application-sign-in-unexpected-user-consent-error) and reference-error-codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .accounts import is_personal
from .directory import Directory
from .scopes import ADMIN_CONSENT_REQUIRED


@dataclass(frozen=True)
class Approval:
    """A "Need admin approval" interrupt: what the page says and what the app gets back."""

    code: str  # AADSTS90094, AADSTS90095 (request form) or AADSTS90093 (tenant policy)
    message: str
    description: str
    can_request: bool  # the admin consent workflow offers a request form


def can_consent_for_organization(directory: Directory, user: dict) -> bool:
    return not is_personal(user) and directory.is_consent_admin(user["id"])


def approval_needed(
    directory: Directory, user: dict, app_name: str, scopes: list[str], for_tenant: bool = False
) -> Approval | None:
    """None when USER may consent to SCOPES themselves; else the interrupt Entra shows.

    FOR_TENANT: the admin consent endpoint, where only an admin can ever consent."""
    if is_personal(user) or directory.is_consent_admin(user["id"]):
        return None
    tenant = directory.tenant
    blocked = not tenant.get("userConsentAllowed", True)
    admin_only = for_tenant or any(s in ADMIN_CONSENT_REQUIRED for s in scopes)
    if not blocked and not admin_only:
        return None
    if tenant.get("adminConsentWorkflow", False):
        return Approval(
            "AADSTS90095",
            f"{app_name} needs permission to access resources in your organization that only "
            "an admin can grant. Request approval from an admin: enter a justification.",
            "AADSTS90095: Admin consent is required for the permissions requested by this "
            "application. An admin consent request may be sent to the admin.",
            can_request=True,
        )
    if admin_only:
        return Approval(
            "AADSTS90094",
            f"{app_name} needs permission to access resources in your organization that only "
            "an admin can grant. Ask an admin to grant permission to this app before you can "
            "use it.",
            "AADSTS90094: The grant requires admin permission.",
            can_request=False,
        )
    policy = (
        f"AADSTS90093: An administrator of {tenant['displayName']} set a policy that prevents "
        f"you from granting {app_name} the permissions it's requesting. Contact an "
        f"administrator of {tenant['displayName']}, who can grant permissions to this app on "
        "your behalf."
    )
    return Approval("AADSTS90093", policy.split(": ", 1)[1], policy, can_request=False)

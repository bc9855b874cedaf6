"""Who may open a page: app roles and group memberships of the signed-in user.

App roles come from the ID token's `roles` claim. Groups come from its `groups` claim;
when the token cannot name them all (the groups overage: past 200 groups Entra sends
`_claim_names` / `_claim_sources`, or `hasgroups`, instead), or names none, Microsoft
Graph is asked, once per group per session. The overage's `_claim_sources` endpoint is
the retired Azure AD Graph, so it is never called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import g, session

from graph import current_client, memberships

from . import user_session
from .state import PageRequirement, current_state

log = logging.getLogger(__name__)
# /me/transitiveMemberOf reads the user's own memberships with User.Read alone (ids and
# types only, which is all this needs); checkMemberGroups would also need
# GroupMember.Read.All, which needs an administrator's consent.
MEMBERSHIP_SCOPES = ("User.Read",)
# Session key: {group id: member?} for the groups pages asked Graph about; small.
GROUP_ANSWERS = "group_memberships"


@dataclass
class AccessNotGranted(Exception):
    """The user is signed in but lacks the app role or group membership the page needs."""

    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


def token_claims() -> dict:
    """The signed-in user's ID token claims ({} if none), read once per request."""
    if "id_token_claims" not in g:
        user = user_session.current_user()
        g.id_token_claims = (
            current_state().identity.id_token_claims(
                user_session.token_cache(), user.home_account_id
            )
            if user
            else {}
        )
    return g.id_token_claims


def app_roles() -> tuple[str, ...]:
    """The app roles the signed-in user was given for this app (the `roles` claim)."""
    roles = token_claims().get("roles")
    return tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else ()


def groups_source() -> str:
    """Where group memberships come from for this user: "token" (the `groups` claim),
    "overage" (too many groups for the token) or "graph" (the token names none)."""
    claims = token_claims()
    if isinstance(claims.get("groups"), list):
        return "token"
    if _is_overage(claims):
        return "overage"
    return "graph"


def require_roles(requirement: PageRequirement) -> None:
    """Raise AccessNotGranted unless the user has one of the page's app roles."""
    if not _has_role(requirement):
        log.info("access refused: no app role the page needs")
        raise AccessNotGranted(roles=requirement.roles)


def require_groups(requirement: PageRequirement, token: str) -> None:
    """Raise AccessNotGranted unless the user is in one of the page's groups; `token`
    (for MEMBERSHIP_SCOPES) asks Graph when the ID token cannot tell."""
    if requirement.groups and not any(_memberships(requirement.groups, token).values()):
        log.info("access refused: not a member of the group the page needs")
        raise AccessNotGranted(groups=requirement.groups)


def may_open(requirement: PageRequirement) -> bool:
    """Whether the user may open the page, as far as is known without calling Graph:
    for the navigation, so an unanswered overage shows the link and the page decides."""
    if not _has_role(requirement):
        return False
    if not requirement.groups:
        return True
    known = _known(requirement.groups)
    return any(known.values()) or len(known) < len(requirement.groups)


def _has_role(requirement: PageRequirement) -> bool:
    return not requirement.roles or bool(set(requirement.roles) & set(app_roles()))


def _memberships(group_ids: Iterable[str], token: str) -> dict[str, bool]:
    wanted = [i.lower() for i in group_ids]
    known = _known(wanted)
    unknown = [i for i in wanted if i not in known]
    if unknown:
        log.info("groups not in the ID token (%s): asking Microsoft Graph", groups_source())
        found = memberships.groups_among(current_client(), token, unknown)
        answers = {i: i in found for i in unknown}
        session[GROUP_ANSWERS] = {**session.get(GROUP_ANSWERS, {}), **answers}
        known |= answers
    return known


def _known(group_ids: Iterable[str]) -> dict[str, bool]:
    """What the ID token, or an earlier answer from Graph this session, says."""
    wanted = [i.lower() for i in group_ids]
    in_token = token_claims().get("groups")
    if isinstance(in_token, list):
        named = {str(i).lower() for i in in_token}
        return {i: i in named for i in wanted}
    answers = session.get(GROUP_ANSWERS, {})
    return {i: answers[i] for i in wanted if i in answers}


def _is_overage(claims: dict) -> bool:
    names = claims.get("_claim_names")
    return (isinstance(names, dict) and "groups" in names) or claims.get("hasgroups") is True

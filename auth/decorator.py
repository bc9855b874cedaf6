"""`login_required`: a page needs a signed-in user and a token for its scopes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from . import authorization, user_session
from .errors import PersonalAccountNotSupported
from .state import PageRequirement, current_state
from .tokens import token_for
from .user_session import SignedInUser

# The tenant every personal Microsoft account (outlook.com, live.com) belongs to.
PERSONAL_ACCOUNTS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
REQUIREMENT_ATTRIBUTE = "page_requirement"


def login_required(
    scopes: Iterable[str] | None = None,
    *,
    organizations_only: bool = False,
    roles: Iterable[str] = (),
    groups: Iterable[str] = (),
) -> Callable:
    """Guard a view: the user must be signed in and a token for `scopes` obtainable.

    The view is called with the access token as its `token` keyword argument.
    Without `scopes`, the page needs the app's SCOPE setting. `organizations_only`
    pages explain themselves to personal accounts instead. With `roles` (app role
    values) or `groups` (object ids), users need one of each; others get a 403 page.
    """
    needed = tuple(scopes or ())
    if groups:  # the groups overage is looked up with the page's own token
        needed += tuple(s for s in authorization.MEMBERSHIP_SCOPES if s not in needed)
    requirement = PageRequirement(needed, organizations_only, tuple(roles), tuple(groups))

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            user = user_session.current_user()
            if organizations_only and user and is_personal_account(user):
                raise PersonalAccountNotSupported()
            if user:
                authorization.require_roles(requirement)
            token = token_for(page_scopes(requirement))
            authorization.require_groups(requirement, token)
            return view(*args, token=token, **kwargs)

        # Read by init_app, which collects every page's scopes.
        setattr(wrapped, REQUIREMENT_ATTRIBUTE, requirement)
        return wrapped

    return decorator


def is_personal_account(user: SignedInUser) -> bool:
    return user.tenant_id == PERSONAL_ACCOUNTS_TENANT


def page_scopes(requirement: PageRequirement) -> tuple[str, ...]:
    return requirement.scopes or current_state().settings.scopes

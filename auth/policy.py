"""What to do when Microsoft Graph refuses the user's token: the one place that decides."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from . import user_session
from .errors import AuthError, SignInRequired
from .tokens import token_for

log = logging.getLogger(__name__)
# A 401 this soon after signing in (or renewing) is shown, not answered with another.
RECENT_SECONDS = 60


class Action(Enum):
    RETRY = "retry"  # the token was renewed: load the page again
    SIGN_IN = "sign_in"  # send the user through sign-in (consent, claims, expired grant)
    SHOW_AUTH_ERROR = "show_auth_error"  # renewing failed in a way to show (IdP unreachable)
    SHOW = "show"  # show Graph's refusal: signing in again would not help


@dataclass(frozen=True)
class Decision:
    action: Action
    sign_in: SignInRequired | None = None
    failure: AuthError | None = None


def after_graph_refusal(
    status: int, claims: str | None, scopes: tuple[str, ...], method: str
) -> Decision:
    """Decide what follows Graph's 401 or 403 for a page that needs `scopes`.

    A claims challenge (Continuous Access Evaluation, Conditional Access) signs the
    user in again with those claims, unless the last sign-in already carried them:
    then signing in again cannot help, and the refusal is shown. A 401 without
    claims is answered by renewing the token once with the refresh token (revoked
    or skewed tokens MSAL still trusts), then by signing in again, except within
    a minute of the last sign-in. A 403 without claims is the tenant's answer for
    this user (a guest, restricted directory reads): signing in would not change it.
    """
    if claims is not None:
        if user_session.signed_in_with_claims(claims):
            return Decision(Action.SHOW)
        return Decision(Action.SIGN_IN, SignInRequired(scopes, claims=claims, reason="claims"))
    if status != 401:
        return Decision(Action.SHOW)
    if method == "GET" and not user_session.refreshed_within(RECENT_SECONDS):
        try:
            token_for(scopes, force_refresh=True)
        except SignInRequired as again:
            return Decision(Action.SIGN_IN, sign_in=again)
        except AuthError as failure:
            return Decision(Action.SHOW_AUTH_ERROR, failure=failure)
        return Decision(Action.RETRY)
    if not user_session.signed_in_within(RECENT_SECONDS):
        return Decision(Action.SIGN_IN, SignInRequired(scopes, reason="token refused by Graph"))
    return Decision(Action.SHOW)

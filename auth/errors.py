"""The ways signing in or getting a token can fail, as plain values the error pages read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class AuthError(Exception):
    """A sign-in that could not be completed; the error handler words it for the user.

    `reason` is one of the REASONS below; `error` and `description` are what the
    identity provider said, when it said anything.
    """

    REASONS = frozenset(
        {
            "idp_error",  # the identity provider answered the sign-in with an error
            "declined",  # the user declined a permission a page asked for
            "admin_approval",  # the permission needs an administrator (AADSTS90094/90095)
            "unavailable_scope",  # the account type cannot have the permission (AADSTS70011)
            "expired",  # no pending sign-in for this response (too slow, cookies blocked)
            "elsewhere",  # the response reached a browser that did not start the sign-in
            "unverified",  # the response or the token did not match this sign-in
            "refused",  # the token endpoint refused to redeem the code
            "no_account",  # the tokens named no account
            "unreachable",  # the identity provider did not answer
        }
    )

    def __init__(
        self,
        reason: str,
        *,
        status: int = 400,
        error: str | None = None,
        description: str | None = None,
        scopes: Iterable[str] = (),
        next_path: str = "/",
        step: str = "",
    ) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown sign-in failure reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.error = error
        self.description = description
        self.scopes = tuple(scopes)
        self.next_path = next_path
        # For "unreachable": which call failed ("discovery", "redeem" or "refresh").
        self.step = step

    @classmethod
    def unreachable(cls, step: str, next_path: str) -> AuthError:
        """The identity provider did not answer: a gateway error, not the user's fault."""
        return cls("unreachable", status=502, next_path=next_path, step=step)


class PersonalAccountNotSupported(Exception):
    """The page needs a work or school directory, which personal accounts lack."""


@dataclass
class SignInRequired(Exception):
    """No token can be had silently: the user must go through the sign-in page."""

    scopes: tuple[str, ...] = ()
    claims: str | None = None
    reason: str = "sign-in required"

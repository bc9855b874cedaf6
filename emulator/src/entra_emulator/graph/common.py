"""What every Graph route shares: auth, scope checks, errors, paging, faults and ids."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote

import jwt
from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from ..endpoints import entra_authority, oidc_authority
from ..faults import GRAPH_ERRORS, FaultDecision
from ..parsing import ascii_int, json_int
from ..request_log import BATCH_ENVIRON_KEY
from ..state import EmulatorState

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 999

# Which delegated permissions open which endpoints; any one of a set suffices.
ME = (
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
)
USERS = ("User.ReadBasic.All", "User.Read.All", "Directory.Read.All", "Directory.AccessAsUser.All")
GROUPS = ("Group.Read.All", "Directory.Read.All", "Directory.AccessAsUser.All")
MEMBER_OF = (
    "GroupMember.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
)
# Stricter than real Graph (where User.Read can read /organization) so the app's
# directory page must ask for its own permission.
DIRECTORY = ("Directory.Read.All", "Directory.AccessAsUser.All")
MY_FILES = ("Files.Read", "Files.Read.All", "Sites.Read.All")
ALL_FILES = ("Files.Read.All", "Sites.Read.All")
SITES = ("Sites.Read.All",)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def state() -> EmulatorState:
    return current_app.extensions["emulator"]


def graph_base() -> str:
    return state().bases.graph + "/v1.0"


def context(fragment: str) -> str:
    return f"{graph_base()}/$metadata#{fragment}"


def require(permissions: tuple[str, ...]) -> None:
    """403 unless the access token carries at least one of the permissions."""
    if not set(permissions) & g.scopes:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def not_found(code: str, message: str) -> GraphError:
    return GraphError(404, code, message)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unknown_segment(rest: str) -> ResponseReturnValue:
    segment = rest.split("/")[0]
    raise bad_request(f"Resource not found for the segment '{segment}'.")


def error_body(code: str, message: str) -> dict:
    """Graph's error shape, with this request's ids."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": state().clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": g.request_id,
                "client-request-id": g.client_request_id,
            },
        }
    }


def _handle_graph_error(error: GraphError) -> ResponseReturnValue:
    return jsonify(error_body(error.code, error.message)), error.status, error.headers


def _before() -> ResponseReturnValue | None:
    g.request_id = str(uuid.uuid4())
    g.client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    # "graph" counts the HTTP requests clients sent; a $batch's requests count apart.
    batched = bool(request.environ.get(BATCH_ENVIRON_KEY))
    state().count("graph_batched" if batched else "graph", request.path)
    _authenticate()
    # After authentication, as in Graph: throttling is per app and user.
    caller = f"{g.client_id}/{g.user['id']}"
    decision = state().faults.decide("graph", request.method, request.path, caller)
    if decision:
        g.fault = decision.rule
        if decision.delay:
            state().clock.sleep(decision.delay)
        if decision.status:
            raise _fault_error(decision)
    return None


def _fault_error(decision: FaultDecision) -> GraphError:
    code, message = GRAPH_ERRORS[decision.status]
    headers = {}
    if decision.retry_after is not None:
        headers["Retry-After"] = str(decision.retry_after)
    return GraphError(decision.status, code, message, headers)


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise _auth_error("Access token is empty.")
    token = header[7:].strip()
    try:
        claims = state().signer.verify_access_token(token, state().clock.now())
    except jwt.ExpiredSignatureError:
        raise _auth_error("Access token has expired or is not yet valid.") from None
    except jwt.InvalidAudienceError:
        raise _auth_error("Access token validation failure. Invalid audience.") from None
    except jwt.InvalidSignatureError:  # a DecodeError subclass, so it must come first
        raise _auth_error("Access token validation failure. Invalid signature.") from None
    except jwt.DecodeError:
        raise _auth_error("IDX14100: JWT is not well formed, there are no dots (.).") from None
    except jwt.PyJWTError:
        raise _auth_error("Access token validation failure. Invalid signature.") from None
    if claims.get("iss") not in _issuers():
        raise _auth_error("Access token validation failure. Invalid issuer.")
    if state().access_token_expired_by_control(claims.get("uti")):
        raise _auth_error("Access token has expired or is not yet valid.")
    challenge = state().cae.challenge(claims)
    if challenge:  # Continuous Access Evaluation: a critical event since this sign-in
        headers = {"WWW-Authenticate": challenge.www_authenticate()}
        raise GraphError(401, "InvalidAuthenticationToken", challenge.message, headers)
    user = state().directory.find_user(claims["oid"])
    if user is None:
        raise _auth_error("Access token validation failure. Unknown user.")
    g.user, g.scopes, g.client_id = user, set(claims["scp"].split()), claims.get("appid")


def _issuers() -> tuple[str, ...]:
    """The authorities' issuers: Graph accepts tokens from this tenant and, for personal
    accounts, from the consumer tenant only."""
    entra = entra_authority(state(), state().directory.tenant_id)
    consumers = entra_authority(state(), "consumers")
    return entra.issuer, consumers.issuer, oidc_authority(state()).issuer


def _auth_error(message: str) -> GraphError:
    authorize = f"{state().bases.browser}/common/oauth2/v2.0/authorize"
    challenge = (
        f'Bearer realm="", authorization_uri="{authorize}", '
        'client_id="00000003-0000-0000-c000-000000000000"'
    )
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": challenge})


def _after(response):
    response.headers["request-id"] = g.get("request_id", str(uuid.uuid4()))
    response.headers["client-request-id"] = g.get("client_request_id", str(uuid.uuid4()))
    return response


def install(bp: Blueprint) -> None:
    bp.before_request(_before)
    bp.after_request(_after)
    bp.register_error_handler(GraphError, _handle_graph_error)


def page_size() -> int:
    raw = request.args.get("$top")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    size = ascii_int(raw)
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.",
            "Request_BadRequest",
        )
    return size


def _skip() -> int:
    raw = request.args.get("$skiptoken")
    if raw is None:
        return 0
    try:
        offset = json_int(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"])
    except (ValueError, KeyError, TypeError):
        offset = None
    if offset is None or offset < 0:
        raise bad_request("Invalid $skiptoken.", "Request_BadRequest")
    return offset


def paged(items: list[dict], context_fragment: str, extra: dict | None = None) -> dict:
    """One page of items with @odata.nextLink carrying the other query options forward."""
    size, offset = page_size(), _skip()
    body = {"@odata.context": context(context_fragment)}
    body.update(extra or {})
    body["value"] = items[offset : offset + size]
    if offset + size < len(items):
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode())
        args = {k: v for k, v in request.args.items() if k != "$skiptoken"}
        args["$skiptoken"] = token.decode().rstrip("=")
        query = "&".join(f"{k}={_quote(v)}" for k, v in args.items())
        body["@odata.nextLink"] = f"{state().bases.graph}{request.path}?{query}"
    return body


def _quote(value: str) -> str:
    return quote(value, safe="$:,'*")


def select(entity: dict, allowed: set[str], entity_type: str) -> dict:
    """Apply $select; an unknown property is a 400, as in Graph."""
    raw = request.args.get("$select")
    if not raw:
        return entity
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for name in fields:
        if name not in allowed:
            raise bad_request(
                f"Could not find a property named '{name}' on type "
                f"'microsoft.graph.{entity_type}'.",
                "Request_BadRequest",
            )
    keep = {k: v for k, v in entity.items() if k.startswith("@odata.")}
    keep.update({k: entity.get(k) for k in fields})
    return keep


def select_suffix() -> str:
    raw = request.args.get("$select")
    return f"({raw})" if raw else ""

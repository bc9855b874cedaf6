"""Short-lived, pre-authenticated download URLs served on the plain-HTTP listener."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app

from .directory import file_bytes
from .state import EmulatorState

DOWNLOAD_URL_LIFETIME = 3600  # Graph's downloadUrl is valid for about an hour
bp = Blueprint("downloads", __name__)


def _sign(key: bytes, payload: str) -> str:
    return base64.urlsafe_b64encode(hmac.digest(key, payload.encode(), hashlib.sha256))[
        :32
    ].decode()


def download_url(state: EmulatorState, drive_id: str, item_id: str) -> str:
    """A URL that needs no Authorization header, like Graph's @microsoft.graph.downloadUrl."""
    expires = int(state.clock.now()) + DOWNLOAD_URL_LIFETIME
    payload = f"{drive_id}|{item_id}|{expires}"
    token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{state.bases.downloads}/_download/{token}.{_sign(state.download_key, payload)}"


@bp.get("/_download/<token>")
def download(token: str) -> Response:
    state: EmulatorState = current_app.extensions["emulator"]
    encoded, _, signature = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        drive_id, item_id, expires = payload.split("|")
    except ValueError:
        abort(404)
    if not hmac.compare_digest(signature, _sign(state.download_key, payload)):
        abort(404)
    if int(expires) < state.clock.now():  # the signature matched: our own digits
        abort(410)
    item = state.directory.items.get(item_id)
    if item is None or item.drive_id != drive_id or item.is_folder:
        abort(404)
    ascii_name = item.name.encode("ascii", "replace").decode().replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(item.name)}"
    return Response(
        file_bytes(item),
        mimetype=item.mime_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "private"},
    )

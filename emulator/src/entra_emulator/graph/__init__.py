"""Emulated Microsoft Graph v1.0, mounted under /v1.0 on the HTTPS listener."""

from flask import Blueprint

from . import batch, common, directory_routes, files_routes, membership_routes

bp = Blueprint("graph", __name__, url_prefix="/v1.0")
common.install(bp)
directory_routes.install(bp)
membership_routes.install(bp)
files_routes.install(bp)
batch.install(bp)
# Registered last so every real route wins over the catch-all.
bp.add_url_rule(
    "/<path:rest>", "unknown", common.unknown_segment, methods=["GET", "POST", "PATCH", "DELETE"]
)

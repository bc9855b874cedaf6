"""Pages about the organization: people, groups and the directory itself."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from auth import login_required
from graph import current_client, resources

bp = Blueprint("directory", __name__)


@bp.route("/people")
@login_required(scopes=["User.ReadBasic.All"], organizations_only=True)
def people(token: str):
    """Find people in your organization."""
    query = request.args.get("q", "").strip()[:100]
    found = resources.people(current_client(), token, query, request.args.get("cursor"))
    return render_template("people.html", people=found, query=query)


@bp.route("/groups")
@login_required(scopes=["Group.Read.All"], organizations_only=True)
def groups(token: str):
    """The groups you belong to."""
    found = resources.my_groups(current_client(), token, request.args.get("cursor"))
    return render_template("groups.html", groups=found)


@bp.route("/groups/<group_id>")
# Members' names need a user permission too: without one Graph sends type and id only.
@login_required(scopes=["Group.Read.All", "User.ReadBasic.All"], organizations_only=True)
def group_members(group_id: str, token: str):
    """A group and its members."""
    found = resources.group(current_client(), token, group_id, request.args.get("cursor"))
    return render_template("group.html", group=found)


@bp.route("/directory")
@login_required(scopes=["Directory.AccessAsUser.All"], organizations_only=True)
def organization(token: str):
    """Your organization and your directory roles."""
    return render_template(
        "directory.html", organization=resources.organization(current_client(), token)
    )

"""Pages about the organization: people, groups and the directory itself."""

from __future__ import annotations

import re

from flask import Blueprint, g, render_template, request

from auth import login_required
from views import collection_page, graph, require_id

bp = Blueprint("directory", __name__)
PERSON_FIELDS = "id,displayName,jobTitle,department,mail,userPrincipalName,officeLocation"
PAGE_SIZE = 10
_SEARCH_UNSAFE = re.compile(r'["\\\\]')


@bp.route("/people")
@login_required(scopes=["User.ReadBasic.All"], organizations_only=True)
def people():
    """Find people in your organization."""
    query = request.args.get("q", "").strip()[:100]
    params = {"$select": PERSON_FIELDS, "$top": PAGE_SIZE}
    headers = None
    if query:
        term = _SEARCH_UNSAFE.sub(" ", query)
        params["$search"] = f'"displayName:{term}" OR "mail:{term}"'
        # Graph's $search on directory objects needs eventual consistency.
        headers = {"ConsistencyLevel": "eventual"}
    page = collection_page("/users", params, headers)
    return render_template("people.html", people=page.items, next_link=page.next_link, query=query)


@bp.route("/groups")
@login_required(scopes=["Group.Read.All"], organizations_only=True)
def groups():
    """The groups you belong to."""
    page = collection_page(
        "/me/memberOf/microsoft.graph.group",
        {"$select": "id,displayName,description,mail,groupTypes", "$top": PAGE_SIZE},
    )
    return render_template("groups.html", groups=page.items, next_link=page.next_link)


@bp.route("/groups/<group_id>")
@login_required(scopes=["Group.Read.All"], organizations_only=True)
def group_members(group_id: str):
    """A group and its members."""
    require_id(group_id)
    # Two calls: Graph returns a group's pageable member list only from /members,
    # and $expand=members stops at 20 members without a next link.
    group = graph().get(g.access_token, f"/groups/{group_id}", params={"$select": "displayName"})
    page = collection_page(
        f"/groups/{group_id}/members", {"$select": PERSON_FIELDS, "$top": PAGE_SIZE}
    )
    return render_template("group.html", group=group, members=page.items, next_link=page.next_link)


@bp.route("/directory")
@login_required(scopes=["Directory.AccessAsUser.All"], organizations_only=True)
def organization():
    """Your organization and your directory roles."""
    # Two calls: the organization and the user's roles are separate Graph resources.
    orgs = graph().page(g.access_token, "/organization", params={"$top": None})
    roles = graph().page(
        g.access_token,
        "/me/memberOf/microsoft.graph.directoryRole",
        params={"$select": "id,displayName,description", "$top": None},
    )
    return render_template(
        "directory.html", organization=(orgs.items or [{}])[0], roles=roles.items
    )

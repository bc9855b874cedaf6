"""App roles, group and directory-role claims in ID tokens (with the groups overage), and
the Graph APIs an app calls instead: transitiveMemberOf, checkMemberGroups, getMemberObjects."""

from __future__ import annotations

import pytest
import requests
from account_helpers import KAI, MEGAN, claims, graph, msal_app, signed_in
from emulator_helpers import ADELE, REDIRECT_URI

PATTI = "patti@contoso.example"  # Global Administrator; in Finance Approvers
SOREN = "soren@contoso.example"  # in Finance Approvers, which is inside Audit Readers
GRADY = "grady@contoso.example"  # a direct member of Audit Readers
ROWAN = "rowan@contoso.example"  # in 240 generated project groups
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"  # role template ids (tenant.json)
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
READ_GROUPS = ["User.Read", "GroupMember.Read.All"]


def group_id(emulator, name: str) -> str:
    return next(g["id"] for g in emulator.state.directory.groups if g["displayName"] == name)


def user_id(emulator, upn: str) -> str:
    return next(u["id"] for u in emulator.users if u["upn"] == upn)


def id_token(emulator, upn: str, client_id: str | None = None) -> dict:
    app = msal_app(emulator, client_id=client_id, secret="s3cret" if client_id else None)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    result = app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], upn))
    assert "id_token" in result, result
    return claims(result["id_token"])


def register(emulator, **registration) -> str:
    emulator.register_client("claims-app", "s3cret", [REDIRECT_URI], **registration)
    return "claims-app"


def token_for(emulator, upn: str, scopes) -> str:
    emulator.grant_admin_consent(scopes)
    return signed_in(emulator, upn, scopes)["access_token"]


def post(emulator, token: str, path: str, body) -> requests.Response:
    return graph(emulator, token, path, "POST", json=body)


def all_pages(emulator, token: str, path: str, **params) -> list[dict]:
    """Every item, following @odata.nextLink (at most 50 pages)."""
    page = graph(emulator, token, path, **params).json()
    items = list(page["value"])
    for _ in range(50):
        if "@odata.nextLink" not in page:
            return items
        page = graph(emulator, token, page["@odata.nextLink"]).json()
        items += page["value"]
    raise AssertionError("more than 50 pages")


# -- roles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upn", "roles"),
    [
        (ADELE, ["Reports.Reader"]),  # assigned to her
        (PATTI, ["Reports.Reader", "Admin.Settings"]),  # one through Finance Approvers
        (SOREN, ["Reports.Reader"]),  # through Finance Approvers only
    ],
)
def test_assigned_app_roles_are_in_the_id_token(emulator, upn, roles):
    assert id_token(emulator, upn)["roles"] == roles


def test_a_user_without_assignments_has_no_roles_claim(emulator):
    assert "roles" not in id_token(emulator, MEGAN)


def test_graph_access_tokens_carry_no_roles_of_the_app(emulator):
    assert "roles" not in claims(signed_in(emulator, ADELE, ["User.Read"])["access_token"])


def test_a_role_assigned_to_a_group_reaches_its_direct_members_only(emulator):
    client_id = register(
        emulator,
        app_roles=[{"id": "r1", "value": "Audit.Read", "allowedMemberTypes": ["User"]}],
        app_role_assignments=[{"appRole": "Audit.Read", "principal": "Audit Readers"}],
    )
    assert id_token(emulator, GRADY, client_id)["roles"] == ["Audit.Read"]
    assert "roles" not in id_token(emulator, SOREN, client_id)  # via a nested group


@pytest.mark.parametrize(
    "role",
    [
        {"id": "r1", "value": "Reports.Reader", "allowedMemberTypes": ["User"], "isEnabled": False},
        {"id": "r1", "value": "Reports.Reader", "allowedMemberTypes": ["Application"]},
    ],
)
def test_disabled_and_application_only_roles_are_left_out(emulator, role):
    client_id = register(
        emulator,
        app_roles=[role],
        app_role_assignments=[{"appRole": "Reports.Reader", "principal": ADELE}],
    )
    assert "roles" not in id_token(emulator, ADELE, client_id)


@pytest.mark.parametrize(
    "registration",
    [
        {"group_membership_claims": "Everything"},
        {"app_role_assignments": [{"appRole": "Missing", "principal": ADELE}]},
        {
            "app_roles": [{"id": "r1", "value": "A", "allowedMemberTypes": ["User"]}],
            "app_role_assignments": [{"appRole": "A", "principal": "nobody@contoso.example"}],
        },
    ],
)
def test_registrations_that_do_not_add_up_are_refused(emulator, registration):
    with pytest.raises(ValueError):
        register(emulator, **registration)


# -- groups and wids ------------------------------------------------------------------


def test_security_groups_in_the_id_token_include_nesting(emulator):
    token = id_token(emulator, SOREN)  # the demo app: groupMembershipClaims SecurityGroup
    assert token["groups"] == [
        group_id(emulator, "Finance Approvers"),
        group_id(emulator, "Audit Readers"),  # Finance Approvers is a member of it
    ]
    assert "wids" not in token


def test_microsoft_365_groups_are_not_security_groups(emulator):
    assert "groups" not in id_token(emulator, MEGAN)  # All Company, Sales and Marketing


def test_all_gives_every_group_and_the_directory_roles(emulator):
    token = id_token(emulator, ADELE, register(emulator, group_membership_claims="All"))
    assert token["groups"] == [
        group_id(emulator, "All Company"),
        group_id(emulator, "Sales and Marketing"),
    ]
    assert token["wids"] == [GLOBAL_READER, PRIVILEGED_ROLE_ADMIN]


def test_directory_role_gives_wids_and_no_groups(emulator):
    token = id_token(emulator, ADELE, register(emulator, group_membership_claims="DirectoryRole"))
    assert token["wids"] == [GLOBAL_READER, PRIVILEGED_ROLE_ADMIN]
    assert "groups" not in token


def test_application_group_gives_only_groups_assigned_to_the_app(emulator):
    client_id = register(
        emulator,
        group_membership_claims="ApplicationGroup",
        app_roles=[{"id": "r1", "value": "Reader", "allowedMemberTypes": ["User"]}],
        app_role_assignments=[{"appRole": "Reader", "principal": "Sales and Marketing"}],
    )
    assert id_token(emulator, ADELE, client_id)["groups"] == [
        group_id(emulator, "Sales and Marketing")
    ]


def test_no_group_claims_for_an_app_that_asks_for_none(emulator):
    token = id_token(emulator, SOREN, register(emulator))
    assert not {"groups", "wids", "_claim_names", "_claim_sources"} & token.keys()


def test_more_than_200_groups_is_the_overage_shape(emulator):
    token = id_token(emulator, ROWAN)
    assert "groups" not in token
    assert token["_claim_names"] == {"groups": "src1"}
    assert token["_claim_sources"] == {
        "src1": {
            "endpoint": (
                f"https://graph.windows.net/{emulator.tenant_id}/users/"
                f"{user_id(emulator, ROWAN)}/getMemberObjects"
            )
        }
    }


@pytest.mark.parametrize(("count", "overage"), [(200, False), (201, True)])
def test_the_overage_starts_past_200(emulator, count, overage):
    rooms = [f"Project Room {n:03d}" for n in range(1, count + 1)]
    emulator.add_user("many@contoso.example", "Many Groups", groups=rooms)
    token = id_token(emulator, "many@contoso.example")
    assert ("_claim_sources" in token) is overage
    assert len(token.get("groups", [])) == (0 if overage else 200)


# -- transitiveMemberOf ---------------------------------------------------------------


def test_transitive_member_of_adds_the_groups_around_the_users_groups(emulator):
    token = token_for(emulator, SOREN, READ_GROUPS)
    direct = graph(emulator, token, "/me/memberOf").json()["value"]
    transitive = graph(emulator, token, "/me/transitiveMemberOf").json()
    assert {g["displayName"] for g in direct} == {"All Company", "Finance Approvers"}
    assert {g["displayName"] for g in transitive["value"]} == {
        "All Company",
        "Finance Approvers",
        "Audit Readers",
    }
    assert transitive["@odata.context"].endswith("$metadata#directoryObjects")
    assert {g["@odata.type"] for g in transitive["value"]} == {"#microsoft.graph.group"}


def test_transitive_member_of_lists_directory_roles_readable_with_directory_read(emulator):
    token = token_for(emulator, PATTI, ["User.Read", "Directory.Read.All"])
    value = graph(emulator, token, "/me/transitiveMemberOf").json()["value"]
    roles = [o for o in value if o["@odata.type"] == "#microsoft.graph.directoryRole"]
    assert [r["displayName"] for r in roles] == ["Global Administrator"]


def test_with_user_read_only_the_objects_are_type_and_id(emulator):
    token = signed_in(emulator, PATTI, ["User.Read"])["access_token"]
    value = graph(emulator, token, "/me/transitiveMemberOf").json()["value"]
    assert value and all(set(o) == {"@odata.type", "id"} for o in value)
    assert group_id(emulator, "Audit Readers") in {o["id"] for o in value}


@pytest.mark.parametrize(
    ("cast", "context"),
    [("microsoft.graph.group", "groups"), ("microsoft.graph.directoryRole", "directoryRoles")],
)
def test_transitive_member_of_cast_segments(emulator, cast, context):
    token = token_for(emulator, PATTI, ["User.Read", "Directory.Read.All"])
    body = graph(emulator, token, f"/me/transitiveMemberOf/{cast}").json()
    assert body["@odata.context"].endswith(f"$metadata#{context}")
    names = {o["displayName"] for o in body["value"]}
    expected = {"All Company", "Finance Approvers", "Audit Readers"}
    assert names == (expected if context == "groups" else {"Global Administrator"})


def test_another_users_memberships_need_more_than_user_read(emulator):
    soren = user_id(emulator, SOREN)
    narrow = signed_in(emulator, GRADY, ["User.Read"])["access_token"]
    assert graph(emulator, narrow, f"/users/{soren}/transitiveMemberOf").status_code == 403
    broad = token_for(emulator, GRADY, READ_GROUPS)
    value = graph(emulator, broad, f"/users/{SOREN}/transitiveMemberOf").json()["value"]
    assert group_id(emulator, "Audit Readers") in {o["id"] for o in value}
    missing = graph(emulator, broad, "/users/nobody@contoso.example/transitiveMemberOf")
    assert missing.status_code == 404


def test_without_a_permission_for_it_transitive_member_of_is_403(emulator):
    token = signed_in(emulator, SOREN, ["Files.Read"])["access_token"]
    response = graph(emulator, token, "/me/transitiveMemberOf")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_personal_accounts_are_not_supported(emulator):
    token = signed_in(emulator, KAI, ["User.Read"], segment="common")["access_token"]
    assert graph(emulator, token, "/me/transitiveMemberOf").status_code == 403
    assert (
        post(emulator, token, "/me/getMemberObjects", {"securityEnabledOnly": False}).status_code
        == 403
    )


def test_240_groups_page_through_member_of_and_groups(emulator):
    token = token_for(emulator, ROWAN, ["User.Read", "Group.Read.All"])
    mine = all_pages(emulator, token, "/me/memberOf", **{"$top": "100"})
    assert len(mine) == len({g["id"] for g in mine}) == 240
    everyone = all_pages(emulator, token, "/groups", **{"$top": "999"})
    assert {"Project Room 001", "Project Room 240", "Audit Readers"} <= {
        g["displayName"] for g in everyone
    }
    transitive = all_pages(emulator, token, "/me/transitiveMemberOf/microsoft.graph.group")
    assert len(transitive) == 240  # ten to a page by default


# -- checkMemberGroups and getMemberObjects -------------------------------------------


def test_check_member_groups_answers_which_of_the_ids(emulator):
    token = token_for(emulator, SOREN, READ_GROUPS)
    asked = [
        group_id(emulator, "Audit Readers"),  # through Finance Approvers
        group_id(emulator, "Engineering"),
        group_id(emulator, "Finance Approvers"),
    ]
    response = post(emulator, token, "/me/checkMemberGroups", {"groupIds": asked})
    assert response.status_code == 200
    assert response.json() == {
        "@odata.context": f"{emulator.graph_endpoint}/$metadata#Collection(Edm.String)",
        "value": [asked[0], asked[2]],
    }


def test_check_member_groups_takes_at_most_20_ids(emulator):
    token = token_for(emulator, SOREN, READ_GROUPS)
    twenty = [group_id(emulator, f"Project Room {n:03d}") for n in range(1, 21)]
    assert (
        post(emulator, token, "/me/checkMemberGroups", {"groupIds": twenty}).json()["value"] == []
    )
    extra = twenty + [group_id(emulator, "Finance Approvers")]
    response = post(emulator, token, "/me/checkMemberGroups", {"groupIds": extra})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"


@pytest.mark.parametrize(
    "body", [{}, {"groupIds": "not-a-list"}, {"groupIds": ["not-a-guid"]}, None]
)
def test_check_member_groups_refuses_bad_bodies(emulator, body):
    token = token_for(emulator, SOREN, READ_GROUPS)
    assert post(emulator, token, "/me/checkMemberGroups", body).status_code == 400


def test_check_member_groups_needs_a_group_permission(emulator):
    token = signed_in(emulator, SOREN, ["User.Read"])["access_token"]
    ids = [group_id(emulator, "Finance Approvers")]
    response = post(emulator, token, "/me/checkMemberGroups", {"groupIds": ids})
    assert response.status_code == 403


def test_get_member_objects_security_groups_only_or_everything(emulator):
    token = signed_in(emulator, PATTI, ["User.Read"])["access_token"]  # User.Read suffices
    security = post(emulator, token, "/me/getMemberObjects", {"securityEnabledOnly": True})
    assert security.json()["value"] == [
        group_id(emulator, "Finance Approvers"),
        group_id(emulator, "Audit Readers"),
    ]
    everything = post(emulator, token, "/me/getMemberObjects", {"securityEnabledOnly": False})
    roles = {
        r["id"]
        for r in emulator.state.directory.roles
        if r["displayName"] == "Global Administrator"
    }
    assert set(everything.json()["value"]) == {
        group_id(emulator, "All Company"),
        group_id(emulator, "Finance Approvers"),
        group_id(emulator, "Audit Readers"),
        *roles,
    }


def test_get_member_objects_resolves_the_overage(emulator):
    token = signed_in(emulator, ROWAN, ["User.Read"])["access_token"]
    ids = post(emulator, token, "/me/getMemberObjects", {"securityEnabledOnly": True}).json()
    assert len(ids["value"]) == 240


@pytest.mark.parametrize("body", [{}, {"securityEnabledOnly": "yes"}, None])
def test_get_member_objects_needs_security_enabled_only(emulator, body):
    token = signed_in(emulator, PATTI, ["User.Read"])["access_token"]
    response = post(emulator, token, "/me/getMemberObjects", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"


def test_another_users_member_objects_need_user_read_all(emulator):
    narrow = signed_in(emulator, GRADY, ["User.Read"])["access_token"]
    body = {"securityEnabledOnly": True}
    assert post(emulator, narrow, f"/users/{SOREN}/getMemberObjects", body).status_code == 403
    broad = token_for(emulator, GRADY, ["User.Read.All"])
    answer = post(emulator, broad, f"/users/{SOREN}/getMemberObjects", body)
    assert answer.json()["value"] == [
        group_id(emulator, "Finance Approvers"),
        group_id(emulator, "Audit Readers"),
    ]

"""Pages for an app role and for a group: the ID token's `roles` and `groups` claims, and
Microsoft Graph when the token cannot name the user's groups (the groups overage).

The emulator's demo registration defines the app role Reports.Reader (Adele; Patti and
Søren through the Finance Approvers group) and puts security groups in ID tokens; Rowan
is in 240 groups, past the 200 a token can name.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from app_helpers import SignIn

from app import create_app
from graph import GraphClient, memberships

FINANCE_APPROVERS = "3d404ce1-f2cc-48c7-b16d-d182ea0669da"
# Contains Finance Approvers: its members are members of this one too.
AUDIT_READERS = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
MEMBERSHIP_CALLS = "/v1.0/me/transitiveMemberOf"
NAV = re.compile(r'<nav class="site-nav".*?</nav>', re.S)


def nav_links(page: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', NAV.search(page).group(0))


def jwt_claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def membership_calls(emulator) -> int:
    return emulator.counters().get("graph_paths", {}).get(MEMBERSHIP_CALLS, 0)


@pytest.fixture
def sign_in(env, emulator_graph):
    """sign_in(user, **settings): a new browser, signed in to an app built with SETTINGS."""

    def signed_in_as(user: str, **settings: str):
        client = create_app(env | settings).test_client()
        assert SignIn(client, emulator_graph)(user=user).status_code == 303
        return client

    return signed_in_as


# -- app roles ----------------------------------------------------------------------


def test_a_user_with_the_app_role_opens_reports_and_sees_it_offered(sign_in):
    adele = sign_in("adele@contoso.example")
    page = adele.get("/reports")
    assert page.status_code == 200
    assert "<code>Reports.Reader</code>" in page.get_data(as_text=True)
    assert "/reports" in nav_links(adele.get("/").get_data(as_text=True))


def test_a_role_assigned_to_a_group_reaches_its_members(sign_in):
    assert sign_in("soren@contoso.example").get("/reports").status_code == 200


def test_a_user_without_the_role_gets_a_page_saying_which_role_and_whom_to_ask(sign_in, env):
    megan = sign_in("megan@contoso.example")
    for _ in range(2):  # asking again changes nothing: a page, never a sign-in loop
        refused = megan.get("/reports")
        page = refused.get_data(as_text=True)
        assert refused.status_code == 403 and "Location" not in refused.headers
        assert "<code>Reports.Reader</code>" in page
        assert "Users and groups" in page and env["CLIENT_ID"] in page
        assert 'class="site-nav"' in page  # in the site's layout
    assert "/reports" not in nav_links(megan.get("/").get_data(as_text=True))


def test_a_signed_out_visitor_is_sent_to_sign_in_not_refused(client):
    answer = client.get("/reports")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_personal_account_is_told_the_page_needs_a_work_account(env, emulator_graph):
    common = {k: v for k, v in env.items() if k != "TENANT_ID"}
    kai = create_app(common).test_client()
    assert SignIn(kai, emulator_graph)(user="kai.carter@outlook.example").status_code == 303
    assert "for personal Microsoft accounts" in kai.get("/reports").get_data(as_text=True)
    assert "/reports" not in nav_links(kai.get("/").get_data(as_text=True))


# -- groups in the token ---------------------------------------------------------------


def test_a_member_named_in_the_groups_claim_opens_the_group_page_without_graph(
    sign_in, emulator_graph
):
    soren = sign_in("soren@contoso.example", FINANCE_GROUP_ID=FINANCE_APPROVERS)
    page = soren.get("/finance")
    assert page.status_code == 200
    assert "<code>groups</code> claim" in page.get_data(as_text=True)
    assert "/finance" in nav_links(soren.get("/").get_data(as_text=True))
    assert membership_calls(emulator_graph) == 0


def test_a_nested_membership_counts(sign_in):
    # Søren is in Finance Approvers, which is a member of Audit Readers.
    soren = sign_in("soren@contoso.example", FINANCE_GROUP_ID=AUDIT_READERS)
    assert soren.get("/finance").status_code == 200


def test_someone_else_in_the_groups_claim_gets_a_page_naming_the_group(sign_in, emulator_graph):
    grady = sign_in("grady@contoso.example", FINANCE_GROUP_ID=FINANCE_APPROVERS)
    refused = grady.get("/finance")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert f"<code>{FINANCE_APPROVERS}</code>" in page and "Add members" in page
    assert "/finance" not in nav_links(grady.get("/").get_data(as_text=True))
    assert membership_calls(emulator_graph) == 0


def test_without_finance_group_id_there_is_no_finance_page(sign_in):
    soren = sign_in("soren@contoso.example")
    assert soren.get("/finance").status_code == 404
    assert "/finance" not in nav_links(soren.get("/").get_data(as_text=True))


# -- the groups overage ---------------------------------------------------------------------


@pytest.fixture
def overage_member(emulator_graph):
    """A member of Finance Approvers who is also in 240 other groups: no groups claim."""
    rooms = [f"Project Room {n:03d}" for n in range(1, 241)]
    emulator_graph.add_user(
        "robin@contoso.example", "Robin Overage", groups=[*rooms, "Finance Approvers"]
    )
    return "robin@contoso.example"


def test_an_overage_member_is_found_through_graph_once_per_session(
    sign_in, emulator_graph, overage_member, token_endpoint
):
    robin = sign_in(overage_member, FINANCE_GROUP_ID=FINANCE_APPROVERS)
    claims = jwt_claims(token_endpoint.calls()[-1].answer["id_token"])
    assert "groups" not in claims and claims["_claim_names"] == {"groups": "src1"}
    # The Finance link is offered until Graph has been asked: the page decides.
    assert "/finance" in nav_links(robin.get("/").get_data(as_text=True))
    page = robin.get("/finance")
    assert page.status_code == 200
    assert "groups overage" in page.get_data(as_text=True)
    for path in ("/finance", "/", "/finance"):
        assert robin.get(path).status_code == 200
    assert membership_calls(emulator_graph) == 1
    # Never the legacy Azure AD Graph endpoint the overage claim points at.
    assert not emulator_graph.request_log(path="*getMemberObjects*")


def test_an_overage_user_outside_the_group_is_refused_and_the_link_goes(sign_in, emulator_graph):
    rowan = sign_in("rowan@contoso.example", FINANCE_GROUP_ID=FINANCE_APPROVERS)
    assert "/finance" in nav_links(rowan.get("/").get_data(as_text=True))
    assert rowan.get("/finance").status_code == 403
    assert "/finance" not in nav_links(rowan.get("/").get_data(as_text=True))
    assert rowan.get("/finance").status_code == 403
    assert membership_calls(emulator_graph) == 1


def test_the_overage_answer_is_the_last_of_hundreds_of_memberships(sign_in, emulator_graph):
    room_240 = next(
        g["id"]
        for g in emulator_graph.state.directory.groups
        if g["displayName"] == "Project Room 240"
    )
    rowan = sign_in("rowan@contoso.example", FINANCE_GROUP_ID=room_240.upper())
    assert rowan.get("/finance").status_code == 200


MEMBER_OF = "https://graph.microsoft.com/v1.0/me/transitiveMemberOf"


def scripted_pages(http_mock, *pages: list[str]) -> None:
    """Graph's transitiveMemberOf answered in PAGES of ids, each linking to the next."""
    for n, ids in enumerate(pages):
        body = {"value": [{"@odata.type": "#microsoft.graph.group", "id": i} for i in ids]}
        if n + 1 < len(pages):
            body["@odata.nextLink"] = f"{MEMBER_OF}?$top=999&$skiptoken=page{n + 1}"
        http_mock.get(MEMBER_OF, json=body)


@pytest.mark.parametrize(
    ("pages", "wanted", "found", "calls"),
    [
        ([["a", "b"], ["c", "d"], ["e"]], {"d"}, {"d"}, 2),  # stops once it knows
        ([["a", "b"], ["c"]], {"a", "x"}, {"a"}, 2),  # reads to the end for the rest
        ([["a"]], {"A"}, {"a"}, 1),  # ids compared in lower case
    ],
)
def test_memberships_are_read_page_by_page_until_the_answer_is_known(
    http_mock, pages, wanted, found, calls
):
    scripted_pages(http_mock, *pages)
    client = GraphClient("https://graph.microsoft.com/v1.0", user_agent="test")
    assert memberships.groups_among(client, "a-token", wanted) == found
    sent = [c.request for c in http_mock.calls]
    assert len(sent) == calls
    assert "%24top=999" in sent[0].url and "%24select=id" in sent[0].url


def test_graph_failing_during_the_overage_check_shows_a_page_and_decides_nothing(
    sign_in, emulator_graph, overage_member
):
    robin = sign_in(overage_member, FINANCE_GROUP_ID=FINANCE_APPROVERS)
    emulator_graph.set_fault_rules([{"path": MEMBERSHIP_CALLS, "status": 503, "count": 3}])
    failed = robin.get("/finance")
    assert failed.status_code == 503 and "Microsoft Graph" in failed.get_data(as_text=True)
    assert robin.get("/finance").status_code == 200  # Graph answers again: now it is known


# -- no groups claim ------------------------------------------------------------------------


def test_with_group_claims_off_the_app_asks_graph(env, emulator_graph):
    emulator_graph.register_client(
        "enterprise-no-group-claims", "a-secret-for-this-test", [env["REDIRECT_URI"]]
    )
    settings = {
        "CLIENT_ID": "enterprise-no-group-claims",
        "CLIENT_SECRET": "a-secret-for-this-test",
    }
    client = create_app(env | settings | {"FINANCE_GROUP_ID": FINANCE_APPROVERS}).test_client()
    assert SignIn(client, emulator_graph)(user="soren@contoso.example").status_code == 303
    page = client.get("/finance")
    assert page.status_code == 200 and "group claims are off" in page.get_data(as_text=True)
    assert membership_calls(emulator_graph) == 1
    # No roles claim either: this registration defines no app roles.
    assert client.get("/reports").status_code == 403


def test_a_user_in_no_group_is_checked_with_graph_and_refused(sign_in, emulator_graph):
    megan = sign_in("megan@contoso.example", FINANCE_GROUP_ID=FINANCE_APPROVERS)
    assert megan.get("/finance").status_code == 403
    assert membership_calls(emulator_graph) == 1


@pytest.mark.parametrize("groups", [[7, None, {"id": FINANCE_APPROVERS}], "not-a-list"])
def test_odd_groups_claims_decide_nothing_and_break_nothing(sign_in, token_endpoint, groups):
    token_endpoint.tamper_id_tokens({"groups": groups, "roles": "Reports.Reader"})
    megan = sign_in("megan@contoso.example", FINANCE_GROUP_ID=FINANCE_APPROVERS)
    assert megan.get("/finance").status_code == 403
    assert megan.get("/reports").status_code == 403

"""The signed-in user's group memberships, for when the ID token cannot list them all."""

from __future__ import annotations

from collections.abc import Iterable

from .client import GraphClient

TRANSITIVE_MEMBER_OF = "/me/transitiveMemberOf"
# Graph's largest page for memberships; a user in 10,000 groups takes 11 calls.
PAGE_SIZE = 999
MAX_PAGES = 50


def groups_among(client: GraphClient, token: str, group_ids: Iterable[str]) -> set[str]:
    """Which of `group_ids` (lower case) the user is in, directly or through nested groups.

    `/me/transitiveMemberOf` needs only User.Read for one's own memberships: objects the
    token may not read come back as type and id, and the id is all this looks at. It stops
    at the first page that completes the answer.
    """
    wanted = {i.lower() for i in group_ids}
    found: set[str] = set()
    cursor = None
    for _ in range(MAX_PAGES):
        page = (
            client.next_page(token, TRANSITIVE_MEMBER_OF, cursor)
            if cursor
            else client.page(
                token, TRANSITIVE_MEMBER_OF, params={"$select": "id", "$top": PAGE_SIZE}
            )
        )
        found |= {str(i.get("id")).lower() for i in page.items if isinstance(i, dict)} & wanted
        cursor = page.next_cursor
        if found == wanted or not cursor:
            break
    return found

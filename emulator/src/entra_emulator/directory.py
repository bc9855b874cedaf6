"""The demo tenant: users, groups, roles, drives and sites loaded from one JSON file."""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .accounts import CONSENT_ADMIN_ROLES, CONSUMER_SEGMENTS, graph_id, has_onedrive, is_personal
from .membership_claims import check_registration

DEFAULT_DATA_FILE = Path(__file__).with_name("tenant.json")

# Small on purpose: only the extensions the seeded files use.
MIME_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".txt": "text/plain",
    ".md": "text/markdown",
}
CREATED = "2023-06-01T08:00:00Z"
CONSUMER_ONEDRIVE = "https://onedrive.live.com"
# A site's default library is called Documents and lives at Shared Documents.
LIBRARY_URL_NAMES = {"Documents": "Shared Documents"}


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode("utf-8")).digest()


def item_id_for(seed: str) -> str:
    """Graph driveItem ids look like '01' + 32 upper-case base32 characters."""
    return "01" + base64.b32encode(_digest(seed)).decode()[:32]


def drive_id_for(seed: str) -> str:
    """Graph drive ids look like 'b!' + url-safe base64."""
    return "b!" + base64.urlsafe_b64encode(_digest(seed) + _digest(seed + "/"))[:64].decode()


def fold(text: str) -> str:
    """Case- and accent-insensitive form used by search ("zoe" finds "Zoë")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


@dataclass
class DriveItem:
    id: str
    name: str
    drive_id: str
    parent_id: str | None
    path: str  # own path, e.g. "/drive/root:/Documents"; children's parentReference.path
    web_url: str
    size: int = 0
    modified: str = CREATED
    children: list[str] = field(default_factory=list)
    is_folder: bool = True

    @property
    def mime_type(self) -> str:
        return MIME_TYPES.get(Path(self.name).suffix.lower(), "application/octet-stream")


@dataclass
class Drive:
    id: str
    name: str
    drive_type: str  # "business" (OneDrive), "personal" (consumer OneDrive), "documentLibrary"
    web_url: str
    root_id: str
    owner: dict
    site_id: str | None = None
    user_id: str | None = None


class Directory:
    """Read-only view of the seeded tenant, with the lookups Graph routes need."""

    def __init__(self, data: dict, extra_redirect_uris: tuple[str, ...] = ()) -> None:
        self.tenant = data["tenant"]
        self.tenant_id: str = self.tenant["id"]
        self.domains = [self.tenant["initialDomain"], self.tenant["defaultDomain"]]
        client = dict(data["client"])
        client["redirect_uris"] = list(client["redirect_uris"]) + list(extra_redirect_uris)
        self.client = client  # the demo client, the one emulator.json names
        self.clients: dict[str, dict] = {client["client_id"]: client}
        # (client id, jti) -> (digest, exp) of client assertions seen (client_assertions.py)
        self.client_assertions_seen: dict[tuple[str, str], tuple[str, float]] = {}
        self.users: list[dict] = []  # the organization's directory: members and guests
        self._users_by_key: dict[str, dict] = {}
        for user in data["users"]:
            self._index_user(user)
        # Personal Microsoft accounts live in the consumer tenant, never in /users.
        personal = data.get("personalAccounts", {"users": []})
        self.personal_users = [dict(u, tenant_id=personal["tenantId"]) for u in personal["users"]]
        for user in self.personal_users:
            self._index(user)
        self.groups = [self._with_member_ids(g) for g in data["groups"]]
        self.groups += [self._with_member_ids(g) for g in generated_groups(data)]
        self._nest_groups()
        self.roles = [self._with_member_ids(r) for r in data["directoryRoles"]]
        self.drives: dict[str, Drive] = {}
        self.items: dict[str, DriveItem] = {}
        self.sites: list[dict] = []
        self._onedrive_template = data["onedrive"]
        for user in self.users + self.personal_users:
            self._add_onedrive(user, self._onedrive_template)
        for site in data["sites"]:
            self._add_site(site)
        check_registration(self, self.client)  # app roles and group claims add up

    def _index_user(self, user: dict) -> None:
        user.setdefault("tenant_id", self.tenant_id)
        self.users.append(user)
        self._index(user)

    def _index(self, user: dict) -> None:
        self._users_by_key[user["id"].lower()] = user
        self._users_by_key[user["userPrincipalName"].lower()] = user

    def add_user(self, user: dict, groups: tuple[str, ...] = (), roles: tuple[str, ...] = ()):
        """Add a member (a guest with userType "Guest"; no OneDrive with oneDrive False) like
        the seeded ones; groups and roles by display name."""
        if self.find_user(user["id"]) or self.find_user(user["userPrincipalName"]):
            raise ValueError(f"user {user['userPrincipalName']!r} already exists")
        wanted = {"group": set(groups), "role": set(roles)}
        found = {
            "group": [g for g in self.groups if g["displayName"] in wanted["group"]],
            "role": [r for r in self.roles if r["displayName"] in wanted["role"]],
        }
        for kind, entries in found.items():
            missing = wanted[kind] - {e["displayName"] for e in entries}
            if missing:
                raise ValueError(f"no {kind} named {', '.join(sorted(missing))}")
        self._index_user(user)
        self._add_onedrive(user, self._onedrive_template)
        for entry in found["group"] + found["role"]:
            entry["member_ids"].append(user["id"])

    def register_client(self, client: dict) -> None:
        """Add an app registration, or replace the one with the same client id."""
        self.clients[client["client_id"]] = client
        if client["client_id"] == self.client["client_id"]:
            self.client = client

    def find_client(self, client_id: str) -> dict | None:
        return self.clients.get(client_id)

    def find_user(self, key: str) -> dict | None:
        """A user by object id or UPN, case-insensitively."""
        return self._users_by_key.get(key.strip().lower())

    def find_group(self, group_id: str) -> dict | None:
        return next((g for g in self.groups if g["id"] == group_id.lower()), None)

    @property
    def web_origins(self) -> tuple[str, ...]:
        """The real service's origins of every webUrl: team sites, OneDrives, personal ones."""
        return (f"https://{self.tenant['sharepointHost']}", self._my_host(), CONSUMER_ONEDRIVE)

    def _my_host(self) -> str:
        host = self.tenant["sharepointHost"].replace(".sharepoint.com", "-my.sharepoint.com")
        return f"https://{host}"

    def find_site(self, site_id: str) -> dict | None:
        return next((s for s in self.sites if s["id"].lower() == site_id.lower()), None)

    @property
    def accounts(self) -> list[dict]:
        """Everyone who can sign in: the organization's users, then personal accounts."""
        return self.users + self.personal_users

    def is_known_tenant(self, tenant: str) -> bool:
        names = {self.tenant_id, "common", "organizations", *CONSUMER_SEGMENTS, *self.domains}
        return tenant.lower() in {n.lower() for n in names}

    def is_consent_admin(self, user_id: str) -> bool:
        """Holds a directory role that may consent on behalf of the organization."""
        _, roles = self.memberships(user_id)
        return any(r["roleTemplateId"] in CONSENT_ADMIN_ROLES for r in roles)

    def memberships(self, user_id: str) -> tuple[list[dict], list[dict]]:
        groups = [g for g in self.groups if user_id in g["member_ids"]]
        roles = [r for r in self.roles if user_id in r["member_ids"]]
        return groups, roles

    def transitive_groups(self, user_id: str) -> list[dict]:
        """Every group the user is in, directly or through groups inside groups, in tenant
        order (what transitiveMemberOf, getMemberObjects and the groups claim count)."""
        found = {g["id"] for g in self.groups if user_id in g["member_ids"]}
        frontier = set(found)
        while frontier:  # ends: each round adds only groups not found before
            frontier = {
                g["id"] for g in self.groups if frontier & set(g["member_group_ids"])
            } - found
            found |= frontier
        return [g for g in self.groups if g["id"] in found]

    def _nest_groups(self) -> None:
        """A group's "groupMembers" (display names) are groups inside it."""
        by_name = {g["displayName"]: g for g in self.groups}
        for group in self.groups:
            names = group.pop("groupMembers", [])
            missing = sorted(set(names) - by_name.keys())
            if missing:
                raise ValueError(f"no group named {', '.join(missing)}")
            group["member_group_ids"] = [by_name[name]["id"] for name in names]

    def onedrive_of(self, user_id: str) -> Drive | None:
        """None for a user without a OneDrive (no licence, or a guest)."""
        return next((d for d in self.drives.values() if d.user_id == user_id), None)

    def site_drives(self, site_id: str) -> list[Drive]:
        return [d for d in self.drives.values() if d.site_id == site_id]

    def _with_member_ids(self, entry: dict) -> dict:
        entry = dict(entry)
        entry["member_ids"] = [self.find_user(upn)["id"] for upn in entry.pop("members")]
        return entry

    def _add_onedrive(self, user: dict, template: list[dict]) -> None:
        if not has_onedrive(user):
            return
        alias = user["userPrincipalName"].replace("@", "_").replace(".", "_")
        web = f"{self._my_host()}/personal/{alias}/Documents"
        if is_personal(user):
            web = f"{CONSUMER_ONEDRIVE}/?cid={graph_id(user)}"
        drive = self._add_drive(
            seed=f"onedrive:{user['id']}",
            name="OneDrive",
            drive_type="personal" if is_personal(user) else "business",
            web_url=web,
            owner={"user": {"id": graph_id(user), "displayName": user["displayName"]}},
            items=template,
        )
        drive.user_id = user["id"]

    def _add_site(self, site: dict) -> None:
        host = self.tenant["sharepointHost"]
        site_guid = uuid.uuid5(uuid.NAMESPACE_URL, f"site:{site['name']}")
        web_guid = uuid.uuid5(uuid.NAMESPACE_URL, f"web:{site['name']}")
        site_id = f"{host},{site_guid},{web_guid}"
        web = f"https://{host}/sites/{site['name']}"
        self.sites.append(
            {
                "id": site_id,
                "name": site["name"],
                "displayName": site["displayName"],
                "description": site["description"],
                "webUrl": web,
                "createdDateTime": CREATED,
                "lastModifiedDateTime": CREATED,
                "siteCollection": {"hostname": host},
            }
        )
        for library in site["libraries"]:
            url_name = LIBRARY_URL_NAMES.get(library["name"], library["name"])
            drive = self._add_drive(
                seed=f"site:{site['name']}:{library['name']}",
                name=library["name"],
                drive_type="documentLibrary",
                web_url=f"{web}/{quote(url_name)}",
                owner={"group": {"displayName": f"{site['displayName']} Owners"}},
                items=library["items"],
            )
            drive.site_id = site_id

    def _add_drive(self, seed, name, drive_type, web_url, owner, items) -> Drive:
        drive_id = drive_id_for(seed)
        root = DriveItem(
            id=item_id_for(seed + ":root"),
            name="root",
            drive_id=drive_id,
            parent_id=None,
            path="/drive/root:",
            web_url=web_url,
        )
        self.items[root.id] = root
        drive = Drive(drive_id, name, drive_type, web_url, root.id, owner)
        self.drives[drive_id] = drive
        self._add_children(seed, root, items)
        return drive

    def _add_children(self, seed: str, parent: DriveItem, entries: list[dict]) -> None:
        for entry in entries:
            is_folder = "children" in entry
            item_id = item_id_for(f"{seed}:{parent.path}/{entry['name']}")
            web_url = f"{parent.web_url}/{quote(entry['name'])}"
            if parent.web_url.startswith(CONSUMER_ONEDRIVE):  # no paths in personal OneDrive URLs
                web_url = f"{CONSUMER_ONEDRIVE}/redir?resid={item_id}"
            item = DriveItem(
                id=item_id,
                name=entry["name"],
                drive_id=parent.drive_id,
                parent_id=parent.id,
                path=f"{parent.path}/{entry['name']}",
                web_url=web_url,
                size=entry.get("size", 0),
                modified=entry.get("lastModifiedDateTime", CREATED),
                is_folder=is_folder,
            )
            self.items[item.id] = item
            parent.children.append(item.id)
            if is_folder:
                self._add_children(seed, item, entry["children"])
                item.size = sum(self.items[c].size for c in item.children)


def generated_groups(data: dict) -> list[dict]:
    """Groups made from the compact "generatedGroups" entry: a user in more groups than a
    token can name (the groups overage), without hundreds of JSON objects."""
    spec = data.get("generatedGroups")
    if not spec:
        return []
    groups = []
    for n in range(1, spec["count"] + 1):
        nickname = f"{spec['mailNicknamePrefix']}{n:03d}"
        groups.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-emulator:group:{nickname}")),
                "displayName": f"{spec['displayNamePrefix']} {n:03d}",
                "description": spec["description"],
                "mailNickname": nickname,
                "security_only": spec.get("security_only", True),
                "members": list(spec["members"]),
            }
        )
    return groups


def load_directory(data_file: str | Path | None, extra_redirect_uris=()) -> Directory:
    """Load the tenant data file (the packaged tenant.json by default)."""
    path = Path(data_file) if data_file else DEFAULT_DATA_FILE
    with path.open(encoding="utf-8") as fh:
        return Directory(json.load(fh), tuple(extra_redirect_uris))


def file_bytes(item: DriveItem) -> bytes:
    """Deterministic placeholder content of exactly the advertised size."""
    line = f"Emulated content of {item.name}.\n".encode()
    return (line * (item.size // len(line) + 1))[: item.size]

"""The handle tests hold: where the emulator is, what it knows, and the knobs they turn."""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography import x509
from werkzeug.serving import BaseWSGIServer

from . import accounts, cae, client_credentials, federation, headless, net, transport
from .apps import Apps
from .fault_rules import legacy_rule, parse_rule
from .faults import FaultRule
from .membership_claims import check_registration
from .request_log import LoggedRequest
from .scopes import (
    ADMIN_CONSENT_REQUIRED,
    organization_only,
    parse_scopes,
    personal_account_scope_error,
)
from .scripted_browser import Browser
from .state import EmulatorState
from .token_variants import parse_variant


@dataclass
class Listeners:
    """The two loopback servers of a listening emulator."""

    https_base: str
    http_base: str
    ca_bundle: str
    settings_path: Path
    servers: list[BaseWSGIServer] = field(repr=False)
    threads: list[threading.Thread] = field(repr=False)
    cleanups: list[Callable[[], object]] = field(default_factory=list, repr=False)


class Emulator:
    """A started emulator. Nothing here touches the caller's environment: pass what it says.

    authority, common_authority, oidc_authority, graph_endpoint: the URLs to configure MSAL
    and a Graph client with; ca_bundle: the CA to trust for them (None in-process, where
    there is no TLS); client_id, client_secret: the demo app registration; tenant_id; users.
    """

    def __init__(self, state: EmulatorState, apps: Apps, listeners: Listeners | None = None):
        self.state = state
        self._router = transport.Router(apps, state.bases)
        self._listeners = listeners
        bases = state.bases
        self.tenant_id: str = state.directory.tenant_id
        self.authority = f"{bases.login}/{self.tenant_id}"
        # Work, school and personal accounts alike, as an app registered for both uses.
        self.common_authority = f"{bases.login}/common"
        self.oidc_authority = f"{bases.login}/oidc"
        self.graph_endpoint = f"{bases.graph}/v1.0"
        self.control_url = f"{bases.login}/_emulator"
        self.browser_base = bases.browser
        self.ca_bundle: str | None = listeners.ca_bundle if listeners else None
        self.settings_path: Path | None = listeners.settings_path if listeners else None
        self._demo_issuer = apps.demo_issuer
        if listeners:
            self._demo_issuer.token_file = listeners.settings_path.with_name(federation.TOKEN_FILE)

    # -- where it is and what it knows ------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._listeners is not None

    @property
    def origins(self) -> list[str]:
        """Every scheme://host[:port] the emulator answers for."""
        return self._router.origins

    @property
    def client_id(self) -> str:
        return self.state.directory.client["client_id"]

    @property
    def client_secret(self) -> str:
        return self.state.directory.client["client_secret"]

    @property
    def users(self) -> list[dict]:
        """[{"upn", "name", "id", "label"}] for every account that can sign in, added ones
        and personal accounts included; the label says which kind (admin, guest, ...)."""
        directory = self.state.directory
        return [
            {
                "upn": u["userPrincipalName"],
                "name": u["displayName"],
                "id": u["id"],
                "label": accounts.label(u, directory.is_consent_admin(u["id"])),
            }
            for u in directory.accounts
        ]

    def settings(self) -> dict:
        """The emulator.json contents."""
        token_file = self._demo_issuer.token_file
        return {
            "authority": self.authority,
            "common_authority": self.common_authority,
            "oidc_authority": self.oidc_authority,
            "graph_endpoint": self.graph_endpoint,
            "ca_bundle": self.ca_bundle,
            "control_url": self.control_url,
            "browser_base": self.browser_base,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "tenant_id": self.tenant_id,
            "users": [{k: u[k] for k in ("upn", "name", "label")} for u in self.users],
            "pid": os.getpid(),
            "federated_issuer": self.federated_issuer,
            "federated_token_file": str(token_file) if token_file else None,
        }

    def write_settings(self) -> None:
        # tmp + rename, so a reader never sees a half-written file.
        path = self.settings_path
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.settings(), indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        # A workload token for the demo client's federated credential, ready to use.
        self._demo_issuer.write_token_file(self.federated_token())

    # -- knobs (the control API's calls) --------------------------------------------------

    def reset(self) -> None:
        """Codes, grants, sessions, consents, fault rules, token variants, the clock offset,
        the request log, counters, settings, added users and clients: everything back to how
        it was at start."""
        self.state.reset()

    def counters(self) -> dict:
        """Calls per endpoint kind (graph, token, discovery, jwks, authorize, logout) and
        per Graph path (graph_paths)."""
        return self.state.counters_snapshot()

    def reset_counters(self) -> None:
        self.state.reset_counters()

    def set_fault_rules(self, rules: list[dict | FaultRule], seed: int = 0) -> dict:
        """Replace the fault schedule: RULES as POST /_emulator/faults takes them ({"path",
        "status", "rate", "nth", ...}) or FaultRule records; the same SEED gives the same
        outcomes. Returns the schedule with its counters. Raises FaultRuleError (ValueError)."""
        parsed = [r if isinstance(r, FaultRule) else parse_rule(r, i) for i, r in enumerate(rules)]
        self.state.set_fault_rules(parsed, seed)
        return self.fault_rules()

    def fault_rules(self) -> dict:
        """{"seed", "rules"}: each rule with how often it was evaluated and fired."""
        return self.state.faults.snapshot()

    def set_fault(
        self,
        status: int | None = None,
        *,
        count: int = 1,
        retry_after: int | None = None,
        delay: float | None = None,
    ) -> None:
        """The next COUNT Graph calls fail with STATUS (429, 500, 502, 503, 504) or are slowed
        by DELAY seconds: a one-rule fault schedule, as POST /_emulator/faults without rules."""
        body: dict = {"count": count}
        if delay is not None:
            body["delay"] = delay
        else:
            body.update(status=status, retry_after=retry_after)
        self.state.set_fault_rules([legacy_rule(body)])

    def clear_faults(self) -> None:
        """No fault rules any more (set_fault's one-rule schedule included)."""
        self.state.clear_fault_rules()

    def add_token_variant(
        self,
        variant: str | list[str],
        *,
        tokens: str | list[str] = "id_token",
        user: str | None = None,
        client_id: str | None = None,
        count: int = 1,
        claims: list[str] | tuple[str, ...] = (),
    ) -> dict:
        """Break the next COUNT token responses for USER and CLIENT_ID (any, when not given).

        VARIANT: expired, not_yet_valid, wrong_signature, wrong_audience, wrong_issuer or
        missing_claims (with CLAIMS), or a list of them; TOKENS: id_token, access_token or both.
        """
        body = {
            "variant": variant,
            "tokens": tokens,
            "client_id": client_id,
            "count": count,
            "claims": list(claims),
        }
        parsed = parse_variant(body, self._user(user)["id"] if user else None)
        self.state.add_token_variant(parsed)
        return parsed.to_json()

    def clear_token_variants(self) -> None:
        self.state.token_variants.clear()

    def set_clock_offset(self, seconds: float) -> float:
        """Shift every time the emulator reads (token claims, code and grant lifetimes,
        download URLs, throttling windows) by SECONDS from the wall clock; absolute."""
        return self.state.set_clock_offset(seconds)

    def advance_clock(self, seconds: float) -> float:
        """Add SECONDS to the clock offset; returns the new offset."""
        return self.state.advance_clock(seconds)

    def now(self) -> float:
        """The emulator's time: seconds since the epoch, offset included."""
        return self.state.clock.now()

    def request_log(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        client_id: str | None = None,
        user: str | None = None,
        client_request_id: str | None = None,
        since: float | None = None,
    ) -> list[LoggedRequest]:
        """The requests the emulator answered (control calls excluded), oldest first, that
        match every filter given: PATH is a glob, USER an object id or UPN, SINCE emulator
        time. Entries have no query strings, tokens or secrets."""
        return self.state.request_log.query(
            method=method,
            path=path,
            status=status,
            client_id=client_id,
            user=user,
            client_request_id=client_request_id,
            since=since,
        )

    def clear_request_log(self) -> None:
        self.state.request_log.clear()

    def revoke(self, user: str) -> int:
        """Revoke USER's refresh tokens (AADSTS50173 on the next refresh); how many. Graph
        challenges USER's CAE access tokens (CP1 clients); other tokens live until expiry."""
        return self.state.revoke(self._user(user)["id"])

    def location_changed(self, user: str) -> int:
        """USER moved out of the trusted locations: Graph challenges their CAE access tokens,
        refreshed ones included, until a sign-in carries the challenge's claims. The event
        time (the challenge's nbf)."""
        return self.state.cae.critical_event(self._user(user)["id"], self.now(), cae.LOCATION)

    def critical_event(self, user: str) -> int:
        """A critical event for USER (say, high user risk), as location_changed, without
        revoking refresh tokens. The event time."""
        return self.state.cae.critical_event(self._user(user)["id"], self.now())

    def require_mfa(self, user: str) -> None:
        """Conditional Access now wants MFA from USER: token requests answer
        interaction_required AADSTS50076 with claims until a sign-in carries them."""
        self.state.cae.require_mfa(self._user(user)["id"])

    def expire_tokens(self) -> None:
        """Every access token issued so far is rejected by Graph as expired (401)."""
        self.state.expire_tokens()

    def set_access_token_lifetime(self, seconds: int) -> None:
        self.state.set_access_token_lifetime(seconds)

    def reset_consent(self, user: str | None = None) -> None:
        """Forget USER's consents (everyone's without USER)."""
        self.state.reset_consent(self._user(user)["id"] if user else None)

    def grant_consent(
        self, user: str, scopes: list[str] | tuple[str, ...], client_id: str | None = None
    ) -> None:
        """USER has consented to SCOPES for the app (the demo client without CLIENT_ID), as if
        earlier on the consent page: no page shows, and refreshes for them succeed.

        As on that page, a personal account cannot have organization-only scopes (ScopeError,
        AADSTS70011) and only an admin can consent to admin-only ones (ValueError: use
        grant_admin_consent for everyone)."""
        client_id = self._client_id(client_id)
        found = self._user(user)
        wanted = parse_scopes(" ".join(scopes))  # ScopeError (AADSTS70011) for unknown ones
        if accounts.is_personal(found) and organization_only(wanted):
            raise personal_account_scope_error(" ".join(scopes))
        admin_only = sorted(wanted.graph & ADMIN_CONSENT_REQUIRED)
        if admin_only and not self.state.directory.is_consent_admin(found["id"]):
            raise ValueError(
                f"{found['userPrincipalName']} is not an admin and cannot consent to "
                f"{', '.join(admin_only)} (AADSTS90094): use grant_admin_consent()"
            )
        self.state.add_consent(found["id"], client_id, wanted.all_for_consent())

    def grant_admin_consent(
        self, scopes: list[str] | tuple[str, ...], client_id: str | None = None
    ) -> None:
        """An admin consented to SCOPES for the app on behalf of the whole organization (the
        "Consent on behalf of your organization" box, or /adminconsent): every member and
        guest has them without a consent page. Personal accounts are not in the tenant."""
        client_id = self._client_id(client_id)
        wanted = parse_scopes(" ".join(scopes))
        self.state.add_tenant_consent(self.tenant_id, client_id, wanted.all_for_consent())

    def set_user_consent_allowed(self, allowed: bool) -> None:
        """The tenant's "Users can consent to apps" setting: when False, non-admins meet
        "Need admin approval" for every permission nobody has granted yet."""
        self.state.set_tenant_settings(user_consent_allowed=allowed)

    def set_admin_consent_workflow(self, enabled: bool) -> None:
        """The admin consent workflow: "Need admin approval" offers a request form
        (AADSTS90095); requests land in admin_consent_requests()."""
        self.state.set_tenant_settings(admin_consent_workflow=enabled)

    def admin_consent_requests(self) -> list[dict]:
        """What users asked for through the admin consent workflow, oldest first."""
        return self.state.admin_consent_requests_json()

    def _client_id(self, client_id: str | None) -> str:
        client_id = client_id or self.client_id
        if self.state.directory.find_client(client_id) is None:
            raise KeyError(f"no app registration {client_id!r}")
        return client_id

    def consented(self, user: str, client_id: str | None = None) -> set[str]:
        """The scopes USER has consented to for the app (the demo client without CLIENT_ID)."""
        return self.state.consented(self._user(user)["id"], client_id or self.client_id)

    def add_user(
        self,
        upn: str,
        display_name: str,
        *,
        groups: tuple[str, ...] | list[str] = (),
        roles: tuple[str, ...] | list[str] = (),
        photo: bool = False,
        **properties: object,
    ) -> dict:
        """Add a member of the tenant (with a OneDrive); groups and roles by display name
        (a role such as "Global Administrator" makes an admin who can consent for everyone).

        PROPERTIES are Graph user properties (givenName, jobTitle, department, ...), and
        userType="Guest" for a guest, oneDrive=False for a user without a OneDrive.
        Returns the user as Graph would, with its new object id.
        """
        given, _, surname = display_name.partition(" ")
        user = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-emulator:user:{upn.lower()}")),
            "givenName": given,
            "surname": surname or None,
            "displayName": display_name,
            "userPrincipalName": upn,
            "mail": upn,
            "jobTitle": None,
            "department": None,
            "officeLocation": None,
            "businessPhones": [],
            "mobilePhone": None,
            "preferredLanguage": None,
            **properties,
            "photo": photo,
        }
        with self.state.lock:
            self.state.directory.add_user(user, tuple(groups), tuple(roles))
        return dict(user)

    def register_client(
        self,
        client_id: str,
        secret: str,
        redirect_uris: list[str] | tuple[str, ...],
        *,
        display_name: str = "Test app",
        post_logout_redirect_uris: list[str] | tuple[str, ...] = (),
        optional_claims: list[str] | tuple[str, ...] = (),
        group_membership_claims: str | None = None,
        app_roles: list[dict] | tuple[dict, ...] = (),
        app_role_assignments: list[dict] | tuple[dict, ...] = (),
    ) -> None:
        """Register an app (or replace the registration with that client id).

        OPTIONAL_CLAIMS: the ID token's optional claims (token configuration), e.g.
        ["login_hint"]; none by default, as in a new Entra registration.
        GROUP_MEMBERSHIP_CLAIMS: the manifest's groupMembershipClaims ("SecurityGroup",
        "All", "DirectoryRole", "ApplicationGroup", or several joined by commas).
        APP_ROLES: manifest appRoles ({"id", "value", "displayName", "allowedMemberTypes",
        "isEnabled"}); APP_ROLE_ASSIGNMENTS: [{"appRole": value, "principal": UPN or
        group display name}]. ValueError when they do not add up."""
        client = {
            "client_id": client_id,
            "client_secret": secret,
            "displayName": display_name,
            "redirect_uris": list(redirect_uris),
            "post_logout_redirect_uris": list(post_logout_redirect_uris),
            "optional_claims": list(optional_claims),
            "groupMembershipClaims": group_membership_claims,
            "appRoles": [dict(r) for r in app_roles],
            "appRoleAssignments": [dict(a) for a in app_role_assignments],
        }
        with self.state.lock:
            check_registration(self.state.directory, client)
            self.state.directory.register_client(client)

    def register_client_certificate(
        self, certificate: str | bytes | x509.Certificate, client_id: str | None = None
    ) -> dict:
        """Upload a certificate (PEM, or a cryptography x509.Certificate) to the app (the
        demo client without CLIENT_ID): client assertions signed with its key and naming it
        by x5t, x5t#S256 or an x5c leaf authenticate the app. Returns its thumbprints
        ("thumbprint": SHA-1 hex, as MSAL's "thumbprint" takes it; "x5t", "x5t#S256")."""
        with self.state.lock:
            return client_credentials.add_certificate(self._client(client_id), certificate)

    def trust_certificate_subject(
        self,
        subject_name: str,
        issuer_certificate: str | bytes | x509.Certificate,
        client_id: str | None = None,
    ) -> None:
        """Subject name and issuer (SNI) authentication: assertions carrying, in x5c, any
        certificate with SUBJECT_NAME (RFC 4514, "CN=...") issued by ISSUER_CERTIFICATE
        authenticate the app, without uploading that certificate (trustedCertificateSubjects)."""
        with self.state.lock:
            client_credentials.add_trusted_subject(
                self._client(client_id), subject_name, issuer_certificate
            )

    def add_federated_credential(
        self,
        subject: str,
        *,
        issuer: str | None = None,
        audiences: list[str] | tuple[str, ...] = (client_credentials.TOKEN_EXCHANGE_AUDIENCE,),
        name: str | None = None,
        client_id: str | None = None,
        jwks: dict | None = None,
    ) -> dict:
        """A federated identity credential on the app (the demo client without CLIENT_ID):
        tokens from ISSUER (the emulator's demo issuer by default) about SUBJECT for one of
        AUDIENCES authenticate it. An issuer the emulator does not serve needs its JWKS."""
        with self.state.lock:
            return client_credentials.add_federated_credential(
                self._client(client_id),
                issuer or self.federated_issuer,
                subject,
                audiences,
                name,
                jwks,
            )

    @property
    def federated_issuer(self) -> str:
        """The demo workload issuer's URL; its discovery document is at
        {federated_issuer}/.well-known/openid-configuration."""
        return federation.demo_issuer_url(self.state)

    def federated_token(
        self,
        subject: str | None = None,
        *,
        audience: str = client_credentials.TOKEN_EXCHANGE_AUDIENCE,
        lifetime: int = federation.DEFAULT_LIFETIME,
    ) -> str:
        """A token from the demo issuer, as a workload would get one. MSAL takes the method
        itself, client_credential={"client_assertion": emu.federated_token}, and calls it
        for a fresh token. SUBJECT: the demo client's credential's ("demo-workload") by
        default; LIFETIME in seconds, emulator clock."""
        return federation.mint_demo_token(
            self.state, self._demo_issuer, subject, audience, lifetime
        )

    def _client(self, client_id: str | None) -> dict:
        return self.state.directory.find_client(self._client_id(client_id))

    def _user(self, key: str) -> dict:
        user = self.state.directory.find_user(key)
        if user is None:
            raise KeyError(f"no user {key!r} in the emulated tenant")
        return user

    # -- talking to it -----------------------------------------------------------------

    def http_client(self) -> requests.Session:
        """A requests.Session for MSAL's http_client= (or any client): the emulator's URLs
        are answered in-process, without sockets or TLS; any other URL is refused."""
        return transport.mount(requests.Session(), self._router)

    def requests_adapter(self) -> transport.InProcessAdapter:
        """A requests transport adapter; mount it on each of `origins` in your session."""
        return transport.InProcessAdapter(self._router)

    def mount(self, session: requests.Session) -> requests.Session:
        """Route SESSION's requests to the emulator in-process; refuse every other URL."""
        return transport.mount(session, self._router)

    def responses_callback(self, request) -> tuple[int, list[tuple[str, str]], bytes]:
        """A `responses` callback answering any request to the emulator's URLs."""
        return transport.responses_callback(self._router, request)

    def register_with(self, responses_mock, methods=("GET", "POST")) -> list:
        """Add callbacks for every origin of the emulator to a responses.RequestsMock."""
        added = []
        for origin in self.origins:
            pattern = re.compile(re.escape(origin) + r"(/|$)")
            for method in methods:
                added.append(
                    responses_mock.add_callback(method, pattern, callback=self.responses_callback)
                )
        return added

    def browser(self) -> Browser:
        """A scripted browser on the in-process transport; keeps the emulator's SSO cookie."""
        return Browser(self.http_client())

    def sign_in(
        self, auth_uri: str, user: str, consent: bool = True, for_organization: bool = False
    ) -> dict[str, str]:
        """Follow AUTH_URI as a new browser would: pick USER, answer the consent page (an
        admin ticks "Consent on behalf of your organization" with FOR_ORGANIZATION), or press
        "Back to app" on "Need admin approval".

        Returns the authorization response as acquire_token_by_auth_code_flow takes it.
        Raises headless.SignInError where the emulator shows an error page instead.
        """
        browser = self.browser()
        try:
            return headless.sign_in(browser, auth_uri, user, consent, for_organization)
        finally:
            browser.session.close()

    def trusting_session(self) -> requests.Session:
        """A requests.Session over the real listeners that trusts the emulator's CA only."""
        if not self.listening:
            raise RuntimeError("started with listen=False: use http_client()")
        return net.trusting_session(self.ca_bundle)

    # -- lifetime ----------------------------------------------------------------------

    def stop(self) -> None:
        listeners, self._listeners = self._listeners, None
        if listeners is None:
            return
        for server in listeners.servers:
            server.shutdown()
            server.server_close()
        for thread in listeners.threads:
            thread.join(timeout=5)
        for cleanup in listeners.cleanups:
            cleanup()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Emulator {self.authority} graph={self.graph_endpoint}>"

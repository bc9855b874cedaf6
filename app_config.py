"""Every setting of the app, read from the environment once and validated once.

`load_settings(environ)` turns a mapping (normally `os.environ`, after `.env`
was loaded) into a `Settings` object plus a list of `Problem`s, each naming
the variable to fix. Nothing here raises on bad input: the app shows the
problems on a configuration page instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

import client_certificate
from client_certificate import ClientCertificate

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0"
DEFAULT_SCOPES = ("User.Read",)
# MSAL adds these itself and refuses them in `scopes`.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
SESSION_TYPES = ("filesystem", "redis")
LOG_FORMATS = ("text", "json")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
REDIS_SCHEMES = ("redis", "rediss", "unix")
NEW_CACHE_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# A DNS name with at least two labels, e.g. contoso.onmicrosoft.com or contoso.com.
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    re.IGNORECASE,
)
# Tenant-independent authorities Entra also takes in place of a tenant.
TENANT_ALIASES = frozenset({"common", "organizations", "consumers"})
# Azure workload identity (Kubernetes) injects these names; ours win only when they agree.
ALIASES = {"CLIENT_ID": "AZURE_CLIENT_ID", "TENANT_ID": "AZURE_TENANT_ID"}
CREDENTIAL_VARIABLES = ("CLIENT_SECRET", "CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")


@dataclass(frozen=True)
class Problem:
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


@dataclass(frozen=True)
class Settings:
    client_id: str = ""
    # Exactly one of the three credentials is set (see _read_credential).
    client_secret: str = ""
    client_certificate: ClientCertificate | None = field(default=None, repr=False)
    # Send the certificate itself (x5c): for subject name and issuer authentication.
    client_certificate_send_x5c: bool = False
    federated_token_file: str | None = None
    # The group whose members may open the Finance page (its object id); None: no page.
    finance_group_id: str | None = None
    authority: str | None = None
    oidc_authority: str | None = None
    # TENANT_ID as given: a GUID there means only that tenant's users may sign in.
    tenant_id: str | None = None
    instance_discovery: bool = True
    redirect_path: str = "/getAToken"
    redirect_uri: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    graph_endpoint: str = DEFAULT_GRAPH_ENDPOINT
    secret_key: str | None = None
    development: bool = False
    session_type: str = "filesystem"
    session_file_dir: str = "flask_session"
    redis_url: str | None = None
    trusted_proxy_hops: int = 0
    trusted_hosts: tuple[str, ...] = field(default_factory=tuple)
    # How long a started sign-in may take before its callback is refused.
    sign_in_timeout: int = 600
    session_lifetime: int = 8 * 3600
    # Seconds: to open a connection, and to wait for an answer from Graph or the IdP.
    connect_timeout: float = 3.05
    graph_timeout: float = 10.0
    identity_timeout: float = 15.0
    # Graph throttling: how often to retry, and the longest Retry-After worth waiting for.
    graph_max_retries: int = 2
    graph_max_retry_after: float = 5.0
    # Every Graph call of one page shares this many seconds.
    page_deadline: float = 15.0
    # With file sessions, where pending sign-ins live (by default beside the sessions).
    sign_in_file_dir: str = "flask_session_sign_ins"
    # Seconds to reach Redis and to wait for its answer: a paused Redis costs one timeout.
    redis_connect_timeout: float = 1.0
    redis_timeout: float = 2.0
    # A session unused this long ends (OWASP: 15 to 30 minutes for a low-risk app).
    session_idle_timeout: int = 30 * 60
    # The "How this page works" panels and the Token claims page: on in the demo only.
    developer_panels: bool = False
    # "json": every log line a JSON object, for log pipelines.
    log_format: str = "text"
    # Fernet keys for the token cache at rest, newest first; none: a random one (development).
    token_cache_keys: tuple[str, ...] = field(default=(), repr=False)
    # A CA bundle for rediss://; Sentinels (host, port) and the name of the master they watch.
    redis_ca_certs: str | None = None
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str | None = None

    @property
    def discovery_url(self) -> str:
        """Where the authority publishes its OpenID Connect metadata."""
        if self.oidc_authority:
            return self.oidc_authority.rstrip("/") + "/.well-known/openid-configuration"
        return (self.authority or "").rstrip("/") + "/v2.0/.well-known/openid-configuration"


def load_settings(environ: Mapping[str, str]) -> tuple[Settings, list[Problem]]:
    """Read every setting from `environ`; return them with what is wrong."""
    problems: list[Problem] = []
    environ = _with_aliases(environ, problems)

    def text(name: str) -> str:
        return (environ.get(name) or "").strip()

    def number(name: str, default: float, low: float, high: float, *, whole: bool = True):
        raw = text(name)
        if not raw:
            return default
        try:
            # ASCII digits only: int() also takes digits such as "²" that mean nothing here.
            if not raw.isascii():
                raise ValueError(raw)
            value = int(raw) if whole else float(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            problems.append(Problem(name, f"must be {kind} from {low:g} to {high:g}."))
            return default
        return value

    def flag(name: str, default: bool) -> bool:
        raw = text(name).lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        problems.append(Problem(name, f"'{raw}' is not a yes/no value; use true or false."))
        return default

    client_id = text("CLIENT_ID")
    if not client_id:
        problems.append(
            Problem(
                "CLIENT_ID", "missing: set it to the app registration's Application (client) ID."
            )
        )
    elif not _GUID.match(client_id) and not text("OIDC_AUTHORITY"):
        # Not echoed: a secret pasted into the wrong line would show on every page.
        problems.append(
            Problem(
                "CLIENT_ID",
                "is not an Application (client) ID: copy the GUID (like "
                "00000000-0000-0000-0000-000000000000) from the app registration's Overview.",
            )
        )
    client_secret, certificate, federated_token_file = _read_credential(text, problems)
    finance_group_id = text("FINANCE_GROUP_ID") or None
    if finance_group_id and not _GUID.match(finance_group_id):
        problems.append(
            Problem("FINANCE_GROUP_ID", "must be a group's Object ID (a GUID) from Entra > Groups.")
        )

    authority, oidc_authority = _read_authority(text, problems)
    redirect_uri, redirect_path = _read_redirect(text, problems)

    scopes = tuple(text("SCOPE").split()) or DEFAULT_SCOPES
    reserved = sorted(RESERVED_SCOPES.intersection(s.lower() for s in scopes))
    if reserved:
        problems.append(
            Problem("SCOPE", f"remove {', '.join(reserved)}: MSAL asks for it on its own.")
        )

    graph_endpoint = text("GRAPH_ENDPOINT").rstrip("/") or DEFAULT_GRAPH_ENDPOINT
    if not _is_https_url(graph_endpoint):
        problems.append(
            Problem("GRAPH_ENDPOINT", "must be an https URL such as " + DEFAULT_GRAPH_ENDPOINT)
        )

    development = flag("FLASK_DEBUG", False)
    secret_key = text("SECRET_KEY") or None
    if secret_key is None and not development:
        problems.append(
            Problem(
                "SECRET_KEY",
                "missing: set a long random value, e.g. the output of "
                "python -c 'import secrets; print(secrets.token_hex(32))'.",
            )
        )
    elif secret_key is not None and len(secret_key) < 32:
        problems.append(Problem("SECRET_KEY", "too short: use at least 32 random characters."))
    token_cache_keys = _read_token_cache_keys(text("TOKEN_CACHE_KEY"), development, problems)

    session_type = text("SESSION_TYPE").lower() or "filesystem"
    if session_type not in SESSION_TYPES:
        problems.append(
            Problem("SESSION_TYPE", f"'{session_type}' is not one of: {', '.join(SESSION_TYPES)}.")
        )
    redis_url = text("REDIS_URL") or None
    if session_type == "redis" and not redis_url:
        problems.append(
            Problem("REDIS_URL", "missing: SESSION_TYPE=redis needs redis://host:6379/0.")
        )
    # Never quoted back: the URL may carry a password.
    if redis_url and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        problems.append(Problem("REDIS_URL", "must start with redis://, rediss:// or unix://"))
    redis_ca_certs = _read_redis_ca_certs(text, redis_url, problems)
    redis_sentinels, redis_sentinel_master = _read_sentinels(text, problems)

    session_lifetime = number("SESSION_LIFETIME", 8 * 3600, 300, 30 * 24 * 3600)
    # At least two minutes: the last visit is noted once a minute.
    idle_timeout = number("SESSION_IDLE_TIMEOUT", 30 * 60, 120, 24 * 3600)
    if idle_timeout > session_lifetime:
        problems.append(
            Problem(
                "SESSION_IDLE_TIMEOUT",
                f"must not be longer than SESSION_LIFETIME ({session_lifetime} seconds).",
            )
        )

    # The number of proxies in front of the app whose X-Forwarded-* headers to believe.
    hops = number("TRUSTED_PROXY_HOPS", 0, 0, 10)

    trusted_hosts = tuple(h for h in text("TRUSTED_HOSTS").replace(",", " ").split() if h)
    if redirect_uri is None and not trusted_hosts and not development:
        problems.append(
            Problem(
                "REDIRECT_URI",
                "set it (e.g. https://app.example/getAToken), or set TRUSTED_HOSTS to the "
                "host:port names the app serves: otherwise any request's Host header "
                "chooses where sign-in returns.",
            )
        )
    log_format = text("LOG_FORMAT").lower() or "text"
    if log_format not in LOG_FORMATS:
        problems.append(
            Problem("LOG_FORMAT", f"'{log_format}' is not one of: {', '.join(LOG_FORMATS)}.")
        )
        log_format = "text"
    settings = Settings(
        client_id=client_id,
        client_secret=client_secret,
        client_certificate=certificate,
        client_certificate_send_x5c=flag("CLIENT_CERTIFICATE_SEND_X5C", False),
        federated_token_file=federated_token_file,
        finance_group_id=finance_group_id.lower() if finance_group_id else None,
        authority=authority,
        oidc_authority=oidc_authority,
        tenant_id=text("TENANT_ID") or None,
        instance_discovery=flag("INSTANCE_DISCOVERY", True),
        redirect_path=redirect_path,
        redirect_uri=redirect_uri,
        scopes=scopes,
        graph_endpoint=graph_endpoint,
        secret_key=secret_key,
        development=development,
        session_type=session_type,
        session_file_dir=text("SESSION_FILE_DIR") or "flask_session",
        redis_url=redis_url,
        trusted_proxy_hops=hops,
        trusted_hosts=trusted_hosts,
        sign_in_timeout=number("SIGN_IN_TIMEOUT", 600, 60, 3600),
        session_lifetime=session_lifetime,
        connect_timeout=number("CONNECT_TIMEOUT", 3.05, 0.1, 60, whole=False),
        graph_timeout=number("GRAPH_TIMEOUT", 10.0, 0.5, 120, whole=False),
        identity_timeout=number("IDENTITY_TIMEOUT", 15.0, 0.5, 120, whole=False),
        graph_max_retries=number("GRAPH_MAX_RETRIES", 2, 0, 5),
        graph_max_retry_after=number("GRAPH_MAX_RETRY_AFTER", 5.0, 0, 60, whole=False),
        page_deadline=number("PAGE_DEADLINE", 15.0, 1, 300, whole=False),
        sign_in_file_dir=text("SIGN_IN_FILE_DIR")
        or (text("SESSION_FILE_DIR") or "flask_session").rstrip("/\\") + "_sign_ins",
        redis_connect_timeout=number("REDIS_CONNECT_TIMEOUT", 1.0, 0.05, 30, whole=False),
        redis_timeout=number("REDIS_TIMEOUT", 2.0, 0.05, 30, whole=False),
        session_idle_timeout=idle_timeout,
        developer_panels=flag("DEVELOPER_PANELS", False),
        log_format=log_format,
        token_cache_keys=token_cache_keys,
        redis_ca_certs=redis_ca_certs,
        redis_sentinels=redis_sentinels,
        redis_sentinel_master=redis_sentinel_master,
    )
    return settings, problems


def _read_token_cache_keys(raw: str, development: bool, problems: list[Problem]) -> tuple[str, ...]:
    """TOKEN_CACHE_KEY: Fernet keys, comma-separated, newest first. Never quoted back."""
    if not raw:
        if not development:
            problems.append(
                Problem(
                    "TOKEN_CACHE_KEY",
                    "missing: it encrypts the tokens kept in the session store. Generate one "
                    f"with {NEW_CACHE_KEY_COMMAND}",
                )
            )
        return ()
    keys = tuple(key.strip() for key in raw.split(","))
    bad = [number for number, key in enumerate(keys, 1) if not _is_fernet_key(key)]
    for number in bad:
        which = "the key" if len(keys) == 1 else f"key {number} of {len(keys)} (newest first)"
        problems.append(
            Problem(
                "TOKEN_CACHE_KEY",
                f"{which} is not 32 random bytes in URL-safe base64. Generate one with "
                f"{NEW_CACHE_KEY_COMMAND}",
            )
        )
    return () if bad else keys


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:  # binascii.Error too: not base64, or not 32 bytes
        return False
    return True


def _read_redis_ca_certs(text, redis_url: str | None, problems: list[Problem]) -> str | None:
    path = text("REDIS_CA_CERTS") or None
    if path is None:
        return None
    if not (redis_url or "").startswith("rediss://"):
        problems.append(Problem("REDIS_CA_CERTS", "is only used with a rediss:// REDIS_URL."))
    elif not os.path.isfile(path):
        problems.append(Problem("REDIS_CA_CERTS", f"{path} is not a file (PEM CA certificates)."))
    return path


def _read_sentinels(
    text, problems: list[Problem]
) -> tuple[tuple[tuple[str, int], ...], str | None]:
    """REDIS_SENTINELS (host:port, comma-separated) and REDIS_SENTINEL_MASTER, both or neither."""
    raw, master = text("REDIS_SENTINELS"), text("REDIS_SENTINEL_MASTER") or None
    if not raw:
        if master:
            problems.append(Problem("REDIS_SENTINEL_MASTER", "needs REDIS_SENTINELS too."))
        return (), None
    sentinels = []
    for entry in (e.strip() for e in raw.split(",")):
        host, _, port = entry.rpartition(":")
        host = host.strip("[]")  # [::1]:26379
        if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(
                Problem("REDIS_SENTINELS", f"'{entry}' is not host:port, e.g. 10.0.0.5:26379.")
            )
            return (), None
        sentinels.append((host, int(port)))
    if not master:
        problems.append(
            Problem(
                "REDIS_SENTINEL_MASTER",
                "missing: the name the Sentinels monitor the master under (e.g. mymaster).",
            )
        )
    return tuple(sentinels), master


def _with_aliases(environ: Mapping[str, str], problems: list[Problem]) -> Mapping[str, str]:
    """`environ` with AZURE_CLIENT_ID / AZURE_TENANT_ID standing in for ours when unset."""
    merged = dict(environ)
    for name, alias in ALIASES.items():
        ours, theirs = (environ.get(name) or "").strip(), (environ.get(alias) or "").strip()
        if theirs and not ours:
            merged[name] = theirs
        elif theirs and ours != theirs:
            problems.append(Problem(f"{name}, {alias}", "both are set and differ; set one."))
    return merged


def _read_credential(
    text, problems: list[Problem]
) -> tuple[str, ClientCertificate | None, str | None]:
    """The app's one credential: a secret, a certificate file or a federated token file."""
    chosen = [name for name in CREDENTIAL_VARIABLES if text(name)]
    if not chosen:
        problems.append(
            Problem(
                "CLIENT_SECRET, CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE",
                "missing: set one credential of the app registration: a client secret, a "
                'certificate (see README, "Credentials"), or on Kubernetes with workload '
                "identity the federated token file.",
            )
        )
        return "", None, None
    if len(chosen) > 1:
        problems.append(Problem(", ".join(chosen), "set only one credential: these are all set."))
        return "", None, None
    certificate = None
    if chosen == ["CLIENT_CERTIFICATE_PATH"]:
        try:
            certificate = client_certificate.load(
                text("CLIENT_CERTIFICATE_PATH"), text("CLIENT_CERTIFICATE_PASSWORD") or None
            )
        except client_certificate.CertificateError as error:
            problems.append(Problem(error.variable, error.message))
    token_file = text("AZURE_FEDERATED_TOKEN_FILE") or None
    if token_file:
        problem = _token_file_problem(token_file)
        if problem:
            problems.append(Problem("AZURE_FEDERATED_TOKEN_FILE", problem))
    return text("CLIENT_SECRET"), certificate, token_file


def _token_file_problem(path: str) -> str | None:
    """Why the federated token file cannot be used now, if it cannot (it is read per use)."""
    try:
        with open(path, "rb") as file:
            token = file.read(64 * 1024).strip()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or type(exc).__name__}."
    return None if token else f"{path} is empty."


def _read_authority(text, problems: list[Problem]) -> tuple[str | None, str | None]:
    tenant, authority, oidc = text("TENANT_ID"), text("AUTHORITY"), text("OIDC_AUTHORITY")
    # Whatever the authority: a GUID here also limits sign-in to that tenant (the tid check).
    tenant_ok = not tenant or bool(
        _GUID.match(tenant) or _DOMAIN.match(tenant) or tenant.lower() in TENANT_ALIASES
    )
    if not tenant_ok:
        problems.append(
            Problem(
                "TENANT_ID",
                "must be the Directory (tenant) ID, a GUID from the app registration's "
                "Overview, or a domain such as contoso.onmicrosoft.com.",
            )
        )
    if authority and oidc:
        problems.append(
            Problem("OIDC_AUTHORITY", "set either AUTHORITY or OIDC_AUTHORITY, not both.")
        )
        return None, None
    if oidc:
        if not _is_authority_url(oidc):
            problems.append(
                Problem(
                    "OIDC_AUTHORITY",
                    "must be an https URL with a path, e.g. https://contoso.ciamlogin.com/<tenant>/v2.0",
                )
            )
        return None, oidc.rstrip("/")
    if authority:
        if not _is_authority_url(authority):
            problems.append(
                Problem(
                    "AUTHORITY",
                    f"must be an https URL with a path, e.g. {DEFAULT_AUTHORITY_HOST}/<tenant>",
                )
            )
        return authority.rstrip("/"), None
    if not tenant_ok:
        return None, None
    # The seed registers a multi-tenant app that also takes personal accounts.
    return f"{DEFAULT_AUTHORITY_HOST}/{tenant or 'common'}", None


def demo_advice(environ: Mapping[str, str]) -> str:
    """What the configuration page may say about `bash scripts/demo.sh`, never the command
    that led to it: "run_demo" when no CLIENT_ID is set (the demo then starts the emulator),
    "client_id_set" (the demo then uses that tenant: remove CLIENT_ID to get the emulator),
    or "demo_running" when the demo set the emulator's settings itself (DEMO_EMULATOR)."""
    if (environ.get("DEMO_EMULATOR") or "").strip().lower() in _TRUE:
        return "demo_running"
    if (environ.get("CLIENT_ID") or "").strip():
        return "client_id_set"
    return "run_demo"


def _read_redirect(text, problems: list[Problem]) -> tuple[str | None, str]:
    uri, path = text("REDIRECT_URI"), text("REDIRECT_PATH")
    if uri:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path:
            problems.append(
                Problem("REDIRECT_URI", "must be a full URL such as https://app.example/getAToken")
            )
            return None, "/getAToken"
        if path and path != parts.path:
            problems.append(
                Problem("REDIRECT_PATH", "disagrees with REDIRECT_URI's path; set only one.")
            )
        return uri, parts.path
    path = path or "/getAToken"
    if not path.startswith("/") or path.startswith("//") or len(path) < 2:
        problems.append(Problem("REDIRECT_PATH", "must be a path such as /getAToken"))
        return None, "/getAToken"
    return None, path


def _is_https_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname)


def _is_authority_url(value: str) -> bool:
    # MSAL needs https and at least one path segment (the tenant or policy).
    return _is_https_url(value) and urlsplit(value).path.strip("/") != ""

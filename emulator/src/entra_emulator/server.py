"""Build the two Flask apps and run them on loopback listeners in background threads."""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import (
    browser,
    control,
    control_features,
    discovery,
    downloads,
    request_log,
    signout,
    token_endpoint,
)
from .certs import make_certificates
from .directory import load_directory
from .graph import bp as graph_bp
from .state import EmulatorState
from .tokens import TokenSigner

HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
log = logging.getLogger("emulator")


class _QuietHandler(WSGIRequestHandler):
    """Logs method, path and status only: query strings and download paths carry secrets."""

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/_download/"):
            path = "/_download/..."
        log.info("%s %s %s", self.command, path, code)


def _https_app(state: EmulatorState) -> Flask:
    app = Flask(__name__)
    app.extensions["emulator"] = state
    app.json.sort_keys = False  # keep Graph's @odata.* keys first, as Graph does
    app.json.ensure_ascii = False
    app.register_blueprint(discovery.bp)
    app.register_blueprint(token_endpoint.bp)
    app.register_blueprint(graph_bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(control_features.bp)
    app.register_blueprint(signout.bp)
    request_log.install(app)
    return app


def _http_app(state: EmulatorState) -> Flask:
    app = Flask(__name__)
    app.extensions["emulator"] = state
    app.register_blueprint(browser.bp)
    app.register_blueprint(signout.bp)
    app.register_blueprint(downloads.bp)
    request_log.install(app)
    return app


@dataclass
class EmulatorHandle:
    """What a test or the CLI needs to point an app at the running emulator."""

    authority: str
    oidc_authority: str
    graph_endpoint: str
    ca_bundle: str
    control_url: str
    browser_base: str
    client_id: str
    client_secret: str
    tenant_id: str
    users: list[dict]
    settings_path: Path
    state: EmulatorState = field(repr=False)
    _servers: list[BaseWSGIServer] = field(default_factory=list, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def settings(self) -> dict:
        """The emulator.json contents."""
        return {
            "authority": self.authority,
            "oidc_authority": self.oidc_authority,
            "graph_endpoint": self.graph_endpoint,
            "ca_bundle": self.ca_bundle,
            "control_url": self.control_url,
            "browser_base": self.browser_base,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "tenant_id": self.tenant_id,
            "users": self.users,
            "pid": os.getpid(),
        }

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def start_emulator(
    state_dir: str | Path,
    https_port: int = 0,
    http_port: int = 0,
    access_token_lifetime: int = 3600,
    redirect_uris: tuple[str, ...] | list[str] = (),
    data_file: str | Path | None = None,
    host: str = HOST,
) -> EmulatorHandle:
    """Start both listeners in background threads and write STATE_DIR/emulator.json."""
    if host not in LOOPBACK_HOSTS:
        # Its URLs and certificate name 127.0.0.1, and the control API has no auth.
        raise ValueError(f"the emulator serves 127.0.0.1 only, not {host!r}")
    state_dir = Path(state_dir).resolve()
    directory = load_directory(data_file, tuple(redirect_uris))
    state = EmulatorState(directory, TokenSigner(), access_token_lifetime)
    ca_path, cert_path, key_path = make_certificates(state_dir)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)

    https_server = make_server(
        HOST,
        https_port,
        _https_app(state),
        threaded=True,
        ssl_context=tls,
        request_handler=_QuietHandler,
    )
    http_server = make_server(
        HOST, http_port, _http_app(state), threaded=True, request_handler=_QuietHandler
    )
    # URLs always use 127.0.0.1: the certificate covers it and it is a different site
    # from an app on localhost, which keeps SameSite behaviour realistic.
    state.https_base = f"https://127.0.0.1:{https_server.server_port}"
    state.http_base = f"http://127.0.0.1:{http_server.server_port}"
    client = directory.client
    handle = EmulatorHandle(
        authority=f"{state.https_base}/{directory.tenant_id}",
        oidc_authority=f"{state.https_base}/oidc",
        graph_endpoint=f"{state.https_base}/v1.0",
        ca_bundle=str(ca_path),
        control_url=f"{state.https_base}/_emulator",
        browser_base=state.http_base,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        tenant_id=directory.tenant_id,
        users=[{"upn": u["userPrincipalName"], "name": u["displayName"]} for u in directory.users],
        settings_path=state_dir / "emulator.json",
        state=state,
    )
    for server in (https_server, http_server):
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},  # so stop() returns quickly
            daemon=True,
            name=f"emulator:{server.server_port}",
        )
        thread.start()
        handle._servers.append(server)
        handle._threads.append(thread)
    _write_settings(handle.settings_path, handle.settings())
    return handle


def _write_settings(path: Path, settings: dict) -> None:
    # tmp + rename, so a reader never sees a half-written file.
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(settings, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)

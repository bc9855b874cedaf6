"""Start the emulator: in-process only, or on two loopback listeners in background threads."""

from __future__ import annotations

import functools
import logging
import shutil
import ssl
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .apps import build_apps
from .certs import make_certificates
from .directory import load_directory
from .handle import Emulator, Listeners
from .state import EmulatorState
from .tokens import TokenSigner
from .urls import Bases

HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
log = logging.getLogger("entra_emulator")


class _QuietHandler(WSGIRequestHandler):
    """Logs method, path and status only: query strings and download paths carry secrets."""

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/_download/"):
            path = "/_download/..."
        log.info("%s %s %s", self.command, path, code)


def start(
    state_dir: str | Path | None = None,
    *,
    listen: bool = True,
    https_port: int = 0,
    http_port: int = 0,
    access_token_lifetime: int = 3600,
    redirect_uris: tuple[str, ...] | list[str] = (),
    data_file: str | Path | None = None,
    host: str = HOST,
) -> Emulator:
    """Start an emulator; use it as a context manager or call stop().

    listen=True serves it on 127.0.0.1 (https with a CA made now, in STATE_DIR/ca.pem, and
    plain http for browser pages) and writes STATE_DIR/emulator.json; without STATE_DIR a
    temporary folder is used and removed at stop(). listen=False opens no socket at all:
    it answers as https://login.microsoftonline.com and https://graph.microsoft.com through
    the in-process transport only (http_client(), requests_adapter(), responses_callback()).
    """
    if host not in LOOPBACK_HOSTS:
        # Its URLs and certificate name 127.0.0.1, and the control API has no auth.
        raise ValueError(f"the emulator serves 127.0.0.1 only, not {host!r}")
    load = functools.partial(load_directory, data_file, tuple(redirect_uris))
    state = EmulatorState(load, TokenSigner(), access_token_lifetime)
    apps = build_apps(state)
    if not listen:
        tenant = state.directory.tenant
        state.bases = Bases.well_known(tenant["sharepointHost"], state.directory.web_origins)
        return Emulator(state, apps)
    temporary = state_dir is None
    state_dir = Path(tempfile.mkdtemp(prefix="entra-emulator-") if temporary else state_dir)
    listeners = _listen(state_dir.resolve(), apps, https_port, http_port)
    if temporary:
        listeners.cleanups.append(functools.partial(shutil.rmtree, state_dir, True))
    state.bases = Bases.listeners(
        listeners.https_base, listeners.http_base, state.directory.web_origins
    )
    emulator = Emulator(state, apps, listeners)
    emulator.write_settings()
    return emulator


def _listen(state_dir: Path, apps, https_port: int, http_port: int) -> Listeners:
    ca_path, cert_path, key_path = make_certificates(state_dir)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)
    https_server = make_server(
        HOST, https_port, apps.https, threaded=True, ssl_context=tls, request_handler=_QuietHandler
    )
    http_server = make_server(
        HOST, http_port, apps.http, threaded=True, request_handler=_QuietHandler
    )
    servers: list[BaseWSGIServer] = [https_server, http_server]
    threads = []
    for server in servers:
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},  # so stop() returns quickly
            daemon=True,
            name=f"entra-emulator:{server.server_port}",
        )
        thread.start()
        threads.append(thread)
    # URLs always use 127.0.0.1: the certificate covers it and it is a different site
    # from an app on localhost, which keeps SameSite behaviour realistic.
    return Listeners(
        https_base=f"https://127.0.0.1:{https_server.server_port}",
        http_base=f"http://127.0.0.1:{http_server.server_port}",
        ca_bundle=str(ca_path),
        settings_path=state_dir / "emulator.json",
        servers=servers,
        threads=threads,
    )

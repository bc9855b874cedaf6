"""Start the emulator: in-process only, or on two loopback listeners in background threads."""

from __future__ import annotations

import functools
import logging
import shutil
import socket
import ssl
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import persistence
from .apps import build_apps
from .certs import ensure_certificates
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
    keep_state: bool = False,
) -> Emulator:
    """Start an emulator; use it as a context manager or call stop().

    listen=True serves it on 127.0.0.1 (https with a CA made now, in STATE_DIR/ca.pem, and
    plain http for browser pages) and writes STATE_DIR/emulator.json; without STATE_DIR a
    temporary folder is used and removed at stop(). listen=False opens no socket at all:
    it answers as https://login.microsoftonline.com and https://graph.microsoft.com through
    the in-process transport only (http_client(), requests_adapter(), responses_callback()).

    keep_state=True (the entra-emulator command) keeps in STATE_DIR what a restart needs to
    leave users signed in: the signing key, the CA and certificate, and consents and grants
    (see persistence.py); otherwise each start is a fresh emulator.
    """
    if host not in LOOPBACK_HOSTS:
        # Its URLs and certificate name 127.0.0.1, and the control API has no auth.
        raise ValueError(f"the emulator serves 127.0.0.1 only, not {host!r}")
    if keep_state and state_dir is None:
        raise ValueError("keep_state needs a state_dir to keep it in")
    load = functools.partial(load_directory, data_file, tuple(redirect_uris))
    signer = TokenSigner(persistence.signing_key(Path(state_dir)) if keep_state else None)
    state = EmulatorState(load, signer, access_token_lifetime)
    if keep_state:
        keeper = persistence.StateKeeper(Path(state_dir))
        keeper.restore(state)
        state.on_change = keeper.save
    apps = build_apps(state)
    if not listen:
        tenant = state.directory.tenant
        state.bases = Bases.well_known(tenant["sharepointHost"], state.directory.web_origins)
        return Emulator(state, apps)
    temporary = state_dir is None
    state_dir = Path(tempfile.mkdtemp(prefix="entra-emulator-") if temporary else state_dir)
    listeners = _listen(state_dir.resolve(), apps, https_port, http_port, keep_state)
    if temporary:
        listeners.cleanups.append(functools.partial(shutil.rmtree, state_dir, True))
    state.bases = Bases.listeners(
        listeners.https_base, listeners.http_base, state.directory.web_origins
    )
    emulator = Emulator(state, apps, listeners)
    emulator.write_settings()
    return emulator


def _listen(state_dir: Path, apps, https_port: int, http_port: int, keep: bool) -> Listeners:
    # Both ports first: a start that finds one taken has written nothing yet (and kept
    # certificates are not rewritten anyway), so a running emulator's CA stays as it is.
    https_socket = _bind(https_port)
    try:
        http_socket = _bind(http_port)
    except OSError:
        https_socket.close()
        raise
    with https_socket, http_socket:  # the servers below use duplicates of them
        ca_path, cert_path, key_path = ensure_certificates(state_dir, keep=keep)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert_path, key_path)
        https_server = _server(https_socket, apps.https, ssl_context=tls)
        http_server = _server(http_socket, apps.http)
    servers: list[BaseWSGIServer] = [https_server, http_server]
    threads = []
    for server in servers:
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},  # so stop() returns quickly
            daemon=True,
            name=f"entra-emulator:{server.port}",
        )
        thread.start()
        threads.append(thread)
    # URLs always use 127.0.0.1: the certificate covers it and it is a different site
    # from an app on localhost, which keeps SameSite behaviour realistic.
    return Listeners(
        https_base=f"https://127.0.0.1:{https_server.port}",
        http_base=f"http://127.0.0.1:{http_server.port}",
        ca_bundle=str(ca_path),
        settings_path=state_dir / "emulator.json",
        servers=servers,
        threads=threads,
    )


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As werkzeug does: a restart may take a port that still has connections in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        # Say which port: "Address already in use" alone does not.
        raise OSError(error.errno, f"{HOST}:{port}: {error.strerror}") from error
    return sock


def _server(sock: socket.socket, app, **options) -> BaseWSGIServer:
    port = sock.getsockname()[1]
    return make_server(
        HOST, port, app, threaded=True, request_handler=_QuietHandler, fd=sock.fileno(), **options
    )

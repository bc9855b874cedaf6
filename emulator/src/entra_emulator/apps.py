"""The emulator's two WSGI apps: what a browser visits, and everything else."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from . import (
    admin_consent,
    browser,
    control,
    control_consent,
    control_credentials,
    control_features,
    discovery,
    downloads,
    federation,
    request_log,
    signout,
    token_endpoint,
    web_pages,
)
from .graph import bp as graph_bp
from .state import EmulatorState


@dataclass(frozen=True)
class Apps:
    https: Flask  # discovery, tokens, keys, Graph, control API (what MSAL and Graph clients call)
    http: Flask  # what browsers visit: sign-in, consent, sign-out, downloads, webUrl pages
    demo_issuer: federation.DemoIssuer  # the workload issuer served on the https listener


def _https_app(state: EmulatorState, demo_issuer: federation.DemoIssuer) -> Flask:
    app = Flask(__name__)
    app.extensions["emulator"] = state
    app.extensions["federated_issuer"] = demo_issuer
    app.json.sort_keys = False  # keep Graph's @odata.* keys first, as Graph does
    app.json.ensure_ascii = False
    app.register_blueprint(discovery.bp)
    app.register_blueprint(token_endpoint.bp)
    app.register_blueprint(graph_bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(control_features.bp)
    app.register_blueprint(control_consent.bp)
    app.register_blueprint(control_credentials.bp)
    app.register_blueprint(federation.bp)
    app.register_blueprint(signout.bp)
    request_log.install(app)
    return app


def _http_app(state: EmulatorState) -> Flask:
    app = Flask(__name__)
    app.extensions["emulator"] = state
    app.register_blueprint(browser.bp)
    app.register_blueprint(admin_consent.bp)
    app.register_blueprint(signout.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(web_pages.bp)
    request_log.install(app)
    return app


def build_apps(state: EmulatorState) -> Apps:
    demo_issuer = federation.DemoIssuer()
    return Apps(
        https=_https_app(state, demo_issuer), http=_http_app(state), demo_issuer=demo_issuer
    )

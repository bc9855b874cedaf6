"""The Flask application factory; `flask run` finds `create_app` here."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping

from dotenv import load_dotenv
from flask import Flask, render_template
from werkzeug.middleware.proxy_fix import ProxyFix

import auth
import canonical_host
import developer_panels
import directory_pages
import enterprise_pages
import errors
import file_pages
import graph
import health
import log_format
import request_log
import security_headers
import session_store
import views
from app_config import Problem, demo_advice, load_settings

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment (and `.env`), or from `test_config` alone."""
    if test_config is None:
        load_dotenv()
        environ: Mapping[str, str] = os.environ
    else:
        environ = test_config
    settings, problems = load_settings(environ)

    log_format.configure(settings.log_format)
    app = Flask(__name__)
    if problems:
        return _config_error_app(app, problems, environ)

    if settings.secret_key is None:
        log.warning("SECRET_KEY is not set: using a random key; sessions end on restart.")
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(settings.redirect_uri or "").startswith("https://"),
        TRUSTED_HOSTS=list(settings.trusted_hosts) or None,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    canonical_host.init_app(app, settings)  # before ProxyFix wraps it: it sees the forwarded host
    if settings.trusted_proxy_hops:
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    try:
        flow_store = session_store.init_app(app, settings)
    except OSError as exc:
        problem = Problem("SESSION_FILE_DIR", f"cannot use {settings.session_file_dir}: {exc}")
        return _config_error_app(app, [problem], environ)
    graph.init_app(app, settings)
    app.register_blueprint(views.bp)
    app.register_blueprint(directory_pages.bp)
    app.register_blueprint(file_pages.bp)
    app.register_blueprint(enterprise_pages.build_blueprint(settings))
    developer_panels.init_app(app, settings)
    # After the pages: it collects the scopes their login_required views declare.
    auth.init_app(app, settings, flow_store)
    errors.init_app(app)
    security_headers.init_app(app)
    # In front of Flask: the request log, and outside it /healthz (probes are not logged).
    request_log.init_app(app)
    health.init_app(app, settings)
    return app


def _config_error_app(app: Flask, problems: list[Problem], environ: Mapping[str, str]) -> Flask:
    """An app whose every page explains what configuration to fix."""
    advice = demo_advice(environ)
    log.error(
        "Configuration problems, every page shows them until fixed: %s",
        "; ".join(str(p) for p in problems),
    )

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def config_error(path: str):
        return render_template("config_error.html", problems=problems, demo_advice=advice), 503

    request_log.init_app(app)
    health.init_app(app, None)
    return app

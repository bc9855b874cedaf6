"""A minimal Flask + MSAL web app: sign in with Microsoft, then show your Graph profile."""

import secrets

import msal
import requests
from flask import Flask, abort, redirect, request, session, url_for


def create_app(config: dict) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    http = app.config.get("HTTP_SESSION") or requests.Session()  # tests pass the emulator's
    flows, caches = {}, {}  # server-side: pending sign-ins by state, token caches by user

    def msal_app(cache=None) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            app.config["CLIENT_ID"],
            app.config["CLIENT_SECRET"],
            authority=app.config["AUTHORITY"],
            instance_discovery=app.config.get("INSTANCE_DISCOVERY", True),
            http_client=http,
            token_cache=cache,
        )

    @app.get("/login")
    def login():
        redirect_uri = url_for("authorized", _external=True)
        flow = msal_app().initiate_auth_code_flow(
            ["User.Read"], redirect_uri=redirect_uri, response_mode="form_post"
        )
        flows[flow["state"]] = flow
        return redirect(flow["auth_uri"])

    @app.post("/getAToken")
    def authorized():
        flow = flows.pop(request.form.get("state", ""), None) or abort(400)
        cache = msal.SerializableTokenCache()
        result = msal_app(cache).acquire_token_by_auth_code_flow(flow, request.form.to_dict())
        if "access_token" not in result:
            return f"Sign-in failed: {result.get('error')}", 401
        session["user"] = secrets.token_urlsafe(16)
        caches[session["user"]] = cache
        return redirect(url_for("profile"))

    @app.get("/")
    def profile():
        cache = caches.get(session.get("user", ""))
        client = msal_app(cache)
        accounts = client.get_accounts() if cache else []
        token = accounts and client.acquire_token_silent(["User.Read"], accounts[0])
        if not token:
            return redirect(url_for("login"))
        me = http.get(
            app.config["GRAPH_ENDPOINT"] + "/me",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
        return f"Hello, {me.json()['displayName']}" if me.ok else (me.text, me.status_code)

    return app

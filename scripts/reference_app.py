"""The least a Flask page showing a Graph profile can cost: what benchmark_load.py compares with.

`gunicorn -c gunicorn.conf.py --pythonpath scripts 'reference_app:create_app()'` serves
/graphcall: one GET /me (the app's $select) on a pooled `requests.Session` with a bearer
token read once at start from the file REFERENCE_TOKEN_FILE names, and a cached Jinja
template. No sign-in, no session, no token cache, no logging, no security headers: each
of those is part of what the benchmark measures in the real app.
"""

from __future__ import annotations

import os
from pathlib import Path

import requests
from flask import Flask, render_template
from jinja2 import DictLoader

# The same fields the app's /graphcall asks for (graph/resources.py PROFILE_SELECT).
PROFILE_SELECT = (
    "id,displayName,jobTitle,department,mail,userPrincipalName,businessPhones,"
    "mobilePhone,officeLocation,preferredLanguage"
)
PROFILE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your profile</title></head>
<body><h1>Your profile</h1><dl>
{% for label, value in [("Name", me.displayName), ("Job title", me.jobTitle),
  ("Department", me.department), ("Email", me.mail), ("UPN", me.userPrincipalName),
  ("Business phones", (me.businessPhones or []) | join(", ")),
  ("Mobile phone", me.mobilePhone), ("Office", me.officeLocation),
  ("Preferred language", me.preferredLanguage), ("Object ID", me.id)] if value %}
  <dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}
</dl></body></html>
"""


def create_app() -> Flask:
    token = Path(os.environ["REFERENCE_TOKEN_FILE"]).read_text(encoding="utf-8").strip()
    graph_me = os.environ["GRAPH_ENDPOINT"].rstrip("/") + "/me"
    graph = requests.Session()  # pooled; REQUESTS_CA_BUNDLE names the emulator's CA
    graph.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    app = Flask(__name__)
    app.jinja_loader = DictLoader({"profile.html": PROFILE_PAGE})

    @app.route("/graphcall")
    def graphcall():
        response = graph.get(graph_me, params={"$select": PROFILE_SELECT}, timeout=(3.05, 10))
        response.raise_for_status()
        return render_template("profile.html", me=response.json())

    return app

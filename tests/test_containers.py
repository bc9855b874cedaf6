"""Container files: compose.yaml valid and wired as README says; images complete, unprivileged.

No Docker daemon runs here, so nothing is built: compose.yaml is checked against the
Compose Specification's schema and against the emulator's own script and registration,
and the Dockerfile's app stage is read for what it copies (test_gunicorn.py runs gunicorn
from exactly those files).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from image_files import ROOT, app_image_sources, stage

COMPOSE = ROOT / "compose.yaml"
EMULATOR_SCRIPT = ROOT / "scripts" / "emulator_in_container.sh"
TENANT = ROOT / "emulator" / "src" / "entra_emulator" / "tenant.json"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


@pytest.fixture(scope="module")
def app_env(services) -> dict[str, str]:
    return services["app"]["environment"]


def emulator_option(name: str) -> str:
    return re.search(rf"--{name} (\S+)", EMULATOR_SCRIPT.read_text()).group(1)


def volume(entry: str) -> tuple[str, str, str]:
    name, target, *mode = entry.split(":")
    return name, target, mode[0] if mode else "rw"


def test_compose_file_follows_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"
    args = [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_app_reaches_the_emulator_at_the_addresses_its_urls_name(services, app_env):
    # The emulator's URLs name 127.0.0.1: the app shares its network namespace.
    assert services["app"]["network_mode"] == "service:emulator"
    https_port = emulator_option("https-port")
    for variable in ("AUTHORITY", "GRAPH_ENDPOINT"):
        assert urlsplit(app_env[variable]).netloc == f"127.0.0.1:{https_port}"


def test_the_browser_reaches_the_app_and_the_sign_in_pages_on_loopback_only(services, app_env):
    port, http_port = app_env["PORT"], emulator_option("http-port")
    assert sorted(services["emulator"]["ports"]) == sorted(
        [f"127.0.0.1:{port}:{port}", f"127.0.0.1:{http_port}:{http_port}"]
    )
    # Neither the https listener (tokens, Graph, the control API) nor Redis is published.
    assert "ports" not in services["app"] and "ports" not in services["redis"]
    assert urlsplit(app_env["REDIRECT_URI"]).netloc == f"localhost:{port}"


def test_the_app_uses_the_emulators_demo_registration(app_env):
    client = json.loads(TENANT.read_text(encoding="utf-8"))["client"]
    assert app_env["CLIENT_ID"] == client["client_id"]
    assert app_env["CLIENT_SECRET"] == client["client_secret"]
    assert app_env["REDIRECT_URI"] in client["redirect_uris"]


def test_the_app_trusts_the_ca_the_emulator_writes_to_their_shared_volume(services, app_env):
    state_dir = re.search(r"^state=(\S+)$", EMULATOR_SCRIPT.read_text(), re.M).group(1)
    assert emulator_option("state-dir") == '"$state"'
    (emulator_volume,) = map(volume, services["emulator"]["volumes"])
    (app_volume,) = map(volume, services["app"]["volumes"])
    assert emulator_volume == ("emulator-state", state_dir, "rw")
    assert app_volume[0] == "emulator-state" and app_volume[2] == "ro"
    assert app_env["REQUESTS_CA_BUNDLE"] == f"{app_volume[1]}/ca.pem"


def test_sessions_live_in_the_redis_service_and_the_app_waits_for_it(services, app_env):
    assert app_env["SESSION_TYPE"] == "redis"
    assert urlsplit(app_env["REDIS_URL"]).hostname == "redis"
    assert "redis" in services
    depends = services["app"]["depends_on"]
    assert {name: d["condition"] for name, d in depends.items()} == {
        "emulator": "service_healthy",
        "redis": "service_healthy",
    }


def test_compose_asks_for_a_secret_key_rather_than_shipping_one(app_env):
    assert app_env["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_the_app_image_holds_every_module_and_package_of_the_app():
    copied = {p for source in app_image_sources() for p in ROOT.glob(source)}
    left_out = ("tests", "emulator", "scripts")
    needed = {p for p in ROOT.glob("*.py")}
    needed |= {p.parent for p in ROOT.glob("*/__init__.py") if p.parent.name not in left_out}
    needed |= {ROOT / "templates", ROOT / "static", ROOT / "requirements.txt"}
    assert needed <= copied, sorted(str(p.relative_to(ROOT)) for p in needed - copied)
    assert not {ROOT / name for name in left_out} & copied


@pytest.mark.parametrize("name", ["app", "emulator"])
def test_each_image_runs_as_an_unprivileged_numeric_user(name):
    users = [line.split()[1] for line in stage(name) if line.upper().startswith("USER ")]
    assert users[-1] == "10001:10001"


def test_the_app_image_checks_its_health_and_runs_gunicorn_with_the_conf():
    instructions = stage("app")
    (healthcheck,) = [line for line in instructions if line.startswith("HEALTHCHECK ")]
    assert healthcheck.endswith('CMD ["python", "-m", "health"]')
    assert instructions[-1] == 'CMD ["gunicorn", "-c", "gunicorn.conf.py"]'


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".venv", ".git", ".state", "flask_session*", "*.pem", "*.key"} <= ignored

"""Configuration: every setting validated once; mistakes shown, never a traceback."""

from __future__ import annotations

import pytest

from app import create_app
from app_config import load_settings


def problems_for(env: dict[str, str]) -> dict[str, str]:
    return {p.variable: p.message for p in load_settings(env)[1]}


def test_missing_settings_show_a_configuration_page_on_every_path(tmp_path, caplog):
    app = create_app({"SESSION_FILE_DIR": str(tmp_path)})
    client = app.test_client()
    for path in ("/", "/login", "/graphcall", "/getAToken"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert "This app needs configuration" in page
        for variable in ("CLIENT_ID", "CLIENT_SECRET", "SECRET_KEY"):
            assert variable in page
    logged = [r for r in caplog.records if "Configuration problems" in r.getMessage()]
    assert len(logged) == 1 and "CLIENT_ID" in logged[0].getMessage()


def test_valid_settings_have_no_problems(env):
    assert problems_for(env) == {}


def test_authority_and_oidc_authority_together_is_an_error(env):
    env |= {"AUTHORITY": "https://login.example/t", "OIDC_AUTHORITY": "https://id.example/t/v2.0"}
    assert "OIDC_AUTHORITY" in problems_for(env)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AUTHORITY", "http://login.microsoftonline.com/common"),
        ("AUTHORITY", "https://login.microsoftonline.com"),
        ("OIDC_AUTHORITY", "not a url"),
        ("TENANT_ID", "contoso/../evil"),
        ("INSTANCE_DISCOVERY", "maybe"),
        ("REDIRECT_URI", "/getAToken"),
        ("REDIRECT_PATH", "getAToken"),
        ("GRAPH_ENDPOINT", "http://graph.microsoft.com/v1.0"),
        ("SCOPE", "User.Read offline_access"),
        ("SESSION_TYPE", "memcached"),
        ("SECRET_KEY", "short"),
        ("TRUSTED_PROXY_HOPS", "many"),
        ("TRUSTED_PROXY_HOPS", "²"),
        ("TRUSTED_PROXY_HOPS", "-1"),
        ("SIGN_IN_TIMEOUT", "10"),
        ("SIGN_IN_TIMEOUT", "9" * 5000),
        ("GRAPH_TIMEOUT", "nan"),
        ("GRAPH_TIMEOUT", "soon"),
        ("GRAPH_MAX_RETRIES", "١"),
    ],
)
def test_malformed_value_is_named(env, variable, value):
    env[variable] = value
    assert variable in problems_for(env)


@pytest.mark.parametrize("value", ["²", "٣", "1e3"])
def test_non_ascii_or_odd_digits_give_the_configuration_page_not_a_traceback(env, value):
    env["TRUSTED_PROXY_HOPS"] = value
    response = create_app(env).test_client().get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "TRUSTED_PROXY_HOPS" in page and "whole number from 0 to 10" in page


def test_timeouts_and_limits_are_settings(env):
    env.update(SIGN_IN_TIMEOUT="120", GRAPH_TIMEOUT="2.5", GRAPH_MAX_RETRIES="0")
    settings, problems = load_settings(env)
    assert problems == []
    assert (settings.sign_in_timeout, settings.graph_timeout, settings.graph_max_retries) == (
        120,
        2.5,
        0,
    )


def test_redis_sessions_need_a_redis_url(env):
    env["SESSION_TYPE"] = "redis"
    assert "REDIS_URL" in problems_for(env)


def test_tenant_id_builds_the_entra_authority(env):
    settings, _ = load_settings(env)
    assert settings.authority == f"https://login.microsoftonline.com/{env['TENANT_ID']}"


def test_no_tenant_means_common(env):
    del env["TENANT_ID"]
    assert load_settings(env)[0].authority == "https://login.microsoftonline.com/common"


def test_development_may_run_without_secret_key(env):
    del env["SECRET_KEY"]
    assert "SECRET_KEY" in problems_for(env)
    assert "SECRET_KEY" not in problems_for(env | {"FLASK_DEBUG": "1"})


def test_redirect_uri_sets_the_route(env, emulator):
    env["REDIRECT_URI"] = "https://app.example/auth/callback"
    app = create_app(env)
    client = app.test_client()
    location = client.get("/login").headers["Location"]
    assert "redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fcallback" in location
    failed = client.post("/auth/callback", data={})
    assert failed.status_code == 303 and failed.headers["Location"] == "/auth/callback"
    assert client.get("/auth/callback").status_code == 400
    assert client.post("/getAToken", data={}).status_code == 404


def test_forwarded_host_is_ignored_without_a_trusted_proxy(client):
    location = client.get("/login", headers={"X-Forwarded-Host": "evil.example"}).headers[
        "Location"
    ]
    assert "evil.example" not in location


def test_trusted_hosts_refuse_other_host_headers(env, emulator):
    client = create_app(env | {"TRUSTED_HOSTS": "app.example"}).test_client()
    assert client.get("/", headers={"Host": "app.example"}).status_code == 200
    response = client.get("/login", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_in_production_the_app_needs_a_redirect_uri_or_trusted_hosts(env):
    # Else the redirect URI would come from whatever Host header a request carries.
    env.pop("REDIRECT_URI", None)
    problems = problems_for(env)
    assert "TRUSTED_HOSTS" in problems["REDIRECT_URI"]  # the page names both
    assert "REDIRECT_URI" not in problems_for(env | {"TRUSTED_HOSTS": "app.example"})
    assert "REDIRECT_URI" not in problems_for(env | {"FLASK_DEBUG": "1"})


@pytest.mark.parametrize(
    ("trusted", "host", "allowed"),
    [
        ("app.example:8443", "app.example:8443", True),
        ("app.example:8443", "app.example:8444", False),
        ("app.example", "app.example", True),
        ("app.example", "app.example:8080", False),
    ],
)
def test_a_redirect_uri_from_the_request_needs_its_host_and_port_trusted(
    env, emulator, trusted, host, allowed
):
    env.pop("REDIRECT_URI", None)
    client = create_app(env | {"TRUSTED_HOSTS": trusted}).test_client()
    response = client.get("/login", headers={"Host": host})
    if allowed:
        assert response.status_code == 302
        assert (
            f"redirect_uri=http%3A%2F%2F{host.replace(':', '%3A')}%2FgetAToken"
            in (response.headers["Location"])
        )
    else:
        assert response.status_code == 400


@pytest.mark.parametrize(
    "client_id",
    ["<your-client-id>", "7ff17d37-57ae-4706-8a81-806a06e5732", "7ff17d3757ae47068a81806a06e57326"],
)
def test_a_client_id_that_is_not_a_guid_is_named_without_echoing_it(env, client_id):
    env["CLIENT_ID"] = client_id
    page = create_app(env).test_client().get("/").get_data(as_text=True)
    assert "is not an Application (client) ID" in problems_for(env)["CLIENT_ID"]
    assert "CLIENT_ID" in page and client_id not in page


def test_an_openid_connect_issuer_may_use_any_client_id(env):
    env |= {"CLIENT_ID": "my-keycloak-app", "OIDC_AUTHORITY": "https://id.example/realms/x"}
    del env["TENANT_ID"]
    assert "CLIENT_ID" not in problems_for(env)


@pytest.mark.parametrize(
    "tenant",
    ["your-tenant-id", "fa0cdb0a-3f4f-4c52-9645-b26f13f409b", "contoso", "contoso..com", "-x.com"],
)
def test_a_tenant_id_that_is_neither_a_guid_nor_a_domain_is_named(env, tenant):
    env["TENANT_ID"] = tenant
    assert "Directory (tenant) ID" in problems_for(env)["TENANT_ID"]
    # Also beside AUTHORITY: a GUID there limits sign-in to that tenant.
    env["AUTHORITY"] = "https://login.microsoftonline.com/organizations"
    assert "TENANT_ID" in problems_for(env)


@pytest.mark.parametrize(
    "tenant",
    ["FA0CDB0A-3F4F-4C52-9645-B26F13F409B4", "contoso.onmicrosoft.com", "contoso.com", "common"],
)
def test_tenant_guids_domains_and_common_are_fine(env, tenant):
    env["TENANT_ID"] = tenant
    assert "TENANT_ID" not in problems_for(env)


def test_without_client_id_the_page_suggests_the_demo(tmp_path):
    page = create_app({"SESSION_FILE_DIR": str(tmp_path)}).test_client().get("/")
    assert "Run <code>bash scripts/demo.sh</code>" in page.get_data(as_text=True)


def test_with_a_broken_configured_tenant_the_page_says_to_fix_or_remove_client_id(env):
    # A .env copied from .env.sample with a placeholder: the demo ran against "that tenant".
    env |= {"CLIENT_ID": "<paste it here>", "SECRET_KEY": ""}
    page = create_app(env).test_client().get("/").get_data(as_text=True)
    assert "so <code>bash scripts/demo.sh</code> runs the app against that tenant" in page
    assert "remove <code>CLIENT_ID</code> from <code>.env</code>" in page
    assert "Run <code>bash scripts/demo.sh</code>" not in page


def test_when_the_demo_itself_runs_the_page_points_at_env_not_at_the_demo(env):
    env |= {"DEMO_EMULATOR": "true", "SESSION_TYPE": "memcached"}  # from a developer's .env
    page = create_app(env).test_client().get("/").get_data(as_text=True)
    assert "SESSION_TYPE" in page and "The demo set the emulator's settings itself" in page
    assert "bash scripts/demo.sh" not in page

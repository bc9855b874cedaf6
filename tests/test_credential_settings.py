"""The app's credential settings: exactly one of a secret, a certificate or a federated token,
each checked at start-up and named on the configuration page when it cannot be used."""

from __future__ import annotations

import pytest
from certificates import cert_pem, certificate, ec_key, key_pem, rsa_key, write_client_pem

from app import create_app
from app_config import load_settings

PASSWORD = "tr0ub4dor&3"


def problems_for(env: dict[str, str]) -> dict[str, str]:
    return {p.variable: p.message for p in load_settings(env)[1]}


@pytest.fixture
def no_credential(env) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "CLIENT_SECRET"}


@pytest.fixture
def certificate_file(tmp_path):
    return write_client_pem(tmp_path)


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "azure-identity-token"
    path.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl\n")
    return path


@pytest.fixture
def credentials(certificate_file, token_file) -> dict[str, str]:
    """One valid value of each credential variable."""
    return {
        "CLIENT_SECRET": "a-client-secret",
        "CLIENT_CERTIFICATE_PATH": str(certificate_file.path),
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
    }


@pytest.mark.parametrize(
    "variable", ["CLIENT_SECRET", "CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"]
)
def test_any_one_credential_alone_is_enough(no_credential, credentials, variable):
    assert problems_for(no_credential | {variable: credentials[variable]}) == {}


@pytest.mark.parametrize(
    "chosen",
    [
        ("CLIENT_SECRET", "CLIENT_CERTIFICATE_PATH"),
        ("CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"),
        ("CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"),
        ("CLIENT_SECRET", "CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"),
    ],
)
def test_two_credentials_are_an_error_naming_both(no_credential, credentials, chosen):
    problems = problems_for(no_credential | {name: credentials[name] for name in chosen})
    (variables,) = problems
    assert all(name in variables for name in chosen)
    assert "only one credential" in problems[variables]


def test_no_credential_is_an_error_naming_all_three_options(no_credential, tmp_path):
    (variables,) = problems_for(no_credential)
    for name in ("CLIENT_SECRET", "CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"):
        assert name in variables
    page = create_app(no_credential).test_client().get("/").get_data(as_text=True)
    assert "CLIENT_CERTIFICATE_PATH" in page and "AZURE_FEDERATED_TOKEN_FILE" in page
    # How to make and upload a certificate, should that be the way.
    assert "openssl req -x509 -newkey rsa:2048" in page and "Upload certificate" in page


def test_the_workload_identity_names_stand_in_for_client_id_and_tenant_id(
    no_credential, token_file
):
    env = {k: v for k, v in no_credential.items() if k not in ("CLIENT_ID", "TENANT_ID")}
    env |= {
        "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "AZURE_TENANT_ID": "contoso.onmicrosoft.com",
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
    }
    settings, problems = load_settings(env)
    assert problems == []
    assert settings.client_id == "11111111-2222-3333-4444-555555555555"
    assert settings.authority == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    assert settings.federated_token_file == str(token_file)


def test_our_name_and_the_alias_may_both_be_set_if_they_agree(env):
    agreeing = env | {"AZURE_CLIENT_ID": env["CLIENT_ID"], "AZURE_TENANT_ID": env["TENANT_ID"]}
    assert problems_for(agreeing) == {}


def test_our_name_and_the_alias_disagreeing_is_an_error_naming_both(env):
    problems = problems_for(env | {"AZURE_CLIENT_ID": "another-app"})
    assert list(problems) == ["CLIENT_ID, AZURE_CLIENT_ID"]


@pytest.mark.parametrize("content", ["", "  \n"])
def test_an_empty_federated_token_file_is_named(no_credential, tmp_path, content):
    path = tmp_path / "token"
    path.write_text(content)
    problems = problems_for(no_credential | {"AZURE_FEDERATED_TOKEN_FILE": str(path)})
    assert "empty" in problems["AZURE_FEDERATED_TOKEN_FILE"]


def test_a_missing_federated_token_file_is_named(no_credential, tmp_path):
    path = tmp_path / "not-there"
    problems = problems_for(no_credential | {"AZURE_FEDERATED_TOKEN_FILE": str(path)})
    assert "cannot read" in problems["AZURE_FEDERATED_TOKEN_FILE"]


def write(tmp_path, *parts: bytes):
    path = tmp_path / "client.pem"
    path.write_bytes(b"".join(parts))
    return str(path)


def cert_of(key, **kwargs) -> bytes:
    return cert_pem(certificate(key, **kwargs))


KEY_EC = ec_key()
# (file parts, password, the variable named, words of its message)
BAD_CERTIFICATE_FILES = {
    "not there": (None, None, "CLIENT_CERTIFICATE_PATH", "cannot read"),
    "not PEM": ([b"hello"], None, "CLIENT_CERTIFICATE_PATH", "no private key"),
    "key only": ([lambda: key_pem(rsa_key())], None, "CLIENT_CERTIFICATE_PATH", "no certificate"),
    "certificate only": (
        [lambda: cert_of(rsa_key())],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "no private key",
    ),
    "two keys": (
        [lambda: key_pem(rsa_key()), lambda: key_pem(rsa_key(1)), lambda: cert_of(rsa_key())],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "more than one private key",
    ),
    "key and certificate do not match": (
        [lambda: key_pem(rsa_key()), lambda: cert_of(rsa_key(1))],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "no certificate in the file belongs to its private key",
    ),
    "expired": (
        [lambda: key_pem(rsa_key()), lambda: cert_of(rsa_key(), days=(-30, -1))],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "expired on",
    ),
    "not yet valid": (
        [lambda: key_pem(rsa_key()), lambda: cert_of(rsa_key(), days=(2, 30))],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "valid only from",
    ),
    "an EC key": (
        [lambda: key_pem(KEY_EC), lambda: cert_of(KEY_EC)],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "RSA key",
    ),
    "encrypted, no password": (
        [lambda: key_pem(rsa_key(), PASSWORD), lambda: cert_of(rsa_key())],
        None,
        "CLIENT_CERTIFICATE_PASSWORD",
        "set its password",
    ),
    "encrypted, wrong password": (
        [lambda: key_pem(rsa_key(), PASSWORD), lambda: cert_of(rsa_key())],
        "not-the-password",
        "CLIENT_CERTIFICATE_PASSWORD",
        "password is wrong",
    ),
    "a password for a plain key": (
        [lambda: key_pem(rsa_key()), lambda: cert_of(rsa_key())],
        PASSWORD,
        "CLIENT_CERTIFICATE_PASSWORD",
        "not encrypted",
    ),
    "a damaged key": (
        [
            b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
            lambda: cert_of(rsa_key()),
        ],
        None,
        "CLIENT_CERTIFICATE_PATH",
        "damaged",
    ),
}


@pytest.mark.parametrize("case", BAD_CERTIFICATE_FILES)
def test_an_unusable_certificate_file_is_named_on_the_configuration_page(
    no_credential, tmp_path, case
):
    parts, password, variable, words = BAD_CERTIFICATE_FILES[case]
    path = (
        str(tmp_path / "missing.pem")
        if parts is None
        else write(tmp_path, *(p() if callable(p) else p for p in parts))
    )
    env = no_credential | {"CLIENT_CERTIFICATE_PATH": path}
    if password:
        env["CLIENT_CERTIFICATE_PASSWORD"] = password
    problems = problems_for(env)
    assert list(problems) == [variable]
    assert words in problems[variable]
    page = create_app(env).test_client().get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and variable in text
    assert "cat key.pem cert.pem &gt; client.pem" in text
    assert "BEGIN" not in text and (password or PASSWORD) not in text


def test_the_certificate_settings_are_read_once(no_credential, certificate_file):
    settings, _ = load_settings(
        no_credential
        | {
            "CLIENT_CERTIFICATE_PATH": str(certificate_file.path),
            "CLIENT_CERTIFICATE_SEND_X5C": "yes",
        }
    )
    assert settings.client_certificate.thumbprint == certificate_file.sha1_thumbprint.upper()
    assert settings.client_certificate_send_x5c is True
    assert "PRIVATE KEY" not in repr(settings)


def test_send_x5c_must_be_yes_or_no(no_credential, certificate_file):
    env = no_credential | {
        "CLIENT_CERTIFICATE_PATH": str(certificate_file.path),
        "CLIENT_CERTIFICATE_SEND_X5C": "sometimes",
    }
    assert "CLIENT_CERTIFICATE_SEND_X5C" in problems_for(env)


@pytest.mark.parametrize(
    "value", ["finance", "3d404ce1-f2cc-48c7-b16d", "3d404ce1f2cc48c7b16dd182ea0669da"]
)
def test_the_finance_group_must_be_an_object_id(env, value):
    assert "FINANCE_GROUP_ID" in problems_for(env | {"FINANCE_GROUP_ID": value})


def test_the_finance_group_is_compared_in_lower_case(env):
    settings, _ = load_settings(env | {"FINANCE_GROUP_ID": "3D404CE1-F2CC-48C7-B16D-D182EA0669DA"})
    assert settings.finance_group_id == "3d404ce1-f2cc-48c7-b16d-d182ea0669da"

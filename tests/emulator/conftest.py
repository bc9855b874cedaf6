"""An in-process emulator per test module, shared by the tests in that module."""

from __future__ import annotations

import pytest
import requests
from emulator_helpers import TIMEOUT, Browser
from entra_emulator.server import start_emulator


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    handle = start_emulator(tmp_path_factory.mktemp("emulator"))
    yield handle
    handle.stop()


@pytest.fixture
def https(emulator):
    """A requests session that trusts the emulator's CA."""
    with requests.Session() as session:
        session.verify = emulator.ca_bundle
        session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment wins over .verify
        yield session


@pytest.fixture(autouse=True)
def _clean_knobs(emulator):
    yield
    control = emulator.control_url
    with requests.Session() as session:
        session.verify = emulator.ca_bundle
        session.trust_env = False
        session.delete(f"{control}/faults", timeout=TIMEOUT)
        session.post(f"{control}/settings", json={"access_token_lifetime": 3600}, timeout=TIMEOUT)


@pytest.fixture
def browser():
    walker = Browser()
    yield walker
    walker.session.close()

"""The emulator's own suite, on the plugin's fixtures (entra_emulator, entra_emulator_session).

Most tests here go over the real loopback listeners and TLS; test_emulator_inprocess.py
covers the in-process transport.
"""

from __future__ import annotations

import entra_emulator
import pytest
from emulator_helpers import REDIRECT_URI


@pytest.fixture
def ca_trusting_session(entra_emulator_session):
    """A requests session over the listeners that trusts the emulator's CA only."""
    with entra_emulator_session.trusting_session() as session:
        yield session


@pytest.fixture(autouse=True)
def _clean_knobs(entra_emulator_session):
    """Tests sharing the session's emulator leave no fault or short token lifetime behind."""
    yield
    entra_emulator_session.clear_faults()
    entra_emulator_session.set_access_token_lifetime(3600)


@pytest.fixture(scope="module")
def offline():
    """An emulator started with listen=False: no socket, no certificate, no emulator.json."""
    with entra_emulator.start(listen=False, redirect_uris=[REDIRECT_URI]) as emulator:
        yield emulator


@pytest.fixture
def emulator(offline):
    """The in-process emulator, reset before and after the test."""
    offline.reset()
    yield offline
    offline.reset()

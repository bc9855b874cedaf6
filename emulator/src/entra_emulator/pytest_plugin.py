"""pytest plugin (entry point pytest11): the entra_emulator fixtures.

entra_emulator_session: one emulator for the whole test session; your tests share its
state, so call reset() where they must not. entra_emulator: the same emulator, reset
before and after each test, so every test starts from the seeded tenant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .handle import Emulator
from .server import start


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "entra_emulator_listen",
        type="bool",
        default=True,
        help="entra_emulator fixtures: serve on 127.0.0.1 (true) or in-process only (false)",
    )


@pytest.fixture(scope="session")
def entra_emulator_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    """One emulator for the session; tests share its state unless they call reset()."""
    if request.config.getini("entra_emulator_listen"):
        emulator = start(tmp_path_factory.mktemp("entra_emulator"))
    else:
        emulator = start(listen=False)
    with emulator:
        yield emulator


@pytest.fixture
def entra_emulator(entra_emulator_session: Emulator) -> Iterator[Emulator]:
    """The session's emulator, reset before and after the test."""
    entra_emulator_session.reset()
    yield entra_emulator_session
    entra_emulator_session.reset()

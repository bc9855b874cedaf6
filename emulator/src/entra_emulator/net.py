"""Small network helpers for users of the emulator (tests that start apps next to it)."""

from __future__ import annotations

import socket

import requests


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for an app's redirect URI, say)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def trusting_session(ca_bundle: str) -> requests.Session:
    """A requests.Session that trusts CA_BUNDLE (the emulator's ca.pem) and nothing else."""
    session = requests.Session()
    session.verify = ca_bundle
    session.trust_env = False  # else REQUESTS_CA_BUNDLE or proxies from the environment apply
    return session

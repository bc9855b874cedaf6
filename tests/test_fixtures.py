"""The fixtures' contract with `responses` and the emulator, for the installed versions."""

from __future__ import annotations

import re

import requests

GRAPH = "https://graph.microsoft.com/v1.0"


def test_responses_answers_with_the_first_match_and_drops_it_when_another_matches(http_mock):
    """Why conftest replaces the emulator's login-host registration, never adds beside it."""
    http_mock.get(re.compile(r"https://api\.example/"), body="catch-all")
    http_mock.get("https://api.example/me", body="scripted")
    answers = [requests.get("https://api.example/me", timeout=5).text for _ in range(3)]
    assert answers == ["catch-all", "scripted", "scripted"]


def test_graph_a_test_scripts_answers_every_call_and_the_emulator_sees_none(
    signed_in_client, http_mock, emulator
):
    me = http_mock.get(f"{GRAPH}/me", json={"displayName": "Scripted Person"})
    for _ in range(3):
        assert "Scripted Person" in signed_in_client.get("/graphcall").get_data(as_text=True)
    assert me.call_count == 3
    assert emulator.counters()["graph"] == 0
    assert emulator.counters()["token"] == 1  # the sign-in's code, redeemed at the emulator

"""The transition tables of typedws._state, walked pair by pair against the ASGI spec."""

from __future__ import annotations

import itertools

import pytest

from typedws import WebSocketState
from typedws._state import (
    ACCEPT,
    APP_TRANSITIONS,
    CLIENT_TRANSITIONS,
    CLOSE,
    CONNECT,
    CONNECTED,
    CONNECTING,
    DISCONNECT,
    DISCONNECTED,
    RECEIVE,
    RESPONSE,
    RESPONSE_BODY,
    RESPONSE_BODY_MORE,
    RESPONSE_START,
    SEND,
    STATES,
    app_state_problem,
    client_state_problem,
    next_app_state,
    next_client_state,
    state_name,
)

APP_EVENTS = [ACCEPT, SEND, CLOSE, RESPONSE_START, RESPONSE_BODY, RESPONSE_BODY_MORE]
CLIENT_EVENTS = [CONNECT, RECEIVE, DISCONNECT]
ALL_STATES = [CONNECTING, CONNECTED, DISCONNECTED, RESPONSE]

# The expected application-side moves, written out from the ASGI websocket spec.
EXPECTED_APP = {
    (CONNECTING, ACCEPT): CONNECTED,
    (CONNECTING, CLOSE): DISCONNECTED,
    (CONNECTING, RESPONSE_START): RESPONSE,
    (CONNECTED, SEND): CONNECTED,
    (CONNECTED, CLOSE): DISCONNECTED,
    (RESPONSE, RESPONSE_BODY_MORE): RESPONSE,
    (RESPONSE, RESPONSE_BODY): DISCONNECTED,
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(ALL_STATES, APP_EVENTS)))
def test_every_application_pair(state: int, event: str) -> None:
    expected = EXPECTED_APP.get((state, event), -1)
    assert next_app_state(state, event) == expected
    if expected < 0:
        problem = app_state_problem(state, event)
        assert state_name(state) in problem
        assert "websocket." in problem


@pytest.mark.parametrize(
    ("state", "app_state", "event"),
    list(itertools.product([CONNECTING, CONNECTED, DISCONNECTED], ALL_STATES, CLIENT_EVENTS)),
)
def test_every_client_pair(state: int, app_state: int, event: str) -> None:
    if state == CONNECTING:
        expected = CONNECTED if event == CONNECT else -1
    elif state == CONNECTED and event == DISCONNECT:
        expected = DISCONNECTED
    elif state == CONNECTED and event == RECEIVE:
        # Data may only flow once the application has accepted.
        expected = CONNECTED if app_state in (CONNECTED, DISCONNECTED) else -1
    else:
        expected = -1
    assert next_client_state(state, app_state, event) == expected
    if expected < 0:
        assert event in client_state_problem(state, app_state, event)


def test_tables_cover_every_state() -> None:
    assert set(APP_TRANSITIONS) == set(ALL_STATES)
    assert set(CLIENT_TRANSITIONS) == {CONNECTING, CONNECTED, DISCONNECTED}
    # Nothing leaves DISCONNECTED: an ended direction stays ended.
    assert APP_TRANSITIONS[DISCONNECTED] == {}
    assert CLIENT_TRANSITIONS[DISCONNECTED] == {}


def test_public_states_match_internal_numbers() -> None:
    assert [s.value for s in STATES] == ALL_STATES
    assert list(WebSocketState) == list(STATES)
    assert state_name(RESPONSE) == "RESPONSE"


def test_receive_before_accept_is_explained() -> None:
    message = client_state_problem(CONNECTED, CONNECTING, RECEIVE)
    assert "before the application accepted" in message

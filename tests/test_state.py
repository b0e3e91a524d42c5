"""The transition tables of typedws._state, walked pair by pair against the ASGI spec.

Every internal state is walked, the three the public DISCONNECTED hides included (GONE: the
transport broke, the server's disconnect is still to come; REJECTED: the handshake was refused;
LOST: a send broke on the transport), and so is the TRANSPORT_LOST pseudo-event.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import typedws
from typedws import WebSocketState
from typedws._state import (
    ACCEPT,
    APP_ENDED,
    APP_TRANSITIONS,
    CLIENT_ENDED,
    CLIENT_TRANSITIONS,
    CLOSE,
    CONNECT,
    CONNECTED,
    CONNECTING,
    DISCONNECT,
    DISCONNECTED,
    GONE,
    LOST,
    RECEIVE,
    REJECTED,
    RESPONSE,
    RESPONSE_BODY,
    RESPONSE_BODY_MORE,
    RESPONSE_START,
    SEND,
    STATES,
    TRANSPORT_LOST,
    app_ended,
    app_state_problem,
    client_ended,
    client_state_problem,
    next_app_state,
    next_client_state,
    state_name,
)

APP_EVENTS = [
    ACCEPT,
    SEND,
    CLOSE,
    RESPONSE_START,
    RESPONSE_BODY,
    RESPONSE_BODY_MORE,
    TRANSPORT_LOST,
]
CLIENT_EVENTS = [CONNECT, RECEIVE, DISCONNECT, TRANSPORT_LOST]
APP_STATES = [CONNECTING, CONNECTED, DISCONNECTED, RESPONSE, REJECTED, LOST]
CLIENT_STATES = [CONNECTING, CONNECTED, GONE, DISCONNECTED]

# The expected application-side moves, written out from the ASGI websocket spec.
EXPECTED_APP = {
    (CONNECTING, ACCEPT): CONNECTED,
    (CONNECTING, CLOSE): REJECTED,  # HTTP 403: no WebSocket is opened
    (CONNECTING, RESPONSE_START): RESPONSE,
    (CONNECTED, SEND): CONNECTED,
    (CONNECTED, CLOSE): DISCONNECTED,
    (RESPONSE, RESPONSE_BODY_MORE): RESPONSE,
    (RESPONSE, RESPONSE_BODY): REJECTED,
    # The server's send raised OSError: an open WebSocket is lost, a handshake not completed
    # is refused (no WebSocket to lose), an ended side stays as it ended.
    (CONNECTING, TRANSPORT_LOST): REJECTED,
    (CONNECTED, TRANSPORT_LOST): LOST,
    (RESPONSE, TRANSPORT_LOST): REJECTED,
    (DISCONNECTED, TRANSPORT_LOST): DISCONNECTED,
    (REJECTED, TRANSPORT_LOST): REJECTED,
    (LOST, TRANSPORT_LOST): LOST,
}

#: Application states in which a WebSocket was opened (accept sent): data may arrive.
ACCEPTED = {CONNECTED, DISCONNECTED, LOST}


def _expected_client(state: int, app_state: int, event: str) -> int:
    if event == TRANSPORT_LOST:
        return DISCONNECTED if state == DISCONNECTED else GONE
    if state == CONNECTING:
        # The handshake: websocket.connect, or the client leaving before it.
        return {CONNECT: CONNECTED, DISCONNECT: DISCONNECTED}.get(event, -1)
    if state in (CONNECTED, GONE):
        if event == DISCONNECT:
            return DISCONNECTED
        if event == RECEIVE:
            # Data only through an opened WebSocket; frames in flight after the application
            # closed, or after the transport broke under a send, still arrive.
            return state if app_state in ACCEPTED else -1
    return -1


@pytest.mark.parametrize(("state", "event"), list(itertools.product(APP_STATES, APP_EVENTS)))
def test_every_application_pair(state: int, event: str) -> None:
    expected = EXPECTED_APP.get((state, event), -1)
    assert next_app_state(state, event) == expected
    if expected < 0:
        problem = app_state_problem(state, event)
        assert state_name(state) in problem
        assert "websocket." in problem


@pytest.mark.parametrize(
    ("state", "app_state", "event"),
    list(itertools.product(CLIENT_STATES, APP_STATES, CLIENT_EVENTS)),
)
def test_every_client_pair(state: int, app_state: int, event: str) -> None:
    expected = _expected_client(state, app_state, event)
    assert next_client_state(state, app_state, event) == expected
    if expected < 0:
        assert event in client_state_problem(state, app_state, event)


def test_tables_cover_every_state() -> None:
    assert set(APP_TRANSITIONS) == set(APP_STATES)
    assert set(CLIENT_TRANSITIONS) == set(CLIENT_STATES)
    assert set(APP_STATES) | set(CLIENT_STATES) == set(range(len(STATES)))
    # Nothing leaves an ended side but the transport-loss self-loop.
    for state in APP_ENDED:
        assert APP_TRANSITIONS[state] == {TRANSPORT_LOST: state}
    assert CLIENT_TRANSITIONS[DISCONNECTED] == {TRANSPORT_LOST: DISCONNECTED}
    # TRANSPORT_LOST is legal in every state of both sides: a send may fail at any time.
    assert all(TRANSPORT_LOST in moves for moves in APP_TRANSITIONS.values())
    assert all(TRANSPORT_LOST in moves for moves in CLIENT_TRANSITIONS.values())


@pytest.mark.parametrize("state", range(len(STATES)))
def test_ended_predicates_match_the_sets(state: int) -> None:
    if state in CLIENT_STATES:
        assert client_ended(state) == (state in CLIENT_ENDED)
    if state in APP_STATES:
        assert app_ended(state) == (state in APP_ENDED)


def test_public_states_match_internal_numbers() -> None:
    assert [s.value for s in STATES[:4]] == [CONNECTING, CONNECTED, DISCONNECTED, RESPONSE]
    assert list(WebSocketState) == list(STATES[:4])
    # The internal ends all read as DISCONNECTED.
    for state in (GONE, REJECTED, LOST):
        assert STATES[state] is WebSocketState.DISCONNECTED
        assert state_name(state) == "DISCONNECTED"
    assert state_name(RESPONSE) == "RESPONSE"


def test_receive_before_accept_is_explained() -> None:
    message = client_state_problem(CONNECTED, CONNECTING, RECEIVE)
    assert "before the application accepted" in message


def test_receive_after_a_rejected_handshake_is_explained() -> None:
    message = client_state_problem(CONNECTED, REJECTED, RECEIVE)
    assert "rejected the handshake" in message


def test_the_pseudo_event_is_not_offered_as_allowed() -> None:
    assert TRANSPORT_LOST not in client_state_problem(DISCONNECTED, CONNECTED, RECEIVE)
    assert "no further event" in client_state_problem(DISCONNECTED, CONNECTED, RECEIVE)


def test_only_the_two_writers_assign_a_state() -> None:
    """h11's rule: every change of either side goes through Connection._move_client or
    Connection._move_app (which look the move up in the tables); no other code assigns one."""
    source = Path(typedws.__file__).parent
    assignment = re.compile(r"\._(client|app)_state\s*=[^=]")
    writers: list[str] = []
    for path in sorted(source.rglob("*.py")):
        function = ""
        for line in path.read_text().splitlines():
            found = re.match(r"\s*(?:async\s+)?def (\w+)", line)
            if found:
                function = found.group(1)
            if assignment.search(line):
                writers.append(f"{path.name}:{function}")
    assert sorted(writers) == [
        "_connection.py:__init__",
        "_connection.py:__init__",
        "_connection.py:_move_app",
        "_connection.py:_move_client",
    ]

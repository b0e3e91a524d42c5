"""The connection's two state machines, as data.

Theory of operation
-------------------
An ASGI websocket connection has two directions, and typedws tracks each with its own state,
as Starlette does and as the ASGI spec implies:

* the *client* state follows the events the server hands the application (``receive``):
  ``websocket.connect`` opens it, ``websocket.disconnect`` ends it;
* the *application* state follows the events the application hands the server (``send``):
  ``websocket.accept`` opens it, ``websocket.close`` or the end of a denial response ends it.

Every legal move is one entry in :data:`APP_TRANSITIONS` or :data:`CLIENT_TRANSITIONS`
(``{state: {event: next_state}}``, after h11's ``_state.py``). A pair missing from the table is
illegal, and the one lookup function for each side says so; the caller chooses which error to raise
(``ProtocolError`` for a raw event, ``WebSocketStateError`` for a high-level call). Because the
tables are data, a test walks every (state, event) pair.

One rule crosses the two sides: the server may deliver ``websocket.receive`` only once the
application has accepted (ASGI spec, "Receive - receive_json"): before that, there is no open
WebSocket to carry data.

States are small ints internally (cheap to compare in compiled code); :class:`WebSocketState` is
their public face. This module is compiled with mypyc and knows nothing about I/O.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["WebSocketState"]


class WebSocketState(enum.Enum):
    """The state of one direction of a connection (``client_state`` / ``application_state``)."""

    #: Before the handshake completed (no ``websocket.connect`` seen / no ``accept`` sent yet).
    CONNECTING = 0
    #: The WebSocket is open in this direction.
    CONNECTED = 1
    #: This direction has ended (disconnect received / close sent / denial response finished).
    DISCONNECTED = 2
    #: The application is sending an HTTP denial response instead of accepting.
    RESPONSE = 3


CONNECTING: Final = 0
CONNECTED: Final = 1
DISCONNECTED: Final = 2
RESPONSE: Final = 3

#: Public enum members by internal number.
STATES: Final[tuple[WebSocketState, ...]] = (
    WebSocketState.CONNECTING,
    WebSocketState.CONNECTED,
    WebSocketState.DISCONNECTED,
    WebSocketState.RESPONSE,
)

# Event type strings, as the ASGI spec names them.
CONNECT: Final = "websocket.connect"
RECEIVE: Final = "websocket.receive"
DISCONNECT: Final = "websocket.disconnect"
ACCEPT: Final = "websocket.accept"
SEND: Final = "websocket.send"
CLOSE: Final = "websocket.close"
RESPONSE_START: Final = "websocket.http.response.start"
RESPONSE_BODY: Final = "websocket.http.response.body"
# The table needs to tell the last body chunk (more_body=False) from the others.
RESPONSE_BODY_MORE: Final = "websocket.http.response.body (more_body=True)"

#: Events the server may send the application, and events the application may send the server.
RECEIVE_EVENT_TYPES: Final = frozenset((CONNECT, RECEIVE, DISCONNECT))
SEND_EVENT_TYPES: Final = frozenset((ACCEPT, SEND, CLOSE, RESPONSE_START, RESPONSE_BODY))

#: What the application may send in each application state, and where it leads.
APP_TRANSITIONS: Final[dict[int, dict[str, int]]] = {
    CONNECTING: {
        ACCEPT: CONNECTED,
        CLOSE: DISCONNECTED,  # before accept: rejects the handshake with HTTP 403
        RESPONSE_START: RESPONSE,  # a denial response (websocket.http.response extension)
    },
    CONNECTED: {
        SEND: CONNECTED,
        CLOSE: DISCONNECTED,
    },
    RESPONSE: {
        RESPONSE_BODY_MORE: RESPONSE,
        RESPONSE_BODY: DISCONNECTED,
    },
    DISCONNECTED: {},
}

#: What the server may deliver in each client state, and where it leads.
CLIENT_TRANSITIONS: Final[dict[int, dict[str, int]]] = {
    CONNECTING: {
        CONNECT: CONNECTED,
    },
    CONNECTED: {
        RECEIVE: CONNECTED,  # only once the application accepted: see next_client_state
        DISCONNECT: DISCONNECTED,
    },
    DISCONNECTED: {},
}

#: What each application state allows, for error messages.
_APP_ALLOWED: Final[dict[int, str]] = {
    CONNECTING: "accept(), close() or send_denial_response()",
    CONNECTED: "sending data and close()",
    RESPONSE: "the rest of the denial response body",
    DISCONNECTED: "nothing more: the application already closed the connection",
}


def state_name(state: int) -> str:
    """The public name of an internal state number (``"CONNECTED"``)."""
    return STATES[state].name


def next_app_state(state: int, event: str) -> int:
    """The application state after sending ``event`` in ``state``; -1 if that is illegal."""
    return APP_TRANSITIONS[state].get(event, -1)


def next_client_state(state: int, app_state: int, event: str) -> int:
    """The client state after the server delivers ``event`` in ``state``; -1 if illegal.

    ``websocket.receive`` is legal only after the application accepted (or closed after
    accepting: frames already in flight may still arrive).
    """
    next_state = CLIENT_TRANSITIONS[state].get(event, -1)
    if event == RECEIVE and (app_state == CONNECTING or app_state == RESPONSE):
        return -1
    return next_state


# --- the per-message fast path --------------------------------------------------------------
# Sending and receiving data frames is the only thing a connection does thousands of times. For
# those two events the tables above are folded once, at import, into flat tuples of booleans, so
# that the hot path asks "is websocket.send / websocket.receive legal here?" with one tuple index
# instead of two dict lookups. They are derived from the tables (which stay the one source of
# truth), and the test-suite checks them against the lookup functions pair by pair.

#: ``SEND_ALLOWED[app_state]``: may the application send a data frame in this state?
SEND_ALLOWED: Final[tuple[bool, ...]] = tuple(
    next_app_state(state, SEND) >= 0 for state in range(len(STATES))
)

#: ``RECEIVE_ALLOWED[client_state * 4 + app_state]``: may the server deliver a data frame now?
RECEIVE_ALLOWED: Final[tuple[bool, ...]] = tuple(
    client in CLIENT_TRANSITIONS and next_client_state(client, app, RECEIVE) >= 0
    for client in range(len(STATES))
    for app in range(len(STATES))
)


def receive_allowed(client_state: int, app_state: int) -> bool:
    """Whether a ``websocket.receive`` event is legal in this pair of states (fast path)."""
    return RECEIVE_ALLOWED[client_state * 4 + app_state]


def app_state_problem(state: int, event: str) -> str:
    """Explain why the application may not send ``event`` in ``state``."""
    if event == RESPONSE_BODY_MORE:
        event = RESPONSE_BODY
    return (
        f"cannot send {event!r}: the application side is {state_name(state)}, "
        f"which allows {_APP_ALLOWED[state]}"
    )


def client_state_problem(state: int, app_state: int, event: str) -> str:
    """Explain why the server may not deliver ``event`` in this pair of states."""
    if event == RECEIVE and (app_state == CONNECTING or app_state == RESPONSE):
        return (
            f"the server sent {event!r} before the application accepted the connection "
            f"(application side is {state_name(app_state)})"
        )
    allowed = ", ".join(repr(e) for e in CLIENT_TRANSITIONS[state]) or "no further event"
    return (
        f"the server sent {event!r} while the client side is {state_name(state)}, "
        f"which allows {allowed}"
    )

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

Everything that changes what may come next is a state here, not a flag beside the tables: the
public ``DISCONNECTED`` hides three internal ends (GONE on the client side: the transport broke
and the server's own ``websocket.disconnect`` is still to come; REJECTED and LOST on the
application side: the handshake was refused; a send broke on the transport). The server's
``send`` raising OSError is the pseudo-event TRANSPORT_LOST, legal in every state of both
tables. ``Connection`` has one writer per side (``_move_client``, ``_move_app``), each a lookup
here; the test-suite walks every (state, event) pair and checks that nothing else assigns a
state. docs/architecture.md draws both tables.

One rule crosses the two sides: the server may deliver ``websocket.receive`` only once the
application has accepted (ASGI spec, "Receive - receive_json"): before that, and after a
rejected handshake, there is no open WebSocket to carry data.

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


# Internal states. The first four are the public ones; the last three are what the public
# DISCONNECTED hides, kept apart because each changes what comes next:
CONNECTING: Final = 0
CONNECTED: Final = 1
#: Client side: the server delivered websocket.disconnect. Application side: the application
#: closed an accepted connection.
DISCONNECTED: Final = 2
#: Application side only: a denial response is under way.
RESPONSE: Final = 3
#: Client side: the transport broke under a send (the server's send raised OSError), so the peer
#: is gone, but the server's own websocket.disconnect is still to come: a receive already
#: waiting in another task gets it (ASGI spec: a server "should" send websocket.disconnect when
#: the connection is lost), and it must read as the end of the connection, not an error.
GONE: Final = 4
#: Application side: the handshake was refused (a close before accept, a finished denial
#: response, or a denial response cut short by the transport). No WebSocket was opened, so a
#: data frame from the server is out of order.
REJECTED: Final = 5
#: Application side: a send on the accepted connection broke on the transport. Every later send
#: reports the lost connection again (WebSocketDisconnect, code 1006) instead of a state error:
#: the application closed nothing.
LOST: Final = 6

#: Public enum members by internal number.
STATES: Final[tuple[WebSocketState, ...]] = (
    WebSocketState.CONNECTING,
    WebSocketState.CONNECTED,
    WebSocketState.DISCONNECTED,
    WebSocketState.RESPONSE,
    WebSocketState.DISCONNECTED,  # GONE
    WebSocketState.DISCONNECTED,  # REJECTED
    WebSocketState.DISCONNECTED,  # LOST
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
#: Not an ASGI event: the server's ``send`` raised OSError (ASGI spec: the peer is gone). It
#: moves both sides, in both tables, so that a broken transport is a state like the others.
TRANSPORT_LOST: Final = "transport lost (the server's send raised OSError)"

#: Events the server may send the application, and events the application may send the server.
RECEIVE_EVENT_TYPES: Final = frozenset((CONNECT, RECEIVE, DISCONNECT))
SEND_EVENT_TYPES: Final = frozenset((ACCEPT, SEND, CLOSE, RESPONSE_START, RESPONSE_BODY))

#: What the application may send in each application state, and where it leads.
APP_TRANSITIONS: Final[dict[int, dict[str, int]]] = {
    CONNECTING: {
        ACCEPT: CONNECTED,
        CLOSE: REJECTED,  # before accept: rejects the handshake with HTTP 403
        RESPONSE_START: RESPONSE,  # a denial response (websocket.http.response extension)
        TRANSPORT_LOST: REJECTED,  # no WebSocket was opened: none was lost
    },
    CONNECTED: {
        SEND: CONNECTED,
        CLOSE: DISCONNECTED,
        TRANSPORT_LOST: LOST,
    },
    RESPONSE: {
        RESPONSE_BODY_MORE: RESPONSE,
        RESPONSE_BODY: REJECTED,
        TRANSPORT_LOST: REJECTED,
    },
    # An ended side stays ended; a send that was already under way when it ended (another task's)
    # may still fail on the transport, which changes nothing: the application's end stands.
    DISCONNECTED: {TRANSPORT_LOST: DISCONNECTED},
    REJECTED: {TRANSPORT_LOST: REJECTED},
    LOST: {TRANSPORT_LOST: LOST},
}

#: What the server may deliver in each client state, and where it leads.
CLIENT_TRANSITIONS: Final[dict[int, dict[str, int]]] = {
    CONNECTING: {
        CONNECT: CONNECTED,
        DISCONNECT: DISCONNECTED,  # the client left during the handshake
        TRANSPORT_LOST: GONE,
    },
    CONNECTED: {
        RECEIVE: CONNECTED,  # only once the application accepted: see next_client_state
        DISCONNECT: DISCONNECTED,
        TRANSPORT_LOST: GONE,
    },
    GONE: {
        RECEIVE: GONE,  # a frame the server had read before the transport broke
        DISCONNECT: DISCONNECTED,  # the server's report of the broken transport
        TRANSPORT_LOST: GONE,
    },
    DISCONNECTED: {TRANSPORT_LOST: DISCONNECTED},
}

#: Client states in which the server has nothing more to say that the application may ask
#: for: the ones numbered DISCONNECTED and above (RESPONSE is never a client state).
CLIENT_ENDED: Final = frozenset((DISCONNECTED, GONE))

#: Application states after which nothing but a (no-op) close may be sent.
APP_ENDED: Final = frozenset((DISCONNECTED, REJECTED, LOST))

#: What each application state allows, for error messages.
_APP_ALLOWED: Final[dict[int, str]] = {
    CONNECTING: "accept(), close() or send_denial_response()",
    CONNECTED: "sending data and close()",
    RESPONSE: "the rest of the denial response body",
    DISCONNECTED: "nothing more: the application already closed the connection",
    REJECTED: "nothing more: the application rejected the handshake",
    LOST: "nothing more: the connection was lost under a send",
}


def client_ended(state: int) -> bool:
    """Whether the client side has ended (DISCONNECTED or GONE): one int compare."""
    return state >= DISCONNECTED


def app_ended(state: int) -> bool:
    """Whether the application side has ended (DISCONNECTED, REJECTED or LOST)."""
    return state == DISCONNECTED or state >= REJECTED


def state_name(state: int) -> str:
    """The public name of an internal state number (``"CONNECTED"``)."""
    return STATES[state].name


def next_app_state(state: int, event: str) -> int:
    """The application state after sending ``event`` in ``state``; -1 if that is illegal."""
    return APP_TRANSITIONS[state].get(event, -1)


def next_client_state(state: int, app_state: int, event: str) -> int:
    """The client state after the server delivers ``event`` in ``state``; -1 if illegal.

    ``websocket.receive`` is legal only once the application accepted (also after it closed
    or lost the accepted connection: frames already in flight may still arrive), never after
    it rejected the handshake.
    """
    next_state = CLIENT_TRANSITIONS[state].get(event, -1)
    if event == RECEIVE and not _accepted(app_state):
        return -1
    return next_state


def _accepted(app_state: int) -> bool:
    """Whether the application side has been through an accept (a WebSocket exists)."""
    return app_state == CONNECTED or app_state == DISCONNECTED or app_state == LOST


# --- the per-message fast path --------------------------------------------------------------
# Sending and receiving data frames is the only thing a connection does thousands of times. For
# those two events the tables above are folded into two predicates written as plain int
# comparisons, which mypyc compiles to a few machine compares (a tuple index with its bool
# unboxing costs several times more: benchmarks/RESULTS.md, "Code shape"). The tables stay the
# one source of truth: SEND_ALLOWED and RECEIVE_ALLOWED are derived from them at import, and the
# test-suite checks both predicates against the lookup functions pair by pair.

#: ``SEND_ALLOWED[app_state]``: may the application send a data frame in this state?
SEND_ALLOWED: Final[tuple[bool, ...]] = tuple(
    state in APP_TRANSITIONS and next_app_state(state, SEND) >= 0 for state in range(len(STATES))
)

#: ``RECEIVE_ALLOWED[client_state * len(STATES) + app_state]``: may the server deliver a data
#: frame now, in the common case (an open client side)? GONE also takes one, on the slow path.
RECEIVE_ALLOWED: Final[tuple[bool, ...]] = tuple(
    client == CONNECTED and next_client_state(client, app, RECEIVE) >= 0
    for client in range(len(STATES))
    for app in range(len(STATES))
)


def send_allowed(app_state: int) -> bool:
    """Whether the application may send a data frame in ``app_state`` (= ``SEND_ALLOWED``)."""
    return app_state == CONNECTED


def receive_allowed(client_state: int, app_state: int) -> bool:
    """Whether a ``websocket.receive`` event is legal in this pair of states (fast path,
    = ``RECEIVE_ALLOWED``): the client side is open and the application has accepted. (A
    lost transport moves the client side to GONE as well, so the LOST compare is never reached
    in practice: it keeps the predicate equal to the table.)"""
    return client_state == CONNECTED and (
        app_state == CONNECTED or app_state == DISCONNECTED or app_state == LOST
    )


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
    if event == RECEIVE and app_state == REJECTED:
        return (
            f"the server sent {event!r} although the application rejected the handshake: "
            "no WebSocket was opened"
        )
    if event == RECEIVE and not _accepted(app_state):
        return (
            f"the server sent {event!r} before the application accepted the connection "
            f"(application side is {state_name(app_state)})"
        )
    allowed = (
        ", ".join(repr(e) for e in CLIENT_TRANSITIONS[state] if e != TRANSPORT_LOST)
        or "no further event"
    )
    return (
        f"the server sent {event!r} while the client side is {state_name(state)}, "
        f"which allows {allowed}"
    )

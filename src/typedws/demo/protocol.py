"""The demo chat's wire protocol: JSON objects tagged on ``"type"``, one Struct per message.

Client to server: ``join`` (pick a name), ``message`` (say something), ``leave``.
Room events ``joined``, ``message``, ``left`` (:data:`RoomEvent`) are published on the room's
broadcast channel and reach every page, on every worker, wrapped in an
:class:`~typedws.broadcast.Envelope` that carries the event's id: ``{"type": "message",
"id": "...", "data": {"type": "joined", ...}}``. A page keeps the last id and reconnects with
``/ws?last_id=<id>`` to get what it missed; what fell out of the retention window arrives as a
:class:`~typedws.broadcast.Gap` (``{"type": "gap", ...}``) instead. ``error`` goes only to the
sender, unwrapped, for a message that did not validate or did not fit the session.

:data:`CHAT` declares it once, as a :class:`typedws.Endpoint`: the application dispatches each
message to its handler from it, and its AsyncAPI document (``/asyncapi.json``, and
docs/asyncapi-demo.json) is generated from it. msgspec checks every field on the way in, so the
handlers only ever see well-formed messages; a bad one becomes a PayloadError whose text (path
of the bad field included) goes back to the page as an ``error``.
"""

from __future__ import annotations

from typing import Annotated, Final, TypeAlias

import msgspec

from typedws import Endpoint
from typedws.broadcast import Envelope, Gap

__all__ = [
    "CHAT",
    "ClientMessage",
    "Error",
    "Join",
    "Joined",
    "Leave",
    "Left",
    "RoomEvent",
    "Said",
    "Say",
    "ServerMessage",
    "chat_endpoint",
]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[\w .-]+$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class Join(msgspec.Struct, tag="join", tag_field="type", forbid_unknown_fields=True):
    """Enter the room under ``name`` (letters, digits, space, ``_ . -``; 1-32 characters)."""

    name: Name


class Say(msgspec.Struct, tag="message", tag_field="type", forbid_unknown_fields=True):
    """Say ``text`` to everyone in the room."""

    text: Text


class Leave(msgspec.Struct, tag="leave", tag_field="type", forbid_unknown_fields=True):
    """Leave the room; the server then closes the connection."""


ClientMessage: TypeAlias = Join | Say | Leave


class Joined(msgspec.Struct, tag="joined", tag_field="type"):
    """``name`` entered; ``members`` is everyone now in the room, sorted.

    ``worker`` is the process id of the server worker ``name`` is connected to: with
    ``--workers N`` it shows that members on different workers still hear each other.
    """

    name: str
    members: list[str]
    worker: int


class Said(msgspec.Struct, tag="message", tag_field="type"):
    """``name`` said ``text``."""

    name: str
    text: str


class Left(msgspec.Struct, tag="left", tag_field="type"):
    """``name`` left; ``members`` is who remains."""

    name: str
    members: list[str]


class Error(msgspec.Struct, tag="error", tag_field="type"):
    """Sent only to the client whose message was refused; the connection stays open."""

    detail: str


#: What the room's broadcast channel carries.
RoomEvent: TypeAlias = Joined | Said | Left

#: Every frame a page receives: a room event in its envelope, a gap notice, or an error.
ServerMessage: TypeAlias = Envelope[RoomEvent] | Gap | Error


def chat_endpoint() -> Endpoint[ClientMessage, ServerMessage]:
    """A new declaration of the chat at ``/ws`` (each application registers its own handlers)."""
    return Endpoint(
        "/ws",
        receives=ClientMessage,
        sends=ServerMessage,
        title="The chat room",
        description=(
            "Join under a name, then say things to everyone in the room; leave, or just "
            "disconnect. Room events (`joined`, `message`, `left`) reach every page in an "
            "envelope with their id; reconnect with `?last_id=ID` to get what was missed, or a "
            "`gap` when it is no longer kept. A message that does not validate is answered with "
            "an `error` and the connection stays open."
        ),
    )


#: The chat's declaration, for documents: ``python -m typedws.asyncapi typedws.demo.protocol:CHAT``.
CHAT: Final = chat_endpoint()

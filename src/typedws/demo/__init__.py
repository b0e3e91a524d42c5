"""A typed chat, served by uvicorn: ``python -m typedws.demo`` (needs ``typedws[demo]``).

The page at ``/`` talks to ``/ws`` with the tagged-union protocol of
:mod:`typedws.demo.protocol`; every message is validated by msgspec on arrival, invalid ones are
answered with an ``error`` message, and what members say is published on a
:mod:`typedws.broadcast` channel that every connected page follows: ``memory://`` in one
process, ``--broadcast redis://host:port/db`` to share the room across ``--workers N``.
:class:`~typedws.demo.hub.Hub` keeps the member list.
"""

from __future__ import annotations

from typedws.demo.app import ChatApp, make_app
from typedws.demo.hub import Hub

__all__ = ["ChatApp", "Hub", "make_app"]

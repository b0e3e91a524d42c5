"""The request the scope fixtures (tests/fixtures/) were captured with, and their JSON encoding.

ASGI scopes hold bytes and tuples, which JSON has not: bytes are stored as ``{"$bytes": text}``
(the bytes decoded as latin-1, so every byte survives) and tuples as ``{"$tuple": [...]}``, so
:func:`load_fixture` gives back exactly what the server built, ``list`` versus ``tuple`` included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "fixtures"

#: What the websockets client sent when the fixtures were captured (capture_scopes.py).
REQUEST: dict[str, Any] = {
    # Percent-encoded UTF-8 and a space in the path; "+", blank, repeated and valueless parameters.
    "target": "/chat/caf%C3%A9%20room?name=Ann+Lee&tag=a&tag=b&empty=&flag&euro=%E2%82%AC",
    "headers": [
        ["Cookie", 'session=abc123; theme="dark"; malformed; lang=en'],
        ["X-Custom", "one"],
        ["X-Custom", "two"],
        ["Origin", "http://127.0.0.1"],
    ],
    "subprotocols": ["chat.v2", "chat.v1"],
}

SERVERS = ("uvicorn", "hypercorn")


def dump_scope(value: Any) -> Any:
    """Turn a scope into JSON-compatible data, tagging bytes and tuples."""
    if isinstance(value, bytes):
        return {"$bytes": value.decode("latin-1")}
    if isinstance(value, tuple):
        return {"$tuple": [dump_scope(item) for item in value]}
    if isinstance(value, list):
        return [dump_scope(item) for item in value]
    if isinstance(value, dict):
        return {key: dump_scope(item) for key, item in value.items()}
    return value


def _undump(value: Any) -> Any:
    if isinstance(value, list):
        return [_undump(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return value["$bytes"].encode("latin-1")
        if set(value) == {"$tuple"}:
            return tuple(_undump(item) for item in value["$tuple"])
        return {key: _undump(item) for key, item in value.items()}
    return value


def load_fixture(server: str) -> dict[str, Any]:
    """The whole fixture document of ``server`` ("uvicorn" or "hypercorn"), scope decoded."""
    document: dict[str, Any] = json.loads(
        (HERE / f"scope_{server}.json").read_text(encoding="utf-8")
    )
    document["scope"] = _undump(document["scope"])
    return document

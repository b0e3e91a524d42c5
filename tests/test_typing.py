"""The static typing contract, checked by running mypy (its Python API) from the test-suite.

Two parts, checked in one mypy run (--strict) to keep the suite fast:
- tests/typing/payload_usage.py must type-check cleanly: it pins, with ``assert_type``, the type
  of every public receive and iter method with and without ``type=``;
- each snippet in REJECTED must be refused, with the error code given next to it (and no other),
  so that a too-loose signature (``Any`` where a type was promised, ``str`` where a Literal was)
  is caught here rather than by a user.

mypy checks the installed typedws (whichever build: the .py sources ship beside the compiled
modules), as users' type checkers would.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

mypy_api = pytest.importorskip(
    "mypy.api", reason="mypy is not installed (the nox sessions install it from requirements)"
)

USAGE = Path(__file__).parent / "typing" / "payload_usage.py"

#: Prepended to every snippet; each snippet is the body of an ``async def`` with ``ws`` at hand.
PRELUDE = """\
from __future__ import annotations

from typing import Any

import msgspec

from typedws import Codec, WebSocket
from typedws.types import Receive, Scope, Send


class Chat(msgspec.Struct, tag=True):
    text: str


class Join(msgspec.Struct, tag=True):
    room: str


def one_argument(value: object) -> object:
    return value
"""


@dataclass(frozen=True)
class Rejected:
    name: str
    code: str  # the mypy error code the snippet must produce
    body: str


REJECTED = [
    # Frame payloads: the wrong Python type for the frame kind.
    # (type-var: send_text/send_bytes take constrained type variables; see _websocket.py.)
    Rejected("send_text_bytes", "type-var", 'await ws.send_text(b"x")'),
    Rejected("send_bytes_str", "type-var", 'await ws.send_bytes("x")'),
    # Modes are Literal["text", "binary"].
    Rejected("receive_json_hex_mode", "call-overload", 'await ws.receive_json(mode="hex")'),
    Rejected("receive_json_hex_typed", "call-overload", 'await ws.receive_json("hex", type=Chat)'),
    Rejected("iter_json_hex_mode", "call-overload", 'ws.iter_json(mode="hex")'),
    Rejected("send_json_hex_mode", "arg-type", 'await ws.send_json({}, mode="hex")'),
    Rejected("receive_msgpack_has_no_mode", "call-overload", 'await ws.receive_msgpack("binary")'),
    # The decoded value has the requested type, not Any. mypy infers T from the assignment's
    # target first, so a mismatch is reported on the type= argument (arg-type).
    Rejected("typed_json_into_int", "arg-type", "n: int = await ws.receive_json(type=Chat)"),
    Rejected("typed_msgpack_into_int", "arg-type", "n: int = await ws.receive_msgpack(type=Chat)"),
    Rejected(
        "union_into_one_member",
        "arg-type",
        "chat: Chat = await ws.receive_json(type=Chat | Join)",
    ),
    Rejected(
        "union_member_attribute",
        "union-attr",
        "print((await ws.receive_json(type=Chat | Join)).text)",
    ),
    Rejected(
        "iterated_item_attribute",
        "attr-defined",
        "async for chat in ws.iter_json(type=Chat):\n    print(chat.room)",
    ),
    Rejected(
        "msgpack_item_attribute",
        "attr-defined",
        "async for join in ws.iter_msgpack(type=Join):\n    print(join.text)",
    ),
    Rejected("receive_text_into_bytes", "assignment", "b: bytes = await ws.receive_text()"),
    Rejected("forgot_await", "attr-defined", "print(ws.receive_json(type=Chat).text)"),
    # type= must be a type expression.
    Rejected("type_is_an_int", "call-overload", "await ws.receive_json(type=3)"),
    Rejected("msgpack_type_is_an_int", "call-overload", "await ws.receive_msgpack(type=3)"),
    Rejected("iter_type_is_an_instance", "call-overload", 'ws.iter_json(type=Chat(text="x"))'),
    # Codec and its hooks.
    Rejected("codec_hook_not_callable", "arg-type", "Codec(enc_hook=1)"),
    Rejected("dec_hook_wrong_arity", "arg-type", "Codec(dec_hook=one_argument)"),
    Rejected("codec_hooks_keyword_only", "call-arg", "Codec(one_argument)"),
    Rejected("codec_not_a_codec", "arg-type", 'WebSocket(ws.scope, receive, send, codec="json")'),
    Rejected("codec_is_read_only", "misc", "ws.codec = Codec()"),
]


def _snippet_module() -> tuple[str, dict[int, str]]:
    """One module holding every snippet in its own function; maps each line to its snippet."""
    lines = PRELUDE.splitlines()
    owner: dict[int, str] = {}
    for snippet in REJECTED:
        lines += ["", ""]
        lines.append(
            f"async def {snippet.name}(ws: WebSocket, scope: Scope, receive: Receive, "
            "send: Send) -> None:"
        )
        for line in textwrap.indent(snippet.body, "    ").splitlines():
            lines.append(line)
            owner[len(lines)] = snippet.name
    return "\n".join(lines) + "\n", owner


@dataclass(frozen=True)
class MypyRun:
    usage_errors: list[str]
    codes: dict[str, list[str]]  # snippet name -> error codes reported on its lines
    stray: list[str]  # errors on lines of the snippet module outside any snippet


_ERROR = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z-]+)\])?$"
)


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    workdir = tmp_path_factory.mktemp("mypy")
    source, owner = _snippet_module()
    snippets = workdir / "rejected_snippets.py"
    snippets.write_text(source, encoding="utf-8")
    config = workdir / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\npython_version = 3.10\n", encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        [
            f"--config-file={config}",
            f"--cache-dir={workdir / 'cache'}",
            f"--python-executable={sys.executable}",
            "--show-error-codes",
            "--no-error-summary",
            "--no-color-output",
            os.fspath(USAGE),
            os.fspath(snippets),
        ]
    )
    assert status in (0, 1), f"mypy crashed (status {status}):\n{stdout}\n{stderr}"
    usage_errors: list[str] = []
    codes: dict[str, list[str]] = {snippet.name: [] for snippet in REJECTED}
    stray: list[str] = []
    for line in stdout.splitlines():
        match = _ERROR.match(line)
        if match is None:
            continue  # notes that go with an error
        if Path(match["path"]).name == USAGE.name:
            usage_errors.append(line)
        elif (name := owner.get(int(match["line"]))) is not None:
            codes[name].append(match["code"] or "")
        else:
            stray.append(line)
    return MypyRun(usage_errors, codes, stray)


def test_the_usage_examples_type_check(mypy_run: MypyRun) -> None:
    assert mypy_run.usage_errors == []


def test_the_snippet_prelude_type_checks(mypy_run: MypyRun) -> None:
    assert mypy_run.stray == []


@pytest.mark.parametrize("snippet", REJECTED, ids=lambda snippet: snippet.name)
def test_mypy_rejects(mypy_run: MypyRun, snippet: Rejected) -> None:
    assert mypy_run.codes[snippet.name], f"mypy accepted: {snippet.body!r}"
    assert set(mypy_run.codes[snippet.name]) == {snippet.code}, snippet.body

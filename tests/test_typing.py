"""The static typing contract, checked by running mypy (its Python API) and pyright (its CLI).

Two parts, each checked in one run per type checker (mypy --strict, pyright strict) to keep the
suite fast:
- the usage examples in tests/typing/ must type-check cleanly under both: they pin, with
  ``assert_type``, the type of every public receive and iter method with and without ``type=``
  (payload_usage.py), of broadcast channels and subscriptions (broadcast_usage.py), and of
  endpoints, their handlers and hooks, TypedWebSocket and both typed clients (endpoint_usage.py).
  ``assert_type`` is exact in both checkers, so both infer the same types;
- each snippet in REJECTED must be refused by both, on its last line, with the mypy error code
  and the pyright rules given next to it (and no others), so that a too-loose signature (``Any``
  where a type was promised, ``str`` where a Literal was) is caught here rather than by a user.

Both check the installed typedws (whichever build: the .py sources ship beside the compiled
modules), as users' type checkers would. Without mypy or pyright the tests of that checker are
skipped, or fail when TYPEDWS_REQUIRE_ALL=1 (as in CI); requirements/test.txt installs both.
pyright comes from PyPI's ``pyright`` package, which runs the pyright bundled in its wheel with
the machine's Node.js.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

pytestmark = pytest.mark.static

USAGE = sorted((Path(__file__).parent / "typing").glob("*.py"))
USAGE_NAMES = {path.name for path in USAGE}
SNIPPETS = "rejected_snippets.py"

#: Prepended to every snippet; each snippet is the body of an ``async def`` with ``ws`` (and a
#: test client's ``session``, a ``Broadcast`` ``bc``) at hand, and the endpoint ``room``.
PRELUDE = """\
from __future__ import annotations

import msgspec
from typing_extensions import assert_never

from typedws import Codec, Endpoint, TypedWebSocket, WebSocket, client
from typedws.broadcast import Broadcast, Channel
from typedws.testing import Session, connect
from typedws.types import Receive, Scope, Send


class Chat(msgspec.Struct, tag=True):
    text: str


class Join(msgspec.Struct, tag=True):
    room: str


class Said(msgspec.Struct, tag=True):
    text: str


def one_argument(value: object) -> object:
    return value


room = Endpoint("/room", receives=Chat | Join, sends=Said)
Conn = TypedWebSocket[Chat | Join, Said]
"""


@dataclass(frozen=True)
class Rejected:
    name: str
    mypy: str  # the mypy error code the snippet must produce
    pyright: tuple[str, ...]  # the pyright rules it must produce (besides those in FOLLOW_ON)
    body: str


# pyright rules that strict mode adds as a consequence of the error a snippet is about, allowed
# beside the expected ones: an attribute that does not exist has an unknown type, which strict
# reports again where it is used, and a variable assigned only to show an error is never read.
FOLLOW_ON = frozenset(
    {"reportUnknownMemberType", "reportUnknownArgumentType", "reportUnusedVariable"}
)

ARG = ("reportArgumentType",)
OVERLOAD = ("reportCallIssue",)
# No overload matches and pyright also names the argument that fits none of them.
OVERLOAD_ARG = ("reportCallIssue", "reportArgumentType")
ASSIGN = ("reportAssignmentType",)
ATTR = ("reportAttributeAccessIssue",)

REJECTED = [
    # Frame payloads: the wrong Python type for the frame kind.
    # (type-var: send_text/send_bytes take constrained type variables; see _websocket.py.)
    Rejected("send_text_bytes", "type-var", ARG, 'await ws.send_text(b"x")'),
    Rejected("send_bytes_str", "type-var", ARG, 'await ws.send_bytes("x")'),
    # Modes are Literal["text", "binary"]. (pyright names the argument when only one overload
    # takes it by that name or position; mypy reports that no overload matches.)
    Rejected("receive_json_hex_mode", "call-overload", ARG, 'await ws.receive_json(mode="hex")'),
    Rejected(
        "receive_json_hex_typed",
        "call-overload",
        OVERLOAD_ARG,
        'await ws.receive_json("hex", type=Chat)',
    ),
    Rejected("iter_json_hex_mode", "call-overload", ARG, 'ws.iter_json(mode="hex")'),
    Rejected("send_json_hex_mode", "arg-type", ARG, 'await ws.send_json({}, mode="hex")'),
    Rejected(
        "receive_msgpack_has_no_mode",
        "call-overload",
        OVERLOAD,
        'await ws.receive_msgpack("binary")',
    ),
    # The decoded value has the requested type, not Any. mypy infers T from the assignment's
    # target first, so a mismatch is reported on the type= argument (arg-type); pyright infers T
    # from the argument and reports the assignment.
    Rejected(
        "typed_json_into_int", "arg-type", ASSIGN, "n: int = await ws.receive_json(type=Chat)"
    ),
    Rejected(
        "typed_msgpack_into_int", "arg-type", ASSIGN, "n: int = await ws.receive_msgpack(type=Chat)"
    ),
    Rejected(
        "union_into_one_member",
        "arg-type",
        ASSIGN,
        "chat: Chat = await ws.receive_json(type=Chat | Join)",
    ),
    Rejected(
        "union_member_attribute",
        "union-attr",
        ATTR,
        "print((await ws.receive_json(type=Chat | Join)).text)",
    ),
    Rejected(
        "iterated_item_attribute",
        "attr-defined",
        ATTR,
        "async for chat in ws.iter_json(type=Chat):\n    print(chat.room)",
    ),
    Rejected(
        "msgpack_item_attribute",
        "attr-defined",
        ATTR,
        "async for join in ws.iter_msgpack(type=Join):\n    print(join.text)",
    ),
    Rejected("receive_text_into_bytes", "assignment", ASSIGN, "b: bytes = await ws.receive_text()"),
    Rejected("forgot_await", "attr-defined", ATTR, "print(ws.receive_json(type=Chat).text)"),
    # type= must be a type expression.
    Rejected("type_is_an_int", "call-overload", OVERLOAD_ARG, "await ws.receive_json(type=3)"),
    Rejected(
        "msgpack_type_is_an_int", "call-overload", OVERLOAD_ARG, "await ws.receive_msgpack(type=3)"
    ),
    Rejected(
        "iter_type_is_an_instance",
        "call-overload",
        OVERLOAD_ARG,
        'ws.iter_json(type=Chat(text="x"))',
    ),
    # The test client's receive_json is typed as WebSocket's.
    Rejected(
        "session_union_into_one_member",
        "arg-type",
        ASSIGN,
        "chat: Chat = await session.receive_json(type=Chat | Join)",
    ),
    Rejected(
        "session_type_is_an_int",
        "call-overload",
        OVERLOAD_ARG,
        "await session.receive_json(type=3)",
    ),
    Rejected(
        "session_msgpack_has_no_mode",
        "call-overload",
        OVERLOAD,
        'await session.receive_msgpack("binary")',
    ),
    # A channel's messages have its type. (mypy: "Cannot infer value of type parameter T", as
    # Channel[T] is invariant and the message is no T.)
    Rejected(
        "publish_another_type",
        "misc",
        ARG,
        'await bc.publish(Channel("c", Chat), Join(room="x"))',
    ),
    Rejected(
        "subscribed_item_attribute",
        "union-attr",
        ATTR,
        'async with bc.subscribe(Channel("c", Chat | Join)) as sub:\n'
        "    async for item in sub:\n"
        "        print(item.text)",
    ),
    # Codec and its hooks.
    Rejected("codec_hook_not_callable", "arg-type", ARG, "Codec(enc_hook=1)"),
    Rejected("dec_hook_wrong_arity", "arg-type", ARG, "Codec(dec_hook=one_argument)"),
    Rejected("codec_hooks_keyword_only", "call-arg", OVERLOAD, "Codec(one_argument)"),
    Rejected(
        "codec_not_a_codec", "arg-type", ARG, 'WebSocket(ws.scope, receive, send, codec="json")'
    ),
    Rejected("codec_is_read_only", "misc", ATTR, "ws.codec = Codec()"),
    # Endpoints: only a member of ``sends`` may be sent, a handler takes the member it is
    # registered for (and returns a member of ``sends`` or None), and the clients swap In/Out.
    Rejected(
        "endpoint_send_not_in_sends", "arg-type", ARG, 'await room.wrap(ws).send(Chat(text="x"))'
    ),
    Rejected(
        "handler_of_another_member",
        "arg-type",
        ARG,
        "async def handler(conn: Conn, msg: Join) -> None:\n    pass\nroom.on(Chat)(handler)",
    ),
    Rejected(
        "handler_returns_a_non_member",
        "arg-type",
        ARG,
        "async def handler(conn: Conn, msg: Chat) -> Chat:\n    return msg\nroom.on(Chat)(handler)",
    ),
    Rejected(
        "handler_of_another_endpoints_connection",
        "arg-type",
        ARG,
        "async def handler(conn: TypedWebSocket[Chat, Said], msg: Chat) -> None:\n"
        "    pass\n"
        "room.on(Chat)(handler)",
    ),
    Rejected(
        "on_disconnect_without_the_code",
        "arg-type",
        ARG,
        "async def gone(conn: Conn) -> None:\n    pass\nroom.on_disconnect(gone)",
    ),
    Rejected(
        "match_misses_a_member",
        "arg-type",
        ARG,
        "msg = await room.wrap(ws).receive()\n"
        "match msg:\n"
        "    case Chat():\n"
        "        pass\n"
        "    case _:\n"
        "        assert_never(msg)",
    ),
    Rejected(
        "typed_receive_into_one_member",
        "assignment",
        ASSIGN,
        "chat: Chat = await room.wrap(ws).receive()",
    ),
    Rejected("endpoint_path_is_read_only", "misc", ATTR, 'room.path = "/x"'),
    Rejected(
        "test_client_sends_what_the_endpoint_receives",
        "arg-type",
        ARG,
        'async with connect(room.app(), "/room", endpoint=room) as c:\n'
        '    await c.send(Said(text="x"))',
    ),
    Rejected(
        "network_client_receives_what_the_endpoint_sends",
        "assignment",
        ASSIGN,
        'async with client.connect("ws://h/room", room) as c:\n    chat: Chat = await c.receive()',
    ),
]


def _snippet_module() -> tuple[str, dict[int, str]]:
    """One module holding every snippet in its own function; maps each line to its snippet."""
    lines = PRELUDE.splitlines()
    owner: dict[int, str] = {}
    for snippet in REJECTED:
        lines += ["", ""]
        lines.append(
            f"async def {snippet.name}(ws: WebSocket, session: Session, bc: Broadcast, "
            "scope: Scope, receive: Receive, send: Send) -> None:"
        )
        for line in textwrap.indent(snippet.body, "    ").splitlines():
            lines.append(line)
            owner[len(lines)] = snippet.name
    return "\n".join(lines) + "\n", owner


def _last_lines(owner: dict[int, str]) -> dict[str, int]:
    return {name: line for line, name in sorted(owner.items())}


@dataclass(frozen=True)
class CheckerRun:
    """What one type checker said about the usage examples and the snippets."""

    usage_errors: list[str]
    codes: dict[str, list[str]]  # snippet name -> error codes (mypy) or rules (pyright) on it
    lines: dict[str, set[int]]  # snippet name -> lines with an error
    last_line: dict[str, int]  # snippet name -> its last line (where its error belongs)
    stray: list[str]  # errors on lines of the snippet module outside any snippet


def _checker_missing(what: str) -> NoReturn:
    reason = f"{what} (requirements/test.txt installs it)"
    if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason}, and TYPEDWS_REQUIRE_ALL=1 requires the typing tests to run")
    pytest.skip(f"{reason}; CI sets TYPEDWS_REQUIRE_ALL=1 and runs them")


def _sorted_out(errors: list[tuple[str, int, str, str]], owner: dict[int, str]) -> CheckerRun:
    """Sort (file name, line, code or rule, text) errors into a CheckerRun."""
    run = CheckerRun(
        usage_errors=[],
        codes={snippet.name: [] for snippet in REJECTED},
        lines={snippet.name: set() for snippet in REJECTED},
        last_line=_last_lines(owner),
        stray=[],
    )
    for file_name, line, code, text in errors:
        if file_name in USAGE_NAMES:
            run.usage_errors.append(f"{file_name}:{line}: {text} [{code}]")
        elif file_name == SNIPPETS and (name := owner.get(line)) is not None:
            run.codes[name].append(code)
            run.lines[name].add(line)
        else:
            run.stray.append(f"{file_name}:{line}: {text} [{code}]")
    return run


_MYPY_ERROR = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z-]+)\])?$"
)


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> CheckerRun:
    try:
        from mypy import api as mypy_api
    except ImportError:
        _checker_missing("mypy is not installed")
    workdir = tmp_path_factory.mktemp("mypy")
    source, owner = _snippet_module()
    snippets = workdir / SNIPPETS
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
            *map(os.fspath, USAGE),
            os.fspath(snippets),
        ]
    )
    assert status in (0, 1), f"mypy crashed (status {status}):\n{stdout}\n{stderr}"
    errors: list[tuple[str, int, str, str]] = []
    for line in stdout.splitlines():
        match = _MYPY_ERROR.match(line)
        if match is None:
            continue  # notes that go with an error
        path = Path(match["path"]).name
        errors.append((path, int(match["line"]), match["code"] or "", match["message"]))
    return _sorted_out(errors, owner)


def _pyright_command() -> list[str] | None:
    """pyright from PyPI's wrapper in this interpreter's environment, else one on PATH."""
    if importlib.util.find_spec("pyright") is not None:
        return [sys.executable, "-m", "pyright"]
    found = shutil.which("pyright")
    return None if found is None else [found]


@pytest.fixture(scope="module")
def pyright_run(tmp_path_factory: pytest.TempPathFactory) -> CheckerRun:
    command = _pyright_command()
    if command is None:
        _checker_missing("pyright is not installed")
    # One pyright project in a temporary directory: the usage examples (copied) and the snippets,
    # checked in strict mode in one run (pyright takes seconds to start).
    workdir = tmp_path_factory.mktemp("pyright")
    source, owner = _snippet_module()
    (workdir / SNIPPETS).write_text(source, encoding="utf-8")
    for usage in USAGE:
        shutil.copyfile(usage, workdir / usage.name)
    config = {"typeCheckingMode": "strict", "pythonVersion": "3.10"}
    (workdir / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    completed = subprocess.run(
        [*command, "--outputjson", "--project", os.fspath(workdir), "--pythonpath", sys.executable],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        # The wrapper asks PyPI for a newer release unless told not to: no network needed here.
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
        check=False,
    )
    # Exit status 0: no errors, 1: errors; anything else is pyright failing to run.
    assert completed.returncode in (0, 1), (
        f"pyright failed (status {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    )
    report: dict[str, Any] = json.loads(completed.stdout)
    assert report["summary"]["filesAnalyzed"] == len(USAGE) + 1, report["summary"]
    errors: list[tuple[str, int, str, str]] = []
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] != "error":
            continue
        line = diagnostic["range"]["start"]["line"] + 1  # pyright counts lines from 0
        rule = diagnostic.get("rule", "")
        errors.append((Path(diagnostic["file"]).name, line, rule, diagnostic["message"]))
    return _sorted_out(errors, owner)


@pytest.fixture(params=["mypy", "pyright"])
def checker_run(request: pytest.FixtureRequest) -> CheckerRun:
    run: CheckerRun = request.getfixturevalue(f"{request.param}_run")
    return run


def test_the_usage_examples_type_check(checker_run: CheckerRun) -> None:
    assert checker_run.usage_errors == []


def test_the_snippet_prelude_type_checks(checker_run: CheckerRun) -> None:
    assert checker_run.stray == []


@pytest.mark.parametrize("snippet", REJECTED, ids=lambda snippet: snippet.name)
def test_mypy_rejects(mypy_run: CheckerRun, snippet: Rejected) -> None:
    assert mypy_run.codes[snippet.name], f"mypy accepted: {snippet.body!r}"
    assert set(mypy_run.codes[snippet.name]) == {snippet.mypy}, snippet.body
    assert mypy_run.lines[snippet.name] == {mypy_run.last_line[snippet.name]}, snippet.body


@pytest.mark.parametrize("snippet", REJECTED, ids=lambda snippet: snippet.name)
def test_pyright_rejects(pyright_run: CheckerRun, snippet: Rejected) -> None:
    rules = set(pyright_run.codes[snippet.name])
    assert rules, f"pyright accepted: {snippet.body!r}"
    assert rules - FOLLOW_ON == set(snippet.pyright), snippet.body
    assert pyright_run.lines[snippet.name] == {pyright_run.last_line[snippet.name]}, snippet.body

"""Users who compile their own code with mypyc: a small user package, compiled against the
installed typedws, runs through the test client (design card: "used-by: mypyc wheels").

The package has an endpoint with its handlers and a ``WebSocket`` subclass (marked
``@mypyc_attr(native_class=False)``, as it must be against the compiled typedws: a native
subclass of a class compiled in another extension is laid out without its base's fields and
crashes) in a compiled module,
its Structs in a module left out of compilation (as the README says), and one compiled module
that declares tagged Structs anyway. What mypyc makes of those depends on the msgspec whose type
stubs it compiles against:

- msgspec 0.20 and later declare ``Struct``'s metaclass (``StructMeta``) in their stubs, so
  mypyc builds each such class as a plain Python class by calling the metaclass, without the
  class keywords: the Structs lose their ``tag``, and typedws must say so (instead of msgspec's
  bare "all Struct types must be tagged");
- msgspec 0.19's stubs declare no metaclass, so mypyc makes them native classes, and importing
  the compiled module fails with ``TypeError: mypyc classes can't have a metaclass``.

Compiling takes ~20 s (mypy's analysis of typedws plus one C file). Needs mypyc and a C
compiler; without them the test is skipped, or fails when TYPEDWS_REQUIRE_ALL=1 (as in CI).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

MODELS = '''
"""The protocol's Structs: kept out of mypyc compilation (mypyc drops class keywords)."""

from __future__ import annotations

import msgspec


class Join(msgspec.Struct, tag="join"):
    room: str


class Say(msgspec.Struct, tag="say"):
    text: str


class Joined(msgspec.Struct, tag="joined"):
    room: str
    user: str


class Said(msgspec.Struct, tag="said"):
    text: str
'''

SERVER = '''
"""Compiled with mypyc: an endpoint, its handlers, and a WebSocket subclass."""

from __future__ import annotations

# mypyc (2.x) builds a non-native class's bases from the module that defines them: that
# module must be imported here, or the C does not compile ("CPyModule_typedws____websocket
# undeclared").
import typedws._websocket  # noqa: F401
from mypy_extensions import mypyc_attr

from typedws import Endpoint, TypedWebSocket, WebSocket, WebSocketApp, websocket_app

from chatpkg.models import Join, Joined, Said, Say

chat = Endpoint("/chat", receives=Join | Say, sends=Joined | Said)
Conn = TypedWebSocket[Join | Say, Joined | Said]


@chat.on(Join)
async def join(conn: Conn, msg: Join) -> Joined | None:
    return Joined(room=msg.room, user=conn.ws.query_params.get("user", "?"))


@chat.on(Say)
async def say(conn: Conn, msg: Say) -> None:
    await conn.send(Said(text=msg.text.upper()))


app = chat.app()


# native_class=False: mypyc would otherwise make this a native class laid out without the
# fields of typedws's compiled WebSocket (another extension), which crashes the interpreter
# (README, "Compiling your own code with mypyc").
@mypyc_attr(native_class=False)
class ShoutingWebSocket(WebSocket):
    """A WebSocket subclass with a method of its own."""

    async def shout(self, text: str) -> None:
        await self.send_text(text.upper() + "!")


async def shout_handler(ws: WebSocket) -> None:
    loud = ShoutingWebSocket(ws.scope, ws._receive, ws._send)
    await loud.accept()
    async for text in loud.iter_text():
        await loud.shout(text)


shout_app: WebSocketApp = websocket_app(shout_handler)
'''

NATIVE = '''
"""Compiled with mypyc: a WebSocket subclass left a native class (what the README warns of)."""

from __future__ import annotations

import typedws._websocket  # noqa: F401
from typedws import WebSocket


class NativeWebSocket(WebSocket):
    async def shout(self, text: str) -> None:
        await self.send_text(text.upper())
'''

TAGLESS = '''
"""Compiled with mypyc on purpose: these Structs lose their tags."""

from __future__ import annotations

import msgspec


class Chat(msgspec.Struct, tag="chat"):
    text: str


class Leave(msgspec.Struct, tag="leave"):
    room: str
'''

# Run in a fresh interpreter with the compiled package importable: the in-memory client under
# each backend given on the command line, then the tag check. Prints one line per finding.
CHECK = """
import importlib.util
import sys

import anyio

import chatpkg.server as server
from chatpkg.models import Join, Joined, Said, Say
from typedws import Endpoint, WebSocket
from typedws.testing import connect

print("server compiled:", server.__file__.endswith((".so", ".pyd")))
spec = importlib.util.find_spec("chatpkg.tagless")
print("tagless compiled:", spec.origin.endswith((".so", ".pyd")))


async def main() -> None:
    async with connect(server.app, "/chat?user=ada", endpoint=server.chat) as client:
        await client.send(Join(room="r"))
        assert await client.receive() == Joined(room="r", user="ada")
        await client.send(Say(text="hi"))
        assert await client.receive() == Said(text="HI")
    async with connect(server.shout_app, "/") as session:
        await session.send_text("hey")
        assert await session.receive_text() == "HEY!"
    assert issubclass(server.ShoutingWebSocket, WebSocket)


for backend in sys.argv[1:]:
    anyio.run(main, backend=backend)
    print("served under", backend)

import chatpkg.native as native


async def _no_receive() -> dict[str, object]:
    return {}


async def _no_send(message: object) -> None:
    pass


try:
    native.NativeWebSocket({"type": "websocket"}, _no_receive, _no_send)
except TypeError as exc:
    print("native subclass refused:", exc)
else:
    print("native subclass accepted")

try:
    import chatpkg.tagless as tagless
except TypeError as exc:
    print("tagless import failed:", exc)
    sys.exit(0)
print("tag kept:", tagless.Chat.__struct_config__.tag is not None)
try:
    Endpoint("/x", receives=tagless.Chat | tagless.Leave, sends=Said)
except TypeError as exc:
    print("refused:", exc)
else:
    print("accepted")
"""


#: The modules of the user package that mypyc compiles (models.py is left out).
COMPILED = ("server", "native", "tagless")


def _msgspec_version() -> tuple[int, int]:
    """The installed msgspec's (major, minor): mypyc compiles against its stubs."""
    major, minor = importlib.metadata.version("msgspec").split(".")[:2]
    return int(major), int(minor)


def _typedws_compiled() -> bool:
    import typedws

    return typedws.COMPILED


def _missing(what: str) -> None:
    if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
        pytest.fail(f"{what}, and TYPEDWS_REQUIRE_ALL=1 requires this test to run")
    pytest.skip(f"{what}; CI sets TYPEDWS_REQUIRE_ALL=1 and runs it")


def _c_compiler() -> str | None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler)


@pytest.fixture(scope="module")
def compiled_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("mypyc") is None:
        _missing("mypyc is not installed (requirements/test.txt installs mypy, which has it)")
    if _c_compiler() is None:
        _missing("no C compiler found for mypyc")
    root = tmp_path_factory.mktemp("user_mypyc")
    package = root / "chatpkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    sources = (("models", MODELS), ("server", SERVER), ("native", NATIVE), ("tagless", TAGLESS))
    for name, source in sources:
        (package / f"{name}.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    (root / "check.py").write_text(CHECK.lstrip(), encoding="utf-8")
    # models.py is left out, as users are told to; the others are compiled.
    completed = subprocess.run(
        [sys.executable, "-m", "mypyc", *(f"chatpkg/{name}.py" for name in COMPILED)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, f"mypyc failed:\n{completed.stdout}\n{completed.stderr}"
    return root


def test_a_compiled_user_package_runs_through_the_test_client(compiled_package: Path) -> None:
    # The package's directory on the path explicitly: with PYTHONSAFEPATH set (nox -s build
    # tests each wheel so), Python does not put the script's own directory there.
    path = os.pathsep.join(filter(None, [str(compiled_package), os.environ.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "check.py", "asyncio", "trio"],
        cwd=compiled_package,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[:4] == [
        "server compiled: True",
        "tagless compiled: True",
        "served under asyncio",
        "served under trio",
    ]
    # Against the compiled typedws, a native subclass is refused with a TypeError saying what
    # to do, instead of crashing; against the pure build it is an ordinary subclass.
    expected_native = (
        "native subclass refused: chatpkg.native.NativeWebSocket was compiled by mypyc as a "
        "native subclass of typedws.WebSocket"
        if _typedws_compiled()
        else "native subclass accepted"
    )
    assert lines[4].startswith(expected_native), lines[4]
    if lines[4].startswith("native subclass refused"):
        assert "@mypyc_attr(native_class=False)" in lines[4]
    findings = lines[5:]
    if _msgspec_version() < (0, 20):
        # msgspec 0.19's stubs declare no metaclass: mypyc made Chat a native class, which
        # cannot be created with msgspec's metaclass (typedws never sees the module).
        assert findings == ["tagless import failed: mypyc classes can't have a metaclass"]
    elif findings[0] == "tag kept: False":
        # mypyc dropped tag="chat": typedws explains it, naming the module and the way out.
        assert len(findings) == 2
        assert findings[1].startswith("refused: Endpoint receives=")
        assert "'chatpkg.tagless', a module compiled with mypyc" in findings[1]
        assert "mypyc silently drops class keywords" in findings[1]
        assert "excluded from mypyc compilation" in findings[1]
    else:
        # A mypyc that keeps class keywords needs no explanation: the union just works.
        assert findings == ["tag kept: True", "accepted"]

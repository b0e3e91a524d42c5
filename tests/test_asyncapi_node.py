"""The AsyncAPI documents as their users' tools read them: @asyncapi/parser, Ajv and tsc.

- Every generated document goes through the AsyncAPI project's own parser (@asyncapi/parser,
  which validates it against the AsyncAPI 3.1.0 JSON Schema and the ws binding's, and runs its
  Spectral rules): no diagnostic of severity error or warning.
- Sample messages, encoded by msgspec, are checked by Ajv (JSON Schema Draft 07, formats on)
  against the payloads of each operation; messages msgspec refuses must fail there too.
- json-schema-to-typescript turns each operation's payloads into TypeScript types, and a small
  client compiles against them with ``tsc --noEmit --strict``: a tagged union is a discriminated
  union (``switch (msg.type)`` narrows, a forgotten case fails the ``never`` check), and each
  file of tests/asyncapi_node/negative cases must fail where it says.

The Node packages are pinned in tests/asyncapi_node/package-lock.json. ``npm ci`` installs them
once per lock file into a cache directory outside the repository (``$TYPEDWS_NODE_CACHE``, else
``~/.cache/typedws/asyncapi-node``); all checks run in one Node process and one tsc run. Without
Node.js 20+ and npm these tests are skipped, or fail when TYPEDWS_REQUIRE_ALL=1 (as in CI).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import msgspec
import pytest

from test_asyncapi import (
    Color,
    Gone,
    Inbound,
    Join,
    Joined,
    Member,
    Notice,
    Outbound,
    Ping,
    Point,
    Said,
    Sample,
    Say,
    chat,
    protocol_document,
)
from typedws.asyncapi import document, main
from typedws.broadcast import Envelope, Gap
from typedws.demo import protocol as demo

pytestmark = pytest.mark.static

NODE_DIR = Path(__file__).parent / "asyncapi_node"
TS_DIR = NODE_DIR / "ts"
REPO = Path(__file__).parent.parent
# The client imports "./protocol" (no extension), as a bundler resolves it.
TSC_OPTIONS = ["--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler"]


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason}, and TYPEDWS_REQUIRE_ALL=1 requires the AsyncAPI Node checks")
    pytest.skip(f"{reason}; CI sets TYPEDWS_REQUIRE_ALL=1 and runs them")


def cache_root() -> Path:
    configured = os.environ.get("TYPEDWS_NODE_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "typedws" / "asyncapi-node"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """A directory with the locked packages installed (``npm ci``, once per lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("Node.js and npm are not on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = re.match(r"v(\d+)\.", version.stdout)
    if major is None or int(major.group(1)) < 20:
        unavailable(f"Node.js {version.stdout.strip()} is not 20 or later")
    manifest = [NODE_DIR / "package.json", NODE_DIR / "package-lock.json"]
    key = hashlib.sha256(b"".join(path.read_bytes() for path in manifest)).hexdigest()[:16]
    target = cache_root() / key
    if not target.is_dir():
        # Installed beside the target, then renamed: a directory under the final name is
        # always complete, even with two test sessions installing at once.
        staging = target.with_name(f"{key}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for path in manifest:
            shutil.copy(path, staging / path.name)
        result = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            unavailable(f"npm ci failed in {staging}:\n{result.stderr[-2000:]}")
        try:
            staging.rename(target)
        except OSError:  # another session finished first
            shutil.rmtree(staging, ignore_errors=True)
    # The scripts run from there, so that their imports find its node_modules.
    script = target / "check.mjs"
    partial = target / f"check.mjs.{os.getpid()}.tmp"
    shutil.copy(NODE_DIR / "check.mjs", partial)
    partial.replace(script)
    return target


# -- One Node process for every document and sample -----------------------------------------------


@dataclass(frozen=True)
class Case:
    """One message checked against the payloads of one operation."""

    document: str
    operation: str
    instance: Any
    valid: bool
    type: Any  # what msgspec decodes the operation's messages as, to agree with Ajv


def builtins(value: object) -> Any:
    """``value`` as msgspec puts it on the wire, as plain JSON data."""
    return json.loads(msgspec.json.encode(value))


SAMPLES = [
    # What the chat server receives, as a client encodes it...
    *[
        Case("protocol", "chat_receive", builtins(m), True, Inbound)
        for m in (Join(room="lobby"), Say(text="hi"), Say(text="hi", at=(1.0, 2.5)), Ping())
    ],
    # ...and what it refuses: a wrong tag, a missing or empty field, a tuple too long, an
    # unknown field (forbid_unknown_fields), a message the server sends.
    *[
        Case("protocol", "chat_receive", instance, False, Inbound)
        for instance in (
            {"type": "jion", "room": "lobby"},
            {"type": "join"},
            {"type": "join", "room": ""},
            {"type": "say", "text": "hi", "at": [1, 2, 3]},
            {"type": "join", "room": "lobby", "extra": 1},
            {"type": "gone", "reason": "empty", "code": 4000},
        )
    ],
    *[
        Case("protocol", "chat_send", builtins(m), True, Outbound)
        for m in (
            Joined(
                room="lobby",
                members=[Member(name="ann"), Member(name="bob", color=Color.BLUE)],
                host=Member(name="ann"),
                since=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            ),
            Said(text="hi", by="ann", where=Point(1.0, 2.0)),
            Gone(reason="empty", code=4000),
            Ping(),
            Envelope(id="1-0", data=Notice(text="maintenance at noon")),
        )
    ],
    *[
        Case("protocol", "chat_send", instance, False, Outbound)
        for instance in (
            {"type": "gone", "reason": "bored", "code": 4000},
            {"type": "gone", "reason": "empty", "code": 4001},
            {"type": "said", "text": "hi", "by": "ann", "where": [1.0]},
            {"type": "joined", "room": "x", "members": [], "host": {"name": "a"}, "since": "now"},
            {"type": "message", "id": "1-0", "data": {"type": "said", "text": "x"}},
            {"type": "join", "room": "lobby"},
        )
    ],
    # array_like Structs: an array; msgspec ignores extra trailing items, and so does the schema.
    Case("protocol", "metrics_stream_receive", [1.5, 3], True, Sample),
    Case("protocol", "metrics_stream_receive", [1.5, 3, "later"], True, Sample),
    Case("protocol", "metrics_stream_receive", [1.5], False, Sample),
    Case("protocol", "metrics_stream_receive", [1.5, 3.5], False, Sample),
    Case("protocol", "metrics_stream_send", [[1.5, 3], [2.0, 4]], True, list[Sample]),
    Case("protocol", "raw_receive", {"a": 1}, True, dict[str, int]),
    Case("protocol", "raw_receive", {"a": "1"}, False, dict[str, int]),
    # The demo's chat (docs/asyncapi-demo.json), as its page and its server speak it.
    *[
        Case("demo", "ws_receive", builtins(m), True, demo.ClientMessage)
        for m in (demo.Join(name="ada"), demo.Say(text="hi"), demo.Leave())
    ],
    Case("demo", "ws_receive", {"type": "join", "name": ""}, False, demo.ClientMessage),
    Case("demo", "ws_receive", {"type": "message", "text": 42}, False, demo.ClientMessage),
    *[
        Case("demo", "ws_send", builtins(m), True, demo.ServerMessage)
        for m in (
            Envelope(id="1-0", data=demo.Joined(name="ada", members=["ada"], worker=7)),
            Envelope(id="2-0", data=demo.Said(name="ada", text="hi")),
            Envelope(id="3-0", data=demo.Left(name="ada", members=[])),
            Gap(channel="typedws-demo-room", after="1-0", reason="retention", missed=2),
            demo.Error(detail="join the room before sending messages"),
        )
    ],
    Case("demo", "ws_send", {"type": "message", "id": "1", "data": {}}, False, demo.ServerMessage),
]


def documents(tmp: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every document the Node checks read: name -> (text as written, the same as JSON data)."""
    protocol = protocol_document()
    committed = (REPO / "docs" / "asyncapi-demo.json").read_text(encoding="utf-8")
    docs = {
        "demo": (committed, json.loads(committed)),
        "protocol": (json.dumps(protocol), protocol),
        "chat-only": (
            json.dumps(single := document(chat, title="Chat", version="1")),
            single,
        ),
    }
    try:
        yaml: Any = importlib.import_module("yaml")  # PyYAML is optional: YAML output needs it
    except ImportError:
        return docs
    out = tmp / "protocol.yaml"
    argv = ["test_asyncapi:ENDPOINTS", "--title", "typedws test protocol", "--version", "1"]
    assert main([*argv, "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    docs["protocol.yaml"] = (text, yaml.safe_load(text))
    return docs


@dataclass(frozen=True)
class Report:
    documents: dict[str, Any]
    samples: list[dict[str, Any]]
    names: list[str]


@pytest.fixture(scope="session")
def report(node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Report:
    docs = documents(tmp_path_factory.mktemp("asyncapi"))
    job = {
        "documents": {name: {"text": text, "document": doc} for name, (text, doc) in docs.items()},
        "samples": [
            {"document": s.document, "operation": s.operation, "instance": s.instance}
            for s in SAMPLES
        ],
    }
    result = subprocess.run(
        ["node", str(node_modules / "check.mjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return Report(data["documents"], data["samples"], list(docs))


# -- The parser -----------------------------------------------------------------------------------


def test_parser_finds_no_errors_or_warnings(report: Report) -> None:
    assert set(report.documents) == set(report.names)
    for name, entry in report.documents.items():
        # Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
        serious = [d for d in entry["diagnostics"] if d["severity"] <= 1]
        assert serious == [], name
        assert entry["typescript"] is not None, name  # the parser returned a document


def test_yaml_output_parses_like_the_json(report: Report) -> None:
    if "protocol.yaml" not in report.documents:
        pytest.skip("PyYAML is not installed (the YAML output needs it)")
    assert report.documents["protocol.yaml"]["diagnostics"] == []


# -- Ajv against msgspec --------------------------------------------------------------------------


def test_payload_schemas_accept_what_msgspec_accepts(report: Report) -> None:
    assert len(report.samples) == len(SAMPLES)
    for sample, result in zip(SAMPLES, report.samples, strict=True):
        assert result["valid"] is sample.valid, (sample, result["errors"])
        # msgspec, decoding the same JSON, agrees with the schema both ways.
        try:
            msgspec.json.decode(json.dumps(sample.instance), type=sample.type)
        except msgspec.ValidationError:
            assert not sample.valid, sample
        else:
            assert sample.valid, sample


# -- TypeScript -----------------------------------------------------------------------------------


def ts_errors(output: str) -> Iterator[tuple[str, int, str]]:
    """(file name, line, message) for each error in tsc's --pretty false output."""
    for match in re.finditer(r"^(.+?)\((\d+),\d+\): error (TS\d+: .*)$", output, re.MULTILINE):
        yield Path(match.group(1)).name, int(match.group(2)), match.group(3)


def test_typescript_client_compiles_and_narrows(
    report: Report, node_modules: Path, tmp_path: Path
) -> None:
    types = report.documents["protocol"]["typescript"]
    (tmp_path / "demo.ts").write_text(report.documents["demo"]["typescript"], encoding="utf-8")
    assert "export type ChatReceive = (Join | Say | Ping)" in types
    assert "export type ChatSend = (Joined | Said | Gone | Ping | EnvelopeNotice)" in types
    (tmp_path / "protocol.ts").write_text(types, encoding="utf-8")
    (tmp_path / "chat_only.ts").write_text(
        report.documents["chat-only"]["typescript"], encoding="utf-8"
    )
    sources = sorted(TS_DIR.glob("*.ts"))
    for source in sources:
        shutil.copy(source, tmp_path / source.name)
    # Each negative file marks the lines that must fail with "// error: TS<code>".
    expected: set[tuple[str, int, str]] = set()
    for source in sources:
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            marker = re.search(r"// error: (TS\d+)", line)
            if marker:
                expected.add((source.name, number, marker.group(1)))
    assert len({name for name, _, _ in expected}) >= 4  # every negative file has its marker
    tsc = node_modules / "node_modules" / ".bin" / "tsc"
    files = ["protocol.ts", "chat_only.ts", "demo.ts", *(source.name for source in sources)]
    result = subprocess.run(
        [str(tsc), "--noEmit", "--strict", "--pretty", "false", *TSC_OPTIONS, *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    errors = list(ts_errors(result.stdout))
    found = {(name, line, message.split(":")[0]) for name, line, message in errors}
    # The generated types and the client compile; each negative case fails, where it says.
    assert found == expected, result.stdout
    assert result.returncode != 0

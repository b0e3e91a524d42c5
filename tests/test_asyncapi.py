"""typedws.asyncapi: the document's shape, the Draft 07 conversions, the command.

The AsyncAPI parser, Ajv and tsc check the same documents in tests/test_asyncapi_node.py; the
protocol below is shared with it.
"""

from __future__ import annotations

import datetime
import enum
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeAlias

import msgspec
import pytest

from typedws import Endpoint
from typedws.asyncapi import (
    ASYNCAPI_VERSION,
    _as_msgspec_023,
    _clean_docstring,
    _component_names,
    document,
    draft07,
    main,
)
from typedws.broadcast import Envelope

# -- A protocol with every shape the conversions touch --------------------------------------------


class Point(NamedTuple):
    """A position on the board."""

    x: float
    y: float


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Member(msgspec.Struct):
    """Someone in a room (an untagged Struct: referenced, never a message of its own)."""

    name: str
    color: Color = Color.RED


class Join(msgspec.Struct, tag="join", forbid_unknown_fields=True):
    """Enter ``room``."""

    room: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class Say(msgspec.Struct, tag="say", forbid_unknown_fields=True):
    """Say ``text``, optionally pinned at a point (a fixed-length tuple)."""

    text: str
    at: tuple[float, float] | None = None


class Ping(msgspec.Struct, tag="ping"):
    """Keep the connection alive (sent both ways)."""


class Joined(msgspec.Struct, tag="joined"):
    """``host`` opened ``room``; ``members`` are in it now."""

    room: str
    members: list[Member]
    host: Annotated[Member, msgspec.Meta(description="who opened the room")]
    since: Annotated[datetime.datetime, msgspec.Meta(tz=True)]  # "format": "date-time"


class Said(msgspec.Struct, tag="said"):
    """``by`` said ``text`` at ``where``."""

    text: str
    by: str
    where: Point


class Gone(msgspec.Struct, tag="gone"):
    """The room closed."""

    reason: Literal["empty", "closed"]
    code: Literal[4000]


class Notice(msgspec.Struct, tag="notice"):
    """A line from the server."""

    text: str


Inbound: TypeAlias = Join | Say | Ping
Outbound: TypeAlias = Joined | Said | Gone | Ping | Envelope[Notice]


class Sample(msgspec.Struct, array_like=True):
    """One measurement, as an array ``[t, value]``."""

    t: float
    value: int


chat = Endpoint(
    "/chat",
    receives=Inbound,
    sends=Outbound,
    title="Chat room",
    description="Join a room, then talk.",
)
metrics = Endpoint("/metrics/{stream:str}", receives=Sample, sends=list[Sample], format="msgpack")
raw = Endpoint("/raw", receives=dict[str, int], sends=str, mode="binary")

SERVERS = {"local": "ws://127.0.0.1:8000", "production": "wss://example.com/api/"}


def protocol_document() -> dict[str, Any]:
    """The document tests/test_asyncapi_node.py checks with the AsyncAPI parser and tsc."""
    return document(
        chat,
        metrics,
        raw,
        title="typedws test protocol",
        version="1.2.3",
        servers=SERVERS,
        description="Every shape typedws.asyncapi converts.",
    )


def resolve(doc: Any, ref: str) -> Any:
    """Follow a local ``#/...`` JSON pointer in ``doc``."""
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node``, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# -- The document ---------------------------------------------------------------------------------


def test_document_head() -> None:
    doc = protocol_document()
    assert doc["asyncapi"] == ASYNCAPI_VERSION == "3.1.0"
    assert doc["info"] == {
        "title": "typedws test protocol",
        "version": "1.2.3",
        "description": "Every shape typedws.asyncapi converts.",
    }
    assert doc["servers"] == {
        "local": {"host": "127.0.0.1:8000", "protocol": "ws"},
        "production": {"host": "example.com", "protocol": "wss", "pathname": "/api"},
    }
    # JSON and MessagePack endpoints together: each message says its own content type.
    assert "defaultContentType" not in doc
    assert json.loads(json.dumps(doc)) == doc  # plain JSON data


def test_one_channel_per_endpoint_with_the_ws_binding() -> None:
    channels = protocol_document()["channels"]
    assert list(channels) == ["chat", "metrics_stream", "raw"]
    assert [c["address"] for c in channels.values()] == ["/chat", "/metrics/{stream}", "/raw"]
    for channel in channels.values():
        # asyncapi/bindings websockets 0.1.0: the handshake is an HTTP GET.
        assert channel["bindings"] == {"ws": {"method": "GET", "bindingVersion": "0.1.0"}}
    assert channels["chat"]["title"] == "Chat room"
    assert channels["chat"]["description"].startswith("Join a room, then talk.\n\n")
    assert "title" not in channels["raw"]
    assert channels["metrics_stream"]["parameters"] == {
        "stream": {"description": "The `stream` segment of the path."}
    }


def test_operations_from_the_servers_point_of_view() -> None:
    doc = protocol_document()
    operations = doc["operations"]
    assert list(operations) == [
        "chat_receive",
        "chat_send",
        "metrics_stream_receive",
        "metrics_stream_send",
        "raw_receive",
        "raw_send",
    ]
    receive, send = operations["chat_receive"], operations["chat_send"]
    # AsyncAPI 3: the action is what the described application (the server) does.
    assert receive["action"] == "receive"
    assert send["action"] == "send"
    assert receive["channel"] == send["channel"] == {"$ref": "#/channels/chat"}
    names = [resolve(doc, m["$ref"])["name"] for m in receive["messages"]]
    assert names == ["Join", "Say", "Ping"]
    names = [resolve(doc, m["$ref"])["name"] for m in send["messages"]]
    assert names == ["Joined", "Said", "Gone", "Ping", "Envelope_Notice"]
    # Ping goes both ways: one message of the channel, referenced by both operations.
    assert list(doc["channels"]["chat"]["messages"]) == [
        "Join",
        "Say",
        "Ping",
        "Joined",
        "Said",
        "Gone",
        "Envelope_Notice",
    ]
    for operation in operations.values():
        channel = resolve(doc, operation["channel"]["$ref"])
        for message in operation["messages"]:
            # Operation messages must be messages of the operation's channel.
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert resolve(doc, message["$ref"]) in channel["messages"].values()


def test_every_ref_resolves() -> None:
    doc = protocol_document()
    refs = [node["$ref"] for node in walk(doc) if "$ref" in node]
    assert len(refs) > 20
    for ref in refs:
        assert resolve(doc, ref) is not None


def test_messages() -> None:
    doc = protocol_document()
    chat_messages = doc["channels"]["chat"]["messages"]
    assert chat_messages["Join"] == {
        "name": "Join",
        "title": "Join",
        "summary": "Enter ``room``.",
        "contentType": "application/json",
        "payload": {"$ref": "#/components/schemas/Join"},
    }
    assert chat_messages["Envelope_Notice"]["title"] == "Envelope[Notice]"
    metrics_messages = doc["channels"]["metrics_stream"]["messages"]
    assert {m["contentType"] for m in metrics_messages.values()} == {"application/msgpack"}
    # A member that is not a Struct: an inline payload, named after its type.
    raw_messages = doc["channels"]["raw"]["messages"]
    assert raw_messages["dict_str_int"]["payload"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert raw_messages["str"]["payload"] == {"type": "string"}
    # Equal type forms used both ways (two list[int] objects) are one message.
    doc = document(Endpoint("/n", receives=list[int], sends=list[int]), title="t", version="1")
    assert list(doc["channels"]["n"]["messages"]) == ["list_int"]
    assert raw_messages["str"]["contentType"] == "application/json"


def test_close_codes_in_the_description() -> None:
    channels = protocol_document()["channels"]
    for channel in channels.values():
        for code in (1000, 1001, 1003, 1007, 1008, 1009, 1011):
            assert f"- {code}: " in channel["description"]
    assert "JSON in text frames" in channels["chat"]["description"]
    assert "- 1003: a binary frame" in channels["chat"]["description"]
    assert "- 1007: a frame that is not valid JSON" in channels["chat"]["description"]
    assert "MessagePack in binary frames" in channels["metrics_stream"]["description"]
    assert "- 1003: a text frame" in channels["metrics_stream"]["description"]
    assert "not valid MessagePack" in channels["metrics_stream"]["description"]
    assert "JSON (UTF-8) in binary frames" in channels["raw"]["description"]
    assert "not UTF-8 or not JSON" in channels["raw"]["description"]


def test_one_format_gives_a_default_content_type() -> None:
    doc = document(chat, title="t", version="1")
    assert doc["defaultContentType"] == "application/json"
    assert "servers" not in doc
    assert "description" not in doc["info"]
    doc = document(metrics, title="t", version="1")
    assert doc["defaultContentType"] == "application/msgpack"


# -- The conversions to Draft 07 ------------------------------------------------------------------


def test_no_2020_12_keywords_are_left() -> None:
    doc = protocol_document()
    for node in walk(doc):
        assert "$defs" not in node
        assert "prefixItems" not in node
        # An AsyncAPI Schema's discriminator is a string; msgspec's OpenAPI object is dropped.
        assert not isinstance(node.get("discriminator"), dict)
        if "$ref" in node:
            # Draft 07 ignores the siblings of $ref; they are moved beside an allOf.
            assert list(node) == ["$ref"], node
            assert node["$ref"].startswith(("#/components/schemas/", "#/channels/"))
        if isinstance(node.get("enum"), list):
            assert len(node["enum"]) > 1, node


def test_tagged_union_becomes_one_of_with_const_tags() -> None:
    doc = document(
        Endpoint("/e", receives=Envelope[Joined | Said], sends=Ping), title="t", version="1"
    )
    schemas = doc["components"]["schemas"]
    data = schemas["Envelope_Joined_Said"]["properties"]["data"]
    assert data == {
        "oneOf": [
            {"$ref": "#/components/schemas/Joined"},
            {"$ref": "#/components/schemas/Said"},
        ]
    }
    assert schemas["Joined"]["properties"]["type"] == {"const": "joined"}
    assert schemas["Said"]["properties"]["type"] == {"const": "said"}
    assert "type" in schemas["Said"]["required"]
    assert schemas["Envelope_Joined_Said"]["properties"]["type"] == {"const": "message"}
    assert schemas["Envelope_Joined_Said"]["title"] == "Envelope[Joined | Said]"


def test_tuples_become_draft_07_item_arrays() -> None:
    schemas = protocol_document()["components"]["schemas"]
    at = schemas["Say"]["properties"]["at"]["anyOf"][0]
    assert at == {
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": [{"type": "number"}, {"type": "number"}],
        "additionalItems": False,
    }
    # A NamedTuple: its fields in order.
    assert schemas["Point"]["items"] == [{"type": "number"}, {"type": "number"}]
    assert schemas["Point"]["type"] == "array"
    # An array_like Struct accepts extra trailing items (msgspec ignores them): no
    # additionalItems, as msgspec wrote no items beside its prefixItems.
    assert schemas["Sample"] == {
        "title": "Sample",
        "description": "One measurement, as an array ``[t, value]``.",
        "type": "array",
        "items": [{"type": "number"}, {"type": "integer"}],
        "minItems": 2,
    }


def test_ref_with_siblings_is_wrapped_in_all_of() -> None:
    host = protocol_document()["components"]["schemas"]["Joined"]["properties"]["host"]
    assert host == {
        "allOf": [{"$ref": "#/components/schemas/Member"}],
        "description": "who opened the room",
    }


def test_draft07_does_not_change_its_argument() -> None:
    schema = {
        "anyOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
        "discriminator": {"propertyName": "type", "mapping": {"a": "#/components/schemas/A"}},
    }
    before = json.dumps(schema)
    assert draft07(schema, {"A": "Alpha"}) == {
        "oneOf": [{"$ref": "#/components/schemas/Alpha"}, {"$ref": "#/components/schemas/B"}]
    }
    assert json.dumps(schema) == before


def test_data_keywords_are_copied_as_they_are() -> None:
    # A default or an example that looks like a schema is data: not converted.
    schema = {
        "type": "array",
        "default": {"prefixItems": [1], "enum": ["x"]},
        "examples": [{"enum": ["y"]}],
        "enum": [["a"]],
    }
    assert draft07(schema) == {
        "type": "array",
        "default": {"prefixItems": [1], "enum": ["x"]},
        "examples": [{"enum": ["y"]}],
        "const": ["a"],
    }
    # A 2020-12 "items" beside "prefixItems" says what may follow: Draft 07's additionalItems.
    assert draft07({"prefixItems": [{"type": "integer"}], "items": {"type": "string"}}) == {
        "items": [{"type": "integer"}],
        "additionalItems": {"type": "string"},
    }


class Alpha(msgspec.Struct, tag="a"):
    pass


def make_twin() -> type[msgspec.Struct]:
    class Alpha(msgspec.Struct, tag="b"):  # same name as the module-level Alpha
        pass

    return Alpha


def test_component_names_stay_unique() -> None:
    twin: Any = make_twin()
    doc = document(
        Endpoint("/e", receives=Alpha | twin, sends=Envelope[Alpha]), title="t", version="1"
    )
    # msgspec names two classes called Alpha after their import paths; those names stay, and
    # the generic loses its argument's module path (no other component would take that name).
    assert sorted(doc["components"]["schemas"]) == [
        "Envelope_Alpha",
        "test_asyncapi.Alpha",
        "test_asyncapi.make_twin._locals_.Alpha",
    ]
    doc = document(
        Endpoint("/e", receives=Envelope[Alpha], sends=Envelope[twin]), title="t", version="1"
    )
    # msgspec names both generics Envelope[Alpha], then after their import path (the same for
    # both) with a suffix: those names are kept, and each generic points at its own Alpha.
    schemas = doc["components"]["schemas"]
    assert len(schemas) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9.\-_]+", name) for name in schemas)
    envelopes = [schemas[name] for name in schemas if name.startswith("typedws.broadcast.")]
    assert [e["properties"]["data"]["$ref"] for e in envelopes] == [
        "#/components/schemas/test_asyncapi.Alpha",
        "#/components/schemas/test_asyncapi.make_twin._locals_.Alpha",
    ]
    for node in walk(doc):
        if "$ref" in node and node["$ref"].startswith("#/components/schemas/"):
            assert node["$ref"].removeprefix("#/components/schemas/") in schemas


def test_names_without_msgspec_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """msgspec before 0.23 fails with a KeyError in its own name map on the generics above:
    the document is then made with the components named as 0.23 names them. Forced here on
    every msgspec: the same document either way."""
    twin: Any = make_twin()
    endpoints = [
        Endpoint("/e", receives=Alpha | twin, sends=Envelope[Alpha] | Ping),
        Endpoint("/f", receives=Envelope[Alpha], sends=Envelope[twin]),
        Endpoint("/g", receives=Ping, sends=Envelope[Notice]),
    ]
    expected = document(*endpoints, title="t", version="1")

    def fail(*args: object, **kwargs: object) -> object:
        raise KeyError("as msgspec 0.19-0.22 do")

    monkeypatch.setattr(msgspec.json, "schema_components", fail)
    assert document(*endpoints, title="t", version="1") == expected


def test_component_names_as_msgspec_023_gives_them() -> None:
    class A:
        __module__ = "m"
        __qualname__ = "A"

    class B:
        __module__ = "m"
        __qualname__ = "A"  # made by a factory: the same import path

    class C:
        __module__ = "n"
        __qualname__ = "A_2"  # would be taken by a suffix, but is C's own name

    names = {A: "A", B: "A", C: "m.A_2", int: "int"}
    assert _component_names(names, names.__getitem__) == {
        A: "m.A",
        B: "m.A_3",
        C: "m.A_2",
        int: "int",
    }


@pytest.mark.parametrize(
    ("docstring", "description"),
    [
        ("One line.", "One line."),
        # what msgspec 0.19-0.22 write on Python < 3.13 (dedented only), and 0.23's
        ("Summary.\n\n    Body,\n      indented more.", "Summary.\n\nBody,\n  indented more."),
        ("Summary.\n\nBody,\n  indented more.", "Summary.\n\nBody,\n  indented more."),
        ("\n    Summary\n    on two lines.\n    ", "Summary\non two lines."),
        ("\tTabbed\n\tlines", "Tabbed\nlines"),
    ],
)
def test_docstrings_cleaned_as_msgspec_023_cleans_them(docstring: str, description: str) -> None:
    assert _clean_docstring(docstring) == description
    assert _clean_docstring(description) == description


def test_docstring_descriptions_are_the_same_on_every_msgspec() -> None:
    class Indented(msgspec.Struct):
        """Summary.

        Body,
          indented more.
        """

    doc = document(Endpoint("/e", receives=Indented, sends=Indented), title="t", version="1")
    schema = next(iter(doc["components"]["schemas"].values()))
    assert schema["description"] == "Summary.\n\nBody,\n  indented more."


def test_shapes_msgspec_019_writes_otherwise() -> None:
    assert _as_msgspec_023(
        {
            "anyOf": [{"type": "null"}, {"$ref": "#/A"}, {"type": "integer"}],
            "properties": {
                "s": {"type": "array", "default": set()},
                "b": {"type": "string", "default": bytearray()},
                "default": {"type": "array", "prefixItems": [], "minItems": 0},
            },
        }
    ) == {
        "anyOf": [{"$ref": "#/A"}, {"type": "integer"}, {"type": "null"}],
        "properties": {
            "s": {"type": "array", "default": []},
            "b": {"type": "string", "default": ""},
            "default": {"type": "array", "minItems": 0},
        },
    }


class Maybe(msgspec.Struct):
    alpha: Alpha | None = None
    tags: set[str] = msgspec.field(default_factory=set)


def test_optional_structs_and_factory_defaults_are_the_same_on_every_msgspec() -> None:
    doc = document(Endpoint("/e", receives=Maybe, sends=Maybe), title="t", version="1")
    properties = doc["components"]["schemas"]["Maybe"]["properties"]
    assert properties["alpha"]["anyOf"] == [
        {"$ref": "#/components/schemas/Alpha"},
        {"type": "null"},
    ]
    assert properties["tags"]["default"] == []
    json.dumps(doc)


def test_the_readme_example_runs() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (block,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, re.S)
        if "from typedws.asyncapi import document" in block
    ]
    namespace: dict[str, Any] = {"__name__": "readme_asyncapi"}
    exec(compile(block, "README.md", "exec"), namespace)
    doc = namespace["doc"]
    assert doc["servers"] == {"local": {"host": "127.0.0.1:8000", "protocol": "ws"}}
    assert list(doc["channels"]["oracle"]["messages"]) == ["Ask", "Answer"]


# -- Errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "match"),
    [
        ({"local": "http://127.0.0.1:8000"}, "is not a ws:// or wss:// URL"),
        ({"local": "ws://127.0.0.1:8000/?x=1"}, r"must be scheme://host\[:port\]\[/path\] only"),
        ({"local": "ws:///path"}, r"must be scheme://host\[:port\]\[/path\] only"),
        ({"local": "ws://bad host/"}, r"must be scheme://host\[:port\]\[/path\] only"),
        ({"local": "ws://user:pw@host/"}, r"must be scheme://host\[:port\]\[/path\] only"),
        ({"my server": "ws://127.0.0.1"}, "AsyncAPI allows letters, digits"),
    ],
)
def test_bad_servers(servers: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        document(chat, title="t", version="1", servers=servers)


def test_bad_endpoints() -> None:
    with pytest.raises(ValueError, match="at least one Endpoint"):
        document(title="t", version="1")
    with pytest.raises(ValueError, match="two endpoints at one path: /chat"):
        document(chat, Endpoint("/chat", receives=Ping, sends=Ping), title="t", version="1")
    not_an_endpoint: Any = "/chat"
    with pytest.raises(TypeError, match="takes Endpoint objects, not str"):
        document(not_an_endpoint, title="t", version="1")
    undescribable: Any = Endpoint("/x", receives=object, sends=Ping)
    with pytest.raises(TypeError, match="cannot describe the endpoints' messages"):
        document(undescribable, title="t", version="1")


# -- python -m typedws.asyncapi -------------------------------------------------------------------

#: The endpoints of this module, for the command (``test_asyncapi:ENDPOINTS``).
ENDPOINTS = [chat, metrics, raw]


def test_command_writes_json_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test_asyncapi:chat", "--title", "Chat", "--version", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == document(chat, title="Chat", version="2")


def test_command_writes_a_json_file(tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    argv = ["test_asyncapi:ENDPOINTS", "--title", "typedws test protocol", "--version", "1.2.3"]
    argv += ["--description", "Every shape typedws.asyncapi converts.", "-o", str(out)]
    for name, url in SERVERS.items():
        argv += ["--server", f"{name}={url}"]
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == protocol_document()


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_command_writes_yaml(tmp_path: Path, suffix: str) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is optional; the YAML output needs it")
    out = tmp_path / f"doc{suffix}"
    assert main(["test_asyncapi:chat", "--title", "Chat", "--version", "2", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("asyncapi: 3.1.0\ninfo:\n")
    assert yaml.safe_load(text) == document(chat, title="Chat", version="2")


def test_command_without_pyyaml_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    out = tmp_path / "doc.yaml"
    with pytest.raises(SystemExit) as exit_info:
        main(["test_asyncapi:chat", "--title", "Chat", "--version", "2", "-o", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "writing YAML needs PyYAML, which typedws does not install: `pip install pyyaml`" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["test_asyncapi"], "'test_asyncapi' is not MODULE:ATTR"),
        (["test_asyncapi:nothing"], "'test_asyncapi:nothing': 'nothing' not found"),
        (["test_asyncapi:SERVERS"], "is a dict, not an Endpoint or a list of them"),
        (["test_asyncapi:chat", "--server", "local"], "--server 'local' is not NAME=URL"),
        (["test_asyncapi:chat", "--server", "a=http://x"], "is not a ws:// or wss:// URL"),
    ],
)
def test_command_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--title", "t", "--version", "1"])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_python_dash_m(tmp_path: Path) -> None:
    # The real entry point, in a process of its own; the endpoint comes from a dotted attribute.
    (tmp_path / "service.py").write_text(
        "import types\nfrom test_asyncapi import chat\napi = types.SimpleNamespace(chat=chat)\n",
        encoding="utf-8",
    )
    tests = Path(__file__).parent
    command = ["-m", "typedws.asyncapi", "service:api.chat", "--title", "C", "--version", "1"]
    result = subprocess.run(
        [sys.executable, *command],
        cwd=tmp_path,
        # Safe path (as the wheel tests run): service.py is found in the current directory all
        # the same, as uvicorn finds an app.
        env={**os.environ, "PYTHONPATH": str(tests), "PYTHONSAFEPATH": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == document(chat, title="C", version="1")

"""The AsyncAPI 3 document of a set of endpoints, and the command that writes it.

``document(chat, title="Chat", version="1.0.0")`` describes each :class:`~typedws.Endpoint` as
AsyncAPI 3.1.0 sees a websocket service (docs/architecture.md): one channel per endpoint at its
path, with the ``ws`` channel binding (asyncapi/bindings, websockets 0.1.0: the handshake is an
HTTP ``GET``); one message per member of ``receives`` and of ``sends``; and two operations per
channel. AsyncAPI 3 states an operation's ``action`` from the point of view of the application
the document describes, here the server: ``receive`` carries the members of ``receives`` (what
a client sends), ``send`` the members of ``sends``. The close codes a client can meet are in the
channel's description.

Payload schemas come from ``msgspec.json.schema_components``, which writes JSON Schema 2020-12.
An AsyncAPI 3 Schema Object is a superset of JSON Schema Draft 07, so :func:`draft07` rewrites
what Draft 07 reads differently or not at all:

- ``$defs`` and ``#/$defs/...`` refs: the shared schemas go to ``components/schemas`` and refs
  point there (``#/components/schemas/Name``);
- component names and titles of generic Structs lose their module paths when that stays
  unambiguous (``Envelope_Joined_Said`` rather than ``Envelope_app.proto.Joined___app.proto.Said_``)
  and keep only the characters AsyncAPI allows in a component key;
- ``prefixItems`` (tuples, NamedTuples, ``array_like`` Structs) becomes the Draft 07 array form
  of ``items``, and a 2020-12 ``items`` beside it (``false`` for a fixed-length tuple) becomes
  ``additionalItems``;
- the OpenAPI-style ``discriminator`` object msgspec adds to a tagged union is not a Draft 07
  keyword, and AsyncAPI's own ``discriminator`` is a bare property name whose values must be
  schema names (not tag values): it is dropped, and the union's ``anyOf`` becomes a ``oneOf``
  (tags are distinct, so exactly one member matches). Each tag is already a required property
  of its member;
- a single-value ``enum`` (a Struct's tag, a one-value ``Literal``) becomes a ``const``, so
  generated code sees a literal (TypeScript: a discriminated union it can narrow on);
- a ``$ref`` with sibling keywords (``description``, ``default``: Draft 07 ignores siblings of
  ``$ref``) is wrapped as ``{"allOf": [{"$ref": ...}], ...siblings}``.

msgspec's schemas changed between 0.19 and 0.23; :func:`_components` makes the document what
0.23 writes on every msgspec typedws allows: components named as 0.23 names them where 0.19-0.22
cannot name them, docstring descriptions cleaned as 0.23 cleans them, and 0.19's factory
defaults, ``null`` options and empty ``prefixItems`` written as later versions write them. Left
as each msgspec writes them (type information the schema no longer has): ``uniqueItems`` for a
``set`` (0.20 and later), ``propertyNames`` for ``Literal`` or ``Enum`` keys of a ``dict`` and the
``default`` of a dataclass field with a ``default_factory`` (0.23).

Everything else msgspec writes (``const``, ``format``, ``contentEncoding``, numeric
``exclusiveMinimum``...) means the same in Draft 07. A MessagePack endpoint's payloads are
described by the same schemas (msgspec's JSON view of the types); its messages say
``application/msgpack``.

This module is not compiled (setup.py): it runs once, when a document is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import sys
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import msgspec

from typedws._endpoint import Endpoint

if TYPE_CHECKING:
    from typedws._endpoint import Format

__all__ = ["ASYNCAPI_VERSION", "CONTENT_TYPES", "document", "draft07", "main"]

#: The AsyncAPI version of the documents (``@asyncapi/parser`` 3 validates it).
ASYNCAPI_VERSION: Final = "3.1.0"

#: asyncapi/bindings websockets: the only published version of the ``ws`` channel binding.
WS_BINDING_VERSION: Final = "0.1.0"

#: The message ``contentType`` of each endpoint format. ``application/msgpack`` is the name in
#: common use (``application/x-msgpack`` is its older, unregistered spelling).
CONTENT_TYPES: Final[Mapping[Format, str]] = {
    "json": "application/json",
    "msgpack": "application/msgpack",
}

_SCHEMAS: Final = "#/components/schemas/"

# AsyncAPI 3, Components Object: every key "MUST match the regular expression
# ^[a-zA-Z0-9\.\-_]+$". Channel and operation ids follow the same rule here; server names
# (Servers Object) may not contain dots.
_KEY_CHARS: Final = re.compile(r"[^A-Za-z0-9.\-_]+")
_KEY_CHAR: Final = re.compile(r"[^A-Za-z0-9.\-_]")
_SERVER_NAME: Final = re.compile(r"^[A-Za-z0-9_\-]+$")
# host[:port] with RFC 3986's characters for a host (IP literals in brackets); no user info.
_HOST: Final = re.compile(r"^[A-Za-z0-9\-._~%!$&'()*+,;=\[\]:]+$")
# The module path in front of a qualified name inside a generic's name: "app.proto." in
# "Envelope_app.proto.Joined_".
_MODULE_PATH: Final = re.compile(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_])")
# Keywords whose values are data (or property names), never schemas: copied as they are.
_DATA: Final = frozenset({"default", "examples", "const", "enum", "required", "type", "format"})
# A path parameter: "{room}", or Starlette's "{room:int}" with a converter.
_PATH_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def document(
    *endpoints: Endpoint[Any, Any],
    title: str,
    version: str,
    servers: Mapping[str, str] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.1.0 document of ``endpoints``, as a JSON-ready dict.

    ``servers`` maps a server name to its ``ws://`` or ``wss://`` URL (host, port and an
    optional root path: the endpoints' paths are relative to it). Raises ``ValueError`` for a
    server URL of another scheme or with a query or fragment, a server name AsyncAPI does not
    allow, no endpoint, or two endpoints at one path; ``TypeError`` for an argument that is not
    an :class:`~typedws.Endpoint` or a message type msgspec cannot describe.

    Args:
        *endpoints: The endpoints to describe, at least one, each at its own path.
        title: The API's title (``info.title``).
        version: The API's version (``info.version``).
        servers: Server names mapped to their ``ws://`` or ``wss://`` URLs; None for none.
        description: A longer description (``info.description``); None for none.

    Returns:
        The document: channels, operations and messages of every endpoint, with the message
        types as JSON Schema Draft 07 components.

    Raises:
        ValueError: No endpoint, two at one path, a bad server URL or server name.
        TypeError: An argument is not an Endpoint, or msgspec cannot describe a message type.
    """
    if not endpoints:
        raise ValueError("document() needs at least one Endpoint")
    for endpoint in endpoints:
        if not isinstance(endpoint, Endpoint):
            raise TypeError(f"document() takes Endpoint objects, not {type(endpoint).__name__}")
    paths = [endpoint.path for endpoint in endpoints]
    if len(set(paths)) != len(paths):
        twice = sorted({path for path in paths if paths.count(path) > 1})
        raise ValueError(f"two endpoints at one path: {', '.join(twice)}")

    # One schema_components call for every member of every endpoint, so a Struct used by two
    # endpoints (or both ways) is one component.
    members = [(_members(endpoint.receives), _members(endpoint.sends)) for endpoint in endpoints]
    all_types = [tp for received, sent in members for tp in (*received, *sent)]
    try:
        schemas, components = _components(all_types)
    except TypeError as exc:
        raise TypeError(f"cannot describe the endpoints' messages: {exc}") from exc
    renames = _short_names(components)
    schema_of = iter([draft07(schema, renames) for schema in schemas])

    doc: dict[str, Any] = {"asyncapi": ASYNCAPI_VERSION, "info": _info(title, version, description)}
    if servers:
        doc["servers"] = {name: _server(name, url) for name, url in servers.items()}
    formats: set[Format] = {endpoint.format for endpoint in endpoints}
    if len(formats) == 1:
        doc["defaultContentType"] = CONTENT_TYPES[formats.pop()]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for endpoint, (received, sent) in zip(endpoints, members, strict=True):
        address = _PATH_PARAM.sub(r"{\1}", endpoint.path)  # "{room:int}" -> "{room}"
        channel_id = _unique(_key(address.strip("/")) or "root", channels)
        messages: dict[str, Any] = {}
        keys: dict[object, str] = {}  # member type -> message key, for a type used both ways
        receive_keys: list[str] = []
        send_keys: list[str] = []
        for group, direction in ((received, receive_keys), (sent, send_keys)):
            for tp in group:
                schema = next(schema_of)
                same = _hashable(tp)
                key = keys.get(same)
                if key is None:
                    message = _message(tp, schema, components, renames, endpoint.format)
                    key = keys[same] = _unique(message["name"], messages)
                    messages[key] = message
                direction.append(key)
        channels[channel_id] = _channel(endpoint, messages)
        for action, keys_ in (("receive", receive_keys), ("send", send_keys)):
            operations[f"{channel_id}_{action}"] = _operation(endpoint, channel_id, action, keys_)
    doc["channels"] = channels
    doc["operations"] = operations
    if components:
        doc["components"] = {
            "schemas": {
                renames.get(name, name): draft07(_short_title(schema), renames)
                for name, schema in components.items()
            }
        }
    return doc


def draft07(schema: Any, renames: Mapping[str, str] | None = None) -> Any:
    """``schema`` (msgspec's JSON Schema 2020-12) rewritten for Draft 07, as the module says.

    ``renames`` maps msgspec's component names to the document's (refs follow them). Returns
    a new object; ``schema`` is not changed.

    Args:
        schema: A JSON Schema (a dict, a list of schemas, or a plain value).
        renames: msgspec's component names mapped to the document's; None for none.

    Returns:
        The Draft 07 schema (tagged unions as ``oneOf``, ``prefixItems`` as ``items``, a
        one-value ``enum`` as ``const``, a ``$ref`` with siblings wrapped in ``allOf``).
    """
    renames = renames or {}
    items = _array(schema)
    if items is not None:
        return [draft07(item, renames) for item in items]
    obj = _object(schema)
    if obj is None:
        return schema
    node: dict[str, Any] = {}
    tagged_union = _object(obj.get("discriminator")) is not None
    for keyword, value in obj.items():
        if keyword == "discriminator" and tagged_union:
            continue
        if keyword == "$ref" and isinstance(value, str) and value.startswith(_SCHEMAS):
            name = value[len(_SCHEMAS) :]
            node["$ref"] = _SCHEMAS + renames.get(name, name)
        elif keyword == "anyOf" and tagged_union:
            node["oneOf"] = draft07(value, renames)
        elif keyword == "prefixItems":
            node["items"] = draft07(value, renames)
            if "items" in obj:
                node["additionalItems"] = draft07(obj["items"], renames)
        elif keyword == "items" and "prefixItems" in obj:
            continue  # became additionalItems above
        elif keyword == "enum" and len(values := typing.cast("list[Any]", value)) == 1:
            node["const"] = values[0]
        elif keyword in ("properties", "patternProperties", "$defs", "definitions"):
            node[keyword] = {
                name: draft07(sub, renames)
                for name, sub in typing.cast("dict[str, Any]", value).items()
            }
        elif keyword in _DATA:
            node[keyword] = value  # values or names, not schemas
        else:
            node[keyword] = draft07(value, renames)
    if "$ref" in node and len(node) > 1:
        return {"allOf": [{"$ref": node.pop("$ref")}], **node}
    return node


def _components(all_types: Sequence[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``msgspec.json.schema_components(all_types)``, the same on every msgspec typedws allows.

    Two things msgspec 0.23 changed are made to match it on 0.19-0.22:

    - Components that share both their name and their import path (``Envelope[Alpha]`` and
      ``Envelope[Alpha]`` of two different ``Alpha`` classes, classes made by one factory):
      msgspec before 0.23 gives both one name and fails on its own name map with a
      ``KeyError``; 0.23 numbers them (``typedws.broadcast._types.Envelope``, ``..._2``). On
      that ``KeyError`` the schemas are made again by msgspec's generator with the components
      named here as 0.23 names them (:func:`_component_names`). Those internals are only used
      on the released msgspec versions that have the bug, where they cannot change.
    - A component's description (its class's docstring): 0.23 cleans it as
      ``inspect.cleandoc`` does, earlier versions only dedent it, which leaves the
      indentation of every line after the first on Python before 3.13
      (:func:`_clean_docstring`).

    And three that 0.20-0.22 changed are made to match on 0.19 (:func:`_as_msgspec_023`).
    """
    ref_template = _SCHEMAS + "{name}"
    schemas: tuple[Any, ...]
    components: dict[str, Any]
    try:
        schemas, components = msgspec.json.schema_components(all_types, ref_template=ref_template)
    except KeyError as exc:
        try:
            internals: Any = importlib.import_module("msgspec._json_schema")
            infos = msgspec.inspect.multi_type_info(all_types)
            component_types: dict[Any, Any] = internals._collect_component_types(infos)
            names = _component_names(component_types, internals._get_class_name)
            generator = internals._SchemaGenerator(names, None, ref_template)
        except (ImportError, AttributeError, TypeError):
            raise exc from None  # not the msgspec this works around: its own error
        schemas = tuple(generator.to_schema(info) for info in infos)
        components = {
            names[cls]: generator.to_schema(info, False) for cls, info in component_types.items()
        }
    return tuple(_as_msgspec_023(schema) for schema in schemas), {
        name: _clean_description(_as_msgspec_023(schema)) for name, schema in components.items()
    }


def _as_msgspec_023(schema: Any) -> Any:
    """``schema`` with what msgspec 0.19 writes otherwise than later versions written as they do.

    - A field's ``default`` from a ``default_factory`` (``set``, ``bytearray``) is the Python
      object on 0.19 (not JSON: the document could not be written), its JSON form later
      (``msgspec.to_builtins``, a no-op on JSON values);
    - ``null`` is the last option of a union's ``anyOf`` (0.19 keeps it where the union has
      it, and puts a union's Structs after it);
    - no ``prefixItems`` for an ``array_like`` Struct or NamedTuple without fields (0.19 to
      0.22 write ``[]``).
    """
    items = _array(schema)
    if items is not None:
        return [_as_msgspec_023(item) for item in items]
    obj = _object(schema)
    if obj is None:
        return schema
    node: dict[str, Any] = {}
    for keyword, value in obj.items():
        if keyword == "default":
            node[keyword] = msgspec.to_builtins(value, str_keys=True)
        elif keyword in _DATA:
            node[keyword] = value
        elif keyword == "prefixItems" and value == []:
            continue
        elif keyword == "anyOf" and (options := _array(_as_msgspec_023(value))) is not None:
            node[keyword] = sorted(options, key=_is_null)  # a stable sort: null last
        elif keyword in ("properties", "patternProperties", "$defs", "definitions"):
            node[keyword] = {
                name: _as_msgspec_023(sub)
                for name, sub in typing.cast("dict[str, Any]", value).items()
            }
        else:
            node[keyword] = _as_msgspec_023(value)
    return node


def _is_null(schema: object) -> bool:
    return (_object(schema) or {}).get("type") == "null"


def _component_names(component_types: Iterable[Any], class_name: Any) -> dict[Any, str]:
    """The component name of each type, as msgspec 0.23 gives them (its ``_build_name_map``).

    A type's name (``class_name``: a generic's with its arguments) with each character outside
    ``[a-zA-Z0-9.-_]`` replaced by ``_``; its import path when two types share that name; and
    ``_2``, ``_3``... after a name already given, never taking a name another type prefers.
    """

    def normalize(name: str) -> str:
        return _KEY_CHAR.sub("_", name)

    short = {cls: normalize(class_name(cls)) for cls in component_types}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    preferred = {
        cls: normalize(f"{cls.__module__}.{cls.__qualname__}") if counts[name] > 1 else name
        for cls, name in short.items()
    }
    reserved = set(preferred.values())
    used: set[str] = set()
    names: dict[Any, str] = {}
    for cls, name in preferred.items():
        candidate, suffix = name, 2
        if candidate in used:
            while (candidate := f"{name}_{suffix}") in used or candidate in reserved:
                suffix += 1
        names[cls] = candidate
        used.add(candidate)
    return names


def _clean_description(schema: Any) -> Any:
    """A component schema with its ``description`` (a docstring) cleaned as msgspec 0.23 does."""
    node = _object(schema)
    if node is not None and isinstance(description := node.get("description"), str):
        return {**node, "description": _clean_docstring(description)}
    return schema


def _clean_docstring(doc: str) -> str:
    """``doc`` as msgspec 0.23 takes a docstring into a description (its ``_get_doc``).

    Dedented, tabs expanded, the first line's leading spaces and the other lines' common
    indentation removed, leading and trailing blank lines dropped; ``inspect.cleandoc`` when a
    line starts with whitespace other than spaces. Applied to what msgspec 0.19-0.22 wrote
    (only dedented), it gives what 0.23 writes; applied to 0.23's, it changes nothing.
    """
    doc = textwrap.dedent(doc).expandtabs()
    lines = doc.split("\n")
    if any((content := line.lstrip(" ")) and content[0].isspace() for line in lines):
        return inspect.cleandoc(doc)
    lines[0] = lines[0].lstrip(" ")
    margin = min(
        (len(line) - len(line.lstrip(" ")) for line in lines[1:] if line.lstrip(" ")), default=0
    )
    lines[1:] = [line[margin:] for line in lines[1:]]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def _members(tp: Any) -> tuple[Any, ...]:
    """The members of a union (``Join | Say``, ``Union[...]``, a ``type X = ...`` alias of one)."""
    value = getattr(tp, "__value__", None)
    if value is not None and type(tp).__name__ == "TypeAliasType":
        return _members(value)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(member for arg in typing.get_args(tp) for member in _members(arg))
    return (tp,)


def _hashable(tp: object) -> object:
    """``tp``, or its id if it cannot be a dict key: equal type forms (two ``list[int]``) are
    one message."""
    try:
        hash(tp)
    except TypeError:
        return id(tp)
    return tp


def _key(text: str) -> str:
    """``text`` with each run of characters AsyncAPI does not allow in a key replaced by ``_``."""
    return _KEY_CHARS.sub("_", text).strip("_")


def _unique(key: str, taken: Mapping[str, object]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}_{n}"
    return candidate


def _short_names(components: Mapping[str, Any]) -> dict[str, str]:
    """msgspec's component names -> shorter ones: a generic's arguments without module paths.

    msgspec names a component after its title, ``Envelope[app.proto.Joined | app.proto.Said]``,
    with each character outside ``[a-zA-Z0-9.-_]`` replaced by ``_`` (a valid AsyncAPI key
    already), or after the full import path when two types share a name: those are kept.
    """
    short: dict[str, str] = {}
    for name, schema in components.items():
        title = (_object(schema) or {}).get("title")
        if isinstance(title, str) and _KEY_CHAR.sub("_", title) == name:
            short[name] = re.sub(r"_+", "_", _KEY_CHAR.sub("_", _MODULE_PATH.sub("", title)))
            short[name] = short[name].strip("_") or name
        else:
            short[name] = name
    counts: dict[str, int] = {}
    for new in short.values():
        counts[new] = counts.get(new, 0) + 1
    return {
        name: new
        for name, new in short.items()
        if new != name and counts[new] == 1 and new not in components
    }


def _object(value: object) -> dict[str, Any] | None:
    """``value`` if it is a JSON object (a dict), else None."""
    return typing.cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _array(value: object) -> list[object] | None:
    """``value`` if it is a JSON array (a list), else None."""
    return typing.cast("list[object]", value) if isinstance(value, list) else None


def _short_title(schema: Any) -> Any:
    """A component's ``title`` without module paths (``Envelope[Joined | Said]``)."""
    node = _object(schema)
    if node is not None and isinstance(title := node.get("title"), str):
        return {**node, "title": _MODULE_PATH.sub("", title)}
    return schema


def _info(title: str, version: str, description: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return info


def _server(name: str, url: str) -> dict[str, Any]:
    """A Server Object from ``ws://host:port/root``: host, protocol and the root path."""
    if not _SERVER_NAME.match(name):
        raise ValueError(f"server name {name!r}: AsyncAPI allows letters, digits, '_' and '-'")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"server {name!r}: {url!r} is not a ws:// or wss:// URL")
    if not _HOST.match(parts.netloc) or parts.query or parts.fragment:
        raise ValueError(f"server {name!r}: {url!r} must be scheme://host[:port][/path] only")
    server: dict[str, Any] = {"host": parts.netloc, "protocol": parts.scheme}
    if parts.path.rstrip("/"):
        server["pathname"] = parts.path.rstrip("/")
    return server


def _message(
    tp: Any,
    schema: Any,
    components: Mapping[str, Any],
    renames: Mapping[str, str],
    format: Format,
) -> dict[str, Any]:
    """The Message Object of one member: its name, title, summary, content type and payload."""
    component: Mapping[str, Any] = {}
    ref = (_object(schema) or {}).get("$ref")
    if isinstance(ref, str):
        name = ref[len(_SCHEMAS) :]
        original = next((old for old, new in renames.items() if new == name), name)
        component = components.get(original, {})
    else:
        # A type that is not a component (str, list[Sample]...): named after its repr.
        text = tp.__name__ if isinstance(tp, type) and not typing.get_args(tp) else repr(tp)
        name = re.sub(r"_+", "_", _key(_MODULE_PATH.sub("", text))) or "message"
    message: dict[str, Any] = {"name": name}
    title = component.get("title")
    if isinstance(title, str):
        message["title"] = _MODULE_PATH.sub("", title)
    summary = component.get("description")
    if isinstance(summary, str) and summary.strip():
        message["summary"] = summary.strip().split("\n\n")[0].replace("\n", " ")
    message["contentType"] = CONTENT_TYPES[format]
    message["payload"] = schema
    return message


def _channel(endpoint: Endpoint[Any, Any], messages: dict[str, Any]) -> dict[str, Any]:
    channel: dict[str, Any] = {"address": _PATH_PARAM.sub(r"{\1}", endpoint.path)}
    if endpoint.title:
        channel["title"] = endpoint.title
    intro = f"{endpoint.description}\n\n" if endpoint.description else ""
    channel["description"] = intro + _wire_notes(endpoint.format, endpoint.mode)
    channel["messages"] = messages
    parameters = _PATH_PARAM.findall(endpoint.path)
    if parameters:
        channel["parameters"] = {
            name: {"description": f"The `{name}` segment of the path."} for name in parameters
        }
    # asyncapi/bindings websockets 0.1.0, Channel Binding Object: "the channel represents the
    # connection", opened by an HTTP GET (RFC 6455 section 4.1: "The method of the request MUST
    # be GET").
    channel["bindings"] = {"ws": {"method": "GET", "bindingVersion": WS_BINDING_VERSION}}
    return channel


def _operation(
    endpoint: Endpoint[Any, Any], channel_id: str, action: str, keys: Sequence[str]
) -> dict[str, Any]:
    who = "client" if action == "receive" else "server"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "summary": f"Messages the {who} sends on {endpoint.path}",
        "messages": [{"$ref": f"#/channels/{channel_id}/messages/{key}"} for key in keys],
    }


def _wire_notes(format: Format, mode: str) -> str:
    """How messages travel on the connection, and the close codes a client can meet."""
    if format == "msgpack":
        frames, wrong, bad = "MessagePack in binary frames", "a text frame", "not valid MessagePack"
    elif mode == "binary":
        frames, wrong, bad = (
            "JSON (UTF-8) in binary frames",
            "a text frame",
            "not UTF-8 or not JSON",
        )
    else:
        frames, wrong, bad = "JSON in text frames", "a binary frame", "not valid JSON"
    # RFC 6455 section 7.4.1 names the codes; docs/architecture.md says which the server uses.
    return (
        f"Messages: {frames}, one message per frame.\n\n"
        "Close codes (RFC 6455 section 7.4.1); the close reason is a short explanation:\n\n"
        "- 1000: normal closure.\n"
        "- 1001: going away (the server shuts down, or the connection stayed idle longer than "
        "the server allows).\n"
        f"- 1003: {wrong} (unsupported data).\n"
        f"- 1007: a frame that is {bad}, or nested too deeply (invalid payload data).\n"
        "- 1008: a message that matches none of the messages the server receives (policy "
        "violation; the reason gives the error and its `$.path`), or more messages in a window "
        "than the server's rate limit allows.\n"
        "- 1009: a message larger than the server's size limit (message too big).\n"
        "- 1011: the server failed while handling a message (internal error).\n\n"
        "1003, 1007 and 1008 for an invalid message apply unless the server answers invalid "
        "messages with a message of its own and goes on."
    )


def _load(target: str) -> list[Endpoint[Any, Any]]:
    """The endpoints named by ``MODULE:ATTR`` (an Endpoint, or an iterable of them)."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{target!r} is not MODULE:ATTR")
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{target!r}: {part!r} not found") from None
    kind = type(obj).__name__
    if isinstance(obj, Endpoint):
        return [obj]
    if isinstance(obj, (list, tuple)):
        found: list[object] = list(typing.cast("Iterable[object]", obj))
        if found and all(isinstance(item, Endpoint) for item in found):
            return typing.cast("list[Endpoint[Any, Any]]", found)
    raise ValueError(f"{target!r} is a {kind}, not an Endpoint or a list of them")


def _dump(doc: Mapping[str, Any], yaml: bool) -> str:
    if not yaml:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    try:
        # PyYAML is not a dependency of typedws: only this output needs it.
        pyyaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise RuntimeError(
            "writing YAML needs PyYAML, which typedws does not install: `pip install pyyaml`, "
            "or write JSON (-o FILE.json, or no -o for standard output)"
        ) from None

    class Dumper(pyyaml.SafeDumper):  # type: ignore[misc]  # PyYAML is untyped here (Any)
        """Multi-line strings (descriptions) as literal blocks, as a person would write them."""

    def text_block(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text_block)
    text: str = pyyaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m typedws.asyncapi MODULE:ATTR --title T --version V [-o FILE]``.

    Writes JSON, or YAML for a ``.yaml``/``.yml`` file (PyYAML needed). Exits with status 2
    and a message for a bad target, a bad ``--server`` or YAML without PyYAML.

    Args:
        argv: The command-line arguments without the program name; None for ``sys.argv``.

    Returns:
        0, once the document is written.

    Raises:
        SystemExit: Status 2 for bad arguments or a document that cannot be made (argparse's
            exit, with the message on standard error).
    """
    parser = argparse.ArgumentParser(
        prog="python -m typedws.asyncapi",
        description="Write the AsyncAPI 3 document of typedws endpoints.",
    )
    parser.add_argument("target", help="MODULE:ATTR, an Endpoint or a list of Endpoints")
    parser.add_argument("--title", required=True, help="the API's title (info.title)")
    parser.add_argument("--version", required=True, help="the API's version (info.version)")
    parser.add_argument("--description", help="a longer description (info.description)")
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a server and its ws:// or wss:// URL (repeatable)",
    )
    parser.add_argument("-o", "--output", help="the file to write (default: standard output)")
    args = parser.parse_args(argv)
    # MODULE is looked up from the current directory too, as uvicorn does for its app (python
    # -m puts it on sys.path, unless PYTHONSAFEPATH=1).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        servers: dict[str, str] = {}
        for item in typing.cast("list[str]", args.server):
            name, sep, url = item.partition("=")
            if not sep:
                raise ValueError(f"--server {item!r} is not NAME=URL")
            servers[name] = url
        doc = document(
            *_load(args.target),
            title=args.title,
            version=args.version,
            servers=servers or None,
            description=args.description,
        )
        output: str | None = args.output
        text = _dump(doc, yaml=output is not None and output.endswith((".yaml", ".yml")))
    except (ValueError, TypeError, RuntimeError, ImportError) as exc:
        parser.error(str(exc))
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

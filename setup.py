"""Build script: compiles the hot modules of typedws with mypyc.

Set ``TYPEDWS_PURE=1`` to build a pure-Python wheel. Editable installs are always pure (mypyc
output cannot follow edits to the sources), as the README says.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import setup

# Modules compiled by mypyc: synchronous, fully annotated code on the hot path.
COMPILED_MODULES = [
    "src/typedws/_state.py",  # state enum, transition tables, the transition functions
    "src/typedws/_validate.py",  # checking incoming and outgoing ASGI events
    "src/typedws/_connection.py",  # connection state and the sync checks around each await
    "src/typedws/_websocket.py",  # the async API; native calls into Connection (see docstring)
    "src/typedws/_codecs.py",  # cached msgspec encoders/decoders, payload error mapping
    "src/typedws/_datastructures.py",  # parsing headers, query string, cookies, URL from the scope
    "src/typedws/broadcast/_hub.py",  # broadcast: message ids, fan-out, subscriber queues, gaps
]

# Modules kept out of compilation, each with its reason (see design.md section 6):
#   __init__.py  - re-exports only; nothing to speed up
#   types.py     - type aliases for ASGI 3 (Scope, Receive, Send, ASGIApp)
#   events.py    - msgspec.Struct subclasses: mypyc cannot compile the Struct metaclass
#   _errors.py   - exception classes with RuntimeError/multiple bases cannot be native classes
#   _compat.py   - the mypyc_attr fallback; compiled, mypyc would call its except branch unreachable
#   _url.py      - URL subclasses str: not a native class
#   _headers.py  - Headers subclasses multidict's CIMultiDictProxy (a C class)
#   app.py       - async glue around one handler call (compiled async def is no faster); kept
#                  interpreted so uvicorn's inspection sees a plain async __call__ (ASGI 3)
#   testing.py   - test-only client on anyio, an optional dependency; nothing hot
#   demo/        - msgspec.Struct protocol classes and a demo server; nothing hot
#   broadcast/ (all but _hub.py) - async shells over Redis, the event loop and msgspec: awaiting
#                  gains nothing from mypyc; _types.py holds Structs and multi-base exceptions


def _wants_pure_build() -> bool:
    if os.environ.get("TYPEDWS_PURE", "").strip() not in ("", "0"):
        return True
    # PEP 660 editable installs run the "editable_wheel" command: keep those pure.
    if "editable_wheel" in sys.argv:
        return True
    # Metadata-only steps (egg_info, dist_info, and the "get requires" hooks of an editable
    # install) need no compiler run; only commands that build extensions do.
    return not {"bdist_wheel", "build", "build_ext", "install", "develop"} & set(sys.argv)


# Optional packages that interpreted modules import (the Redis client of typedws[redis], trio
# for the broadcast primitives under trio). mypy follows those imports while compiling, but the
# isolated build environment does not have them, and nothing compiled depends on their types:
# the build's mypy treats them as unknown. The project's own `nox -s mypy` checks them strictly.
_OPTIONAL_IMPORTS = ("redis", "redis.*", "trio", "trio.*")


def _build_mypy_config() -> str:
    """mypy.ini plus ignore_missing_imports for the optional packages, in a build-only file."""
    import tempfile

    with open("mypy.ini", encoding="utf-8") as source:
        config = source.read()
    for module in _OPTIONAL_IMPORTS:
        config += f"\n[mypy-{module}]\nignore_missing_imports = True\n"
    handle, path = tempfile.mkstemp(prefix="typedws-mypyc-", suffix=".ini")
    with os.fdopen(handle, "w", encoding="utf-8") as target:
        target.write(config)
    return path


# Two edits to the C that mypyc generates, both for speed, neither changing behaviour (the whole
# test-suite runs against the compiled build). Measured with `nox -s bench` (benchmarks/RESULTS.md).
#
# 1. Awaiting a coroutine. mypyc's CPy_GetCoro calls the awaited object's __await__; for a
#    coroutine -- what the `receive` and `send` of every Python ASGI server return -- that makes a
#    coroutine_wrapper, which CPython gives no am_send: each await then allocates the wrapper and
#    returns through a StopIteration exception. A coroutine object speaks PyIter_Send itself (the
#    interpreter's own `await` iterates it directly), so it is handed over as it is; anything else
#    (a Future, a compiled coroutine, a trio awaitable) still goes through CPy_GetCoro.
# 2. Error paths out of the hot code. mypyc follows every call with a branch that records a
#    traceback or raises a TypeError/AttributeError. Routing those through functions marked
#    `cold` lets the C compiler move them out of line, so the code run per message is denser.
_C_HELPERS = """
/* typedws (setup.py): await coroutines directly. */
static inline PyObject *TypedWS_GetCoro(PyObject *obj)
{
    if (PyCoro_CheckExact(obj)) {
        Py_INCREF(obj);
        return obj;
    }
    return CPy_GetCoro(obj);
}

/* typedws (setup.py): the error paths of generated code are cold. */
static CPy_NOINLINE CPy_COLD void
TypedWS_AddTraceback(const char *filename, const char *funcname, int line, PyObject *globals)
{
    CPy_AddTraceback(filename, funcname, line, globals);
}
static CPy_NOINLINE CPy_COLD void
TypedWS_TypeError(const char *expected, PyObject *value)
{
    CPy_TypeError(expected, value);
}
static CPy_NOINLINE CPy_COLD void
TypedWS_TypeErrorTraceback(const char *filename, const char *funcname, int line,
                           PyObject *globals, const char *expected, PyObject *value)
{
    CPy_TypeErrorTraceback(filename, funcname, line, globals, expected, value);
}
static CPy_NOINLINE CPy_COLD void
TypedWS_AttributeError(const char *filename, const char *funcname, const char *classname,
                       const char *attrname, int line, PyObject *globals)
{
    CPy_AttributeError(filename, funcname, classname, attrname, line, globals);
}
#define CPy_AddTraceback TypedWS_AddTraceback
#define CPy_TypeError TypedWS_TypeError
#define CPy_TypeErrorTraceback TypedWS_TypeErrorTraceback
#define CPy_AttributeError TypedWS_AttributeError
"""


def _tune_generated_c(ext_modules: list[Any]) -> None:
    """Apply the edits above to mypyc's shared C file, after its #include block.

    If a later mypyc writes its C differently (no #include block, no CPy_GetCoro call), the build
    goes on with mypyc's C unchanged and says so: slower, never broken.
    """
    sources = {
        source
        for extension in ext_modules
        for source in extension.sources
        if os.path.basename(source).startswith("__native") and source.endswith(".c")
    }
    for path in sorted(sources):
        with open(path, encoding="utf-8") as file:
            lines = file.read().split("\n")
        body = 0
        while body < len(lines) and lines[body].startswith("#include"):
            body += 1
        code = "\n".join(lines[body:])
        if "TypedWS_GetCoro" in code:  # already edited (mypyc left an unchanged file alone)
            continue
        if body == 0 or "CPy_GetCoro(" not in code:
            print(f"typedws setup.py: {path} left as mypyc wrote it", file=sys.stderr)
            continue
        code = code.replace("CPy_GetCoro(", "TypedWS_GetCoro(")
        with open(path, "w", encoding="utf-8") as file:
            file.write("\n".join([*lines[:body], _C_HELPERS, code]))


if _wants_pure_build():
    ext_modules = []
else:
    from mypyc.build import mypycify

    ext_modules = mypycify(
        [f"--config-file={_build_mypy_config()}", *COMPILED_MODULES],
        opt_level="3",
    )
    _tune_generated_c(ext_modules)

setup(ext_modules=ext_modules)

"""Edits to the C that mypyc generates for typedws, and one compiler flag: speed only, behaviour
unchanged.

setup.py calls :func:`tune` on the extensions ``mypycify`` returns, before they are compiled. Each
edit was measured with ``nox -s bench`` and callgrind (numbers in benchmarks/RESULTS.md and the
commit messages), and the whole test-suite runs against the compiled build, so a behaviour change
would show there. Each edit is applied only where the generated C has the exact shape it expects;
a mypyc that writes its C differently gets its own C back, untouched: slower, never broken.

1. Awaiting a coroutine. mypyc's ``CPy_GetCoro`` calls the awaited object's ``__await__``; for a
   coroutine (what the ``receive`` and ``send`` of every Python ASGI server return) that makes a
   ``coroutine_wrapper``, which has no ``am_send``: each await then allocates the wrapper and
   returns through a StopIteration exception. A coroutine speaks ``PyIter_Send`` itself (the
   interpreter's own ``await`` iterates it directly), so it is handed over as it is; anything
   else (a Future, a compiled coroutine, a trio awaitable) still goes through ``CPy_GetCoro``.
   Measured: layer benchmark, small text, 1.20x -> 1.11x the ``thin`` floor.
2. Environments nobody reads. For every call of an ``async def`` method, mypyc allocates an
   "environment" object next to the generator object; for a method without nested functions its
   only field, ``___mypyc_self__``, is never written, and the generator reads nothing from it
   (its variables live on the generator; it only checks the pointer is set). Such an
   environment type gets one shared instance per process instead of a new one per call: one
   allocation, GC-track and deallocation fewer per awaited call. Measured: 153 instructions and
   15 L1 data misses (callgrind) less per echoed message; small text 1.067x -> 1.042x thin,
   typed decode 1.139x -> 1.103x (medians of 6 alternating runs).
3. Error paths out of the hot code. mypyc follows every call with a branch that records a
   traceback or raises a TypeError/AttributeError. Routing those through functions marked
   ``cold`` lets the C compiler move them out of line, so the code run per message is denser.
   Measured: 6% fewer simulated L1 instruction misses per echoed message (556 -> 522).
4. ``-fno-semantic-interposition`` (Linux). The extension is position-independent code, and GCC then
   assumes that any exported function may be replaced at load time, so it neither inlines nor
   directly calls mypyc's functions (every one of them is exported). CPython builds itself with
   this flag for the same reason; nothing loads a replacement for typedws's internals.
   Measured: 256 instructions less per echoed message; small text 1.049x -> 1.016x thin.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

__all__ = ["tune"]

_GET_CORO = """
/* typedws (build_support/mypyc_tuning.py, edit 1): await coroutines directly. */
static inline PyObject *TypedWS_GetCoro(PyObject *obj)
{
    if (PyCoro_CheckExact(obj)) {
        Py_INCREF(obj);
        return obj;
    }
    return CPy_GetCoro(obj);
}
"""

_SHARED_ENV = """
/* typedws (build_support/mypyc_tuning.py, edit 2): one instance of an environment nobody reads. */
static inline PyObject *TypedWS_SharedEnv(PyObject **slot, PyObject *(*make)(void))
{
    if (*slot == NULL) {
        *slot = make();  /* kept for the life of the process */
        if (*slot == NULL) {
            return NULL;
        }
    }
    Py_INCREF(*slot);
    return *slot;
}
"""

_COLD_ERRORS = """
/* typedws (build_support/mypyc_tuning.py, edit 3): the error paths of generated code are cold. */
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

# An environment type with no field but its (never written) ___mypyc_self__, in the header.
_PLACEHOLDER_ENV = re.compile(
    r"typedef struct \{\n\s*PyObject_HEAD\n\s*CPyVTableItem \*vtable;\n"
    r"\s*PyObject \*___mypyc_self__;\n\} (\w+_envObject);"
)
# The constructor of an environment type, from its free-list declaration in the C file.
_ENV_CONSTRUCTOR = re.compile(
    r"PyObject \*(CPyDef_\w+_env)\(void\);\n\s*CPyThreadLocal (\w+_envObject) \*\w+_free_instance;"
)


def _say(message: str) -> None:
    print(f"typedws build_support/mypyc_tuning.py: {message}", file=sys.stderr)


def _shared_envs(code: str, header: str) -> tuple[str, list[str]]:
    """Edit 2: route the construction of placeholder environments through a shared instance.

    Returns the edited code and the declarations of the instances' slots.
    """
    placeholders = set(_PLACEHOLDER_ENV.findall(header))
    if not placeholders or "->___mypyc_self__ =" in code:
        return code, []
    slots: list[str] = []
    for constructor, struct in _ENV_CONSTRUCTOR.findall(code):
        call = f" = {constructor}();"
        if struct not in placeholders or call not in code:
            continue
        slot = f"TypedWS_env_{len(slots)}"
        slots.append(f"static PyObject *{slot} = NULL;  /* {struct} */")
        code = code.replace(call, f" = TypedWS_SharedEnv(&{slot}, {constructor});")
    return code, slots


def _tune_file(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    body = 0
    while body < len(lines) and lines[body].startswith("#include"):
        body += 1
    code = "\n".join(lines[body:])
    if "TypedWS_GetCoro" in code:  # already edited (mypyc left an unchanged file alone)
        return
    if body == 0:
        _say(f"{path}: no #include block; left as mypyc wrote it")
        return
    helpers = []
    if "CPy_GetCoro(" in code:
        code = code.replace("CPy_GetCoro(", "TypedWS_GetCoro(")
        helpers.append(_GET_CORO)
    else:
        _say(f"{path}: no CPy_GetCoro call; edit 1 skipped")
    header_path = path[: -len(".c")] + ".h"
    header = ""
    if os.path.exists(header_path):
        with open(header_path, encoding="utf-8") as file:
            header = file.read()
    code, slots = _shared_envs(code, header)
    if slots:
        helpers += [_SHARED_ENV, *slots]
    else:
        _say(f"{path}: no placeholder environment found; edit 2 skipped")
    helpers.append(_COLD_ERRORS)
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join([*lines[:body], *helpers, code]))


def tune(ext_modules: list[Any]) -> None:
    """Apply the edits to the shared C file(s) of mypyc's extensions (see the module docstring)."""
    sources = {
        source
        for extension in ext_modules
        for source in extension.sources
        if os.path.basename(source).startswith("__native") and source.endswith(".c")
    }
    for path in sorted(sources):
        _tune_file(path)
    # ELF shared libraries only: Mach-O (two-level namespace) and Windows DLLs do not interpose.
    if sys.platform.startswith("linux"):
        for extension in ext_modules:
            extension.extra_compile_args = [
                *extension.extra_compile_args,
                "-fno-semantic-interposition",
            ]

"""Edits to the C that mypyc generates for typedws, and one compiler flag: speed only, behaviour
unchanged.

setup.py calls :func:`tune` on the extensions ``mypycify`` returns, before they are compiled, and
compiles them through :meth:`Tuning.build`. What each edit measured is in benchmarks/RESULTS.md
("Build tuning"); the whole test-suite runs against the compiled build, so a behaviour change
would show there.

Three rules keep the build from breaking on a compiler these edits were not written for:

- The edits apply only to the mypyc they were verified against, :data:`TUNED_FOR_MYPYC`, which
  pyproject.toml pins exactly in ``[build-system] requires``. Any other mypyc (a build without
  isolation, a distributor's newer mypy) gets its own C, untouched: slower, never broken.
- Each edit first checks the exact shape it relies on, in the generated C and in mypyc's runtime
  library (lib-rt, the C every mypyc extension compiles in); where the shape is not there the
  edit is skipped, and the build output says which and why.
- If the edited C fails to compile, the extension is built again from mypyc's own C and flags,
  and the build output says so loudly: the edits can cost speed, never the build.

1. Awaiting a coroutine. mypyc's ``CPy_GetCoro`` calls the awaited object's ``__await__``; for a
   coroutine (what the ``receive`` and ``send`` of every Python ASGI server return) that makes a
   ``coroutine_wrapper``, which has no ``am_send``: each await then allocates the wrapper and
   returns through a StopIteration exception. A coroutine speaks ``PyIter_Send`` itself (the
   interpreter's own ``await`` iterates it directly), so it is handed over as it is; anything
   else (a Future, a compiled coroutine, a trio awaitable) still goes through ``CPy_GetCoro``.
   Relies on mypyc driving what ``CPy_GetCoro`` returned only through ``CPyIter_Send`` (which
   must call ``PyIter_Send``) and ``CPy_YieldFromErrorHandle`` (the ``throw``/``close``
   methods, which coroutines have): mypy 1.x stepped it with ``tp_iternext``, which a coroutine
   lacks. Checked at each await; an await of another shape keeps ``CPy_GetCoro``.
2. Environments nobody reads. For every call of an ``async def`` method, mypyc allocates an
   "environment" object next to the generator object; for a method without nested functions its
   only field, ``___mypyc_self__``, is never written, and the generator reads nothing from it
   (its variables live on the generator; it only checks the pointer is set). Such an
   environment type gets one shared instance per process instead of a new one per call: one
   allocation, GC-track and deallocation fewer per awaited call. Checked per environment type:
   the struct has that one field, no generated code writes any ``___mypyc_self__`` or reads
   a field through that struct, and its constructor is the one next to its free-list.
3. Error paths out of the hot code. mypyc follows every call with a branch that records a
   traceback or raises a TypeError/AttributeError. Routing those through functions marked
   ``cold`` lets the C compiler move them out of line, so the code run per message is denser.
   Checked: lib-rt declares the four helpers with the exact parameters of the wrappers and
   defines ``CPy_NOINLINE`` and ``CPy_COLD``, and the generated C calls them.
4. ``-fno-semantic-interposition`` (Linux). The extension is position-independent code, and GCC
   then assumes that any exported function may be replaced at load time, so it neither inlines
   nor directly calls mypyc's functions (every one of them is exported). CPython builds itself
   with this flag for the same reason; nothing loads a replacement for typedws's internals.
   ELF only: Mach-O (two-level namespace) and Windows DLLs do not interpose.

5. Returning to an interpreted ``await`` on CPython 3.12 and later. There the interpreter's
   ``SEND`` (``await``, ``yield from``) steps anything but its own generators and coroutines
   with ``tp_iternext``, no longer ``PyIter_Send`` (3.10 and 3.11 use ``am_send``); mypyc's
   ``tp_iternext`` reports the return of a compiled coroutine by raising StopIteration, and
   since 3.12 a raised exception is always an instance: every ``await ws.send_json(...)`` of an
   interpreted handler allocated and freed a StopIteration (on 3.12, 140 -> 70 ns per await of
   a compiled ``async def`` returning None; the layer benchmark's small echo 1.29-1.31x ->
   1.23-1.24x thin, benchmarks/bench_pythons.py). On 3.10 and 3.11 the edit applies the same
   way and changes nothing measurable. The iterator slot of each generator class goes through its
   ``am_send`` slot instead, which returns the value without an exception; a return of None
   then returns NULL with no exception set, which the iterator protocol (``tp_iternext``)
   defines as "exhausted" and ``SEND`` reads as the value None; another value still raises
   StopIteration(value), as before. The Python-level ``__next__``, ``send`` and ``throw``
   methods are not changed. Checked per class: the type's ``tp_iternext`` is mypyc's
   ``__next__``, which calls the generator helper with None, and its ``am_send`` is the wrapper
   mypyc writes around the same helper.

A build that carries edits 1-3 or 5 says which in a string of the shared library
(``typedws-mypyc-tuning: edits ...``), which tests/test_build_tuning.py reads.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Protocol

__all__ = ["TUNED_FOR_MYPYC", "Tuning", "tune"]

#: The mypyc (mypy) release whose C these edits were written and verified against; the exact
#: pin of mypy in pyproject.toml ``[build-system] requires`` must name the same version.
TUNED_FOR_MYPYC = "2.4.1"

_FLAG = "-fno-semantic-interposition"
# Saved beside an edited file: mypyc's own C, for the fallback. mypyc does not rewrite a C file
# whose module group is unchanged in its cache, so a second build can find the edited C on disk.
_ORIGINAL_SUFFIX = ".mypyc-original"
_MARKER = "typedws-mypyc-tuning: edits"

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

_ITERNEXT = """
/* typedws (build_support/mypyc_tuning.py, edit 5): a return to tp_iternext without StopIteration
   where the value is None. */
static inline PyObject *TypedWS_IterNext(PySendResult status, PyObject *result)
{
    if (status != PYGEN_RETURN) {
        return result;  /* the value yielded, or NULL with the exception set */
    }
    if (result == Py_None) {
        Py_DECREF(result);
        return NULL;  /* exhausted, no exception: the return value is None */
    }
    CPyGen_SetStopIterationValue(result);
    Py_DECREF(result);
    return NULL;
}
"""

# Edit 3 wraps these lib-rt functions (CPy.h) with exactly these parameters.
_COLD_FUNCTIONS = {
    "CPy_AddTraceback": "const char *filename, const char *funcname, int line, PyObject *globals",
    "CPy_TypeError": "const char *expected, PyObject *value",
    "CPy_TypeErrorTraceback": "const char *filename, const char *funcname, int line, "
    "PyObject *globals, const char *expected, PyObject *value",
    "CPy_AttributeError": "const char *filename, const char *funcname, const char *classname, "
    "const char *attrname, int line, PyObject *globals",
}

# An await in a generator's body: the awaitable turned into the iterator mypyc then drives.
_AWAIT = re.compile(r"^\s*(cpy_r_\w+) = CPy_GetCoro\(cpy_r_\w+\);$")
# Where that iterator is kept: a field of the generator object.
_AWAIT_STORE = r"^\s*\(\((\w+) \*\)cpy_r___mypyc_self__\)->(\w+) = {value};$"
# Bookkeeping of that field: slot functions, reference counting, replacing its value.
_GEN_FIELD = r"\(\(\w+ \*\)cpy_r_\w+\)->\w+"
_FIELD_BOOKKEEPING = re.compile(
    r"^\s*(?:(?:Py_VISIT|Py_CLEAR)\(self->\w+\);"
    rf"|CPy_X?DECREF(?:_NO_IMM)?\({_GEN_FIELD}\);"
    rf"|if \({_GEN_FIELD} != NULL\) \{{"
    rf"|{_GEN_FIELD} = (?:cpy_r_\w+|NULL);"
    r"|self->\w+ = NULL;)$"
)
_FIELD_READ = re.compile(rf"^\s*(cpy_r_\w+) = {_GEN_FIELD};$")
# mypyc >= 2 steps an awaited iterator with PyIter_Send (third argument: the return value).
_DRIVE = (
    r"^\s*cpy_r_\w+ = (?:CPyIter_Send\({it}, cpy_r_\w+, cpy_r_\w+\)"
    r"|CPy_YieldFromErrorHandle\({it}, cpy_r_\w+\));$"
)

# An environment type with no field but its (never written) ___mypyc_self__, in the header.
_PLACEHOLDER_ENV = re.compile(
    r"typedef struct \{\n\s*PyObject_HEAD\n\s*CPyVTableItem \*vtable;\n"
    r"\s*PyObject \*___mypyc_self__;\n\} (\w+_envObject);"
)
# The constructor of an environment type, from its free-list declaration in the C file.
_ENV_CONSTRUCTOR = re.compile(
    r"PyObject \*(CPyDef_\w+_env)\(void\);\n\s*CPyThreadLocal (\w+_envObject) \*\w+_free_instance;"
)

# A generator class's iterator slot, in its type object: mypyc's native __next__.
_ITERNEXT_SLOT = re.compile(r"^(\s*)\.tp_iternext = CPyDef_(\w+)_____next__,$", re.M)


class Extension(Protocol):
    """What :func:`tune` uses of a setuptools ``Extension``."""

    name: str
    sources: list[str]
    include_dirs: list[str]
    extra_compile_args: list[str]


class ShapeMismatch(Exception):
    """The C is not of the shape an edit relies on; the edit is skipped."""


def _say(message: str) -> None:
    print(f"typedws build_support/mypyc_tuning.py: {message}", file=sys.stderr)


def _flat(text: str) -> str:
    return " ".join(text.split())


class Runtime:
    """The parts of mypyc's runtime library (lib-rt) that the edits rely on, as text."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.files: dict[str, str] = {}
        for name in ("CPy.h", "mypyc_util.h", "misc_ops.c"):
            path = os.path.join(directory, name) if directory else ""
            if path and os.path.exists(path):
                with open(path, encoding="utf-8") as file:
                    self.files[name] = file.read()

    @classmethod
    def of(cls, extensions: Iterable[Extension]) -> Runtime:
        """The lib-rt directory among the include directories mypyc gave its extensions."""
        for extension in extensions:
            for directory in extension.include_dirs:
                if os.path.exists(os.path.join(directory, "CPy.h")):
                    return cls(directory)
        return cls(None)

    def text(self, name: str) -> str:
        if name not in self.files:
            raise ShapeMismatch(f"no {name} in mypyc's runtime library ({self.directory})")
        return self.files[name]

    def function(self, name: str, file: str) -> str:
        """The body of the C function ``name`` defined in lib-rt's ``file``."""
        text = self.text(file)
        match = re.search(rf"^\w[\w \*]*\b{name}\([^)]*\)\s*\{{\n(.*?)^\}}", text, re.M | re.S)
        if match is None:
            raise ShapeMismatch(f"lib-rt {file} does not define {name}")
        return match.group(1)


def _await_directly(lines: list[str], runtime: Runtime) -> tuple[int, int]:
    """Edit 1, in place on ``lines``: returns (awaits edited, awaits found)."""
    if _flat("PyObject *CPy_GetCoro(PyObject *obj);") not in _flat(runtime.text("CPy.h")):
        raise ShapeMismatch("lib-rt CPy.h declares CPy_GetCoro differently")
    if "PyIter_Send(" not in runtime.function("CPyIter_Send", "misc_ops.c"):
        raise ShapeMismatch("lib-rt's CPyIter_Send does not await through PyIter_Send")
    error_handle = runtime.function("CPy_YieldFromErrorHandle", "misc_ops.c")
    if ".throw_)" not in error_handle or ".close_)" not in error_handle:
        raise ShapeMismatch(
            "lib-rt's CPy_YieldFromErrorHandle does not use the throw and close methods"
        )
    # Every line naming each generator field, by field name (one pass over the file).
    uses: dict[str, list[int]] = {}
    for number, line in enumerate(lines):
        if "->" in line:
            for field in set(re.findall(r"->(\w+)", line)):
                uses.setdefault(field, []).append(number)
    sites = [number for number, line in enumerate(lines) if "CPy_GetCoro(" in line]
    edited = 0
    for site in sites:
        if _awaited_only_through_send(lines, site, uses):
            lines[site] = lines[site].replace("CPy_GetCoro(", "TypedWS_GetCoro(")
            edited += 1
    return edited, len(sites)


def _awaited_only_through_send(lines: list[str], site: int, uses: dict[str, list[int]]) -> bool:
    """Whether the iterator made at ``lines[site]`` is only ever stepped by PyIter_Send."""
    match = _AWAIT.match(lines[site])
    if match is None:
        return False
    store = re.compile(_AWAIT_STORE.format(value=re.escape(match.group(1))))
    for number in range(site + 1, min(site + 16, len(lines))):
        stored = store.match(lines[number])
        if stored is not None:
            break
    else:
        return False
    field = stored.group(2)
    sent = False
    for number in uses.get(field, []):
        line = lines[number]
        if _FIELD_BOOKKEEPING.match(line):
            continue
        read = _FIELD_READ.match(line)
        if read is None or number + 1 == len(lines):
            return False
        if not re.match(_DRIVE.format(it=re.escape(read.group(1))), lines[number + 1]):
            return False
        sent = sent or "CPyIter_Send(" in lines[number + 1]
    return sent


def _shared_envs(code: str, header: str) -> tuple[str, list[str]]:
    """Edit 2: route the construction of placeholder environments through a shared instance.

    Returns the edited code and the declarations of the instances' slots.
    """
    placeholders = set(_PLACEHOLDER_ENV.findall(header))
    if not placeholders:
        raise ShapeMismatch("no environment type with ___mypyc_self__ as its only field")
    if "->___mypyc_self__ =" in code:
        raise ShapeMismatch("generated code writes an environment's ___mypyc_self__")
    slots: list[str] = []
    for constructor, struct in _ENV_CONSTRUCTOR.findall(code):
        call = f" = {constructor}();"
        # A field read through the struct (mypyc's form: ((T *)cpy_r_x)->field) means someone
        # reads this environment after all.
        if struct not in placeholders or call not in code or f"(({struct} *)cpy_r_" in code:
            continue
        slot = f"TypedWS_env_{len(slots)}"
        slots.append(f"static PyObject *{slot} = NULL;  /* {struct} */")
        code = code.replace(call, f" = TypedWS_SharedEnv(&{slot}, {constructor});")
    if not slots:
        raise ShapeMismatch("no placeholder environment is built by its free-list constructor")
    return code, slots


def _iternext_through_send(code: str) -> tuple[str, list[str]]:
    """Edit 5: each generator class's tp_iternext through its am_send slot.

    Returns the edited code and the iterator functions (each with the declaration of the
    am_send it calls, defined further down the file).
    """
    if "CPyGen_SetStopIterationValue(" not in code:
        raise ShapeMismatch("the generated C does not raise StopIteration through lib-rt")
    functions: list[str] = []
    edited = code
    for indent, prefix in _ITERNEXT_SLOT.findall(code):
        send = f"CPyDunder_am_send{prefix}"
        helper = f"CPyDef_{prefix}_____mypyc_generator_helper__"
        am_send = re.search(
            rf"^\s*static PySendResult {send}\(PyObject \*self, PyObject \*arg, "
            r"PyObject \*\*result\) \{\n(.*?\breturn PYGEN_RETURN;\n)\s*\}$",
            code,
            re.M | re.S,
        )
        next_ = re.search(
            rf"^PyObject \*CPyDef_{prefix}_____next__\(PyObject \*cpy_r___mypyc_self__\) \{{\n"
            r"(.*?)^\}$",
            code,
            re.M | re.S,
        )
        if (
            am_send is None
            or next_ is None
            or f".am_send = {send}," not in code
            or f"{helper}(self, Py_None, Py_None, Py_None, arg, &stop_iter_value);"
            not in am_send.group(1)
            or am_send.group(1).count("\n") > 20
            or f"{helper}(cpy_r___mypyc_self__, cpy_r_r0, cpy_r_r0, cpy_r_r0, cpy_r_r0, 0);"
            not in next_.group(1)
            or "cpy_r_r0 = (PyObject *)&_Py_NoneStruct;" not in next_.group(1)
        ):
            continue
        function = f"TypedWS_next_{prefix}"
        functions.append(
            f"static PySendResult {send}(PyObject *self, PyObject *arg, PyObject **result);\n"
            f"static PyObject *{function}(PyObject *self)\n{{\n"
            "    PyObject *result = NULL;\n"
            f"    PySendResult status = {send}(self, Py_None, &result);\n"
            "    return TypedWS_IterNext(status, result);\n}"
        )
        edited = edited.replace(
            f"{indent}.tp_iternext = CPyDef_{prefix}_____next__,",
            f"{indent}.tp_iternext = {function},",
        )
    if not functions:
        raise ShapeMismatch("no generator class whose tp_iternext and am_send mypyc wrote")
    return edited, functions


def _check_cold_errors(code: str, runtime: Runtime) -> None:
    """Edit 3's preconditions (the edit itself is text added after the #include block)."""
    declarations = _flat(runtime.text("CPy.h"))
    for name, parameters in _COLD_FUNCTIONS.items():
        if _flat(f"void {name}({parameters});") not in declarations:
            raise ShapeMismatch(f"lib-rt CPy.h declares {name} differently")
    util = runtime.text("mypyc_util.h")
    for macro in ("CPy_NOINLINE", "CPy_COLD"):
        if f"#define {macro}" not in util:
            raise ShapeMismatch(f"lib-rt mypyc_util.h does not define {macro}")
    if not any(f"{name}(" in code for name in _COLD_FUNCTIONS):
        raise ShapeMismatch("the generated C calls none of the error helpers")
    if any(f"#define {name}" in code or f"TypedWS{name[3:]}" in code for name in _COLD_FUNCTIONS):
        raise ShapeMismatch("the generated C already defines these names")


def _tune_text(path: str, text: str, header: str, runtime: Runtime) -> tuple[str, list[int]]:
    """The edited C of ``path`` and the numbers of the edits applied (none: ``text`` as is)."""
    lines = text.split("\n")
    body = 0
    while body < len(lines) and lines[body].startswith("#include"):
        body += 1
    if body == 0:
        _say(f"{path}: no #include block; left as mypyc wrote it")
        return text, []
    code_lines = lines[body:]
    applied: list[int] = []
    helpers: list[str] = []
    try:
        edited, found = _await_directly(code_lines, runtime)
    except ShapeMismatch as mismatch:
        _say(f"{path}: edit 1 skipped: {mismatch}")
    else:
        if edited:
            applied.append(1)
            helpers.append(_GET_CORO)
            _say(f"{path}: edit 1 applied to {edited} of {found} awaits")
        if not found:
            _say(f"{path}: edit 1 skipped: no await in the generated C")
        elif edited < found:
            _say(f"{path}: edit 1: {found - edited} of {found} awaits of another shape kept")
    code = "\n".join(code_lines)
    try:
        code, slots = _shared_envs(code, header)
    except ShapeMismatch as mismatch:
        _say(f"{path}: edit 2 skipped: {mismatch}")
    else:
        applied.append(2)
        helpers += [_SHARED_ENV, *slots]
        _say(f"{path}: edit 2 applied to {len(slots)} environment types")
    try:
        _check_cold_errors(code, runtime)
    except ShapeMismatch as mismatch:
        _say(f"{path}: edit 3 skipped: {mismatch}")
    else:
        applied.append(3)
        helpers.append(_COLD_ERRORS)
        _say(f"{path}: edit 3 applied")
    try:
        code, iternexts = _iternext_through_send(code)
    except ShapeMismatch as mismatch:
        _say(f"{path}: edit 5 skipped: {mismatch}")
    else:
        applied.append(5)
        helpers += [_ITERNEXT, *iternexts]
        _say(f"{path}: edit 5 applied to {len(iternexts)} generator classes")
    if not applied:
        return text, []
    numbers = " ".join(map(str, applied))
    # Non-static: kept in the shared library, where the compiled build's test looks for it.
    helpers.append(f'const char TypedWS_mypyc_tuning[] = "{_MARKER} {numbers}";\n')
    return "\n".join([*lines[:body], *helpers, code]), applied


def _read(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as file:
        return file.read()


def _write(path: str, text: str) -> None:
    # Unchanged text keeps its mtime, so setuptools does not recompile it (as mypyc does).
    if os.path.exists(path) and _read(path) == text:
        return
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)


class Tuning:
    """The edits :func:`tune` made, and how to undo them if they do not compile."""

    def __init__(self) -> None:
        #: Edited C file -> mypyc's own C.
        self.originals: dict[str, str] = {}
        #: Edit numbers applied, per edited C file.
        self.applied: dict[str, list[int]] = {}
        #: id() of an extension given the flag -> its own compile arguments.
        self.flags: dict[int, list[str]] = {}

    def _tune_file(self, path: str, runtime: Runtime) -> None:
        text = _read(path)
        original_path = path + _ORIGINAL_SUFFIX
        if _MARKER in text:
            # mypyc found nothing to regenerate and left the C a previous build edited.
            if not os.path.exists(original_path):
                _say(f"{path}: edited by an earlier build, mypyc's own C is gone; left as it is")
                return
            text = _read(original_path)
        header_path = path[: -len(".c")] + ".h"
        header = _read(header_path) if os.path.exists(header_path) else ""
        edited, applied = _tune_text(path, text, header, runtime)
        if applied:
            _write(original_path, text)
            self.originals[path] = text
            self.applied[path] = applied
        _write(path, edited)

    def _add_flag(self, extension: Extension) -> None:
        self.flags[id(extension)] = list(extension.extra_compile_args)
        extension.extra_compile_args = [*extension.extra_compile_args, _FLAG]

    def undo(self, extension: Extension) -> bool:
        """Give ``extension`` mypyc's own C and flags back; False if it had no edit."""
        undone = False
        for source in extension.sources:
            if source in self.originals:
                _write(source, self.originals.pop(source))
                self.applied.pop(source, None)
                undone = True
        if id(extension) in self.flags:
            extension.extra_compile_args = self.flags.pop(id(extension))
            undone = True
        return undone

    def build(self, extension: Extension, build: Callable[[], object]) -> None:
        """Run ``build`` (compile ``extension``); if it fails, rebuild from mypyc's own C.

        Raises what the second build raises: mypyc's own C failing is not the edits' doing.
        """
        try:
            build()
        # Whatever the compiler or linker raised (CompileError, LinkError, an unknown flag):
        # mypyc's own C is the reference build, and the edits must never be why a build fails.
        except Exception as error:
            if not self.undo(extension):
                raise
            rule = "*" * 78
            print(
                f"\n{rule}\ntypedws: {extension.name}, with the edits of "
                "build_support/mypyc_tuning.py, did not build:\n"
                f"    {type(error).__name__}: {error}\n"
                "Building it again from mypyc's own C and flags, without the edits: same "
                "behaviour, slower.\nPlease report this, with the compiler output above, "
                f"to the typedws issue tracker.\n{rule}\n",
                file=sys.stderr,
                flush=True,
            )
            build()


def tune(extensions: list[Extension], *, mypyc_version: str | None = None) -> Tuning:
    """Apply the edits to the shared C file(s) of mypyc's extensions (see the module docstring).

    ``mypyc_version`` defaults to the installed mypy's; any but :data:`TUNED_FOR_MYPYC` leaves
    everything as mypyc made it.
    """
    tuning = Tuning()
    if mypyc_version is None:
        from mypy.version import __version__

        mypyc_version = __version__
    if mypyc_version != TUNED_FOR_MYPYC:
        _say(
            f"mypyc {mypyc_version} is not {TUNED_FOR_MYPYC}, the one these edits were verified "
            "against (pyproject.toml pins it for the build); building mypyc's own C, no edits"
        )
        return tuning
    runtime = Runtime.of(extensions)
    sources = {
        source
        for extension in extensions
        for source in extension.sources
        if os.path.basename(source).startswith("__native") and source.endswith(".c")
    }
    for path in sorted(sources):
        tuning._tune_file(path, runtime)
    if sys.platform.startswith("linux"):
        for extension in extensions:
            tuning._add_flag(extension)
    if sys.platform.startswith("linux"):
        _say(f"edit 4 applied: {_FLAG}")
    return tuning

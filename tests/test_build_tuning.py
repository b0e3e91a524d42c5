"""build_support/mypyc_tuning.py: the edits it makes to mypyc's C, the shapes each one checks
first, the fallback to mypyc's own C when the edited C does not compile, and that the compiled
build has the edits.

The edits are checked on a small C file shaped like mypyc's output (the real output is 60,000
lines) and a small runtime library shaped like mypyc's lib-rt; both compile, so the fallback is
proved with the real C compiler in well under a second. Behaviour of the edited build is what the
rest of the suite checks, run against the compiled install by ``nox -s tests_compiled``.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import typedws

ROOT = Path(__file__).resolve().parent.parent


def _tuning() -> ModuleType:
    # Loaded by path: build_support/ is a build-time helper, not an installed package.
    spec = importlib.util.spec_from_file_location(
        "mypyc_tuning", ROOT / "build_support" / "mypyc_tuning.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TUNING = _tuning()
LINUX = sys.platform.startswith("linux")

# The parts of mypyc 2.4.1's lib-rt the edits rely on, with the same declarations, reduced to
# what compiles on its own.
CPY_H = """\
#include <Python.h>
#include "mypyc_util.h"
typedef void *CPyVTableItem;
#define CPyThreadLocal
#define CPy_DECREF(p) Py_DECREF(p)
void CPy_TypeError(const char *expected, PyObject *value);
void CPy_AddTraceback(const char *filename, const char *funcname, int line, PyObject *globals);
void CPy_TypeErrorTraceback(const char *filename, const char *funcname, int line,
                            PyObject *globals, const char *expected, PyObject *value);
void CPy_AttributeError(const char *filename, const char *funcname, const char *classname,
                        const char *attrname, int line, PyObject *globals);
PyObject *CPy_GetCoro(PyObject *obj);
PyObject *CPy_FetchStopIterationValue(void);
int CPyGen_SetStopIterationValue(PyObject *value);
PyObject *CPyIter_Send(PyObject *iter, PyObject *val, PyObject **stop_iter_value);
int CPy_YieldFromErrorHandle(PyObject *iter, PyObject **outp);
"""

MYPYC_UTIL_H = """\
#define likely(x) (x)
#define unlikely(x) (x)
#if defined(__clang__) || defined(__GNUC__)
#define CPy_NOINLINE __attribute__((noinline))
#define CPy_COLD __attribute__((cold))
#else
#define CPy_NOINLINE
#define CPy_COLD
#endif
"""

CPYITER_SEND = """\
PyObject *CPyIter_Send(PyObject *iter, PyObject *val, PyObject **stop_iter_value)
{
    PyObject *result;
    switch (PyIter_Send(iter, val, &result)) {
        case PYGEN_NEXT:
            return result;
        case PYGEN_RETURN:
            *stop_iter_value = result;
            return NULL;
        default:
            return NULL;
    }
}
"""

# mypy 1.x: the awaited iterator stepped through tp_iternext, which a coroutine does not have.
CPYITER_SEND_1X = """\
PyObject *CPyIter_Send(PyObject *iter, PyObject *val, PyObject **stop_iter_value)
{
    if (Py_IsNone(val)) {
        return Py_TYPE(iter)->tp_iternext(iter);
    }
    return PyObject_CallMethod(iter, "send", "O", val);
}
"""

MISC_OPS_C = (
    """\
#include "CPy.h"
static struct { PyObject *close_; PyObject *throw_; } mypyc_interned_str;
void CPy_TypeError(const char *expected, PyObject *value) {}
void CPy_AddTraceback(const char *filename, const char *funcname, int line, PyObject *globals) {}
void CPy_TypeErrorTraceback(const char *filename, const char *funcname, int line,
                            PyObject *globals, const char *expected, PyObject *value) {}
void CPy_AttributeError(const char *filename, const char *funcname, const char *classname,
                        const char *attrname, int line, PyObject *globals) {}
PyObject *CPy_GetCoro(PyObject *obj)
{
    return Py_TYPE(obj)->tp_as_async->am_await(obj);
}
"""
    + CPYITER_SEND
    + """\
int CPy_YieldFromErrorHandle(PyObject *iter, PyObject **outp)
{
    PyObject *_m = PyObject_GetAttr(iter, mypyc_interned_str.close_);
    Py_XDECREF(_m);
    _m = PyObject_GetAttr(iter, mypyc_interned_str.throw_);
    Py_XDECREF(_m);
    return 2;
}
"""
)

HEADER = """\
#include "CPy.h"
typedef struct {
    PyObject_HEAD
    CPyVTableItem *vtable;
    PyObject *___mypyc_self__;
} pkg___send_Conn_envObject;

typedef struct {
    PyObject_HEAD
    CPyVTableItem *vtable;
    PyObject *___mypyc_self__;
    PyObject *___mypyc_generator_attribute__self;
} pkg___outer_Conn_envObject;

typedef struct {
    PyObject_HEAD
    PyObject *___mypyc_temp__0;
} pkg___send_Conn_genObject;
"""

# An await (edit 1), two environments of which one is a placeholder (edit 2), error helpers
# (edit 3), as mypyc 2.4.1 writes them.
CODE = """\
#include <misc_ops.c>
#include "__native_x.h"
PyObject *CPyDef_pkg___send_Conn_env(void);
CPyThreadLocal pkg___send_Conn_envObject *_pkg___send_Conn_env_free_instance;
PyObject *CPyDef_pkg___outer_Conn_env(void);
CPyThreadLocal pkg___outer_Conn_envObject *_pkg___outer_Conn_env_free_instance;
PyObject *CPyDef_pkg___send_Conn_env(void) { Py_RETURN_NONE; }
PyObject *CPyDef_pkg___outer_Conn_env(void) { Py_RETURN_NONE; }
PyObject *CPyDef_pkg___send_Conn_gen___helper(PyObject *cpy_r___mypyc_self__, PyObject *cpy_r_arg) {
    PyObject *cpy_r_r0;
    PyObject *cpy_r_r1;
    PyObject *cpy_r_r2;
    PyObject *cpy_r_r3;
    PyObject *cpy_r_r4;
    PyObject **cpy_r_r5;
    PyObject *cpy_r_r6;
    int cpy_r_r7;
    cpy_r_r0 = CPyDef_pkg___send_Conn_env();
    cpy_r_r1 = CPy_GetCoro(cpy_r_r0);
    CPy_DECREF(cpy_r_r0);
    if (unlikely(cpy_r_r1 == NULL)) {
        CPy_AddTraceback("pkg.py", "send", 3, NULL);
        return NULL;
    }
    if (((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)->___mypyc_temp__0 != NULL) {
        CPy_DECREF(((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)->___mypyc_temp__0);
    }
    ((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)->___mypyc_temp__0 = cpy_r_r1;
    cpy_r_r4 = NULL;
    cpy_r_r5 = (PyObject **)&cpy_r_r4;
    cpy_r_r2 = ((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)->___mypyc_temp__0;
    cpy_r_r3 = CPyIter_Send(cpy_r_r2, cpy_r_arg, cpy_r_r5);
    if (cpy_r_r3 != NULL) return cpy_r_r3;
    cpy_r_r6 = ((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)->___mypyc_temp__0;
    cpy_r_r7 = CPy_YieldFromErrorHandle(cpy_r_r6, cpy_r_r5);
    if (cpy_r_r7 == 2) {
        CPy_TypeErrorTraceback("pkg.py", "send", 3, NULL, "str", cpy_r_r6);
        return NULL;
    }
    return cpy_r_r4;
}
PyObject *CPyDef_pkg___Conn___outer(PyObject *self) {
    PyObject *cpy_r_r0;
    cpy_r_r0 = CPyDef_pkg___outer_Conn_env();
    return cpy_r_r0;
}
"""


# A coroutine class (edit 5): its generator helper, mypyc's __next__, its am_send wrapper and the
# two slots of its type object, as mypyc 2.4.1 writes them (the helper reduced to a return; its
# two names, long as mypyc makes them, put in after).
GENERATOR_CLASS = """\
PyObject *HELPER(PyObject *cpy_r___mypyc_self__, PyObject *cpy_r_type, PyObject *cpy_r_value,
                 PyObject *cpy_r_traceback, PyObject *cpy_r_arg, PyObject **cpy_r_stop_iter_ptr) {
    if (cpy_r_stop_iter_ptr != NULL) {
        *cpy_r_stop_iter_ptr = Py_NewRef(cpy_r_arg);
        return NULL;
    }
    CPyGen_SetStopIterationValue(cpy_r_arg);
    return NULL;
}
PyObject *CPyDef_pkg___recv_Conn_gen_____next__(PyObject *cpy_r___mypyc_self__) {
    PyObject *cpy_r_r0;
    PyObject *cpy_r_r1;
    PyObject *cpy_r_r2;
    cpy_r_r0 = (PyObject *)&_Py_NoneStruct;
    cpy_r_r1 = HELPER(cpy_r___mypyc_self__, cpy_r_r0, cpy_r_r0, cpy_r_r0, cpy_r_r0, 0);
    if (cpy_r_r1 == NULL) goto CPyL2;
    return cpy_r_r1;
CPyL2: ;
    cpy_r_r2 = NULL;
    return cpy_r_r2;
}
        static PySendResult SEND(PyObject *self, PyObject *arg, PyObject **result) {
            PyObject *stop_iter_value = NULL;
            PyObject *retval = HELPER(self, Py_None, Py_None, Py_None, arg, &stop_iter_value);
            if (retval != NULL) {
                *result = retval;
                return PYGEN_NEXT;
            }
            if (stop_iter_value == NULL) {
                if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
                    stop_iter_value = CPy_FetchStopIterationValue();
                }
                if (stop_iter_value == NULL) {
                    *result = NULL;
                    return PYGEN_ERROR;
                }
            }
            *result = stop_iter_value;
            return PYGEN_RETURN;
        }
        static PyAsyncMethods pkg___recv_Conn_gen_as_async = {
            .am_send = SEND,
        };
        PyTypeObject CPyType_pkg___recv_Conn_gen_template_ = {
            PyVarObject_HEAD_INIT(NULL, 0)
            .tp_name = "recv_Conn_gen",
            .tp_as_async = &pkg___recv_Conn_gen_as_async,
            .tp_iternext = CPyDef_pkg___recv_Conn_gen_____next__,
        };
""".replace("HELPER", "CPyDef_pkg___recv_Conn_gen_____mypyc_generator_helper__").replace(
    "SEND", "CPyDunder_am_sendpkg___recv_Conn_gen"
)


@dataclass
class Extension:
    name: str
    sources: list[str]
    include_dirs: list[str]
    extra_compile_args: list[str] = field(default_factory=list)


def _extension(
    tmp_path: Path,
    code: str = CODE,
    header: str = HEADER,
    *,
    cpy_h: str = CPY_H,
    util_h: str = MYPYC_UTIL_H,
    misc_ops: str = MISC_OPS_C,
) -> Extension:
    """mypyc's C and lib-rt, as ``mypycify`` leaves them before the build compiles them."""
    runtime = tmp_path / "lib-rt"
    runtime.mkdir()
    (runtime / "CPy.h").write_text(cpy_h)
    (runtime / "mypyc_util.h").write_text(util_h)
    (runtime / "misc_ops.c").write_text(misc_ops)
    build = tmp_path / "build"
    build.mkdir()
    (build / "__native_x.h").write_text(header)
    (build / "__native_x.c").write_text(code)
    return Extension("x__mypyc", [str(build / "__native_x.c")], [str(runtime), str(build)])


def _tune(extension: Extension, version: str = TUNING.TUNED_FOR_MYPYC) -> tuple[Any, str]:
    tuning = TUNING.tune([extension], mypyc_version=version)
    return tuning, Path(extension.sources[0]).read_text()


def test_coroutines_are_awaited_directly_and_the_helpers_follow_the_includes(
    tmp_path: Path,
) -> None:
    _, text = _tune(_extension(tmp_path))
    lines = text.split("\n")
    assert lines[:2] == ["#include <misc_ops.c>", '#include "__native_x.h"']
    assert "cpy_r_r1 = TypedWS_GetCoro(cpy_r_r0);" in text
    assert "return CPy_GetCoro(obj);" in text  # the fallback for anything but a coroutine
    assert text.index("TypedWS_GetCoro(PyObject *obj)") < text.index("___helper(")


def test_only_environments_nobody_reads_are_shared(tmp_path: Path) -> None:
    _, text = _tune(_extension(tmp_path))
    assert "cpy_r_r0 = TypedWS_SharedEnv(&TypedWS_env_0, CPyDef_pkg___send_Conn_env);" in text
    assert "static PyObject *TypedWS_env_0 = NULL;  /* pkg___send_Conn_envObject */" in text
    # The environment of a method with a nested function holds a variable: one per call still.
    assert "cpy_r_r0 = CPyDef_pkg___outer_Conn_env();" in text
    assert "TypedWS_env_1" not in text


def test_error_paths_are_routed_through_cold_functions(tmp_path: Path) -> None:
    extension = _extension(tmp_path)
    tuning, text = _tune(extension)
    assert "static CPy_NOINLINE CPy_COLD void\nTypedWS_AddTraceback(" in text
    assert "#define CPy_AddTraceback TypedWS_AddTraceback" in text
    assert 'const char TypedWS_mypyc_tuning[] = "typedws-mypyc-tuning: edits 1 2 3";' in text
    assert tuning.applied == {extension.sources[0]: [1, 2, 3]}
    assert extension.extra_compile_args == (["-fno-semantic-interposition"] if LINUX else [])


def test_iterator_slots_return_through_am_send(tmp_path: Path) -> None:
    extension = _extension(tmp_path, CODE + GENERATOR_CLASS)
    tuning, text = _tune(extension)
    assert "            .tp_iternext = TypedWS_next_pkg___recv_Conn_gen,\n" in text
    send = "CPyDunder_am_sendpkg___recv_Conn_gen"
    assert f"PySendResult status = {send}(self, Py_None, &result);" in text
    # Declared above the function that calls it: mypyc defines it next to the type, further down.
    assert text.index(
        f"static PySendResult {send}(PyObject *self, PyObject *arg, PyObject **result);"
    ) < text.index("TypedWS_next_pkg___recv_Conn_gen(PyObject")
    # The Python-level __next__ (mypyc's method wrapper calls the native one) is unchanged.
    assert "PyObject *CPyDef_pkg___recv_Conn_gen_____next__(PyObject" in text
    assert 'TypedWS_mypyc_tuning[] = "typedws-mypyc-tuning: edits 1 2 3 5";' in text
    assert tuning.applied == {extension.sources[0]: [1, 2, 3, 5]}
    # The compiler's strictest reading of it, as the build compiles it (-O3 finds more).
    extension.extra_compile_args += ["-O3", "-Wall", "-Werror", "-Wno-unused-function"]
    tuning.build(extension, lambda: _compile(extension))
    data = (tmp_path / "build" / "__native_x.o").read_bytes()
    assert b"typedws-mypyc-tuning: edits 1 2 3 5" in data


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # __next__ passes something else than None to the helper.
        ("cpy_r_r0 = (PyObject *)&_Py_NoneStruct;", "cpy_r_r0 = cpy_r___mypyc_self__;"),
        # am_send is not the wrapper around the same helper.
        (
            "(self, Py_None, Py_None, Py_None, arg, &stop_iter_value)",
            "(self, arg, NULL, NULL, arg, &stop_iter_value)",
        ),
        # The type's async slots name another am_send.
        (".am_send = CPyDunder_am_sendpkg___recv_Conn_gen,", ".am_send = NULL,"),
    ],
)
def test_a_generator_class_of_another_shape_keeps_its_iterator_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str
) -> None:
    code = CODE + GENERATOR_CLASS.replace(old, new)
    _, text = _tune(_extension(tmp_path, code))
    assert ".tp_iternext = CPyDef_pkg___recv_Conn_gen_____next__," in text
    assert "TypedWS_IterNext" not in text
    assert 'typedws-mypyc-tuning: edits 1 2 3"' in text  # the other edits still apply
    assert "edit 5 skipped: no generator class whose tp_iternext and am_send mypyc wrote" in (
        capsys.readouterr().err
    )


def test_another_mypyc_gets_its_own_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extension = _extension(tmp_path)
    _, text = _tune(extension, version="2.5.0")
    assert text == CODE
    assert extension.extra_compile_args == []
    assert "mypyc 2.5.0 is not 2.4.1" in capsys.readouterr().err


def test_c_without_an_include_block_is_left_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = CODE.replace('#include <misc_ops.c>\n#include "__native_x.h"\n', "")
    _, text = _tune(_extension(tmp_path, code))
    assert text == code
    assert "no #include block; left as mypyc wrote it" in capsys.readouterr().err


def test_an_await_of_mypy_1_shape_keeps_cpy_getcoro(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mypy 1.x took the first step with CPyIter_Next (tp_iternext): a coroutine has none.
    code = CODE.replace(
        "cpy_r_r3 = CPyIter_Send(cpy_r_r2, cpy_r_arg, cpy_r_r5);",
        "cpy_r_r3 = CPyIter_Next(cpy_r_r2);",
    )
    _, text = _tune(_extension(tmp_path, code))
    assert "cpy_r_r1 = CPy_GetCoro(cpy_r_r0);" in text
    assert "TypedWS_GetCoro" not in text
    assert "TypedWS_SharedEnv(&TypedWS_env_0" in text  # the other edits still apply
    assert "edit 1: 1 of 1 awaits of another shape kept" in capsys.readouterr().err


@pytest.mark.parametrize(
    "use",
    [
        "    cpy_r_r6 = ((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)->___mypyc_temp__0;\n"
        "    cpy_r_r3 = PyIter_Next(cpy_r_r6);",
        "    cpy_r_r6 = PyObject_GetIter(((pkg___send_Conn_genObject *)cpy_r___mypyc_self__)"
        "->___mypyc_temp__0);",
    ],
)
def test_an_awaited_iterator_used_otherwise_keeps_cpy_getcoro(tmp_path: Path, use: str) -> None:
    code = CODE.replace("    return cpy_r_r4;\n", f"{use}\n    return cpy_r_r4;\n")
    _, text = _tune(_extension(tmp_path, code))
    assert "TypedWS_GetCoro" not in text


def test_a_runtime_that_does_not_await_through_pyiter_send_gets_no_edit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    misc_ops = MISC_OPS_C.replace(CPYITER_SEND, CPYITER_SEND_1X)
    _, text = _tune(_extension(tmp_path, misc_ops=misc_ops))
    assert "TypedWS_GetCoro" not in text
    assert "edit 1 skipped: lib-rt's CPyIter_Send does not await through PyIter_Send" in (
        capsys.readouterr().err
    )


def test_without_mypyc_runtime_library_only_edit_2_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extension = _extension(tmp_path)
    extension.include_dirs = extension.include_dirs[1:]
    _, text = _tune(extension)
    assert "TypedWS_GetCoro" not in text
    assert "TypedWS_AddTraceback" not in text
    assert 'TypedWS_mypyc_tuning[] = "typedws-mypyc-tuning: edits 2";' in text
    err = capsys.readouterr().err
    assert "edit 1 skipped: no CPy.h in mypyc's runtime library (None)" in err
    assert "edit 3 skipped: no CPy.h in mypyc's runtime library (None)" in err


def test_no_environment_is_shared_if_any_self_field_is_written(tmp_path: Path) -> None:
    code = CODE.replace(
        "    return cpy_r_r4;\n",
        "    ((pkg___send_Conn_envObject *)cpy_r_r0)->___mypyc_self__ = cpy_r_r0;\n"
        "    return cpy_r_r4;\n",
    )
    _, text = _tune(_extension(tmp_path, code))
    assert "TypedWS_SharedEnv(&" not in text
    assert "cpy_r_r0 = CPyDef_pkg___send_Conn_env();" in text
    assert "TypedWS_GetCoro(cpy_r_r0)" in text  # the other edits still apply


def test_an_environment_someone_reads_is_not_shared(tmp_path: Path) -> None:
    code = CODE.replace(
        "    return cpy_r_r4;\n",
        "    cpy_r_r6 = ((pkg___send_Conn_envObject *)cpy_r_r0)->___mypyc_self__;\n"
        "    return cpy_r_r4;\n",
    )
    _, text = _tune(_extension(tmp_path, code))
    assert "TypedWS_SharedEnv(&" not in text


@pytest.mark.parametrize(
    ("runtime", "reason"),
    [
        (
            {"util_h": MYPYC_UTIL_H.replace("CPy_COLD", "CPy_COOL")},
            "lib-rt mypyc_util.h does not define CPy_COLD",
        ),
        (
            {"cpy_h": CPY_H.replace("const char *expected, PyObject *value);", "int code);")},
            "lib-rt CPy.h declares CPy_TypeError differently",
        ),
    ],
)
def test_error_helpers_of_another_shape_get_no_edit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], runtime: dict[str, str], reason: str
) -> None:
    _, text = _tune(_extension(tmp_path, **runtime))
    assert "TypedWS_AddTraceback" not in text
    assert "TypedWS_GetCoro(cpy_r_r0)" in text
    assert 'typedws-mypyc-tuning: edits 1 2"' in text
    assert f"edit 3 skipped: {reason}" in capsys.readouterr().err


def test_a_second_build_edits_mypyc_own_c_again(tmp_path: Path) -> None:
    # mypyc leaves the C file alone when its cache says nothing changed: the edited C is found.
    extension = _extension(tmp_path)
    _, once = _tune(extension)
    extension.extra_compile_args = []
    tuning, twice = _tune(extension)
    assert twice == once
    assert tuning.originals == {extension.sources[0]: CODE}


def _compiler() -> list[str]:
    compiler = sysconfig.get_config_var("CC")
    if not compiler or shutil.which(shlex.split(compiler)[0]) is None:
        pytest.skip("no C compiler")
    return shlex.split(compiler)


def _compile(extension: Extension) -> Path:
    """Compile the extension's C as setuptools would (to an object file: no link needed)."""
    source = Path(extension.sources[0])
    target = source.with_suffix(".o")
    command = [
        *_compiler(),
        "-c",
        str(source),
        "-o",
        str(target),
        f"-I{sysconfig.get_paths()['include']}",
        *(f"-I{directory}" for directory in extension.include_dirs),
        *extension.extra_compile_args,
    ]
    subprocess.run(command, check=True, capture_output=True)
    return target


def test_the_edited_c_compiles(tmp_path: Path) -> None:
    extension = _extension(tmp_path)
    tuning, _ = _tune(extension)
    tuning.build(extension, lambda: _compile(extension))
    data = (tmp_path / "build" / "__native_x.o").read_bytes()
    assert b"typedws-mypyc-tuning: edits 1 2 3" in data
    assert b"TypedWS_AddTraceback" in data


def test_edited_c_that_does_not_compile_is_built_again_from_mypyc_own_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Edit 2's shape is there, but its helper does not compile (as a C API change could do).
    monkeypatch.setattr(TUNING, "_SHARED_ENV", TUNING._SHARED_ENV + "#error not C\n")
    extension = _extension(tmp_path)
    tuning, text = _tune(extension)
    assert "#error not C" in text
    tuning.build(extension, lambda: _compile(extension))
    err = capsys.readouterr().err
    assert (
        "typedws: x__mypyc, with the edits of build_support/mypyc_tuning.py, did not build" in err
    )
    assert "Building it again from mypyc's own C and flags, without the edits" in err
    assert Path(extension.sources[0]).read_text() == CODE
    assert extension.extra_compile_args == []
    data = (tmp_path / "build" / "__native_x.o").read_bytes()
    assert b"typedws-mypyc-tuning" not in data
    assert b"TypedWS_" not in data


def test_mypyc_own_c_that_does_not_compile_fails_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = CODE + "#error mypyc's own mistake\n"
    extension = _extension(tmp_path, code)
    tuning, _ = _tune(extension)
    with pytest.raises(subprocess.CalledProcessError):
        tuning.build(extension, lambda: _compile(extension))
    assert "Building it again from mypyc's own C" in capsys.readouterr().err  # tried, then failed
    assert Path(extension.sources[0]).read_text() == code


def test_a_build_without_edits_fails_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extension = _extension(tmp_path, CODE + "#error mypyc's own mistake\n")
    tuning, _ = _tune(extension, version="2.5.0")
    with pytest.raises(subprocess.CalledProcessError):
        tuning.build(extension, lambda: _compile(extension))
    assert "Building it again" not in capsys.readouterr().err


def test_the_compiled_build_carries_the_edits() -> None:
    if os.environ.get("TYPEDWS_EXPECT_COMPILED") != "1":
        pytest.skip("checks the compiled install (TYPEDWS_EXPECT_COMPILED=1, set by nox)")
    assert typedws.COMPILED
    site = Path(typedws.__file__).resolve().parent.parent
    libraries = sorted(site.glob("*__mypyc*"))
    assert libraries, f"no mypyc shared library next to {site / 'typedws'}"
    data = b"".join(library.read_bytes() for library in libraries)
    # Written by the tuning into the shared library: all four C edits found their shape. A mypyc
    # other than the pinned one, or a fallback to mypyc's own C, builds without it (the build
    # output says why).
    assert b"typedws-mypyc-tuning: edits 1 2 3 5" in data
    # Symbols of the cold error helpers and of the shared environments (edits 2 and 3).
    assert b"TypedWS_AddTraceback" in data
    assert b"TypedWS_env_0" in data

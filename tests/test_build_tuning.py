"""build_support/mypyc_tuning.py: the edits it makes to mypyc's C, and that the compiled build
has them.

The edits are checked on small C files shaped like mypyc's output (the real output is 60,000
lines); behaviour of the edited build is what the rest of the suite checks, run against the
compiled install by ``nox -s tests_compiled``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

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


HEADER = """\
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
"""

CODE = """\
#include <init.c>
#include "__native_x.h"
PyObject *CPyDef_pkg___send_Conn_env(void);
CPyThreadLocal pkg___send_Conn_envObject *_pkg___send_Conn_env_free_instance;
PyObject *CPyDef_pkg___outer_Conn_env(void);
CPyThreadLocal pkg___outer_Conn_envObject *_pkg___outer_Conn_env_free_instance;
PyObject *CPyDef_pkg___Conn___send(PyObject *self) {
    PyObject *r1;
    PyObject *r2;
    r1 = CPyDef_pkg___send_Conn_env();
    r2 = CPy_GetCoro(r1);
    return r2;
}
PyObject *CPyDef_pkg___Conn___outer(PyObject *self) {
    PyObject *r1;
    r1 = CPyDef_pkg___outer_Conn_env();
    return r1;
}
"""


def _write(tmp_path: Path, code: str = CODE, header: str = HEADER) -> Path:
    (tmp_path / "__native_x.h").write_text(header)
    path = tmp_path / "__native_x.c"
    path.write_text(code)
    return path


def test_coroutines_are_awaited_directly_and_the_helpers_follow_the_includes(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path)
    _tuning()._tune_file(str(path))
    lines = path.read_text().split("\n")
    assert lines[:2] == ["#include <init.c>", '#include "__native_x.h"']
    text = "\n".join(lines)
    assert "r2 = TypedWS_GetCoro(r1);" in text
    assert "return CPy_GetCoro(obj);" in text  # the fallback for anything but a coroutine
    assert text.index("TypedWS_GetCoro(PyObject *obj)") < text.index("CPyDef_pkg___Conn___send(")


def test_only_environments_nobody_reads_are_shared(tmp_path: Path) -> None:
    path = _write(tmp_path)
    _tuning()._tune_file(str(path))
    text = path.read_text()
    assert "r1 = TypedWS_SharedEnv(&TypedWS_env_0, CPyDef_pkg___send_Conn_env);" in text
    assert "static PyObject *TypedWS_env_0 = NULL;  /* pkg___send_Conn_envObject */" in text
    # The environment of a method with a nested function holds a variable: one per call still.
    assert "r1 = CPyDef_pkg___outer_Conn_env();" in text
    assert "TypedWS_env_1" not in text


def test_no_environment_is_shared_if_any_self_field_is_written(tmp_path: Path) -> None:
    code = CODE.replace(
        "    return r2;",
        "    ((pkg___send_Conn_envObject *)r1)->___mypyc_self__ = self;\n    return r2;",
    )
    path = _write(tmp_path, code)
    _tuning()._tune_file(str(path))
    text = path.read_text()
    assert "TypedWS_SharedEnv(&" not in text
    assert "r1 = CPyDef_pkg___send_Conn_env();" in text
    assert "TypedWS_GetCoro(r1)" in text  # the other edits still apply


def test_error_paths_are_routed_through_cold_functions(tmp_path: Path) -> None:
    path = _write(tmp_path)
    _tuning()._tune_file(str(path))
    text = path.read_text()
    assert "static CPy_NOINLINE CPy_COLD void\nTypedWS_AddTraceback(" in text
    assert "#define CPy_AddTraceback TypedWS_AddTraceback" in text


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path)
    tuning = _tuning()
    tuning._tune_file(str(path))
    once = path.read_text()
    tuning._tune_file(str(path))
    assert path.read_text() == once


def test_c_of_another_shape_is_left_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = CODE.replace('#include <init.c>\n#include "__native_x.h"\n', "")
    path = _write(tmp_path, code)
    _tuning()._tune_file(str(path))
    assert path.read_text() == code
    assert "no #include block; left as mypyc wrote it" in capsys.readouterr().err


def test_the_compiled_build_carries_the_edits() -> None:
    if os.environ.get("TYPEDWS_EXPECT_COMPILED") != "1":
        pytest.skip("checks the compiled install (TYPEDWS_EXPECT_COMPILED=1, set by nox)")
    assert typedws.COMPILED
    site = Path(typedws.__file__).resolve().parent.parent
    libraries = sorted(site.glob("*__mypyc*"))
    assert libraries, f"no mypyc shared library next to {site / 'typedws'}"
    data = b"".join(library.read_bytes() for library in libraries)
    # Symbols of the cold error helpers and of the shared environments (edits 2 and 3); a mypyc
    # whose C the tuning no longer recognises would build without them.
    assert b"TypedWS_AddTraceback" in data
    assert b"TypedWS_env_0" in data

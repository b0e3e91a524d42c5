"""``mypyc_attr`` without a run-time dependency on mypy_extensions.

mypy_extensions is a build dependency only (design: runtime deps are msgspec and multidict).
mypyc reads the decorator while compiling, through mypy's view of this import; at run time a
pass-through stands in when the package is absent. Not compiled: mypyc would treat the fallback
branch as unreachable and refuse to run it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_C = TypeVar("_C")

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # the usual case for an installed wheel

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[_C], _C]:
        return lambda cls: cls


__all__ = ["mypyc_attr"]

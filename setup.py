"""Build script: compiles the hot modules of typedws with mypyc.

Set ``TYPEDWS_PURE=1`` to build a pure-Python wheel. Editable installs are always pure (mypyc
output cannot follow edits to the sources), as the README says.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

# Modules compiled by mypyc: synchronous, fully annotated code on the hot path.
COMPILED_MODULES = [
    "src/typedws/_state.py",  # state enum, transition tables, the transition functions
    "src/typedws/_validate.py",  # checking incoming and outgoing ASGI events
    "src/typedws/_websocket.py",  # the WebSocket class (native class, interpreted subclasses ok)
    "src/typedws/_codecs.py",  # payload encode/decode, called once per message
]

# Modules kept out of compilation, each with its reason (see design.md section 6):
#   __init__.py  - re-exports only; nothing to speed up
#   types.py     - type aliases for ASGI 3 (Scope, Receive, Send, ASGIApp)
#   events.py    - msgspec.Struct subclasses: mypyc cannot compile the Struct metaclass
#   _errors.py   - exception classes with RuntimeError/multiple bases cannot be native classes


def _wants_pure_build() -> bool:
    if os.environ.get("TYPEDWS_PURE", "").strip() not in ("", "0"):
        return True
    # PEP 660 editable installs run the "editable_wheel" command: keep those pure.
    return "editable_wheel" in sys.argv


if _wants_pure_build():
    ext_modules = []
else:
    from mypyc.build import mypycify

    ext_modules = mypycify(
        ["--config-file=mypy.ini", *COMPILED_MODULES],
        opt_level="3",
    )

setup(ext_modules=ext_modules)

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
    "src/typedws/_connection.py",  # connection state and the sync checks around each await
    "src/typedws/_websocket.py",  # the async API; native calls into Connection (see docstring)
    "src/typedws/_codecs.py",  # cached msgspec encoders/decoders, payload error mapping
    "src/typedws/_typed.py",  # Endpoint's per-message half: typed send/receive, dispatch loop
    "src/typedws/_datastructures.py",  # parsing headers, query string, cookies, URL from the scope
    "src/typedws/_strings.py",  # handshake strings shared between connections
    "src/typedws/broadcast/_hub.py",  # broadcast: message ids, fan-out, subscriber queues, gaps
]

# Modules kept out of compilation, each with its reason (see docs/architecture.md):
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
#   _endpoint.py - Endpoint's declaration (once per endpoint); mypyc 2.x miscompiles its overloads
#   _limits.py, _drain.py, _loop.py - the production options (docs/architecture.md): async
#                  wrappers around receive/send and task handling per connection; awaiting gains
#                  nothing from mypyc, and they cost nothing per message when the options are unset
#   client.py    - the typed client: awaits on the optional websockets library; nothing to speed up
#   asyncapi.py  - builds a document once per command or request (JSON/YAML glue): nothing hot
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
    # With those packages unknown, some of their uses look like dead code to mypy (a `with` on
    # an unknown context manager cannot swallow an exception, so a None checked after it "is
    # never None"): the build does not report unreachable code; `nox -s mypy` does, with the
    # packages installed.
    config = config.replace("warn_unreachable = True", "warn_unreachable = False")
    for module in _OPTIONAL_IMPORTS:
        config += f"\n[mypy-{module}]\nignore_missing_imports = True\n"
    handle, path = tempfile.mkstemp(prefix="typedws-mypyc-", suffix=".ini")
    with os.fdopen(handle, "w", encoding="utf-8") as target:
        target.write(config)
    return path


cmdclass = {}
if _wants_pure_build():
    ext_modules = []
else:
    from mypyc.build import mypycify
    from setuptools.command.build_ext import build_ext

    # build_support/ sits next to this file; a PEP 517 build does not put that on sys.path.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from build_support.mypyc_tuning import tune

    ext_modules = mypycify(
        [f"--config-file={_build_mypy_config()}", *COMPILED_MODULES],
        opt_level="3",
        # mypyc's shared library of the compiled modules sits at the top level of the wheel; by
        # default it is named after a hash of the module list ("8a27...__mypyc"), which is not an
        # importable name (check-wheel-contents W004). A fixed name says whose it is.
        group_name="typedws",
    )
    # Speed-only edits to mypyc's C, for the pinned mypyc only; see build_support/mypyc_tuning.py.
    tuning = tune(ext_modules)

    class BuildExtFallingBack(build_ext):
        """build_ext that builds an extension from mypyc's own C if the edited C fails."""

        def build_extension(self, ext):
            tuning.build(ext, lambda: build_ext.build_extension(self, ext))

    cmdclass["build_ext"] = BuildExtFallingBack

setup(ext_modules=ext_modules, cmdclass=cmdclass)

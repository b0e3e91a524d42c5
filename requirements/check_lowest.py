"""Check that every dependency is installed at the lower bound its requirement declares.

Used by ``nox -s tests_lowest``: ``python requirements/check_lowest.py "msgspec>=0.19" ...``
exits 1, naming each one, when an installed version is not the declared lower bound (a resolver
that had to go higher would otherwise make the session test other versions than it says).
Requirements whose environment marker does not apply here, or without a lower bound, are passed
over.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement
from packaging.version import Version


def lower_bound(requirement: Requirement) -> Version | None:
    """The version of the requirement's ``>=`` (or ``==``) clause, if it has one."""
    for spec in requirement.specifier:
        if spec.operator in (">=", "=="):
            return Version(spec.version)
    return None


def main(requirements: list[str]) -> int:
    problems: list[str] = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        bound = lower_bound(requirement)
        if bound is None:
            continue
        try:
            installed = Version(version(requirement.name))
        except PackageNotFoundError:
            problems.append(f"{requirement.name} is not installed (wanted {bound})")
            continue
        if installed != bound:
            problems.append(f"{requirement.name} {installed} is installed, not the bound {bound}")
        else:
            print(f"{requirement.name} {installed} (lower bound {line!r})")
    for problem in problems:
        print(f"tests_lowest: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

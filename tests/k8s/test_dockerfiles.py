"""The one Dockerfile, checked by reading it (scripts/images, which CI runs after the tests,
builds every target for real with buildah and runs them with podman; there is no Docker
engine).

What can be checked without building: a builder that installs requirements/images.lock with
--require-hashes before it copies the sources (so the dependency layer survives code
changes), then the package's wheel with --no-deps; a runtime stage from PYTHON_IMAGE that
holds only the venv and runs as uid 10001; one target per service that adds EXPOSE and an
exec-form CMD of an existing module, the ports the chart probes; the files copied exist
and survive .dockerignore. tests/test_wheel.py runs the builder's two installs for real,
in a fresh venv, and imports every module of the wheel there.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from tests.charts.rendering import render
from tests.k8s.dockerfile import Stage, chain, effective, exec_form, parse
from tests.k8s.validation import REPO

DOCKERFILE = REPO / "Dockerfile"
LOCK = "requirements/images.lock"
SERVICES = ("gateway", "worker", "limiter", "operator", "simulator")
#: The port each image serves, as the chart (or, for workers, the operator) expects it.
PORTS = {"gateway": 8080, "worker": 9100, "limiter": 8091, "operator": 8080, "simulator": 8090}

ARGS, STAGES = parse(DOCKERFILE)
BY_NAME = {s.name: s for s in STAGES if s.name}


def _stage(name: str) -> Stage:
    assert name in BY_NAME, f"no stage {name!r} in the Dockerfile: {sorted(BY_NAME)}"
    return BY_NAME[name]


def _patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [p.strip() for p in lines if p.strip() and not p.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes; a parent dir counts."""
    ignored = False
    parts = path.split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(p, pattern[3:]) for p in parts)
        else:
            hit = any(fnmatch.fnmatch(p, pattern) for p in prefixes)
        if hit:
            ignored = not negate
    return ignored


def test_one_dockerfile_for_every_image() -> None:
    assert DOCKERFILE.is_file()
    per_service = sorted(str(p.relative_to(REPO)) for p in (REPO / "services").rglob("Dockerfile"))
    assert not per_service, f"one recipe at the root: {per_service}"


def test_base_image_is_one_build_arg() -> None:
    """Both the builder and the runtime come FROM ${PYTHON_IMAGE} (a later base swap is one
    --build-arg); the venv's interpreter is the runtime's."""
    assert ARGS == {"PYTHON_IMAGE": "python:3.11-slim"}
    assert STAGES[0].name == "builder"
    for name in ("builder", "runtime"):
        assert _stage(name).source == "${PYTHON_IMAGE}", name
        assert _stage(name).base == "python:3.11-slim"


def test_every_service_is_a_target_on_the_runtime_stage() -> None:
    names = [s.name for s in STAGES]
    assert names == ["builder", "runtime", *SERVICES]
    for service in SERVICES:
        stage = _stage(service)
        assert stage.base == "runtime", service
        # Only metadata: the five images share every layer of the runtime stage.
        assert {kw for kw, _ in stage.instructions} == {"EXPOSE", "CMD"}, stage.instructions


def test_runtime_is_non_root_and_holds_only_the_venv() -> None:
    runtime = _stage("runtime")
    copies = runtime.all("COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"], copies
    (adduser,) = runtime.all("RUN")
    assert re.search(r"groupadd .*--gid 10001\b", adduser), adduser
    assert re.search(r"useradd .*--uid 10001 --gid 10001\b", adduser), adduser
    env = " ".join(runtime.all("ENV"))
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env)
    assert re.search(r"\bHOME=/tmp\b", env)
    assert re.search(r"\bPATH=/opt/venv/bin:", env)
    assert not runtime.all("VOLUME")  # the root filesystem is read-only; /tmp is an emptyDir
    assert not runtime.all("CMD") and not runtime.all("ENTRYPOINT")


@pytest.mark.parametrize("service", SERVICES)
def test_each_target_runs_its_module_without_a_shell_as_uid_10001(service: str) -> None:
    assert not effective(STAGES, service, "ENTRYPOINT")
    command = exec_form(effective(STAGES, service, "CMD")[-1])
    assert command == ["python", "-m", f"agentqueue.{service}"]
    assert (REPO / "services" / "agentqueue" / service / "__main__.py").is_file()
    assert [int(p) for p in effective(STAGES, service, "EXPOSE")] == [PORTS[service]]
    user = effective(STAGES, service, "USER")[-1]
    # numeric uid and gid: the chart's runAsNonRoot can verify them
    assert user == "10001:10001", user
    assert [s.name for s in chain(STAGES, service)] == ["runtime", service]


def test_ports_match_the_chart() -> None:
    ports = {}
    for obj in render():
        if obj["kind"] == "Deployment":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            module = container["command"][-1].removeprefix("agentqueue.")
            ports[module] = container["ports"][0]["containerPort"]
    assert ports == {k: v for k, v in PORTS.items() if k != "worker"}


def test_builder_installs_the_lock_with_hashes_before_copying_the_sources() -> None:
    builder = _stage("builder")
    steps = builder.instructions

    def position(keyword: str, needle: str) -> int:
        found = [i for i, (kw, args) in enumerate(steps) if kw == keyword and needle in args]
        assert len(found) == 1, f"{keyword} with {needle!r}: {found}"
        return found[0]

    copy_lock = position("COPY", LOCK)
    install_lock = position("RUN", "--require-hashes")
    copy_sources = position("COPY", "services")
    install_wheel = position("RUN", ".whl")
    assert copy_lock < install_lock < copy_sources < install_wheel
    # Nothing from the sources before the dependencies are in: their layer is cached.
    assert all(kw != "COPY" or LOCK in args for kw, args in steps[:install_lock])
    lock_step = " ".join(steps[install_lock][1].split())
    assert f"/opt/venv/bin/pip install --require-hashes --no-deps -r {LOCK}" in lock_step
    wheel_step = " ".join(steps[install_wheel][1].split())
    assert re.search(r"/opt/venv/bin/pip wheel --no-deps .*\s\.(\s|$)", wheel_step), wheel_step
    assert re.search(r"/opt/venv/bin/pip install --no-deps \S+\.whl", wheel_step), wheel_step
    assert re.search(r"pip uninstall --yes pip\b", wheel_step), wheel_step
    # Every install into the venv is one of those two: nothing unpinned, nothing resolved.
    installs = [a for kw, a in steps if kw == "RUN" and "pip install" in a]
    assert len(installs) == 2 and all(a.count("pip install") == 1 for a in installs)
    assert all("--no-deps" in a.split() for a in installs), installs


def test_builder_slims_the_dependencies_in_their_own_layer() -> None:
    """Debug symbols and the packages' own test suites leave the venv in the lock's step
    (cached with it); binutils, for strip, stays in the builder. Bytecode is never removed:
    the image runs on a read-only root filesystem."""
    steps = _stage("builder").instructions
    (lock_step,) = [
        " ".join(a.split()) for kw, a in steps if kw == "RUN" and "--require-hashes" in a
    ]
    assert re.search(r"find /opt/venv -name '\*\.so' .*strip --strip-unneeded", lock_step)
    assert re.search(r"site-packages -mindepth 2 -type d -name tests -prune", lock_step)
    (apt,) = [a for kw, a in steps if kw == "RUN" and "apt-get install" in a]
    assert "binutils" in apt and "rm -rf /var/lib/apt/lists/*" in apt
    assert steps.index(("RUN", apt)) < [kw for kw, _ in steps].index("COPY")
    assert not any("apt-get" in a for a in _stage("runtime").all("RUN"))
    assert not any("__pycache__" in a or ".pyc" in a for kw, a in steps if kw == "RUN")


def test_builder_copies_only_what_exists_and_is_in_the_context() -> None:
    patterns = _patterns()
    sources = []
    for stage in STAGES:
        for args in stage.all("COPY"):
            if args.startswith("--from="):
                continue
            *paths, _ = args.split()
            sources += paths
    assert {LOCK, "pyproject.toml", "README.md", "services"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is left out by .dockerignore"


def test_dockerignore_keeps_the_sources_and_drops_the_rest() -> None:
    patterns = _patterns()
    for path in (
        "pyproject.toml",
        "README.md",
        LOCK,
        "services/agentqueue/core/settings.py",
        "services/agentqueue/core/llm/catalog.json",
        "services/agentqueue/core/ratelimit/limiter.lua",
        "services/agentqueue/py.typed",
    ):
        assert not _ignored(path, patterns), path
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "charts/agentqueue",
        "requirements/other.txt",
        "services/agentqueue/core/__pycache__/x.pyc",
        "services/agentqueue.egg-info/SOURCES.txt",
        "build/mypy",
    ):
        assert _ignored(path, patterns), path


def test_the_lock_is_where_the_builder_reads_it() -> None:
    assert (REPO / LOCK).is_file()
    assert Path(LOCK).name in (REPO / "scripts" / "lock").read_text()

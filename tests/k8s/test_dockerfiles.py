"""The five Dockerfiles, checked by reading them: no Docker engine runs in CI.

What can be checked without building: multi-stage with only the venv in the final
python:3.11-slim stage; a non-root numeric USER; an exec-form CMD whose module exists; the
ports the chart probes; the files copied exist and survive .dockerignore; and the builder's
requirement extraction, run here for real.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.charts.rendering import render
from tests.k8s.dockerfile import exec_form, parse
from tests.k8s.validation import REPO

SERVICES = ("gateway", "worker", "limiter", "operator", "simulator")
#: The port each image serves, as the chart (or, for workers, the operator) expects it.
PORTS = {"gateway": 8080, "worker": 9100, "limiter": 8091, "operator": 8080, "simulator": 8090}


def dockerfile(service: str) -> Path:
    return REPO / "services" / service / "Dockerfile"


@pytest.mark.parametrize("service", SERVICES)
def test_final_stage_is_slim_non_root_and_holds_only_the_venv(service: str) -> None:
    _, stages = parse(dockerfile(service))
    assert len(stages) >= 2 and stages[0].name == "builder"
    final = stages[-1]
    assert final.base == "python:3.11-slim" and final.name is None
    copies = final.all("COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"], copies
    users = final.all("USER")
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) == 10001, users  # numeric: runAsNonRoot can verify it
    env = " ".join(final.all("ENV"))
    assert re.search(r"PYTHONDONTWRITEBYTECODE=1\b", env)
    assert "/opt/venv/bin" in env
    assert not final.all("VOLUME")  # the root filesystem is read-only; /tmp is an emptyDir


@pytest.mark.parametrize("service", SERVICES)
def test_cmd_runs_the_service_module_without_a_shell(service: str) -> None:
    _, stages = parse(dockerfile(service))
    final = stages[-1]
    assert not final.all("ENTRYPOINT")
    command = exec_form(final.all("CMD")[-1])
    assert command == ["python", "-m", f"agentqueue.{service}"]
    assert (REPO / "services" / service / "__main__.py").is_file()
    assert [int(p) for p in final.all("EXPOSE")] == [PORTS[service]]


def test_ports_match_the_chart() -> None:
    ports = {}
    for obj in render():
        if obj["kind"] == "Deployment":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            module = container["command"][-1].removeprefix("agentqueue.")
            ports[module] = container["ports"][0]["containerPort"]
    assert ports == {k: v for k, v in PORTS.items() if k != "worker"}


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


def test_dockerignore_keeps_the_sources_and_drops_the_rest() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    for path in (
        "pyproject.toml",
        "README.md",
        "services/agentqueue/core/settings.py",
        "services/agentqueue/core/llm/catalog.json",
        "services/agentqueue/core/ratelimit/limiter.lua",
    ):
        assert not _ignored(path, patterns), path
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "charts/agentqueue",
        "services/agentqueue/core/__pycache__/x.pyc",
        "build/mypy",
    ):
        assert _ignored(path, patterns), path


@pytest.mark.parametrize("service", SERVICES)
def test_builder_copies_only_what_exists(service: str) -> None:
    _, stages = parse(dockerfile(service))
    for args in stages[0].all("COPY"):
        *sources, _ = args.split()
        for source in sources:
            assert (REPO / source).exists(), source


@pytest.mark.parametrize("service", SERVICES)
def test_builder_requirements_step_runs(service: str, tmp_path: Path) -> None:
    """Run the builder's own `python -c` that lists the requirements from pyproject.toml."""
    _, stages = parse(dockerfile(service))
    step = next(r for r in stages[0].all("RUN") if "tomllib" in r)
    code = re.search(r'python -c "(.*?)" >', step.replace("\n", ""), re.DOTALL).group(1)
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    # The shell passes the double-quoted text through unchanged (it keeps the \n escape).
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    requirements = done.stdout.split("\n")
    assert any(r.startswith("dramatiq") for r in requirements)
    assert any(r.startswith("kopf") for r in requirements) is (service == "operator")
    install = next(r for r in stages[0].all("RUN") if "--no-deps" in r)
    assert ('".[operator]"' in install) is (service == "operator")

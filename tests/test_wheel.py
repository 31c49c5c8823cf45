"""The built wheel ships whole: what the images install is what the checkout holds.

Once per session: the wheel is built the way the Dockerfile builds it (from a copy of the
image's build context: pyproject.toml, README.md and services/), a fresh venv is made (no
pip, no setuptools, no system site-packages: what the image's /opt/venv holds) and gets
requirements/images.lock with --require-hashes, then the wheel with --no-deps. Everything
then runs in that venv's interpreter with -I (isolated: neither the checkout nor the
current directory on sys.path), from an empty temporary directory.

Installs reuse pip's cache; the first run on a machine downloads the locked packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "images.lock"
#: Each service's ``python -m agentqueue.<svc>``: the five images' CMDs and the CLI.
SERVICES = ("gateway", "worker", "limiter", "operator", "simulator", "cli")
#: Modules of the ``semantic`` extra, which the images do not install (numpy and the
#: MiniLM model): they are imported only when the semantic cache is switched on.
NEEDS_SEMANTIC = {
    "agentqueue.core.cache.embedder": "numpy",
    "agentqueue.core.cache.index": "numpy",
    "agentqueue.core.cache.semantic": "numpy",
}
#: Package data the code reads at run time (importlib.resources).
PACKAGE_DATA = (
    "agentqueue/core/llm/catalog.json",
    "agentqueue/core/ratelimit/limiter.lua",
    "agentqueue/py.typed",
)
#: What .dockerignore drops from the build context, dropped from the copy here too.
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", ".mypy_cache", ".pytest_cache", "Dockerfile"
)

IMPORT_ALL = """
import importlib, json, sys, traceback
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        failed[name] = {"missing": missing, "traceback": traceback.format_exc()}
import agentqueue
from agentqueue.core.llm.catalog import load_catalog
try:
    import pytest
    leaked = pytest.__file__
except ImportError:
    leaked = None
print(json.dumps({
    "failed": failed,
    "package": agentqueue.__file__,
    "prefix": sys.prefix,
    "catalog_models": len(load_catalog().models),
    "leaked": leaked,
}))
"""


@dataclass(frozen=True)
class Installed:
    wheel: Path
    names: frozenset[str]  # the wheel's file list
    venv: Path
    workdir: Path  # an empty directory: the cwd of every run

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["HOME"] = str(self.workdir)  # as in the image (HOME=/tmp)
        return subprocess.run(
            [*args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _pip(log: Path, *args: str) -> subprocess.Popen[str]:
    """pip in the background, its output to ``log`` (a pipe could fill while unread)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _wait(pip: subprocess.Popen[str], log: Path, timeout: float) -> None:
    pip.wait(timeout=timeout)
    assert pip.returncode == 0, f"{' '.join(map(str, pip.args))}\n{log.read_text()}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    # A venv without pip, like the image's once pip has left it; pip runs from outside it
    # (--python). The locked dependencies go in while the wheel builds.
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = ("--python", str(venv / "bin" / "python"))
    # --no-compile: the image compiles every module at install; here only those imported
    # get compiled, on first import (half the install time).
    lock_log = root / "lock.log"
    lock = _pip(
        lock_log,
        *target,
        "install",
        "--no-compile",
        "--require-hashes",
        "--no-deps",
        "-r",
        str(LOCK),
    )
    # The image's build context, copied: building in the checkout would leave build/ and
    # an egg-info there, and a stale egg-info in the checkout could leak into the wheel.
    context = root / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, context / name)
    shutil.copytree(REPO / "services", context / "services", ignore=IGNORED)
    dist = root / "dist"
    try:
        log = root / "wheel.log"
        _wait(_pip(log, "wheel", "--no-deps", "--wheel-dir", str(dist), str(context)), log, 300)
        _wait(lock, lock_log, timeout=600)
    finally:
        if lock.poll() is None:
            lock.kill()
            lock.wait()
    (wheel,) = dist.glob("agentqueue-*.whl")
    log = root / "install.log"
    _wait(_pip(log, *target, "install", "--no-compile", "--no-deps", str(wheel)), log, 120)
    workdir = root / "cwd"
    workdir.mkdir()
    with zipfile.ZipFile(wheel) as archive:
        names = frozenset(archive.namelist())
    return Installed(wheel, names, venv, workdir)


def _tracked(under: str) -> list[str]:
    """Files git tracks under ``under`` that exist in the work tree (relative to services/)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", under],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"not a git checkout: {done.stderr.strip()}")
    paths = [p for p in done.stdout.split("\0") if p and (REPO / p).is_file()]
    assert paths, f"git tracks nothing under {under}"
    return [str(Path(p).relative_to("services")) for p in paths]


def _module(name: str) -> str:
    return name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_the_wheel_holds_the_package_and_its_metadata_only(installed: Installed) -> None:
    tops = {name.split("/")[0] for name in installed.names}
    assert tops == {"agentqueue", "agentqueue-0.1.0.dist-info"}, tops
    with zipfile.ZipFile(installed.wheel) as archive:
        entry_points = archive.read("agentqueue-0.1.0.dist-info/entry_points.txt").decode()
        metadata = archive.read("agentqueue-0.1.0.dist-info/METADATA").decode()
    assert "agentqueue = agentqueue.cli.__main__:main" in entry_points
    assert "Requires-Dist: kopf" in metadata and 'extra == "operator"' in metadata


def test_every_tracked_module_is_in_the_wheel(installed: Installed) -> None:
    modules = [p for p in _tracked("services/agentqueue") if p.endswith(".py")]
    assert "agentqueue/gateway/__main__.py" in modules
    missing = sorted(set(modules) - installed.names)
    assert not missing, f"tracked but not shipped: {missing}"


def test_package_data_is_in_the_wheel(installed: Installed) -> None:
    data = [
        p for p in _tracked("services") if not p.endswith(".py") and Path(p).name != "Dockerfile"
    ]
    assert set(PACKAGE_DATA) <= set(data), "PACKAGE_DATA names a file git does not track"
    missing = sorted(set(data) - installed.names)
    assert not missing, f"add them to [tool.setuptools.package-data]: {missing}"


def test_the_console_and_its_vendored_assets_are_in_the_wheel(installed: Installed) -> None:
    """Every file under gateway/console (templates, htmx, Swagger UI: served offline, so
    a missing one breaks a page only at run time), tracked or not yet."""
    services = REPO / "services"
    console = services / "agentqueue" / "gateway" / "console"
    shipped = [
        str(p.relative_to(services))
        for p in console.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "agentqueue/gateway/console/static/swagger-ui/swagger-ui-bundle.js" in shipped
    assert "agentqueue/gateway/console/templates/base.html" in shipped
    missing = sorted(set(shipped) - installed.names)
    assert not missing, f"add them to [tool.setuptools.package-data]: {missing}"


def test_every_module_of_the_wheel_imports_in_a_fresh_venv(installed: Installed) -> None:
    modules = sorted(
        _module(n) for n in installed.names if n.startswith("agentqueue/") and n.endswith(".py")
    )
    assert "agentqueue.operator.handlers" in modules
    done = installed.run(str(installed.python), "-I", "-c", IMPORT_ALL, *modules)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The package came from the venv, not the checkout; the dev venv is not visible.
    assert Path(report["package"]).is_relative_to(installed.venv), report["package"]
    assert Path(report["prefix"]) == installed.venv
    assert report["leaked"] is None, f"pytest is importable from {report['leaked']}"
    assert report["catalog_models"] > 0  # the packaged catalog.json, read as a resource
    failed = report["failed"]
    unexpected = {m: f["traceback"] for m, f in failed.items() if m not in NEEDS_SEMANTIC}
    assert not unexpected, "\n".join(f"{m}:\n{tb}" for m, tb in unexpected.items())
    # The semantic extra's modules fail for the extra's packages alone (and the list is
    # kept short: one that imports now comes off it).
    assert {m: f["missing"] for m, f in failed.items()} == NEEDS_SEMANTIC


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_answers_help(installed: Installed, service: str) -> None:
    """``python -m agentqueue.<svc> --help`` runs from the fresh venv (every import of the
    service's main module resolves there) and exits without starting to serve."""
    done = installed.run(str(installed.python), "-I", "-m", f"agentqueue.{service}", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout
    if service != "cli":  # services are configured by environment variables alone
        assert "AGENTQUEUE_" in done.stdout, done.stdout


def test_the_console_script_runs(installed: Installed) -> None:
    done = installed.run(str(installed.venv / "bin" / "agentqueue"), "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "agentqueue 0.1.0"

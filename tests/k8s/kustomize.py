"""Build a kustomization: with ``kubectl kustomize`` (or ``kustomize``) when installed.

Without either, :func:`build_resources_only` reads a kustomization's ``resources`` list
itself (directories recursively): enough to check the base's files, not its generators,
patches or transformers, so overlays are then skipped with that reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.validation import load_documents


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def build(path: Path) -> list[dict[str, Any]]:
    command = kustomize_command()
    assert command is not None
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return load_documents(done.stdout)


def build_resources_only(path: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
    objs: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = path / entry
        if target.is_dir():
            objs += build_resources_only(target)
        else:
            objs += load_documents(target.read_text())
    return objs

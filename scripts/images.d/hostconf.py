"""What scripts/images reads from this machine's own configuration, never from ours.

  python3 hostconf.py mirror            the Debian mirror of apt's sources, then the
                                        security mirror (or an empty line)
  python3 hostconf.py pip OUT           write OUT, a pip.conf of the host's settings that
                                        decide how pip reaches its index; print the local
                                        paths they name (to mount read-only into builds)

Only the standard library: it runs on the host's python3 before anything is installed.
"""

from __future__ import annotations

import configparser
import glob
import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

SUITE = "bookworm"


def _deb822(text: str) -> list[dict[str, str]]:
    stanzas, current, key = [], {}, ""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
        elif line[0] in " \t" and key:
            current[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def apt_sources() -> list[tuple[str, list[str]]]:
    """(URI, suites) of every enabled `deb` source, in apt's reading order."""
    found: list[tuple[str, list[str]]] = []
    lists = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]
    for path in lists:
        if not os.path.isfile(path):
            continue
        for line in Path(path).read_text().splitlines():
            line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(line) >= 3 and line[0] == "deb":
                found.append((line[1], [line[2]]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in _deb822(Path(path).read_text()):
            if stanza.get("enabled", "yes").lower() == "no":
                continue
            if "deb" not in stanza.get("types", "").split():
                continue
            suites = stanza.get("suites", "").split()
            found += [(uri, suites) for uri in stanza.get("uris", "").split()]
    return found


def mirror() -> int:
    sources = [(u.rstrip("/"), s) for u, s in apt_sources() if re.match(r"(https?|file):", u)]
    main = [u for u, suites in sources if SUITE in suites]
    security = [u for u, suites in sources if f"{SUITE}-security" in suites]
    if not main:
        print(f"no apt source of Debian {SUITE} in /etc/apt/sources.list(.d)", file=sys.stderr)
        return 1
    print(main[0])
    print(security[0] if security else "")
    return 0


#: The settings that decide where pip finds packages and how it gets there; nothing else
#: of the host's configuration (a cache dir, a target, constraints) enters the build.
REACH = {
    "index-url",
    "extra-index-url",
    "no-index",
    "find-links",
    "trusted-host",
    "cert",
    "client-cert",
    "proxy",
    "timeout",
    "default-timeout",
    "retries",
}
PATH_KEYS = {"cert", "client-cert"}
URL_KEYS = {"index-url", "extra-index-url", "find-links"}


def _config_files() -> list[str]:
    """pip's own order (later wins): global, then user, then PIP_CONFIG_FILE."""
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [os.path.join(d, "pip", "pip.conf") for d in dirs.split(":") if d]
    files.append("/etc/pip.conf")
    homes = [os.path.expanduser("~")]
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user and sudo_user != "root":  # run under sudo: the invoking user's pip too
        homes.insert(0, os.path.expanduser(f"~{sudo_user}"))
    for home in homes:
        files.append(os.path.join(home, ".pip", "pip.conf"))
        files.append(os.path.join(home, ".config", "pip", "pip.conf"))
    if os.environ.get("PIP_CONFIG_FILE") and os.environ["PIP_CONFIG_FILE"] != os.devnull:
        files.append(os.environ["PIP_CONFIG_FILE"])
    return [f for f in files if os.path.isfile(f)]


def _local_path(value: str) -> str | None:
    if value.startswith("file:"):
        path = unquote(urlparse(value).path)
        # a file:// index is <root>/simple with links into <root>: lend the root
        return os.path.dirname(path.rstrip("/")) if path.rstrip("/").endswith("/simple") else path
    return value if value.startswith("/") else None


def pip(out: str) -> int:
    merged: dict[str, dict[str, str]] = {}
    for path in _config_files():
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error as exc:
            print(f"skipping unreadable pip config {path}: {exc}", file=sys.stderr)
            continue
        for section in parser.sections():
            for key, value in parser.items(section):
                key = key.replace("_", "-")
                if key in REACH:
                    merged.setdefault(section, {})[key] = value
    for name, value in os.environ.items():
        key = name.removeprefix("PIP_").lower().replace("_", "-")
        if name.startswith("PIP_") and key in REACH:
            for section in merged.values():  # an environment variable beats every file
                section.pop(key, None)
            merged.setdefault("global", {})[key] = value
    mounts: set[str] = set()
    for section in merged.values():
        for key, value in section.items():
            if key in URL_KEYS | PATH_KEYS:
                for item in value.split():
                    local = _local_path(item)
                    if local and os.path.exists(local):
                        mounts.add(os.path.normpath(local))
    lines = ["# The host's pip settings for reaching its index (scripts/images); not kept."]
    for section, values in merged.items():
        if values:
            lines.append(f"[{section}]")
            lines += [f"{k} = {v}" for k, v in sorted(values.items())]
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    # nested mounts are redundant: keep the outermost
    for path in sorted(mounts):
        if not any(path.startswith(other + "/") for other in mounts if other != path):
            print(path)
    keys = sorted({k for values in merged.values() for k in values})
    lent = ", ".join(keys) or "no settings"
    print(f"== pip: the host's {lent} lent to build steps", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["mirror"]:
        return mirror()
    if argv[:1] == ["pip"] and len(argv) == 2:
        return pip(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

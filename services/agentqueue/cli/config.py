"""``agentqueue config check FILE``: validate a configuration file before it ships.

The same loader the services use at start and on reload (``core/config/loader.py``), so a
file this command accepts is one they accept: exit 0 with a short summary, or exit 2 with
the one line a service would exit with (handled by the command's main). Each secret
reference is looked up too, as this machine sees it: an unset variable or unreadable file
is a warning, not a failure (the pods that mount them may well have them), and no value
is ever printed. ``--print-schema`` prints the file's JSON schema, for editors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator

from agentqueue.core.config.errors import ConfigError
from agentqueue.core.config.loader import load_config
from agentqueue.core.config.schema import AgentQueueConfig, SecretRef
from agentqueue.core.config.secrets import SecretUnavailable, resolve
from agentqueue.core.config.source import check_provider_order, settings_values
from agentqueue.core.llm.catalog import config_problems
from agentqueue.core.settings import PROVIDER_NAMES as PROVIDERS
from agentqueue.core.settings import CoreSettings

_SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = sub.add_parser("config", help="validate the configuration file (AGENTQUEUE_CONFIG)")
    verbs = config.add_subparsers(dest="verb", required=True)
    check = verbs.add_parser(
        "check", help="validate FILE: exit 0 with a summary, or 2 with one line saying what"
    )
    check.add_argument("file", nargs="?", help="the YAML file (omit with --print-schema)")
    check.add_argument(
        "--print-schema", action="store_true", help="print the file's JSON schema and exit"
    )


def run(args: argparse.Namespace) -> int:
    if args.print_schema:
        print(json.dumps(AgentQueueConfig.model_json_schema(), indent=2))
        return 0
    if not args.file:
        print("agentqueue config check: give the FILE to check", file=sys.stderr)
        return 2
    config = load_config(args.file)  # ConfigError: one line, exit 2 (cli/__main__.py)
    check_provider_order(args.file, settings_values(config).get("provider_order", ()), PROVIDERS)
    problems = config_problems(config, CoreSettings.model_fields["catalog_path"].default)
    if problems:
        raise ConfigError(f"{args.file}: " + "; ".join(problems))
    for warning in secret_warnings(config):
        print(f"warning: {args.file}: {warning}", file=sys.stderr)
    print(f"{args.file}: valid: {summary(config)}")
    return 0


def summary(config: AgentQueueConfig) -> str:
    """``3 deployments (azure-openai 2, openai-compatible 1), 1 model, …`` in one line."""
    kinds = Counter(d.kind.value for d in config.deployments)
    by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    served = sum(len(d.models) for d in config.deployments)
    budgets = sum(1 for d in config.deployments for m in d.models if m.budget is not None)
    parts = [
        _count(len(config.deployments), "deployment") + (f" ({by_kind})" if by_kind else ""),
        f"{_count(served, 'deployed model')} ({budgets} with a budget)",
        _count(len(config.models), "model entry", "model entries"),
        _count(len(config.aliases), "alias", "aliases"),
        _count(len(config.tenants), "tenant"),
        f"routing {config.routing.strategy} over {', '.join(config.routing.provider_order)}",
    ]
    return ", ".join(parts)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def secret_warnings(config: AgentQueueConfig) -> Iterator[str]:
    """One line per secret reference this machine cannot resolve (never a value)."""
    for i, deployment in enumerate(config.deployments):
        for field in _SECRET_FIELDS:
            ref: SecretRef | None = getattr(deployment, field)
            if ref is None:
                continue
            try:
                resolve(ref)
            except SecretUnavailable as exc:
                yield f"deployments[{i}].{field} ({deployment.name}): {exc}"

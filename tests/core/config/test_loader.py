"""A broken configuration file is one readable line naming the file and the path, never
a traceback and never the value found there (it may be a key pasted inline)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agentqueue.core.config.errors import ConfigError, format_path
from agentqueue.core.config.loader import cached_config, load_config
from agentqueue.core.config.schema import AgentQueueConfig, DeploymentKind

SECRET = "sk-live-SECRET-0123456789abcdef"

GOOD = """\
version: 1
deployments:
  - name: openai-us
    kind: openai
    api_key: {env: OPENAI_KEY_US}
    models:
      - model: gpt-4.1
        budget: {rpm: 500, tpm: 200000}
  - name: azure-eu
    kind: azure-openai
    base_url: https://eu.openai.azure.com
    api_version: "2024-10-21"
    region: westeurope
    api_key: {file: /etc/agentqueue/secrets/azure-eu}
    models:
      - model: openai/gpt-4.1
        name: gpt41-eu
        budget: {rpm: 100, tpm: 100000}
tenants:
  acme: {tpm: 200000, usd_per_day: 50}
  "*": {tpm: 50000}
"""

#: (case, file text, the one line after "FILE: ").
BROKEN = [
    (
        "unknown field rmp",
        """\
        deployments:
          - name: a
            kind: openai
            models: [{model: gpt-4.1, budget: {rmp: 5, tpm: 10}}]
        """,
        "deployments[0].models[0].budget.rpm: field required; "
        "deployments[0].models[0].budget.rmp: unknown field (did you mean rpm?)",
    ),
    (
        "wrong type",
        """\
        deployments:
          - name: a
            kind: openai
            models: [{model: gpt-4.1, budget: {rpm: lots, tpm: 10}}]
        """,
        "deployments[0].models[0].budget.rpm: input should be a valid integer, "
        "unable to parse string as an integer",
    ),
    (
        "missing kind",
        """\
        deployments:
          - name: a
            models: [{model: gpt-4.1}]
        """,
        "deployments[0].kind: field required",
    ),
    (
        "missing models",
        """\
        deployments:
          - name: a
            kind: anthropic
        """,
        "deployments[0].models: field required",
    ),
    (
        "empty models",
        """\
        deployments:
          - {name: a, kind: anthropic, models: []}
        """,
        "deployments[0].models: list should have at least 1 item after validation, not 0",
    ),
    (
        "missing provider of a model entry",
        """\
        models:
          - {model: my-model, tier: efficient, context_window: 8000,
             max_output_tokens: 1000, input: 0.1, output: 0.2}
        """,
        "models[0].provider: field required",
    ),
    (
        "duplicate deployment",
        """\
        deployments:
          - {name: eu, kind: anthropic, models: [{model: claude-sonnet-4-6}]}
          - {name: eu, kind: openai, models: [{model: gpt-4.1}]}
        """,
        "deployment names must be unique: eu repeated",
    ),
    (
        "a model twice in one deployment",
        """\
        deployments:
          - {name: eu, kind: anthropic, models: [{model: m}, {model: m}]}
        """,
        "deployments[0]: model 'm' is listed twice",
    ),
    (
        "secret inline",
        f"""\
        deployments:
          - name: a
            kind: openai
            api_key: {SECRET}
            models: [{{model: gpt-4.1}}]
        """,
        "deployments[0].api_key: a secret is never written inline: "
        "write {env: VARIABLE} or {file: /path}",
    ),
    (
        "aws secret inline",
        f"""\
        deployments:
          - name: a
            kind: anthropic-bedrock
            region: us-east-1
            aws_secret_access_key: "{SECRET}"
            models: [{{model: claude-sonnet-4-6}}]
        """,
        "deployments[0].aws_secret_access_key: a secret is never written inline: "
        "write {env: VARIABLE} or {file: /path}",
    ),
    (
        "credentials in base_url",
        f"""\
        deployments:
          - name: a
            kind: openai-compatible
            base_url: https://user:{SECRET}@vllm.internal/v1
            models: [{{model: llama}}]
        """,
        "deployments[0].base_url: base_url carries credentials (user:password@): "
        "give the key as api_key {env: VARIABLE} or {file: /path}",
    ),
    (
        "azure without api_version",
        """\
        deployments:
          - name: a
            kind: azure-openai
            base_url: https://x.openai.azure.com
            models: [{model: gpt-4.1}]
        """,
        "deployments[0]: an azure-openai deployment needs api_version",
    ),
    (
        "vertex without project",
        """\
        deployments:
          - {name: a, kind: anthropic-vertex, region: europe-west1,
             models: [{model: claude-sonnet-4-6}]}
        """,
        "deployments[0]: a anthropic-vertex deployment needs project",
    ),
    (
        "bad kind",
        """\
        deployments:
          - {name: a, kind: mistral, models: [{model: m}]}
        """,
        "deployments[0].kind: input should be 'openai', 'azure-openai', 'openai-compatible', "
        "'anthropic', 'anthropic-bedrock', 'anthropic-vertex', 'gemini' or 'vertex-gemini'",
    ),
    (
        "secret ref with both env and file",
        """\
        deployments:
          - {name: a, kind: openai, api_key: {env: K, file: /k}, models: [{model: m}]}
        """,
        "deployments[0].api_key: give exactly one of env (a variable's name) or file (a path)",
    ),
    (
        "secret ref with a bad variable name",
        """\
        deployments:
          - {name: a, kind: openai, api_key: {env: "1-KEY"}, models: [{model: m}]}
        """,
        "deployments[0].api_key.env: string should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'",
    ),
    (
        "secret ref with an empty file",
        """\
        deployments:
          - {name: a, kind: openai, api_key: {file: ""}, models: [{model: m}]}
        """,
        "deployments[0].api_key.file: string should have at least 1 character",
    ),
    (
        "secret ref with an unknown key",
        """\
        deployments:
          - {name: a, kind: openai, api_key: {vault: x}, models: [{model: m}]}
        """,
        "deployments[0].api_key.vault: unknown field; known: env, file",
    ),
    (
        "negative rpm",
        """\
        deployments:
          - {name: a, kind: openai, models: [{model: m, budget: {rpm: -5, tpm: 10}}]}
        """,
        "deployments[0].models[0].budget.rpm: input should be greater than 0",
    ),
    (
        "unknown tier",
        """\
        models:
          - {provider: acme, model: m, tier: premium, context_window: 8000,
             max_output_tokens: 1000, input: 0.1, output: 0.2}
        """,
        "models[0].tier: input should be 'frontier' or 'efficient'",
    ),
    (
        "unknown section",
        """\
        deployment:
          - {name: a, kind: openai, models: [{model: m}]}
        """,
        "deployment: unknown field (did you mean deployments?)",
    ),
    (
        "bad tenant name",
        """\
        tenants:
          Acme Corp: {tpm: 5}
        """,
        "tenant name 'Acme Corp' is not a lowercase name",
    ),
    (
        "bad tenant quota",
        """\
        tenants:
          acme: {tmp: 5}
        """,
        "tenants.acme.tmp: unknown field (did you mean tpm?)",
    ),
    (
        "bad base_url scheme",
        """\
        deployments:
          - {name: a, kind: openai-compatible, base_url: "ftp://x", models: [{model: m}]}
        """,
        "deployments[0].base_url: string should match pattern '^https?://'",
    ),
    (
        "bad deployment name",
        """\
        deployments:
          - {name: EU_West, kind: openai, models: [{model: m}]}
        """,
        "deployments[0].name: string should match pattern '^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$'",
    ),
    (
        "wrong version",
        "version: 2\n",
        "version: input should be 1",
    ),
    (
        "deployments not a list",
        "deployments: {name: a}\n",
        "deployments: input should be a valid list",
    ),
    (
        "bad routing strategy",
        "routing: {strategy: random}\n",
        "routing.strategy: input should be 'headroom' or 'ordered'",
    ),
    (
        "cache threshold out of range",
        "cache: {semantic_threshold: 0.2}\n",
        "cache.semantic_threshold: input should be greater than or equal to 0.5",
    ),
    (
        "top-level list",
        "- deployments\n- tenants\n",
        "the top level must be a mapping of sections (deployments:, …), not a list",
    ),
    (
        "top-level scalar",
        "hello\n",
        "the top level must be a mapping of sections (deployments:, …), not a single str value",
    ),
    (
        "empty file",
        "",
        "the file is empty (an empty configuration is `version: 1`)",
    ),
]

#: (case, file text, the one line after "FILE"): position, then problem.
BAD_YAML = [
    (
        "tab",
        "deployments:\n\t- name: a\n",
        ":2:1: while scanning for the next token, found character '\\t' that cannot start "
        "any token, YAML indents with spaces, never tabs",
    ),
    (
        "unclosed bracket",
        f"deployments: [{{name: a, api_key: {SECRET}\n",
        ":2:1: while parsing a flow mapping, expected ',' or '}', but got '<stream end>'",
    ),
    (
        "bad indentation",
        f"tenants:\n  acme: {{tpm: 5}}\n bad: {SECRET}\n",
        ":3:2: while parsing a block mapping, expected <block end>, "
        "but found '<block mapping start>'",
    ),
    (
        "duplicate section",
        "tenants: {a: {tpm: 1}}\ntenants: {b: {tpm: 2}}\n",
        ":2:1: key 'tenants' appears twice in one mapping",
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = str(info.value)
    assert "\n" not in line and "Traceback" not in line
    assert SECRET not in line and "sk-live" not in line
    return line


def test_a_good_file_loads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    assert [d.name for d in config.deployments] == ["openai-us", "azure-eu"]
    assert config.deployments[1].kind is DeploymentKind.AZURE_OPENAI
    assert config.deployments[1].models[0].model == "openai/gpt-4.1"  # provider/model form
    assert config.tenants["*"].tpm == 50_000


@pytest.mark.parametrize(("case", "text", "expected"), BROKEN, ids=[c[0] for c in BROKEN])
def test_a_broken_file_is_one_line(case: str, text: str, expected: str, tmp_path: Path) -> None:
    path = _write(tmp_path, text)
    assert _error(path) == f"{path}: {expected}"


@pytest.mark.parametrize(("case", "text", "expected"), BAD_YAML, ids=[c[0] for c in BAD_YAML])
def test_bad_yaml_is_file_line_column(case: str, text: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(text)
    assert _error(path) == f"{path}{expected}"


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert _error(missing) == f"{missing}: cannot read: No such file or directory"
    assert _error(tmp_path) == f"{tmp_path}: cannot read: Is a directory"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"tenants: \xff\xfe\n")
    assert _error(binary) == f"{binary}: not UTF-8 text (byte 9)"


def test_a_control_character_is_refused_without_the_line(tmp_path: Path) -> None:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(f'api_key: "{SECRET}\x07"\n')
    assert "not readable as YAML: special characters are not allowed" in _error(path)


def test_many_problems_are_counted_not_listed(tmp_path: Path) -> None:
    deployments = "\n".join(
        f"  - {{name: d{i}, kind: nope, models: [{{model: m}}]}}" for i in range(12)
    )
    line = _error(_write(tmp_path, "deployments:\n" + deployments + "\n"))
    assert line.count("input should be") == 8 and line.endswith("; and 4 more")


def test_the_explicit_empty_configuration_is_valid(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "version: 1\n")) == AgentQueueConfig()
    assert load_config(_write(tmp_path, "{}\n")) == AgentQueueConfig()


def test_the_cache_reads_again_only_when_the_file_changes(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    first = cached_config(path)
    assert cached_config(path) is first
    path.write_text(GOOD.replace("50000", "60000"))
    second = cached_config(path)
    assert second is not first and second.tenants["*"].tpm == 60_000


@pytest.mark.parametrize(
    ("loc", "shown"),
    [
        (("deployments", 2, "budget", "rpm"), "deployments[2].budget.rpm"),
        (("tenants", "acme-eu", "tpm"), "tenants.acme-eu.tpm"),
        (("tenants", "a b"), 'tenants["a b"]'),
        ((), ""),
    ],
)
def test_paths_read_like_the_file(loc: tuple[int | str, ...], shown: str) -> None:
    assert format_path(loc) == shown

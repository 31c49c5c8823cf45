"""Schemathesis against the gateway's own OpenAPI document, served for real.

Every operation, with generated valid and invalid requests under a valid API key (the
admin routes under the bootstrap admin key, so their answers beyond 403 are checked): no
answer may be a server error (5xx other than the documented 502/503 of an unavailable
dependency — and here nothing is unavailable), and every status must be one the
document lists for that operation. Examples are bounded so the whole run stays within
about a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1
from tests.servers import serving

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

ADMIN_KEY = "schemathesis-admin-key-0123456789"

#: Generated requests per operation and mode (valid data, invalid data).
EXAMPLES = 40


@pytest.fixture
def gateway_url(redis_url: str, simulator: Any) -> Iterator[str]:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1}"),
        admin_key=SecretStr(ADMIN_KEY),
        simulator_url=simulator.url,
        max_body_bytes=64 * 1024,
        events_keepalive=0.2,
    )
    with serving(create_app(settings), name="gateway") as url:
        yield url


def test_no_server_errors_and_no_undocumented_statuses(gateway_url: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import status_code_conformance

    schema = schemathesis.openapi.from_url(f"{gateway_url}/openapi.json")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {KEY_T1}"
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    failures: dict[str, str] = {}
    requests_made = 0

    def check(operation: Any, mode: Any) -> None:
        label = f"{operation.label} [{mode.value}]"

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        def run(case: Any) -> None:
            nonlocal requests_made
            requests_made += 1
            try:
                case.call_and_validate(
                    session=admin if operation.path.startswith("/admin/") else session,
                    checks=[not_a_server_error, status_code_conformance],
                    timeout=10,
                )
            except (AssertionError, FailureGroup) as exc:
                failures.setdefault(label, str(exc)[:2000])

        try:
            run()
        except hypothesis.errors.Unsatisfiable:  # nothing to make invalid (no input)
            assert mode is GenerationMode.NEGATIVE

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            check(operation, mode)
    print(f"schemathesis: {len(operations)} operations, {requests_made} requests")
    assert len(operations) >= 14
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())

"""Webhook signatures (Standard Webhooks) and the URL guard against private addresses."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks

from agentqueue.core.tasks.urlguard import UnsafeURL, check_url, refusal
from agentqueue.core.tasks.webhooks import (
    WebhookVerificationError,
    generate_secret,
    secret_key,
    verify_webhook,
    webhook_headers,
)

SECRET = generate_secret()
BODY = json.dumps({"id": "task_1", "status": "succeeded", "result": {"text": "hi"}}).encode()


def test_a_signed_delivery_verifies_and_returns_the_payload() -> None:
    headers = webhook_headers(SECRET, "task_1_succeeded", BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert verify_webhook(SECRET, headers, BODY) == json.loads(BODY)
    # Header names are case-insensitive, as HTTP says.
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify_webhook(SECRET, upper, BODY.decode())["id"] == "task_1"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"hi", b"ho")), id="body"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "task_2_succeeded"}, b), id="id"),
        pytest.param(
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
            id="timestamp",
        ),
        pytest.param(
            lambda h, b: ({**h, "webhook-signature": h["webhook-signature"][:-6] + "AAAAA="}, b),
            id="signature",
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
            id="no-signature",
        ),
    ],
)
def test_a_tampered_delivery_fails(tamper) -> None:
    headers, body = tamper(webhook_headers(SECRET, "task_1_succeeded", BODY), BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, headers, body)


def test_another_secret_does_not_verify() -> None:
    headers = webhook_headers(SECRET, "task_1_succeeded", BODY)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify_webhook(generate_secret(), headers, BODY)


def test_any_of_several_signatures_may_match_during_a_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    ts = int(time.time())
    signed_old = webhook_headers(old, "m", BODY, timestamp=ts)["webhook-signature"]
    headers = webhook_headers(new, "m", BODY, timestamp=ts)
    headers["webhook-signature"] = f"v2,unknown {signed_old} {headers['webhook-signature']}"
    assert verify_webhook(old, headers, BODY) and verify_webhook(new, headers, BODY)


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_outside_the_tolerance_are_refused(skew: int) -> None:
    now = time.time()
    headers = webhook_headers(SECRET, "m", BODY, timestamp=int(now) + skew)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(SECRET, headers, BODY, now=now)
    assert verify_webhook(SECRET, headers, BODY, tolerance=400, now=now)


def test_the_reference_library_verifies_ours_and_we_verify_its() -> None:
    wh = standardwebhooks.Webhook(SECRET)
    headers = webhook_headers(SECRET, "task_1_succeeded", BODY)
    assert wh.verify(BODY, headers) == json.loads(BODY)

    ts = int(time.time())
    theirs = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": wh.sign("msg_1", datetime.fromtimestamp(ts, tz=UTC), BODY.decode()),
    }
    assert verify_webhook(SECRET, theirs, BODY) == json.loads(BODY)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("plain-text-secret", "starts with"),
        ("whsec_not*base64", "base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
    ],
)
def test_malformed_secrets_are_refused(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        secret_key(secret)


def test_generated_secrets_are_standard_and_distinct() -> None:
    a, b = generate_secret(), generate_secret()
    assert a != b and a.startswith("whsec_") and len(secret_key(a)) == 32


# -- the URL guard ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.5.6.7:8443/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://10.255.3.4/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://192.168.1.10/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://100.64.0.1/", "not globally routable"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://224.0.0.1/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://[::1]/", "loopback"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[fd00::1]/", "private"),
        ("https://[::ffff:169.254.169.254]/", "link-local"),
        ("https://[::ffff:10.0.0.1]/", "private"),
    ],
)
async def test_private_and_special_addresses_are_refused_by_default(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL, match=reason):
        await check_url(url)


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(UnsafeURL, match=r"'localhost' resolves to .*loopback"):
        await check_url("https://localhost/hook")


async def test_public_addresses_pass() -> None:
    assert [str(a) for a in await check_url("https://93.184.215.14/hook")] == ["93.184.215.14"]
    assert refusal(__import__("ipaddress").ip_address("2606:4700::1111")) is None


async def test_configuration_may_allow_private_addresses() -> None:
    addresses = await check_url("https://127.0.0.1:9/hook", allow_private=True)
    assert [str(a) for a in addresses] == ["127.0.0.1"]


async def test_plain_http_only_when_allowed() -> None:
    with pytest.raises(UnsafeURL, match="https"):
        await check_url("http://93.184.215.14/hook")
    assert await check_url("http://93.184.215.14/hook", allow_http=True)
    with pytest.raises(UnsafeURL, match="https or http"):
        await check_url("ftp://93.184.215.14/", allow_http=True)


async def test_an_unresolvable_name_is_refused_as_retryable() -> None:
    with pytest.raises(UnsafeURL, match="cannot resolve") as info:
        await check_url("https://no-such-host.invalid/hook")
    assert info.value.retryable

"""``agentqueue keys``: locally on Redis, and through a gateway's admin API."""

from __future__ import annotations

import argparse

import pytest
import redis
from pydantic import SecretStr

from agentqueue.cli import keys
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.servers import serving

ADMIN_KEY = "cli-admin-key-0123456789abc"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    keys.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["keys", *argv])


def test_keys_through_the_gateway_admin_api(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = GatewaySettings(redis_url=SecretStr(redis_url), admin_key=SecretStr(ADMIN_KEY))
    with serving(create_app(settings), name="gateway") as url:
        monkeypatch.delenv("AGENTQUEUE_ADMIN_KEY", raising=False)
        assert keys.run(parse("--gateway", url, "list")) == 2  # no admin key: refused
        monkeypatch.setenv("AGENTQUEUE_ADMIN_KEY", ADMIN_KEY)
        code = keys.run(
            parse("--gateway", url, "create", "--tenant", "acme", "--rpm", "60", "--tags", "a=b")
        )
        assert code == 0
        key = capsys.readouterr().out.strip()
        assert key.startswith("aq_")
        assert keys.run(parse("--gateway", url, "list", "--tenant", "acme")) == 0
        client = redis.Redis.from_url(redis_url)
        (key_id,) = [k.decode() for k in client.hkeys("aq:apikey:index")]
        assert keys.run(parse("--gateway", url, "rotate", key_id)) == 0
        assert capsys.readouterr().out.strip().startswith("aq_")
        assert keys.run(parse("--gateway", url, "revoke", key_id)) == 1  # rotated: revoked
        actions = [f[b"action"].decode() for _, f in client.xrange("aq:audit")]
        assert actions == ["key.create", "key.rotate"]
        monkeypatch.setenv("AGENTQUEUE_ADMIN_KEY", "not-the-admin-key-0123456")
        assert keys.run(parse("--gateway", url, "list")) == 1


def test_keys_locally(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    assert (
        keys.run(parse("create", "--tenant", "t", "--models", "gpt-x", "--usd-per-day", "5")) == 0
    )
    assert capsys.readouterr().out.strip().startswith("aq_")
    client = redis.Redis.from_url(redis_url)
    (key_id,) = [k.decode() for k in client.hkeys("aq:apikey:index")]
    assert keys.run(parse("list")) == 0
    assert keys.run(parse("revoke", key_id)) == 0
    assert keys.run(parse("revoke", key_id)) == 1

"""When the cache is read, written, and for how long."""

from __future__ import annotations

from agentqueue.core.cache.policy import CachePolicy
from agentqueue.core.llm.messages import CacheControl, ChatMessage, CompletionRequest

REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Hi")], temperature=0)


def _with(**control: object) -> CompletionRequest:
    return REQUEST.model_copy(update={"cache": CacheControl(**control)})


def test_deterministic_requests_are_read_and_stored_for_the_default_ttl() -> None:
    d = CachePolicy(default_ttl=60).decide(REQUEST, "acme")
    assert (d.read, d.store, d.ttl, d.semantic) == (True, True, 60, False)


def test_sampled_requests_bypass_unless_opted_in() -> None:
    for temperature in (None, 0.2, 1.0):
        sampled = REQUEST.model_copy(update={"temperature": temperature})
        d = CachePolicy().decide(sampled, "acme")
        assert not d.read and not d.store and d.reason == "nondeterministic"
        opted = sampled.model_copy(update={"cache": CacheControl(allow_nondeterministic=True)})
        assert CachePolicy().decide(opted, "acme").store
        assert CachePolicy(nondeterministic=True).decide(sampled, "acme").store


def test_ttl_comes_from_the_request_then_the_tenant_then_the_default() -> None:
    policy = CachePolicy(default_ttl=100, tenant_ttls={"acme": 10})
    assert policy.decide(_with(ttl=5), "acme").ttl == 5
    assert policy.decide(REQUEST, "acme").ttl == 10
    assert policy.decide(REQUEST, "globex").ttl == 100
    assert CachePolicy(default_ttl=100, tenant_ttls={"*": 7}).decide(REQUEST, "globex").ttl == 7


def test_a_zero_ttl_or_no_store_stores_nothing_but_may_read() -> None:
    for d in (
        CachePolicy().decide(_with(ttl=0), None),
        CachePolicy().decide(_with(no_store=True), None),
    ):
        assert d.read and not d.store


def test_no_cache_skips_the_read_but_stores() -> None:
    d = CachePolicy().decide(_with(no_cache=True), None)
    assert not d.read and d.store


def test_disabled_bypasses_everything() -> None:
    d = CachePolicy(enabled=False).decide(_with(semantic=True), "acme")
    assert (d.read, d.store, d.semantic) == (False, False, False)


def test_semantic_is_opt_in_per_tenant_or_request() -> None:
    assert not CachePolicy().decide(REQUEST, "acme").semantic
    assert CachePolicy(semantic_tenants=("acme",)).decide(REQUEST, "acme").semantic
    assert not CachePolicy(semantic_tenants=("acme",)).decide(REQUEST, "globex").semantic
    assert CachePolicy().decide(_with(semantic=True), "globex").semantic
    assert not CachePolicy(semantic=True).decide(_with(semantic=False), "acme").semantic

"""The catalog's layers: genai-prices' prices, catalog.json's entries and overrides, the
config file's models and aliases."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import genai_prices
import pytest

from agentqueue.core.config.schema import ModelEntry
from agentqueue.core.llm.catalog import Catalog, UnknownModel, load_catalog
from agentqueue.core.llm.messages import Tier, Usage

PACKAGED = resources.files("agentqueue.core.llm").joinpath("catalog.json").read_text()
DATA = json.loads(PACKAGED)
NOW = datetime.now(UTC)


def _genai_cost(provider: str, model: str, usage: Usage) -> Decimal:
    """What genai-prices itself charges (its input_tokens count the cached ones too)."""
    counted = genai_prices.Usage(
        input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
    )
    return genai_prices.calc_price(
        counted, model, provider_id=provider, genai_request_timestamp=NOW
    ).total_price


USAGES = [
    Usage(input_tokens=1_234, output_tokens=567),
    Usage(input_tokens=800, output_tokens=90, cache_read_tokens=20_000, cache_write_tokens=3_000),
    Usage(input_tokens=150_000, output_tokens=4_000, cache_read_tokens=120_000),  # past 200k
]


# -- prices ----------------------------------------------------------------------------


def test_the_catalog_was_reviewed_against_the_installed_genai_prices() -> None:
    """Upgrading genai-prices (scripts/lock) means reviewing catalog.json's overrides and
    entries against its data, then recording the version and the date here."""
    assert DATA["prices_from"] == "genai-prices"
    assert DATA["genai_prices_version"] == genai_prices.__version__
    catalog = load_catalog()
    assert catalog.prices_as_of == DATA["prices_as_of"]
    datetime.strptime(catalog.prices_as_of, "%Y-%m-%d")  # a date
    assert catalog.source.startswith(f"genai-prices {genai_prices.__version__} ")


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
    ],
)
def test_default_models_cost_what_genai_prices_says(model: str) -> None:
    """These take genai-prices' prices unchanged: an override put on one fails here."""
    info = load_catalog().get(model)
    assert info.price_source == f"genai-prices {genai_prices.__version__}"
    for usage in USAGES:
        assert info.cost_usd(usage) == _genai_cost(info.provider, model, usage), usage


def test_every_packaged_price_is_genai_prices_or_a_reasoned_override() -> None:
    catalog = load_catalog()
    for entry in DATA["models"]:
        if entry.get("kind") == "embedding":
            info: Any = catalog.embedding_model(entry["model"])
            assert info.input == _genai_cost(
                info.provider, info.model, Usage(input_tokens=1_000_000)
            )
            continue
        info = catalog.get(entry["model"])
        overridden = {k for k in ("input", "output", "cache_read", "cache_write") if k in entry}
        if not overridden:
            for usage in USAGES:
                assert info.cost_usd(usage) == _genai_cost(info.provider, info.model, usage)
            continue
        assert "override" in info.price_source and entry["why"] in info.price_source
        fresh = Catalog.from_json(
            json.dumps(
                {**DATA, "models": [{k: v for k, v in entry.items() if k not in overridden}]}
            )
        ).get(entry["model"])
        stale = [k for k in overridden if getattr(fresh, k) == getattr(info, k)]
        assert not stale, f"{entry['model']}: genai-prices now says the same {stale}: drop it"


def test_packaged_prices_known_today() -> None:
    """A few literal prices (USD per million tokens), so that a change is seen in review."""
    catalog = load_catalog()
    sonnet = catalog.get("claude-sonnet-4-6")
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write) == (
        3,
        15,
        Decimal("0.3"),
        Decimal("3.75"),
    )
    gpt = catalog.get("gpt-4.1")  # OpenAI charges a cache write as input
    assert (gpt.input, gpt.output, gpt.cache_read, gpt.cache_write) == (2, 8, Decimal("0.5"), 2)
    flash = catalog.get("gemini-2.5-flash")
    assert (flash.input, flash.output, flash.cache_read) == (
        Decimal("0.3"),
        Decimal("2.5"),
        Decimal("0.03"),
    )


def test_cost_with_cache_reads_writes_and_a_long_prompt_tier() -> None:
    pro = load_catalog().get("gemini-2.5-pro")
    assert pro.tiers and pro.tiers[0].above_input_tokens == 200_000
    short = Usage(input_tokens=100_000, output_tokens=1_000_000, cache_read_tokens=100_000)
    assert pro.cost_usd(short) == Decimal("0.125") + 10 + Decimal("0.0125")
    # one token more and the whole call is at the long-prompt prices (as Google bills)
    long = Usage(input_tokens=100_001, output_tokens=1_000_000, cache_read_tokens=100_000)
    assert (
        pro.cost_usd(long)
        == (Decimal("100001") * Decimal("2.5") + 1_000_000 * 15 + 100_000 * Decimal("0.25"))
        / 1_000_000
    )
    sonnet = load_catalog().get("claude-sonnet-4-6")
    usage = Usage(
        input_tokens=10, output_tokens=20, cache_read_tokens=1_000, cache_write_tokens=2_000
    )
    assert (
        sonnet.cost_usd(usage)
        == (10 * 3 + 20 * 15 + 1_000 * Decimal("0.3") + 2_000 * Decimal("3.75")) / 1_000_000
    )


def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the catalog opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert Catalog.from_json(PACKAGED).get("gpt-4.1").input == 2


def test_prices_are_taken_for_the_moment_given() -> None:
    """genai-prices dates price changes: o3 cost $10/$40 until 2025-06-10."""
    before = Catalog.from_json(PACKAGED, at=datetime(2025, 6, 1, tzinfo=UTC)).get("o3")
    after = Catalog.from_json(PACKAGED, at=datetime(2025, 6, 11, tzinfo=UTC)).get("o3")
    assert (before.input, before.output) == (10, 40)
    assert (after.input, after.output) == (2, 8)


def _genai_file(*models: dict[str, Any]) -> str:
    return json.dumps(
        {"prices_as_of": "2026-11-30", "prices_from": "genai-prices", "models": list(models)}
    )


ENTRY = {
    "provider": "openai",
    "model": "gpt-4.1",
    "tier": "frontier",
    "context_window": 1000,
    "max_output_tokens": 100,
}


def test_an_override_needs_a_reason_and_says_it() -> None:
    with pytest.raises(ValueError, match=r"gpt-4\.1: overrides genai-prices' input price"):
        Catalog.from_json(_genai_file({**ENTRY, "input": 1.5}))
    info = Catalog.from_json(
        _genai_file({**ENTRY, "input": 1.5, "why": "our negotiated rate"})
    ).get("gpt-4.1")
    assert (info.input, info.output) == (Decimal("1.5"), 8)  # the rest still genai-prices'
    assert info.price_source.endswith("catalog.json override: our negotiated rate")


def test_an_override_on_a_tiered_model_is_flat() -> None:
    entry = {**ENTRY, "provider": "google", "model": "gemini-2.5-pro", "input": 2, "why": "x"}
    info = Catalog.from_json(_genai_file(entry)).get("gemini-2.5-pro")
    assert [t.input for t in info.tiers] == [2] and info.tiers[0].output == 15


def test_a_model_genai_prices_does_not_know_needs_its_prices() -> None:
    unknown = {**ENTRY, "provider": "acme", "model": "acme-1"}
    with pytest.raises(ValueError, match=r"acme-1: genai-prices .* does not know it"):
        Catalog.from_json(_genai_file(unknown))
    info = Catalog.from_json(_genai_file({**unknown, "input": 1, "output": 2})).get("acme-1")
    assert (info.cache_read, info.cache_write, info.price_source) == (1, 1, "catalog.json")


def test_a_file_without_prices_from_is_self_contained() -> None:
    text = json.dumps({"prices_as_of": "2025-01-01", "models": [{**ENTRY, "input": 9}]})
    with pytest.raises(ValueError, match="give its output price"):
        Catalog.from_json(text)
    catalog = Catalog.from_json(
        json.dumps({"prices_as_of": "2025-01-01", "models": [{**ENTRY, "input": 9, "output": 9}]})
    )
    assert catalog.get("gpt-4.1").input == 9 and catalog.source == "catalog file"
    assert catalog.prices_as_of == "2025-01-01"


# -- models ----------------------------------------------------------------------------


def test_default_models_per_provider_and_tier_are_unchanged() -> None:
    catalog = load_catalog()
    defaults = {
        (p, t.value): catalog.default_model(p, t).model
        for p in ("anthropic", "openai", "google")
        for t in Tier
    }
    assert defaults == {
        ("anthropic", "frontier"): "claude-sonnet-4-6",
        ("anthropic", "efficient"): "claude-haiku-4-5",
        ("openai", "frontier"): "gpt-4.1",
        ("openai", "efficient"): "gpt-4.1-mini",
        ("google", "frontier"): "gemini-2.5-pro",
        ("google", "efficient"): "gemini-2.5-flash",
    }


def test_current_models_of_each_provider_are_listed() -> None:
    names = {m.model for m in load_catalog().models}
    assert {"claude-opus-4-6", "claude-opus-4-5", "claude-sonnet-4-5"} <= names
    assert {"gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"} <= names
    assert {"gemini-2.5-flash-lite"} <= names
    o3 = load_catalog().get("o3")
    assert o3.tier is Tier.FRONTIER and o3.capabilities == {
        "tools",
        "vision",
        "json_schema",
        "thinking",
    }


# -- aliases ---------------------------------------------------------------------------


def test_provider_model_and_dated_aliases_give_the_canonical_entry() -> None:
    catalog = load_catalog()
    for alias, model in [
        ("openai/gpt-4.1", "gpt-4.1"),
        ("anthropic/claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("google/gemini-2.5-flash", "gemini-2.5-flash"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ]:
        assert catalog.get(alias) is catalog.get(model)
        assert catalog.get(alias).model == model
        assert alias in catalog.names()
    assert (
        catalog.embedding_model("openai/text-embedding-3-small").model == "text-embedding-3-small"
    )
    with pytest.raises(UnknownModel):
        catalog.get("openai/text-embedding-3-small")  # an embedding model: never a chat one
    with pytest.raises(UnknownModel, match="did you mean"):
        catalog.get("gpt-4.1-mni")


def test_dated_aliases_are_the_model_genai_prices_matches() -> None:
    """A typo in an alias, or a snapshot priced apart from its model, fails here."""
    for entry in DATA["models"]:
        for alias in entry.get("aliases", []):
            model = genai_prices.calc_price(
                genai_prices.Usage(), alias, provider_id=entry["provider"]
            ).model
            canonical = genai_prices.calc_price(
                genai_prices.Usage(), entry["model"], provider_id=entry["provider"]
            ).model
            assert model.id == canonical.id, alias


def test_user_aliases() -> None:
    catalog = load_catalog(
        aliases=(
            ("sonnet", "claude-sonnet-4-6"),
            ("smart", "sonnet"),
            ("cheap", "openai/gpt-4.1-mini"),
            ("vectors", "text-embedding-3-small"),
        )
    )
    assert catalog.get("sonnet").model == "claude-sonnet-4-6"
    assert catalog.get("smart").model == "claude-sonnet-4-6"  # through another alias
    assert catalog.get("cheap").model == "gpt-4.1-mini"  # through a built-in one
    assert catalog.embedding_model("vectors").model == "text-embedding-3-small"
    assert {"sonnet", "smart", "cheap"} <= set(catalog.names())
    assert "vectors" not in catalog.names()  # names() lists what get() takes
    with pytest.raises(UnknownModel):
        load_catalog().get("sonnet")  # the packaged catalog is left alone


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ((("sonnet", "claude-sonnet-9"),), "alias 'sonnet' names 'claude-sonnet-9', which is not"),
        ((("gpt-4.1", "gpt-4.1-mini"),), "alias 'gpt-4.1' shadows the model"),
        ((("frontier", "gpt-4.1"),), "alias 'frontier' is a tier's name"),
        ((("openai/gpt-4.1", "gpt-4o"),), "alias 'openai/gpt-4.1' already names 'gpt-4.1'"),
        ((("a", "b"), ("b", "a")), "alias 'a' names 'b': aliases in a circle"),
        ((("a", "gpt-4o"), ("a", "o3")), "alias 'a' is given twice"),
    ],
)
def test_a_wrong_user_alias_is_an_error_naming_it(
    aliases: tuple[tuple[str, str], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_catalog(aliases=aliases)


def test_built_in_aliases_are_checked() -> None:
    twice = [{**ENTRY, "aliases": ["x"]}, {**ENTRY, "model": "gpt-4o", "aliases": ["x"]}]
    with pytest.raises(ValueError, match="alias 'x' is given to two models"):
        Catalog.from_json(_genai_file(*twice))
    shadow = [ENTRY, {**ENTRY, "model": "gpt-4o", "aliases": ["gpt-4.1"]}]
    with pytest.raises(ValueError, match=r"alias 'gpt-4\.1' shadows the model"):
        Catalog.from_json(_genai_file(*shadow))


# -- the user's own entries ------------------------------------------------------------


def _entry(**fields: Any) -> ModelEntry:
    base: dict[str, Any] = {
        "provider": "local",
        "model": "llama-3.3-70b",
        "tier": "efficient",
        "context_window": 131072,
        "max_output_tokens": 8192,
        "input": 0,
        "output": 0,
    }
    return ModelEntry(**(base | fields))


def test_a_user_model_is_added_with_its_provider_and_aliases() -> None:
    catalog = load_catalog(extra=(_entry(),), aliases=(("llama", "llama-3.3-70b"),))
    llama = catalog.get("local/llama-3.3-70b")
    assert catalog.get("llama") is llama and llama.provider == "local"
    assert catalog.default_model("local", Tier.EFFICIENT) is llama
    assert llama.cost_usd(Usage(input_tokens=10**6, output_tokens=10**6)) == 0
    assert llama.price_source == "config file" and llama.capabilities is None  # unstated
    assert catalog.models[-1] is llama  # after the packaged ones: no default changes
    assert catalog.default_model("openai", Tier.EFFICIENT).model == "gpt-4.1-mini"
    assert "config file" in catalog.source


def test_a_user_entry_replaces_the_packaged_one_in_its_place() -> None:
    mine = _entry(
        provider="openai",
        model="gpt-4.1-mini",
        input=0.3,
        output=1.2,
        cache_read=0.05,
        capabilities=["tools"],
    )
    catalog = load_catalog(extra=(mine,))
    info = catalog.get("openai/gpt-4.1-mini")
    assert (info.input, info.output, info.cache_read) == (
        Decimal("0.3"),
        Decimal("1.2"),
        Decimal("0.05"),
    )
    assert info.cache_write == Decimal("0.3")  # left out: the input price, never free
    assert info.capabilities == {"tools"} and info.tier is Tier.EFFICIENT
    packaged = load_catalog()
    assert [m.model for m in catalog.models] == [m.model for m in packaged.models]
    assert catalog.default_model("openai", Tier.EFFICIENT) is info
    assert packaged.get("gpt-4.1-mini").input == Decimal("0.4")  # untouched


def test_a_user_model_named_like_a_dated_alias_takes_the_name() -> None:
    catalog = load_catalog(
        extra=(_entry(provider="anthropic", model="claude-sonnet-4-5-20250929"),)
    )
    assert catalog.get("claude-sonnet-4-5-20250929").provider == "anthropic"
    assert catalog.get("claude-sonnet-4-5-20250929").model == "claude-sonnet-4-5-20250929"


def test_wrong_user_entries_are_errors_naming_them() -> None:
    with pytest.raises(ValueError, match=r"'llama-3\.3-70b' is given twice"):
        load_catalog(extra=(_entry(), _entry()))
    with pytest.raises(ValueError, match="'text-embedding-3-small' is an embedding model"):
        load_catalog(extra=(_entry(model="text-embedding-3-small"),))


def test_load_catalog_is_cached_per_arguments() -> None:
    extra, aliases = (_entry(),), (("llama", "llama-3.3-70b"),)
    first = load_catalog(extra=extra, aliases=aliases)
    assert load_catalog(extra=(_entry(),), aliases=aliases) is first  # equal, not the same
    assert load_catalog(extra=extra) is not first
    assert load_catalog() is load_catalog(None)
    # a cache price left out is not a zero one: not the same key
    assert load_catalog(extra=(_entry(cache_read=0),)) is not load_catalog(extra=extra)

"""The model catalog: which models exist, their tier, window, capabilities and price.

Three layers, later ones winning:

1. **Prices from a maintained source.** The packaged ``catalog.json`` says
   ``"prices_from": "genai-prices"``: an entry that gives no price takes the prices
   the installed ``genai-prices`` package bundles for it (:mod:`.prices`; its bundled data
   only, never the network), resolved for the moment the catalog is loaded.
2. **Our local layer**, ``catalog.json`` beside this module (or the file named by
   ``AGENTQUEUE_CATALOG``): what genai-prices cannot say — each model's tier, context
   window, output limit, capabilities, built-in aliases, which models we offer and in
   which preference order (file order: the first entry of a provider and tier is its
   default) — and explicit price overrides where we know better, each with its ``why``.
   A file without ``prices_from`` is self-contained: every entry gives its prices.
3. **The user's own entries** from the config file (``models:`` and ``aliases:``,
   :func:`load_catalog`'s ``extra`` and ``aliases``): a ``ModelEntry`` adds a model (any
   provider name: a self-hosted Llama at $0 behind an openai-compatible deployment) or
   replaces the packaged entry of the same name, in its place.

Names: :meth:`Catalog.get` takes a model's name or any alias of it — ``provider/model``
(``openai/gpt-4.1``) for every model, the dated snapshot names a ``catalog.json`` entry
lists (``claude-sonnet-4-5-20250929``), and the user's (``sonnet: claude-sonnet-4-6``) —
and returns the canonical entry (its ``.model`` is the name sent to the provider). An
alias resolving to nothing, or named like a model, is refused on load, naming it.

Cost is computed here and only here, as exact decimals (:meth:`ModelInfo.cost_usd`).
Each model also lists what it can do (``capabilities``: "tools", "vision",
"json_schema", "thinking"), so that fallback never sends a request to a model that would
have to drop part of it; :func:`capabilities_needed` says what a request asks for.

Embedding models are entries of ``"kind": "embedding"`` (chat is the default kind): they
have no tier and no output, only an input price, a default vector size and an input
limit. They are kept apart (:attr:`Catalog.embedding_models`) so that nothing choosing a
chat model — :meth:`Catalog.default_model`, :meth:`Catalog.get`, routing — can pick one.
"""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from agentqueue.core.config.schema import AgentQueueConfig, ModelEntry
from agentqueue.core.llm import prices as price_source
from agentqueue.core.llm.messages import CompletionRequest, Tier, Usage
from agentqueue.core.llm.prices import PRICE_KEYS, PriceTier

_PER_TOKEN = Decimal(1_000_000)
#: The capabilities a catalog entry may list (another word is a typo, refused on load).
CAPABILITIES = frozenset({"tools", "vision", "json_schema", "thinking"})
#: Names no alias may take: the tiers, which the APIs accept in place of a model.
RESERVED_NAMES = frozenset(t.value for t in Tier)
#: The ``price_source`` of a model from the user's config file.
CONFIG_SOURCE = "config file"


@dataclass(frozen=True)
class ModelInfo:
    """One model's entry; prices are USD per million tokens."""

    provider: str
    model: str
    tier: Tier
    context_window: int
    max_output_tokens: int
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    #: What the model can do; None when its entry does not say (a catalog file written
    #: before capabilities were listed), which is taken as able to do anything.
    capabilities: frozenset[str] | None = None
    #: Higher prices for a call whose prompt passes a threshold (ascending); the fields
    #: above are the prices below the first.
    tiers: tuple[PriceTier, ...] = ()
    #: Where the prices come from: ``genai-prices 0.2.3``, ``catalog.json``,
    #: ``catalog.json override: <why>``, ``config file``.
    price_source: str = ""

    def supports(self, needed: Iterable[str]) -> bool:
        """Whether the model has every capability in ``needed``."""
        return self.capabilities is None or self.capabilities.issuperset(needed)

    def cost_usd(self, usage: Usage) -> Decimal:
        """What ``usage`` costs on this model, in USD (exact decimal, not float). Past a
        tier's threshold (prompt = input + cache reads + cache writes) every token of the
        call is at that tier's prices."""
        rates: ModelInfo | PriceTier = self
        prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        for tier in self.tiers:
            if prompt > tier.above_input_tokens:
                rates = tier
        return (
            usage.input_tokens * rates.input
            + usage.output_tokens * rates.output
            + usage.cache_read_tokens * rates.cache_read
            + usage.cache_write_tokens * rates.cache_write
        ) / _PER_TOKEN


@dataclass(frozen=True)
class EmbeddingModelInfo:
    """One embedding model's entry; ``input`` is USD per million input tokens."""

    provider: str
    model: str
    #: The length of its vectors unless a call asks for fewer.
    dimensions: int
    #: The most tokens one input may have.
    max_input_tokens: int
    input: Decimal
    price_source: str = ""

    def cost_usd(self, input_tokens: int) -> Decimal:
        """What embedding ``input_tokens`` costs on this model, in USD."""
        return input_tokens * self.input / _PER_TOKEN


class UnknownModel(LookupError):
    """The catalog has no such model, or no model for that provider and tier."""


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


class _Reader:
    """Reads one catalog file's entries, taking unstated prices from genai-prices when
    the file says ``prices_from``."""

    def __init__(self, data: Mapping[str, Any], at: datetime | None) -> None:
        source = data.get("prices_from")
        if source not in (None, "genai-prices"):
            raise ValueError(f"unknown prices_from {source!r} (only genai-prices is known)")
        self.genai = source == "genai-prices"
        self.at = at or datetime.now(UTC)
        self.version = price_source.package_version() if self.genai else ""
        self.reviewed = str(data.get("genai_prices_version", ""))

    @property
    def source(self) -> str:
        if not self.genai:
            return "catalog file"
        reviewed = (
            f" (the catalog was reviewed against {self.reviewed})"
            if self.reviewed and self.reviewed != self.version
            else ""
        )
        return f"genai-prices {self.version} bundled data, with catalog.json's entries{reviewed}"

    def chat(self, m: Mapping[str, Any]) -> ModelInfo:
        name = m["model"]
        given = {k: _decimal(m[k]) for k in PRICE_KEYS if k in m}
        found = price_source.lookup(m["provider"], name, self.at) if self.genai else None
        tiers: tuple[PriceTier, ...] = ()
        if found is None:
            missing = [k for k in ("input", "output") if k not in given]
            if missing:
                where = f"genai-prices {self.version} does not know it: " if self.genai else ""
                raise ValueError(f"{name}: {where}give its {' and '.join(missing)} price")
            values = {
                "input": given["input"],
                "output": given["output"],
                "cache_read": given.get("cache_read", given["input"]),
                "cache_write": given.get("cache_write", given["input"]),
            }
            origin = "catalog.json" if self.genai else "catalog file"
        else:
            values = {k: getattr(found, k) for k in PRICE_KEYS}
            origin = f"genai-prices {self.version}"
            tiers = found.tiers
            if given:
                why = m.get("why")
                if not isinstance(why, str) or not why.strip():
                    raise ValueError(
                        f"{name}: overrides genai-prices' {', '.join(sorted(given))} price "
                        'without saying why (give "why")'
                    )
                values.update(given)
                # An overridden price is flat: it replaces that key in every tier too.
                tiers = tuple(replace(t, **given) for t in tiers)  # type: ignore[arg-type]
                origin = f"genai-prices {self.version}, catalog.json override: {why.strip()}"
        capabilities = frozenset(m["capabilities"]) if "capabilities" in m else None
        unknown = (capabilities or frozenset()) - CAPABILITIES
        if unknown:
            raise ValueError(f"{name}: unknown capabilities {sorted(unknown)}")
        return ModelInfo(
            provider=m["provider"],
            model=name,
            tier=Tier(m["tier"]),
            context_window=int(m["context_window"]),
            max_output_tokens=int(m["max_output_tokens"]),
            **values,
            capabilities=capabilities,
            tiers=tiers,
            price_source=origin,
        )

    def embedding(self, m: Mapping[str, Any]) -> EmbeddingModelInfo:
        name = m["model"]
        found = price_source.lookup_embedding(m["provider"], name, self.at) if self.genai else None
        if "input" in m:
            price = _decimal(m["input"])
            if found is not None and not str(m.get("why", "")).strip():
                raise ValueError(f"{name}: overrides genai-prices' input price without saying why")
            origin = "catalog file" if not self.genai else "catalog.json"
            if found is not None:
                origin = f"genai-prices {self.version}, catalog.json override: {m['why']}"
        elif found is not None:
            price, origin = found, f"genai-prices {self.version}"
        else:
            raise ValueError(f"{name}: give its input price")
        return EmbeddingModelInfo(
            provider=m["provider"],
            model=name,
            dimensions=int(m["dimensions"]),
            max_input_tokens=int(m["max_input_tokens"]),
            input=price,
            price_source=origin,
        )


def _from_entry(entry: ModelEntry) -> ModelInfo:
    """A user's entry, taken whole. A cache price left out is the input price (a cache
    token never costs less than a plain one unless the entry says so); capabilities left
    out are unstated (taken as able to do anything), as in a catalog file."""
    given = entry.model_fields_set
    price_in = _decimal(entry.input)
    return ModelInfo(
        provider=entry.provider,
        model=entry.model,
        tier=Tier(entry.tier),
        context_window=entry.context_window,
        max_output_tokens=entry.max_output_tokens,
        input=price_in,
        output=_decimal(entry.output),
        cache_read=_decimal(entry.cache_read) if "cache_read" in given else price_in,
        cache_write=_decimal(entry.cache_write) if "cache_write" in given else price_in,
        capabilities=frozenset(entry.capabilities) if "capabilities" in given else None,
        price_source=CONFIG_SOURCE,
    )


class Catalog:
    """Lookup over the catalog's entries and aliases."""

    def __init__(
        self,
        models: list[ModelInfo],
        prices_as_of: str,
        embedding_models: list[EmbeddingModelInfo] | None = None,
        *,
        source: str = "catalog file",
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        #: The chat models (every tier), in preference order; embedding models are not
        #: among them.
        self.models = models
        #: The date the prices were last checked (the catalog file's ``prices_as_of``).
        self.prices_as_of = prices_as_of
        #: Where the prices come from (``genai-prices 0.2.3 bundled data, with …``).
        self.source = source
        self._by_name = {m.model: m for m in models}
        self.embedding_models = embedding_models or []
        self._embedding_by_name = {m.model: m for m in self.embedding_models}
        names = [m.model for m in models] + [m.model for m in self.embedding_models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"models listed twice in the catalog: {', '.join(dupes)}")
        #: Every alias and the model it names (canonical, chat or embedding).
        self.aliases: dict[str, str] = {}
        for alias, target in (aliases or {}).items():
            self._check_alias(alias, target)
            self.aliases[alias] = target

    def _is_model(self, name: str) -> bool:
        return name in self._by_name or name in self._embedding_by_name

    def _check_alias(self, alias: str, target: str) -> None:
        if not alias:
            raise ValueError("an alias needs a name")
        if alias in RESERVED_NAMES:
            raise ValueError(f"alias {alias!r} is a tier's name: pick another")
        if self._is_model(alias):
            raise ValueError(f"alias {alias!r} shadows the model of that name")
        if not self._is_model(target):
            raise ValueError(f"alias {alias!r} names {target!r}, which is not in the catalog")

    @classmethod
    def from_json(cls, text: str, *, at: datetime | None = None) -> Catalog:
        """The catalog a file's text describes; ``at``: the moment genai-prices' prices
        are taken for (now when not given)."""
        data = json.loads(text)
        kinds = {m.get("kind", "chat") for m in data["models"]} - {"chat", "embedding"}
        if kinds:
            raise ValueError(f"unknown model kinds {sorted(kinds)}")
        reader = _Reader(data, at)
        entries = [m for m in data["models"] if m.get("kind", "chat") == "chat"]
        embedding = [m for m in data["models"] if m.get("kind") == "embedding"]
        models = [reader.chat(m) for m in entries]
        embedding_models = [reader.embedding(m) for m in embedding]
        aliases: dict[str, str] = {}
        for provider, model in [(m.provider, m.model) for m in models] + [
            (m.provider, m.model) for m in embedding_models
        ]:
            aliases[f"{provider}/{model}"] = model
        for m in data["models"]:
            for alias in m.get("aliases", []):
                if aliases.get(alias, m["model"]) != m["model"]:
                    raise ValueError(f"alias {alias!r} is given to two models")
                aliases[alias] = m["model"]
        return cls(
            models,
            prices_as_of=data["prices_as_of"],
            embedding_models=embedding_models,
            source=reader.source,
            aliases=aliases,
        )

    def with_user(
        self, extra: Iterable[ModelEntry] = (), aliases: Iterable[tuple[str, str]] = ()
    ) -> Catalog:
        """This catalog with the config file's entries: each ``ModelEntry`` replaces the
        model of its name in its place or is added after the packaged ones (so a new
        provider's first entry of a tier is that provider's default), and each
        ``(alias, name)`` pair names a model (or one of its aliases)."""
        extra, pairs = list(extra), list(aliases)
        if not extra and not pairs:
            return self
        models = list(self.models)
        index = {m.model: i for i, m in enumerate(models)}
        added: set[str] = set()
        for entry in extra:
            if entry.model in added:
                raise ValueError(f"model {entry.model!r} is given twice in the config file")
            if entry.model in self._embedding_by_name:
                raise ValueError(f"model {entry.model!r} is an embedding model of the catalog")
            added.add(entry.model)
            info = _from_entry(entry)
            if entry.model in index:
                models[index[entry.model]] = info
            else:
                index[entry.model] = len(models)
                models.append(info)
        names = set(index) | set(self._embedding_by_name)
        # A built-in alias yields to a model of the user's named like it.
        merged = {a: t for a, t in self.aliases.items() if a not in names}
        for m in models:
            merged.setdefault(f"{m.provider}/{m.model}", m.model)
        builtin = dict(merged)
        user: dict[str, str] = {}
        for alias, target in pairs:
            if alias in user:
                raise ValueError(f"alias {alias!r} is given twice in the config file")
            user[alias] = target
        for alias, target in user.items():
            resolved, seen = target, {alias}
            while resolved not in names:  # to a model, through other aliases
                if resolved in seen:
                    raise ValueError(f"alias {alias!r} names {target!r}: aliases in a circle")
                if resolved not in builtin and resolved not in user:
                    raise ValueError(
                        f"alias {alias!r} names {target!r}, which is not in the catalog"
                    )
                seen.add(resolved)
                resolved = builtin.get(resolved) or user[resolved]
            if alias in builtin and builtin[alias] != resolved:
                raise ValueError(
                    f"alias {alias!r} already names {builtin[alias]!r} (a built-in alias)"
                )
            if alias in names:
                raise ValueError(f"alias {alias!r} shadows the model of that name")
            merged[alias] = resolved
        return Catalog(
            models,
            self.prices_as_of,
            self.embedding_models,
            source=self.source + (", and the config file's models" if extra else ""),
            aliases=merged,
        )

    def resolve(self, name: str) -> str:
        """The canonical name ``name`` stands for (itself for a model)."""
        if self._is_model(name):
            return name
        try:
            return self.aliases[name]
        except KeyError:
            raise UnknownModel(f"model {name!r} is not in the catalog{self._hint(name)}") from None

    def _hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.75)
        return f" (did you mean {' or '.join(close)}?)" if close else ""

    def get(self, model: str) -> ModelInfo:
        """The chat model named ``model`` or by one of its aliases (its canonical entry)."""
        name = self.resolve(model)
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownModel(f"{model!r} is an embedding model, not a chat model") from None

    def names(self) -> list[str]:
        """Every name :meth:`get` takes: the chat models in catalog order, then their
        aliases, sorted (for error messages and model lists)."""
        chat = [m.model for m in self.models]
        return chat + sorted(a for a, t in self.aliases.items() if t in self._by_name)

    def embedding_model(self, model: str) -> EmbeddingModelInfo:
        """The embedding model named ``model`` (or by an alias); :class:`UnknownModel` for
        any other name (a chat model's included: it cannot embed)."""
        name = self.aliases.get(model, model)
        try:
            return self._embedding_by_name[name]
        except KeyError:
            raise UnknownModel(f"{model!r} is not an embedding model of the catalog") from None

    def default_model(self, provider: str, tier: Tier) -> ModelInfo:
        """The first catalog entry of ``provider`` at ``tier`` (file order is preference)."""
        for m in self.models:
            if m.provider == provider and m.tier == tier:
                return m
        raise UnknownModel(f"no {tier.value} model for provider {provider!r}")

    def cost_usd(self, model: str, usage: Usage) -> Decimal:
        return self.get(model).cost_usd(usage)


def capabilities_needed(request: CompletionRequest) -> frozenset[str]:
    """The capabilities a model needs to answer ``request`` whole: "tools" for tools,
    "vision" for images, "json_schema" for a JSON-schema response format, "thinking" for
    a thinking budget."""
    needed: set[str] = set()
    if request.tools:
        needed.add("tools")
    if any(m.images for m in request.messages):
        needed.add("vision")
    if request.response_format is not None and request.response_format.type == "json_schema":
        needed.add("json_schema")
    if request.thinking_budget is not None:
        needed.add("thinking")
    return frozenset(needed)


_cache: dict[tuple[Any, ...], Catalog] = {}
_cache_lock = threading.Lock()


def _entry_key(entry: ModelEntry) -> tuple[Any, ...]:
    """A hashable key for an entry (its capabilities are a list): its fields and which of
    them were given (a left-out cache price is not a zero one)."""
    return (entry.model_dump_json(), tuple(sorted(entry.model_fields_set)))


def load_catalog(
    path: str | None = None,
    *,
    extra: Sequence[ModelEntry] = (),
    aliases: Sequence[tuple[str, str]] = (),
) -> Catalog:
    """The catalog from ``path`` (or the packaged ``catalog.json``) with the config
    file's models (``extra``: its ``models:``) and aliases (``aliases``: its ``aliases:``
    as ``(alias, model)`` pairs) — ``load_catalog(path, extra=tuple(config.models),
    aliases=tuple(config.aliases.items()))``. Cached: the same arguments give the same
    object; a wrong entry or alias raises ``ValueError`` naming it."""
    key = (path or None, tuple(_entry_key(e) for e in extra), tuple(aliases))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        base_key: tuple[Any, ...] = (path or None, (), ())
        base = _cache.get(base_key)
        if base is None:
            if path:
                text = Path(path).read_text()
            else:
                text = resources.files("agentqueue.core.llm").joinpath("catalog.json").read_text()
            base = _cache[base_key] = Catalog.from_json(text)
        catalog = _cache[key] = base.with_user(extra, aliases)
        return catalog


#: Providers that are also protocol families: a model of one is served by its own kinds.
_PROTOCOLS = ("openai", "anthropic", "google")


def config_problems(config: AgentQueueConfig, path: str | None = None) -> list[str]:
    """What the configuration file says that the catalog contradicts, as ``path: problem``
    fragments (``deployments[1].models[0].model: unknown model 'gpt-41' (did you mean
    …)``): a model or alias the catalog does not know. The schema cannot see these; a
    service would otherwise start and fail its first call, or its budgets."""
    try:
        catalog = load_catalog(
            path, extra=tuple(config.models), aliases=tuple(config.aliases.items())
        )
    except ValueError as exc:  # a wrong model entry or alias: it names itself
        return [f"models/aliases: {exc}"]
    problems = []
    for i, deployment in enumerate(config.deployments):
        for j, served in enumerate(deployment.models):
            try:
                info = catalog.get(served.model)
            except UnknownModel as exc:
                problems.append(f"deployments[{i}].models[{j}].model: {exc}")
                continue
            foreign = info.provider in _PROTOCOLS and info.provider != deployment.kind.protocol
            if foreign and deployment.kind.value != "openai-compatible":
                problems.append(
                    f"deployments[{i}].models[{j}].model: {info.model} is a model of "
                    f"{info.provider}, which a {deployment.kind.value} deployment does not serve"
                )
    return problems

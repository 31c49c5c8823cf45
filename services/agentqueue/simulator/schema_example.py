"""A deterministic example value for a JSON schema: the simulator's tool arguments.

A real model answers a tool offer with arguments its schema accepts, and a structured
output request with JSON its schema accepts. Agent frameworks validate both, so the
simulator must too: :func:`example` builds the smallest plain value that validates —
an object with its required properties (all of them when none is required), the first
``enum`` value or the ``const``, numbers inside their bounds, strings of the right length
and format, ``minItems`` array items, the first branch of ``anyOf``/``oneOf``, ``allOf``
merged, ``$ref`` followed to ``$defs``/``definitions``. Strings are built from the
prompt's words, so an answer reads as if it came from the conversation.

Gemini's OpenAPI-style schemas (upper-case ``"OBJECT"`` types, ``nullable``, integer
bounds sent as strings, snake-case keywords such as ``min_items``) are read too.
``pattern`` is not honoured.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

#: Depth beyond which a (recursive) schema gets its smallest value.
_MAX_DEPTH = 12

_FORMATS = {
    "date": "2025-01-15",
    "date-time": "2025-01-15T12:00:00Z",
    "time": "12:00:00Z",
    "email": "{word}@example.com",
    "idn-email": "{word}@example.com",
    "uri": "https://example.com/{word}",
    "iri": "https://example.com/{word}",
    "uri-reference": "https://example.com/{word}",
    "url": "https://example.com/{word}",
    "hostname": "{word}.example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "duration": "P1D",
}


def example(schema: Any, words: Sequence[str] = ()) -> Any:
    """A value that validates against ``schema``; ``words`` feed its strings."""
    return _Builder(schema, [w for w in words if w]).build(schema, "value", 0, 0)


def _num(value: Any) -> float | None:
    """A bound as a number; Gemini sends int64 bounds as strings."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def _get(schema: dict[str, Any], key: str) -> Any:
    """A keyword, or its snake-case form (``min_items``) as the Gemini SDK sends it."""
    return schema[key] if key in schema else schema.get(_snake(key))


def _type_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [str(k).lower() for k in kind]
        kind = next((k for k in kinds if k != "null"), kinds[0] if kinds else None)
    if isinstance(kind, str):
        return kind.lower()
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


class _Builder:
    def __init__(self, root: Any, words: list[str]) -> None:
        self.root = root
        self.words = words

    def resolve(self, schema: dict[str, Any]) -> Any:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        node: Any = self.root
        for part in ref.lstrip("#").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return {}
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**node, **rest} if rest else node

    def build(self, schema: Any, name: str, depth: int, salt: int) -> Any:
        if depth > 2 * _MAX_DEPTH:  # only a schema no finite value satisfies gets here
            return None
        if schema is True or not isinstance(schema, dict):
            return self.word(name, salt)
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[salt % len(enum)]
        for key in ("anyOf", "oneOf"):
            branches = _get(schema, key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in schema.items() if k not in (key, _snake(key))}
                return self.build(_merge(rest, branches[0]), name, depth, salt)
        parts = _get(schema, "allOf")
        if isinstance(parts, list) and parts:
            merged = {k: v for k, v in schema.items() if k not in ("allOf", "all_of")}
            for part in parts:
                merged = _merge(merged, self.resolve(part) if isinstance(part, dict) else {})
            return self.build(merged, name, depth, salt)
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, depth, salt)
        if kind == "array":
            return self.array(schema, name, depth, salt)
        if kind == "integer":
            return self.integer(schema, salt)
        if kind == "number":
            return self.number(schema, salt)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name, salt)

    def object(self, schema: dict[str, Any], depth: int, salt: int) -> dict[str, Any]:
        props = schema.get("properties") or {}
        required = schema.get("required")
        if depth >= _MAX_DEPTH:
            names = list(required or [])
        else:
            names = list(required) if required else list(props)
        extra = _get(schema, "additionalProperties")
        out: dict[str, Any] = {}
        for prop in names:
            sub = props.get(prop, extra if isinstance(extra, dict) else {"type": "string"})
            out[prop] = self.build(sub, prop, depth + 1, salt)
        return out

    def array(self, schema: dict[str, Any], name: str, depth: int, salt: int) -> list[Any]:
        prefix = _get(schema, "prefixItems")
        items = schema.get("items")
        if isinstance(items, list):  # draft 4 tuple form
            prefix, items = items, _get(schema, "additionalItems")
        prefix = prefix if isinstance(prefix, list) else []
        low = int(_num(_get(schema, "minItems")) or 0)
        high = _num(_get(schema, "maxItems"))
        count = max(low, len(prefix), 0 if depth >= _MAX_DEPTH else 1)
        if high is not None:
            count = min(count, int(high))
        singular = name[:-1] if name.endswith("s") and len(name) > 3 else name
        out: list[Any] = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items if items is not None else {}
            out.append(self.build(sub, singular, depth + 1, salt + i))
        return out

    def integer(self, schema: dict[str, Any], salt: int) -> int:
        low, high = _bounds(schema, integer=True)
        step = _num(_get(schema, "multipleOf"))
        value = 1 + salt
        if low is not None:
            value = max(value, math.ceil(low))
        if high is not None and value > high:
            value = math.floor(high) if low is None else max(math.ceil(low), math.floor(high))
        if step and step >= 1 and float(step).is_integer():
            value = math.ceil(value / step) * int(step)
            if high is not None and value > high:
                value -= int(step)
        return int(value)

    def number(self, schema: dict[str, Any], salt: int) -> float | int:
        step = _num(_get(schema, "multipleOf"))
        low, high = _bounds(schema, integer=False)
        value: float = 1.5 + salt
        if step:
            value = step * (1 + salt)
        if low is not None and value < low:
            value = math.ceil(low / step) * step if step else low
        if high is not None and value > high:
            value = math.floor(high / step) * step if step else high
        return int(value) if value.is_integer() else value

    def string(self, schema: dict[str, Any], name: str, salt: int) -> str:
        word = self.word(name, salt)
        fmt = schema.get("format")
        template = _FORMATS.get(fmt) if isinstance(fmt, str) else None
        text = word
        if template:
            text = template.format(word="".join(c for c in word if c.isalnum()).lower() or "x")
        low = int(_num(_get(schema, "minLength")) or 0)
        high = _num(_get(schema, "maxLength"))
        if len(text) < low:
            text = (text + "-" + name) if text else name
            text = (text * (low // max(len(text), 1) + 1))[: max(low, len(text))]
        if high is not None and len(text) > high:
            text = text[: int(high)]
        return text

    def word(self, name: str, salt: int) -> str:
        """A prompt word chosen by the property's name, else the name itself."""
        if not self.words:
            return f"{name}-{salt + 1}" if salt else name
        pick = hashlib.sha256(f"{name}\x1f{salt}".encode()).digest()[0] % len(self.words)
        word = self.words[pick]
        return f"{word}-{salt + 1}" if salt else word


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float | None, float | None]:
    """Inclusive bounds, from ``minimum``/``maximum`` and their exclusive forms."""
    low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
    ex_low, ex_high = _get(schema, "exclusiveMinimum"), _get(schema, "exclusiveMaximum")
    nudge = 1.0 if integer else 0.5
    if ex_low is True and low is not None:  # draft 4: a flag on ``minimum``
        low += nudge
    elif (n := _num(ex_low)) is not None:
        low = n + nudge if low is None else max(low, n + nudge)
    if ex_high is True and high is not None:
        high -= nudge
    elif (n := _num(ex_high)) is not None:
        high = n - nudge if high is None else min(high, n - nudge)
    if not integer and low is not None and high is not None and low > high:
        middle = ((_num(ex_low) or low) + (_num(ex_high) or high)) / 2
        low = high = middle
    return low, high


def _merge(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    """``base`` and ``extra`` as one schema: properties united, required lists joined."""
    if not isinstance(extra, dict):
        return dict(base)
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged

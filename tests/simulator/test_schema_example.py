"""The schema example generator: every value it builds validates against its schema."""

from typing import Any

import jsonschema
import pytest

from agentqueue.simulator.schema_example import example

WORDS = ["weather", "Paris", "tomorrow"]

SCHEMAS: dict[str, dict[str, Any]] = {
    "flat object, all properties when none is required": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    },
    "required only, no extras allowed": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "note": {"type": "string"},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "bounded numbers": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 5, "maximum": 9},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "negative": {"type": "integer", "maximum": -3},
            "step": {"type": "integer", "minimum": 7, "multipleOf": 5},
        },
        "required": ["count", "ratio", "negative", "step"],
    },
    "string lengths and const": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "minLength": 12, "maxLength": 14},
            "tiny": {"type": "string", "maxLength": 2},
            "kind": {"const": "fixed"},
        },
        "required": ["code", "tiny", "kind"],
    },
    "formats": {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "link": {"type": "string", "format": "uri"},
            "id": {"type": "string", "format": "uuid"},
        },
    },
    "arrays with minItems, unique items and a tuple": {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 3,
                "uniqueItems": True,
            },
            "empty": {"type": "array", "items": {"type": "integer"}, "maxItems": 0},
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "boolean"}],
                "items": False,
            },
        },
        "required": ["tags", "empty", "pair"],
    },
    "nested objects": {
        "type": "object",
        "properties": {
            "owner": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "address": {
                        "type": "object",
                        "properties": {"zip": {"type": "string", "pattern": "^.*$"}},
                        "required": ["zip"],
                        "additionalProperties": False,
                    },
                },
                "required": ["name", "address"],
            }
        },
        "required": ["owner"],
    },
    "anyOf and oneOf take the first branch": {
        "type": "object",
        "properties": {
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "either": {"oneOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]},
        },
        "required": ["maybe", "either"],
    },
    "$ref to $defs, recursive": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["label"],
            }
        },
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
    },
    "$ref to definitions (pydantic v1 style)": {
        "definitions": {"Unit": {"type": "string", "enum": ["c", "f"]}},
        "type": "object",
        "properties": {"unit": {"$ref": "#/definitions/Unit"}, "flag": {"type": "boolean"}},
        "required": ["unit", "flag"],
    },
    "allOf merged": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 3}}, "required": ["b"]},
        ]
    },
    "type lists and nullable": {
        "type": "object",
        "properties": {"n": {"type": ["null", "number"], "minimum": 2.5}},
        "required": ["n"],
    },
    "additionalProperties schema for required names": {
        "type": "object",
        "required": ["x"],
        "additionalProperties": {"type": "integer"},
    },
}


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_example_validates(schema: dict[str, Any]) -> None:
    value = example(schema, WORDS)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    assert value == example(schema, WORDS)  # deterministic


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_example_validates_without_prompt_words(schema: dict[str, Any]) -> None:
    jsonschema.validate(example(schema), schema, format_checker=jsonschema.FormatChecker())


def test_required_only_when_required_is_given() -> None:
    value = example(SCHEMAS["required only, no extras allowed"], WORDS)
    assert set(value) == {"city", "unit"} and value["unit"] == "celsius"


def test_strings_come_from_the_prompt() -> None:
    value = example({"type": "object", "properties": {"city": {"type": "string"}}}, WORDS)
    assert value["city"] in WORDS
    assert example({"type": "object", "properties": {"city": {"type": "string"}}}) == {
        "city": "city"
    }


def test_geminis_openapi_schema_is_read() -> None:
    gemini = {
        "type": "OBJECT",
        "properties": {
            "items": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": "2"},
            "score": {"type": "NUMBER", "minimum": 3},
            "ok": {"type": "BOOLEAN", "nullable": True},
            "code": {"type": "STRING", "min_length": 9},
            "either": {"any_of": [{"type": "INTEGER", "minimum": 4}, {"type": "STRING"}]},
        },
        "required": ["items", "score", "ok", "code", "either"],
        "property_ordering": ["items", "score", "ok", "code", "either"],
    }
    value = example(gemini, WORDS)
    assert len(value["items"]) == 2 and value["score"] >= 3 and value["ok"] is True
    assert len(value["code"]) >= 9 and value["either"] == 4

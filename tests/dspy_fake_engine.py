"""A scripted engine for the DSPy tests: any JSON schema gets a valid, varied reply built from the schema.

DSPy's adapters and optimizers (MIPROv2's instruction proposer included) send schemas the
tests do not know in advance; `schema_reply` answers each one like a constrained decoder
would: objects with every required property, arrays of a few items, enums from their values.
Prose requests (no schema) get the scripted engine's prose.
"""

from __future__ import annotations

import json
import random

from scripted_engine import ScriptedEngine, prose

WORDS = "tea history trade harbor garden river village market lantern winter teacher orchard".split()


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return root.get("$defs", {}).get(ref.split("/")[-1], {})
    return schema


def schema_reply(schema: dict, rng: random.Random, root: dict | None = None, name: str = ""):
    root = root or schema
    schema = _resolve(schema, root)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "anyOf" in schema:
        return schema_reply(schema["anyOf"][0], rng, root, name)
    kind = schema.get("type", "object")
    if kind == "object":
        return {k: schema_reply(v, rng, root, k) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        n = max(schema.get("minItems", 0), min(schema.get("maxItems", 3), rng.randint(2, 4)))
        return [schema_reply(schema.get("items", {"type": "string"}), rng, root, name) for _ in range(n)]
    if kind == "integer":
        low, high = schema.get("minimum", 100), schema.get("maximum", 400)
        return rng.randint(low, high)
    if kind == "number":
        return round(rng.uniform(0, 1), 2)
    if kind == "boolean":
        return True
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
    return text[: schema.get("maxLength", 200)]


class SchemaEngine(ScriptedEngine):
    """Schema requests get `schema_reply` (or `replies[stage-ish key]` when a test fixes one); prose otherwise."""

    name = "scripted"

    def __init__(self, seed: int = 0, fixed: dict | None = None, **kwargs):
        super().__init__(reply=self._reply, **kwargs)
        self.rng = random.Random(seed)
        self.fixed = fixed

    def _reply(self, req):
        if req.json_schema is None:
            return prose(max(1, int(max(req.min_tokens, 20) / 1.4)), seed=len(self.requests))
        if self.fixed is not None and set(self.fixed) <= set(req.json_schema.get("properties", {})):
            return json.dumps(self.fixed)
        return json.dumps(schema_reply(req.json_schema, self.rng))

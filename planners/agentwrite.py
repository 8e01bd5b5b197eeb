"""AgentWrite planning (LongWriter): the instruction becomes sections with main points and word budgets.

The model is asked for JSON under a schema (constrained decoding), so the reply always
parses; `repair_plan` then makes the content usable. If the reply still cannot be used
(truncated JSON, no sections) the planner retries once colder, then falls back to a plan
made only by the repair, and says so in the plan's repairs.
"""

from __future__ import annotations

import json

from planners.base import Planner
from planners.repair import MAX_SECTION_WORDS, MIN_SECTION_WORDS, repair_plan, section_count_bounds, suggested_sections
from prompts import render
from writer.artifacts import Plan
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message
from writer.lengths import TargetLength

TEMPLATE = "planner/agentwrite.j2"


def plan_schema(max_sections: int) -> dict:
    """JSON schema of the planner's reply."""
    return {
        "type": "object",
        "properties": {
            "sections": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_sections,
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 100},
                        "main_point": {"type": "string", "minLength": 1, "maxLength": 300},
                        "words": {"type": "integer"},
                    },
                    "required": ["title", "main_point", "words"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["sections"],
        "additionalProperties": False,
    }


class AgentWritePlanner(Planner):
    """Plans with one constrained engine call (plus one retry), then repairs."""

    def __init__(self, call: CallRecorder, temperature: float = 0.5):
        self.call = call
        self.temperature = temperature

    def request(self, instruction: str, target: TargetLength) -> ChatRequest:
        n = suggested_sections(target.words)
        _, high = section_count_bounds(target.words)
        prompt = render(TEMPLATE, instruction=instruction, target_words=target.words, n_sections=n,
                        min_words=min(MIN_SECTION_WORDS, target.words), max_words=MAX_SECTION_WORDS)
        return ChatRequest(
            messages=[Message(role="user", content=prompt)],
            max_tokens=min(4096, 60 + 140 * min(high, 2 * n + 2)),
            temperature=self.temperature,
            json_schema=plan_schema(min(high, 2 * n + 2)),
        )

    def plan(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        request = self.request(instruction, target)
        raw, sections = "", []
        for attempt in range(2):
            raw = self.call("plan", [request], template=TEMPLATE)[0].text
            try:
                sections = json.loads(raw).get("sections") or []
            except (json.JSONDecodeError, AttributeError):
                sections = []
            if sections:
                break
            request = request.model_copy(update={"temperature": 0.0})
        repaired, repairs = repair_plan(instruction, target.words, sections)
        if not sections:
            repairs.insert(0, "planner reply unusable twice; plan built by repair alone")
        return Plan(instruction=instruction, target_words=target.words, target_source=target.source,
                    sections=repaired, repairs=repairs), raw

"""AgentWrite planning (LongWriter): the instruction becomes sections with main points and word budgets.

The model is asked for JSON under a schema (constrained decoding); `repair_plan` then makes
the content usable. The request is watched for loops (`stop_on_loop`): a small model asked for
many sections tends to repeat one section until `max_tokens` (with the 135M model, minutes of
decoding for a 10,000-word plan), so the engine stops it at the first repeat and the complete
sections before the cut are kept (`parse_sections`); the repair adds what is missing. If the
reply still yields no section the planner retries once colder, then falls back to a plan made
only by the repair, and says so in the plan's repairs.
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


def parse_sections(raw: str) -> list:
    """The "sections" of a planner reply; [] when there are none. From a reply cut short (stopped at a
    loop or at `max_tokens`): the complete section objects, and the last, unfinished one if closing it
    gives a title and a main point (a loop is cut where the repeat starts, often just before the first
    copy's "words")."""
    try:
        data = json.loads(raw)
        return (data.get("sections") or []) if isinstance(data, dict) else []
    except json.JSONDecodeError:
        pass
    start = raw.find("[")
    decoder, sections, i = json.JSONDecoder(), [], start + 1
    while start >= 0:
        while i < len(raw) and raw[i] in " \t\r\n,":
            i += 1
        try:
            item, i = decoder.raw_decode(raw, i)
        except json.JSONDecodeError:
            last = _closed(raw[i:])
            if last is not None:
                sections.append(last)
            break
        if not isinstance(item, dict):
            break
        sections.append(item)
    return sections


def _closed(tail: str) -> dict | None:
    """An unfinished section object closed, if that makes it one with a title and a whole main point."""
    tail = tail.rstrip()
    cut = tail.rfind(',"')  # without a trailing key or value that is itself unfinished
    for text in (tail, tail[:cut] if cut > 0 else tail):
        for suffix in ('"}', "}"):
            try:
                item = json.loads(text + suffix)
            except json.JSONDecodeError:
                continue
            point = str(item.get("main_point", "")).strip() if isinstance(item, dict) else ""
            if point and str(item.get("title", "")).strip() and ("words" in item or point[-1] in ".!?。！？"):
                return item  # a main point cut mid-sentence is not kept
    return None


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
            stop_on_loop=True,
        )

    def plan(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        request = self.request(instruction, target)
        raw, sections, finish = "", [], None
        for attempt in range(2):
            reply = self.call("plan", [request], template=TEMPLATE)[0]
            raw, finish = reply.text, reply.finish_reason
            sections = parse_sections(raw)
            if sections:
                break
            request = request.model_copy(update={"temperature": 0.0})
        # a reply cut short meant to go on: fill it to the section count asked for, not just to the minimum
        cut = finish in ("loop", "length")
        repaired, repairs = repair_plan(instruction, target.words, sections,
                                        min_sections=suggested_sections(target.words) if cut else None)
        if not sections:
            repairs.insert(0, "planner reply unusable twice; plan built by repair alone")
        elif cut:
            cause = "started repeating itself" if finish == "loop" else "reached its token limit"
            repairs.insert(0, f"planner reply stopped where it {cause}; kept its {len(sections)} complete section(s)")
        return Plan(instruction=instruction, target_words=target.words, target_source=target.source,
                    sections=repaired, repairs=repairs), raw

"""AgentWrite planning (LongWriter): the instruction becomes sections with main points and word budgets.

The model is asked for JSON under a schema (constrained decoding). The prompt describes the
fields in words and shows no example reply: given one, small models copied it ("..." as every
title). The request is watched for loops (`stop_on_loop`): a small model asked for many
sections tends to repeat one until `max_tokens`, so the engine stops it at the first repeat
and the complete sections before the cut are kept (`parse_sections`). A reply with too few
usable sections gets a follow-up in the same conversation: the model sees its plan and is
asked for the whole plan again with the missing sections (`more_sections.j2`), under a schema
that requires that many. Still short, each of its long sections is divided into its own
sections (`divide`). Only what is still missing after that is filled by the repair's
generic sections, and the plan's repairs say so. A reply with no usable section is retried
once colder (a reply of placeholder sections goes to the follow-up instead).

A plan of more than FLAT_MAX sections is made in two levels, as a writer outlines a book:
first the parts (one short call), then every part's sections, all parts in one engine batch.
Asked for 29 sections at once, the 0.5B model wrote 4 and then repeated one 24 times, for
2.5 minutes; a part of six sections is a list it can keep distinct, and the parts decode
side by side.
"""

from __future__ import annotations

import json
import math

import partial_json_parser
from partial_json_parser import Allow

from planners.base import Planner
from planners.repair import (
    MAX_SECTION_WORDS,
    MIN_SECTION_WORDS,
    complete_plan,
    section_count_bounds,
    suggested_sections,
    usable_sections,
)
from prompts import render
from writer.artifacts import Plan
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message
from writer.text.genre import narrative
from writer.text.lengths import TargetLength

TEMPLATE = "planner/agentwrite.j2"
MORE_TEMPLATE = "planner/more_sections.j2"
PARTS_TEMPLATE = "planner/parts.j2"
PART_SECTIONS_TEMPLATE = "planner/part_sections.j2"
DIVIDE_TEMPLATE = "planner/divide_section.j2"
ENOUGH = 0.75  # a plan with fewer usable sections than this share of those asked for is asked for the rest
FLAT_MAX = 10  # plans of more sections are made in two levels: parts first, then each part's sections at once
SECTIONS_PER_PART = 6


def plan_schema(max_sections: int, min_sections: int = 1) -> dict:
    """JSON schema of the planner's reply."""
    return {
        "type": "object",
        "properties": {
            "sections": {
                "type": "array",
                "minItems": min_sections,
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
    """The "sections" of a planner reply; [] when there are none. A reply cut short (stopped at a loop or at
    `max_tokens`) is read with partial-json-parser (an unfinished string closed where it stops, an unfinished
    number left out): the complete section objects are kept, and the last, unfinished one if it has a title
    and a whole main point (one that ends a sentence, or is followed by its "words")."""
    try:
        data = json.loads(raw)
        return (data.get("sections") or []) if isinstance(data, dict) else []
    except json.JSONDecodeError:
        pass
    try:
        data = partial_json_parser.loads(raw, Allow.STR | Allow.ARR | Allow.OBJ)
    except Exception:  # noqa: BLE001 - whatever the parser makes of garbage, it is no plan
        return []
    sections = data.get("sections") if isinstance(data, dict) else None
    if not isinstance(sections, list):
        return []
    kept = []
    for k, item in enumerate(sections):
        if not isinstance(item, dict):
            break
        if k == len(sections) - 1:  # the one the cut may have fallen in
            point = str(item.get("main_point") or "").strip()
            if not (str(item.get("title") or "").strip() and point and ("words" in item or point[-1] in ".!?。！？")):
                break
        kept.append(item)
    return kept


class AgentWritePlanner(Planner):
    """Plans with one constrained engine call, a follow-up for missing sections, then repairs."""

    def __init__(self, call: CallRecorder, temperature: float = 0.5, style: str = ""):
        self.call = call
        self.temperature = temperature
        self.style = style  # the run's --style: the planner plans for it

    def request(self, instruction: str, target: TargetLength) -> ChatRequest:
        n = suggested_sections(target.words)
        _, high = section_count_bounds(target.words)
        prompt = render(TEMPLATE, instruction=instruction, target_words=target.words, n_sections=n,
                        min_words=min(MIN_SECTION_WORDS, target.words), max_words=MAX_SECTION_WORDS, style=self.style,
                        story=narrative(instruction))
        return ChatRequest(
            messages=[Message(role="user", content=prompt)],
            max_tokens=min(4096, 60 + 140 * min(high, 2 * n + 2)),
            temperature=self.temperature,
            json_schema=plan_schema(min(high, 2 * n + 2), n),
            stop_on_loop=True,
        )

    def follow_up(self, request: ChatRequest, reply: str, have: int, want: int) -> ChatRequest:
        """The same conversation, the model's plan as its reply, then a request for the whole plan with `want`
        sections (the schema requires exactly that many)."""
        ask = Message(role="user", content=render(MORE_TEMPLATE, have=have, want=want))
        return request.model_copy(update={
            "messages": [*request.messages, Message(role="assistant", content=reply or "{}"), ask],
            "json_schema": plan_schema(want, want), "max_tokens": min(4096, 60 + 140 * want),
            # it copies the sections it keeps, which the loop watch would take for a loop; max_tokens bounds it
            "stop_on_loop": False})

    def plan(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        if suggested_sections(target.words) > FLAT_MAX:
            return self.plan_in_parts(instruction, target)
        return self.plan_flat(instruction, target)

    def plan_in_parts(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        """Parts first, then each part's sections in one batch; the repair completes the result."""
        n = suggested_sections(target.words)
        n_parts = math.ceil(n / SECTIONS_PER_PART)
        prompt = render(PARTS_TEMPLATE, instruction=instruction, n_parts=n_parts, target_words=target.words,
                        style=self.style, story=narrative(instruction))
        ask = ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=60 + 120 * n_parts,
                          temperature=self.temperature, json_schema=plan_schema(n_parts, n_parts), stop_on_loop=True)
        reply = self.call("plan", [ask], template=PARTS_TEMPLATE)[0]
        parts, notes = usable_sections(parse_sections(reply.text))
        if len(parts) < 2:  # no usable outline of parts: plan the sections in one go
            plan, raw = self.plan_flat(instruction, target)
            plan.repairs.insert(0, f"planner gave {len(parts)} usable part(s) of {n_parts}; planned the sections in "
                                   "one list instead")
            return plan, raw
        shares = [p["words"] or 0 for p in parts]
        budgets = [max(MIN_SECTION_WORDS, int(target.words * (w / sum(shares) if sum(shares) else 1 / len(parts))))
                   for w in shares]
        for part, words in zip(parts, budgets):
            part["words"] = words
        requests = []
        for k, part in enumerate(parts):
            m = max(1, round(part["words"] / (target.words / n)))
            text = render(PART_SECTIONS_TEMPLATE, instruction=instruction, parts=parts, index=k, part=part,
                          n_sections=m, style=self.style, story=narrative(instruction))
            requests.append(ChatRequest(messages=[Message(role="user", content=text)], max_tokens=60 + 140 * m,
                                        temperature=self.temperature, json_schema=plan_schema(m, m), stop_on_loop=True))
        replies = self.call("plan", requests, template=PART_SECTIONS_TEMPLATE)
        raw_sections = [s for r in replies for s in parse_sections(r.text)]
        items, more_notes = usable_sections(raw_sections)
        repairs = [f"planned in {len(parts)} parts: " + "; ".join(p["title"] for p in parts)]
        if len(items) < math.ceil(ENOUGH * n):
            # the parts gave too few distinct sections (a small model repeats the parts' own titles in each):
            # show the model the sections it has and ask for the whole list, before any filler is added
            request = self.request(instruction, target)
            have = json.dumps({"sections": items}, ensure_ascii=False)
            more = self.call("plan", [self.follow_up(request, have, len(items), n)], template=MORE_TEMPLATE)[0]
            more_items, again = usable_sections(parse_sections(more.text))
            repairs.append(f"the parts gave {len(items)} usable section(s) of {n}; asked for the rest, it gave "
                           f"{len(more_items)}")
            if len(more_items) > len(items):
                items, more_notes = more_items, again
        if len(items) < math.ceil(ENOUGH * n):
            items, split = self.divide(instruction, target, items, n)
            repairs += split
        sections, completed = complete_plan(instruction, target.words, items)
        raw = json.dumps({"parts": json.loads(reply.text) if _is_json(reply.text) else reply.text,
                          "sections": [r.text for r in replies]}, ensure_ascii=False)
        return Plan(instruction=instruction, target_words=target.words, target_source=target.source,
                    sections=sections, repairs=repairs + notes + more_notes + completed), raw

    def plan_flat(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        """One list of sections, a follow-up for missing ones, then the repair."""
        request = self.request(instruction, target)
        raw, items, notes, finish = "", [], [], None
        for attempt in range(2):
            reply = self.call("plan", [request], template=TEMPLATE)[0]
            raw, finish = reply.text, reply.finish_reason
            parsed = parse_sections(raw)
            items, notes = usable_sections(parsed)
            if parsed:  # sections, if only placeholders: the follow-up asks for real ones
                break
            request = request.model_copy(update={"temperature": 0.0})
        repairs: list[str] = []
        if finish in ("loop", "length") and items:
            cause = "started repeating itself" if finish == "loop" else "reached its token limit"
            repairs.append(f"planner reply stopped where it {cause}; kept its {len(items)} complete section(s)")
        n = suggested_sections(target.words)
        low, _ = section_count_bounds(target.words)
        if len(items) < max(low, math.ceil(ENOUGH * n)):
            follow = self.follow_up(request, raw, len(items), n)
            more = self.call("plan", [follow], template=MORE_TEMPLATE)[0]
            more_items, more_notes = usable_sections(parse_sections(more.text))
            repairs.append(f"planner gave {len(items)} usable section(s) of {n}; asked for the rest, it gave "
                           f"{len(more_items)}")
            if len(more_items) > len(items):
                raw, items, notes = more.text, more_items, more_notes
        if len(items) < max(low, math.ceil(ENOUGH * n)):
            items, split = self.divide(instruction, target, items, n)
            repairs += split
        if not items:
            repairs.insert(0, "planner reply unusable; plan built by repair alone")
        sections, completed = complete_plan(instruction, target.words, items)
        return Plan(instruction=instruction, target_words=target.words, target_source=target.source,
                    sections=sections, repairs=repairs + notes + completed), raw


    def divide(self, instruction: str, target: TargetLength, items: list[dict], n: int) -> tuple[list[dict], list[str]]:
        """Still too few sections after the follow-up: each section longer than a section's share is divided into
        its own sections (`divide_section.j2`, all in one batch), as a writer divides a chapter that grew too
        long. A small model that lists five sections for 5,000 words cannot write 1,000 words to each. The prompt
        shows the one section, not the plan: shown the whole plan (as `part_sections.j2` does), the 0.5B copied it
        back; shown one section it divided Hong Kong's "Background" into its history, culture and way of life. A
        section whose reply has fewer than two usable sections stays as it was."""
        if not items:
            return items, []
        given = [i.get("words") or 0 for i in items]
        shares = given if all(given) else [1] * len(items)
        counts = [max(1, round(n * w / sum(shares))) for w in shares]
        wide = [k for k, m in enumerate(counts) if m >= 2]
        if not wide:
            return items, []
        requests = []
        for k in wide:
            words = max(MIN_SECTION_WORDS * counts[k], round(target.words * shares[k] / sum(shares)))
            text = render(DIVIDE_TEMPLATE, instruction=instruction, section=items[k], n_sections=counts[k],
                          words=words, style=self.style, story=narrative(instruction))
            requests.append(ChatRequest(messages=[Message(role="user", content=text)],
                                        max_tokens=60 + 140 * counts[k], temperature=self.temperature,
                                        json_schema=plan_schema(counts[k], counts[k]), stop_on_loop=True))
        replies = dict(zip(wide, self.call("plan", requests, template=DIVIDE_TEMPLATE)))
        divided: list[dict] = []
        split = 0
        for k, item in enumerate(items):
            subs, _ = usable_sections(parse_sections(replies[k].text)) if k in replies else ([], [])
            if len(subs) >= 2:
                divided += subs
                split += 1
            else:
                divided.append(item)
        kept, notes = usable_sections(divided)
        if len(kept) <= len(items):
            return items, [f"asked to divide {len(wide)} section(s) into their own sections; the replies gave no more "
                           "distinct sections"]
        return kept, [f"divided {split} of {len(items)} section(s) into their own sections: {len(kept)} in all",
                      *notes]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True

"""The prompt of a section call, kept within the model's context window.

A section's prompt holds the instruction, the plan, and the text written so far. The
text written so far is what grows: it gets whatever the window leaves after the output
budget and the fixed parts, capped by `history_tokens`, and is cut from the front (the
most recent text matters most for continuity), at paragraph boundaries where it can be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prompts import render
from writer.artifacts import Plan, WrittenSection
from writer.engines.base import Engine

SECTION_TEMPLATE = "writer/section.j2"
TOKENS_PER_WORD = 1.4  # English prose under SmolLM2/Llama-style tokenizers; used for output budgets
SAFETY_TOKENS = 32
OMITTED = "[... earlier text omitted ...]"


@dataclass
class SectionBudget:
    """Token limits for writing one section of `words` words."""

    max_tokens: int
    min_tokens: int

    @classmethod
    def for_words(cls, words: int) -> "SectionBudget":
        return cls(max_tokens=math.ceil(words * TOKENS_PER_WORD * 1.3) + 16,
                   min_tokens=math.floor(words * TOKENS_PER_WORD))


def plan_lines(plan: Plan, around: int | None = None, radius: int = 6) -> list[str]:
    """The plan as numbered lines; with `around`, only steps within `radius` of it (long plans)."""
    lines = []
    for i, s in enumerate(plan.sections):
        if around is not None and abs(i - around) > radius:
            continue
        lines.append(f"Part {i + 1}. {s.title}: {s.main_point} ({s.words} words)")
    return lines


def tail_text(sections: list[WrittenSection], engine: Engine, budget_tokens: int) -> str:
    """As much of the end of the written text as fits in `budget_tokens`."""
    if budget_tokens <= 0 or not sections:
        return ""
    paragraphs = [p for s in sections for p in ([f"## {s.title}"] + s.text.split("\n\n"))]
    kept: list[str] = []
    used = 0
    for para in reversed(paragraphs):
        cost = engine.count_tokens(para) + 2
        if used + cost > budget_tokens:
            if not kept:  # even the last paragraph is too long: keep its end
                words = para.split()
                while words and engine.count_tokens(" ".join(words)) > budget_tokens - 8:
                    words = words[len(words) // 4 + 1:]
                kept.append(" ".join(words))
            break
        kept.append(para)
        used += cost
    text = "\n\n".join(reversed(kept))
    if len(kept) < len(paragraphs):
        text = f"{OMITTED}\n\n{text}"
    return text


def section_prompt(plan: Plan, index: int, written: list[WrittenSection], engine: Engine,
                   budget: SectionBudget, history_tokens: int = 2048) -> str:
    """Render the prompt for section `index` so that prompt + output fit the engine's window."""
    section = plan.sections[index]
    lines = plan_lines(plan)
    fixed_args = dict(instruction=plan.instruction, index=index, title=section.title,
                      main_point=section.main_point, words=section.words)
    bare = render(SECTION_TEMPLATE, plan_lines=lines, written="", **fixed_args)
    if engine.count_tokens(bare) > engine.context_window // 4:
        lines = plan_lines(plan, around=index)
        bare = render(SECTION_TEMPLATE, plan_lines=lines, written="", **fixed_args)
    room = engine.context_window - budget.max_tokens - engine.count_tokens(bare) - SAFETY_TOKENS
    written_text = tail_text(written, engine, min(history_tokens, room))
    return render(SECTION_TEMPLATE, plan_lines=lines, written=written_text, **fixed_args)

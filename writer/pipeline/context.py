"""The prompt of a section call, kept within the model's context window.

A section's prompt holds the instruction, the section's place in the plan (its neighbours),
the run's memory (established facts and summaries of earlier sections), the text written so
far, and, on a re-run, why the last attempt failed. A 10,000-word document never fits an 8k
window, so everything that grows is budgeted: memory gets at most `memory_tokens` (facts
first, then summaries, newest first); the text written so far gets what the window leaves
after the output budget, capped by `history_tokens`, cut from the front at paragraph
boundaries (the most recent text matters most for continuity). A run with sources gets the
passages retrieved for the section first, within `sources_tokens` and half of what the window
leaves (best passage first; one that does not fit is skipped for a shorter one after it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from prompts import render
from writer.artifacts import Passage, Plan, WrittenSection
from writer.engines.base import Engine
from writer.text.genre import narrative

SECTION_TEMPLATE = "writer/section.j2"
# Output tokens per counted word: SmolLM2's prose measured 1.21 (624 tokens for 515 words), Qwen2.5's about 1.25.
TOKENS_PER_WORD = 1.3
SAFETY_TOKENS = 32
OMITTED = "[... earlier text omitted ...]"
HISTORY_TOKENS = 1024  # most tokens of the text so far a section prompt shows
MEMORY_TOKENS = 768  # most tokens of summaries and facts a section prompt shows


@dataclass
class SectionBudget:
    """Token limits for writing one section of `words` words.

    The model is left to end its section itself (where it ends a thought, not where a token limit cuts it):
    `min_tokens` only keeps one that stops early going to three quarters of the budget, and `max_tokens`
    lets it run a quarter over, to be cut back at a paragraph end. Forcing the whole budget made models
    that had finished write on into the next section's matter or a conclusion.
    """

    max_tokens: int
    min_tokens: int

    @classmethod
    def for_words(cls, words: int) -> "SectionBudget":
        return cls(max_tokens=math.ceil(words * TOKENS_PER_WORD * 1.25) + 16,
                   min_tokens=math.floor(words * TOKENS_PER_WORD * 0.75))


def tail_text(sections: list[WrittenSection], engine: Engine, budget_tokens: int) -> str:
    """As much of the end of the written text as fits in `budget_tokens`."""
    if budget_tokens <= 0 or not sections:
        return ""
    # no section headings: a model shown them writes one of its own
    paragraphs = [p for s in sections for p in s.text.split("\n\n")]
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


@dataclass
class SectionMemory:
    """What the run's memory offers a section call: earlier summaries, established facts, and feedback
    from a failed attempt."""

    summaries: list[tuple[int, str]] = field(default_factory=list)  # (section index, summary)
    facts: dict = field(default_factory=dict)  # names, facts [{section, text}], open_threads
    feedback: str = ""


def fact_lines(facts: dict) -> list[str]:
    """Facts as prompt lines, most recent first (the order they are dropped in is oldest first)."""
    lines = [f["text"] for f in reversed(facts.get("facts", []))]
    if facts.get("names"):
        lines.insert(0, "Names used so far: " + ", ".join(facts["names"]))
    lines += [f"Still open: {t}" for t in reversed(facts.get("open_threads", []))]
    return lines


def fit_memory(memory: SectionMemory, engine: Engine, budget_tokens: int) -> tuple[list[str], list[tuple[int, str]]]:
    """The facts and summaries that fit `budget_tokens`: a third for facts, the rest for summaries, newest first."""
    facts: list[str] = []
    used = 0
    for line in fact_lines(memory.facts):
        cost = engine.count_tokens(line) + 2
        if used + cost > budget_tokens // 3:
            break
        facts.append(line)
        used += cost
    summaries: list[tuple[int, str]] = []
    for index, summary in reversed(memory.summaries):
        cost = engine.count_tokens(summary) + 4
        if used + cost > budget_tokens:
            break
        summaries.insert(0, (index, summary))
        used += cost
    return facts, summaries


def shown_passage(passage: Passage) -> dict:
    """A passage as a section prompt shows it: its number, file name, and text on one line."""
    return {"number": passage.number, "path": Path(passage.path).name, "text": " ".join(passage.text.split())}


def fit_sources(passages: list[Passage], engine: Engine, budget_tokens: int) -> list[dict]:
    """The passages (best first) that fit `budget_tokens`, as `shown_passage` dicts in their given order."""
    shown, used = [], 0
    for passage in passages:
        item = shown_passage(passage)
        cost = engine.count_tokens(item["text"]) + engine.count_tokens(item["path"]) + 6
        if used + cost <= budget_tokens:
            shown.append(item)
            used += cost
    return shown


def section_prompt(plan: Plan, index: int, written: list[WrittenSection], engine: Engine,
                   budget: SectionBudget, history_tokens: int = HISTORY_TOKENS, memory: SectionMemory | None = None,
                   memory_tokens: int = MEMORY_TOKENS, sources: list[Passage] = (), sources_tokens: int = 1024,
                   style: str = "", revision: dict | None = None) -> str:
    """Render the prompt for section `index` so that prompt + output fit the engine's window.

    The prompt names the section's place (its number, the section just before it and the one after), not
    the whole outline: shown every title and main point, small models write the whole outline into each
    section (Qwen2.5-Coder-0.5B did, in 3 of 4 sections tried). The text so far (sequential mode) replaces
    the previous section's main point, since the model then reads what that section actually said.
    `sources`: the passages retrieved for the section, best first; `style`: the run's `--style`;
    `revision`: {"text", "instruction"} when the section is being rewritten (`writer revise`).
    """
    memory = memory or SectionMemory()
    section = plan.sections[index]
    previous = plan.sections[index - 1] if index > 0 and not written else None
    following = plan.sections[index + 1].title if index + 1 < len(plan.sections) else None
    fixed_args = dict(instruction=plan.instruction, index=index, count=len(plan.sections), title=section.title,
                      main_point=section.main_point, words=section.words, feedback=memory.feedback,
                      previous=previous.model_dump() if previous else None, next_title=following, style=style,
                      revision=revision, story=narrative(plan.instruction))
    bare = render(SECTION_TEMPLATE, written="", facts=[], summaries=[], sources=[], **fixed_args)
    room = engine.context_window - budget.max_tokens - engine.count_tokens(bare) - SAFETY_TOKENS
    if sources:
        fixed_args["sources"] = fit_sources(list(sources), engine, min(sources_tokens, max(0, room // 2)))
        bare = render(SECTION_TEMPLATE, written="", facts=[], summaries=[], **fixed_args)
        room = engine.context_window - budget.max_tokens - engine.count_tokens(bare) - SAFETY_TOKENS
    else:
        fixed_args["sources"] = []
    facts, summaries = fit_memory(memory, engine, min(memory_tokens, max(0, room // 2)))
    with_memory = render(SECTION_TEMPLATE, written="", facts=facts, summaries=summaries, **fixed_args)
    room = engine.context_window - budget.max_tokens - engine.count_tokens(with_memory) - SAFETY_TOKENS
    written_text = tail_text(written, engine, min(history_tokens, room))
    return render(SECTION_TEMPLATE, written=written_text, facts=facts, summaries=summaries, **fixed_args)

"""Writing one section: generate to the word budget, continue if short, trim if long.

The model is not trusted with length. The request's min/max tokens bracket the budget;
a draft that still comes out short is continued from where it stopped (a prefilled
assistant message), and one that runs long is cut back at a sentence boundary.
"""

from __future__ import annotations

import re

from writer.artifacts import Plan, WrittenSection
from writer.calls import CallRecorder
from writer.context import SECTION_TEMPLATE, TOKENS_PER_WORD, SectionBudget, section_prompt
from writer.engines.base import ChatRequest, Message
from writer.lengths import count_words

SHORT = 0.9  # below this share of the budget a draft is continued
LONG = 1.10  # above this share it is trimmed
MAX_CONTINUATIONS = 2
_SENTENCE_END = re.compile(r"(?<=[.!?。！？\"”])\s+")


def clean_draft(text: str) -> str:
    """Drop headings the model adds (the document adds its own) and surrounding blank space."""
    lines = text.strip().splitlines()
    while lines and (lines[0].lstrip().startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).strip()


def trim_to_words(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` words, at the last sentence end that fits (never mid-sentence if avoidable)."""
    if count_words(text) <= limit:
        return text
    kept, used = [], 0
    for paragraph in text.split("\n\n"):
        sentences = _SENTENCE_END.split(paragraph)
        taken = []
        for sentence in sentences:
            n = count_words(sentence)
            if used + n > limit:
                break
            taken.append(sentence)
            used += n
        if taken:
            kept.append(" ".join(taken))
        if len(taken) < len(sentences):
            break
    if not kept:  # a single endless sentence: cut by words
        return " ".join(text.split()[:limit])
    return "\n\n".join(kept)


def write_section(call: CallRecorder, plan: Plan, index: int, written: list[WrittenSection],
                  temperature: float = 0.7, repetition_penalty: float = 1.05,
                  history_tokens: int = 1024) -> WrittenSection:
    """Write section `index` of `plan`, given the sections already written."""
    section = plan.sections[index]
    budget = SectionBudget.for_words(section.words)
    prompt = section_prompt(plan, index, written, call.engine, budget, history_tokens)
    messages = [Message(role="user", content=prompt)]
    request = ChatRequest(messages=messages, max_tokens=budget.max_tokens, min_tokens=budget.min_tokens,
                          temperature=temperature, repetition_penalty=repetition_penalty)
    text = clean_draft(call("write", [request], template=SECTION_TEMPLATE, section_index=index)[0].text)
    for _ in range(MAX_CONTINUATIONS):
        missing = section.words - count_words(text)
        if missing <= section.words * (1 - SHORT):
            break
        more = int(missing * TOKENS_PER_WORD) + 16
        cont = ChatRequest(messages=messages + [Message(role="assistant", content=text)], continue_final=True,
                           max_tokens=more, min_tokens=int(more * 0.8), temperature=temperature,
                           repetition_penalty=repetition_penalty)
        addition = call("continue", [cont], template=SECTION_TEMPLATE, section_index=index)[0].text
        if not addition.strip():
            break
        text = text + addition if addition[:1].isspace() or not text else text + " " + addition
    if count_words(text) > section.words * LONG:
        text = trim_to_words(text, section.words)
    return WrittenSection(index=index, title=section.title, text=text.strip(), words=count_words(text))

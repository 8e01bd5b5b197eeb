"""Self-Lengthen's Extender: make a short draft longer by enriching it, not by padding it.

One micro-iteration, as in Self-Lengthen: split the draft at a paragraph (or sentence)
boundary, have the model rewrite the first half with more detail (no new continuation),
keep the first two thirds of that rewrite, then let the model continue from there as a
prefilled assistant message, guided by the original draft. A result is kept only if it is
longer than the draft and does not loop; otherwise the draft stays as it was.

Both calls are follow-ups to the Generator's own conversation: the section prompt, then the draft
(its first half for the rewrite, all of it for the continuation) as the model's reply, then the
Extender's request. The engine has the section prompt and the draft in its prefix cache from the
Generator's call, so it prefills only the request and the kept rewrite; on a compute-bound CPU a
prompt token costs about what an output token does.
"""

from __future__ import annotations

from prompts import render
from writer.calls import CallRecorder
from writer.chatter import strip_chatter
from writer.context import TOKENS_PER_WORD
from writer.engines.base import ChatRequest, Message
from writer.lengths import SENTENCE_END, count_words, join_text, trim_to_words
from writer.repetition import cut_loop

ENRICH_TEMPLATE = "writer/extend.j2"
CONTINUE_TEMPLATE = "writer/extend_continue.j2"


def _halve(units: list[str], sep: str) -> tuple[str, str]:
    total = sum(count_words(u) for u in units)
    used, k = 0, 0
    while k < len(units) - 1 and used + count_words(units[k]) <= total / 2:
        used += count_words(units[k])
        k += 1
    k = max(k, 1)
    return sep.join(units[:k]).strip(), sep.join(units[k:]).strip()


def split_half(text: str) -> tuple[str, str]:
    """Split `text` near its middle at a paragraph boundary, else at a sentence boundary."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    if len(paragraphs) >= 2:
        return _halve(paragraphs, "\n\n")
    sentences = [s for s in SENTENCE_END.split(text.strip()) if s]
    if len(sentences) >= 2:
        return _halve(sentences, " ")
    return text.strip(), ""


def first_two_thirds(text: str) -> str:
    """The first two thirds of `text`, ending at a sentence boundary where possible."""
    return trim_to_words(text, max(1, (2 * count_words(text)) // 3))


def _fits(engine, messages: list[Message], draft: str, words: int) -> bool:
    """Whether the continuation call (the conversation, the draft, the kept rewrite and the rest) fits the
    engine's window. The section prompt was budgeted for one draft; this call carries about three."""
    conversation = sum(engine.count_tokens(m.content) + 8 for m in messages)
    return conversation + 2 * engine.count_tokens(draft) + int(words * TOKENS_PER_WORD * 1.2) + 64 <= engine.context_window


def extend(call: CallRecorder, messages: list[Message], drafts: list[str], words: int, index: int,
           temperature: float = 0.7, repetition_penalty: float = 1.05) -> list[str | None]:
    """One Extender micro-iteration over several drafts of the section `messages` asked for (two engine
    batches). None where no longer, loop-free text came out, and for drafts too long to follow up in the
    engine's window (they are left to plain continuation)."""
    fits = [_fits(call.engine, messages, d, words) for d in drafts]
    todo = [d for d, ok in zip(drafts, fits) if ok]
    results = iter(_micro_iteration(call, messages, todo, words, index, temperature, repetition_penalty) if todo else [])
    return [next(results) if ok else None for ok in fits]


def _micro_iteration(call: CallRecorder, messages: list[Message], drafts: list[str], words: int, index: int,
                     temperature: float, repetition_penalty: float) -> list[str | None]:
    firsts = [split_half(d)[0] for d in drafts]
    rewrite = Message(role="user", content=render(ENRICH_TEMPLATE))
    enrich = [ChatRequest(stop_on_loop=True, messages=[*messages, Message(role="assistant", content=f), rewrite],
                          max_tokens=int(count_words(f) * 2.2 * TOKENS_PER_WORD) + 32,
                          min_tokens=int(count_words(f) * 1.5 * TOKENS_PER_WORD),
                          temperature=temperature, repetition_penalty=repetition_penalty) for f in firsts]
    enriched = [cut_loop(strip_chatter(c.text))
                for c in call("extend", enrich, template=ENRICH_TEMPLATE, section_index=index)]
    kept = [first_two_thirds(e) if e else "" for e in enriched]
    requests = []
    for draft, prefix in zip(drafts, kept):
        missing = max(16, words - count_words(prefix))
        guide = Message(role="user", content=render(CONTINUE_TEMPLATE, words=words))
        prefill = [Message(role="assistant", content=prefix)] if prefix else []
        requests.append(ChatRequest(
            stop_on_loop=True, messages=[*messages, Message(role="assistant", content=draft), guide, *prefill],
            continue_final=bool(prefix), max_tokens=int(missing * TOKENS_PER_WORD * 1.1) + 16,
            min_tokens=int(missing * TOKENS_PER_WORD * 0.9), temperature=temperature,
            repetition_penalty=repetition_penalty))
    rests = call("extend", requests, template=CONTINUE_TEMPLATE, section_index=index)
    out: list[str | None] = []
    for draft, prefix, rest in zip(drafts, kept, rests):
        result = strip_chatter(cut_loop(join_text(prefix, rest.text)))
        out.append(result if count_words(result) > count_words(draft) else None)
    return out

"""Self-Lengthen's Extender: make a short draft longer by enriching it, not by padding it.

One micro-iteration, as in Self-Lengthen: split the draft at a paragraph (or sentence)
boundary, have the model rewrite the first half with more detail (no new continuation),
keep the first two thirds of that rewrite, then let the model continue from there as a
prefilled assistant message, guided by the original draft. A result is kept only if it is
longer than the draft and does not loop; otherwise the draft stays as it was.

Every follow-up call extends the conversation its draft answers (a `Thread`): the Generator's
section prompt, then the draft as the model's reply (its first half for the rewrite, all of it for
the continuation), then the request. A draft the Extender made answers the continuation call that
made it, so the next micro-iteration, and a plain continuation after it, follow up that call in
turn. The engine's prefix cache then already holds everything but the new request (and the kept
rewrite), instead of prefilling the section prompt and the draft again. A thread too long for the
engine's window starts again from the section prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from prompts import render
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message, Sampling
from writer.pipeline.context import TOKENS_PER_WORD
from writer.text.defects import Place, banned_words, clean
from writer.text.lengths import PARAGRAPH_BREAK, SENTENCE_END, count_words, join_text, trim_to_words
from writer.text.repetition import cut_loop

ENRICH_TEMPLATE = "writer/extend.j2"
CONTINUE_TEMPLATE = "writer/extend_continue.j2"


def split_half(text: str) -> tuple[str, str]:
    """Split `text` near its middle at a paragraph boundary, else at a sentence boundary. The first half is a
    prefix of `text` as written (its own line breaks), so the engine's prefix cache can serve it."""
    text = text.strip()
    for boundary in (PARAGRAPH_BREAK, SENTENCE_END):
        cuts = list(boundary.finditer(text))
        if not cuts:
            continue
        total, best = count_words(text), cuts[0]  # the first half keeps at least one unit
        for cut in cuts[1:]:
            if count_words(text[:cut.start()]) > total / 2:
                break
            best = cut
        return text[:best.start()], text[best.end():]
    return text, ""


def first_two_thirds(text: str) -> str:
    """The first two thirds of `text`, ending at a sentence boundary where possible."""
    return trim_to_words(text, max(1, (2 * count_words(text)) // 3))


@dataclass(frozen=True)
class Thread:
    """A draft and the conversation it is the model's reply to, as the engine last saw them."""

    messages: list[Message]
    text: str

    def answered_by(self, text: str, *turns: Message) -> list[Message]:
        """The conversation with `text` (the draft or a part of it) as the model's reply, then `turns`."""
        return [*self.messages, Message(role="assistant", content=text), *turns]


def fits(engine, messages: list[Message], *texts: str, new_tokens: int) -> bool:
    """Whether a call with `messages`, the `texts` it adds and `new_tokens` to generate fits the engine's window."""
    used = sum(engine.count_tokens(m.content) + 8 for m in messages) + sum(engine.count_tokens(t) for t in texts)
    return used + new_tokens + 64 <= engine.context_window


def _followable(engine, thread: Thread, base: list[Message], words: int) -> Thread | None:
    """The thread whose continuation call (the conversation, the draft, the kept rewrite and the rest) fits the
    window: `thread` itself, else the draft answering the section prompt `base` alone, else None. The section
    prompt was budgeted for one draft; this call carries about three."""
    for candidate in (thread, Thread(base, thread.text)):
        if fits(engine, candidate.messages, thread.text, thread.text, new_tokens=int(words * TOKENS_PER_WORD * 1.2)):
            return candidate
    return None


def extend(call: CallRecorder, threads: list[Thread], base: list[Message], words: int, place: Place,
           sampling: Sampling = Sampling(), style: str = "") -> list[Thread | None]:
    """One Extender micro-iteration over several drafts of the section the prompt `base` asked for (two engine
    batches). Each result answers the continuation call that made it. None where no longer, loop-free text came
    out, and for drafts too long to follow up in the engine's window (they are left to plain continuation).
    `style`: the run's `--style`, which both Extender prompts repeat."""
    usable = [_followable(call.engine, t, base, words) for t in threads]
    todo = [t for t in usable if t is not None]
    results = iter(_micro_iteration(call, todo, words, place, sampling, style) if todo else [])
    return [next(results) if t is not None else None for t in usable]


def _micro_iteration(call: CallRecorder, threads: list[Thread], words: int, place: Place,
                     sampling: Sampling, style: str = "") -> list[Thread | None]:
    bad = banned_words(place)
    firsts = [split_half(t.text)[0] for t in threads]
    rewrite = Message(role="user", content=render(ENRICH_TEMPLATE, style=style))
    enrich = [ChatRequest(stop_on_loop=True, messages=t.answered_by(f, rewrite),
                          max_tokens=int(count_words(f) * 2.2 * TOKENS_PER_WORD) + 32,
                          min_tokens=int(count_words(f) * 1.5 * TOKENS_PER_WORD), bad_words=bad,
                          **sampling.model_dump())
              for t, f in zip(threads, firsts)]
    enriched = clean([cut_loop(c.text) for c in call("extend", enrich, template=ENRICH_TEMPLATE,
                                                       section_index=place.index)], place)[0]
    kept = [first_two_thirds(e) if e else "" for e in enriched]
    guide = Message(role="user", content=render(CONTINUE_TEMPLATE, words=words, style=style))
    requests = []
    for thread, prefix in zip(threads, kept):
        missing = max(16, words - count_words(prefix))
        prefill = [Message(role="assistant", content=prefix)] if prefix else []
        requests.append(ChatRequest(
            stop_on_loop=True, messages=thread.answered_by(thread.text, guide, *prefill),
            continue_final=bool(prefix), max_tokens=int(missing * TOKENS_PER_WORD * 1.1) + 16,
            min_tokens=int(missing * TOKENS_PER_WORD * 0.9), bad_words=bad, **sampling.model_dump()))
    rests = call("extend", requests, template=CONTINUE_TEMPLATE, section_index=place.index)
    out: list[Thread | None] = []
    for thread, prefix, rest in zip(threads, kept, rests):
        result = clean([cut_loop(join_text(prefix, rest.text))], place)[0][0]
        longer = count_words(result) > count_words(thread.text)
        out.append(Thread(thread.answered_by(thread.text, guide), result) if longer else None)
    return out

"""Drafting one section: the Generator (`generate`), then length control (`lengthen`).

The control unit (`writer.memory.control`) runs these as a section's `write` and `extend`
instructions, and `pick_best` when a section has several candidate drafts.

The model is not trusted with length. The request's min/max tokens bracket the budget;
a draft that still comes out short goes to the Self-Lengthen Extender (`writer.lengthen`),
then, if still short, is continued from where it stopped (a prefilled assistant message, in the
conversation the draft last answered, so the engine's prefix cache serves it: see `writer.lengthen`);
one that runs long is cut back at a sentence boundary. A draft
that starts looping is cut where the loop starts (`writer.repetition`) and continued from
there, so loops never pad a section to its budget.
"""

from __future__ import annotations

from writer.artifacts import Plan
from writer.chatter import strip_chatter
from writer.calls import CallRecorder
from writer.context import SECTION_TEMPLATE, TOKENS_PER_WORD, SectionBudget
from writer.engines.base import ChatRequest, Message
from writer.lengths import count_words, end_at_sentence, join_text, trim_to_words
from writer.lengthen import Thread, extend, fits
from writer.repetition import cut_loop

SHORT = 0.9  # below this share of the budget a draft is continued
LONG = 1.10  # above this share it is trimmed
MAX_CONTINUATIONS = 3
EXTEND_ROUNDS = 2  # Self-Lengthen micro-iterations before plain continuation


def clean_draft(text: str) -> str:
    """Drop headings the model adds (the document adds its own), its chatter ("Sure, here is ...")
    and surrounding blank space."""
    lines = strip_chatter(text).splitlines()
    while lines and (lines[0].lstrip().startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return strip_chatter("\n".join(lines))


def generate(call: CallRecorder, messages: list[Message], words: int, index: int, n: int = 1,
             temperature: float = 0.7, repetition_penalty: float = 1.05) -> list[str]:
    """The Generator: `n` drafts of one section as one engine batch, cut where they start looping."""
    budget = SectionBudget.for_words(words)
    request = ChatRequest(stop_on_loop=True, messages=messages, max_tokens=budget.max_tokens, min_tokens=budget.min_tokens,
                          temperature=temperature, repetition_penalty=repetition_penalty)
    texts = [cut_loop(clean_draft(c.text))
             for c in call("write", [request] * n, template=SECTION_TEMPLATE, section_index=index)]
    if call.store is not None and call.run_id is not None:
        call.store.save_role_records(call.run_id, index, [{"role": "generator", "input": messages[-1].content,
                                                           "output": t} for t in texts])
    return texts


def lengthen(call: CallRecorder, messages: list[Message], texts: list[str], words: int, index: int,
             temperature: float = 0.7, repetition_penalty: float = 1.05) -> list[str]:
    """Bring drafts to `words`: short ones go to the Extender (`writer.lengthen`), then are continued if
    still short; long ones are trimmed. Extender inputs/outputs are stored as role records."""
    threads = [Thread(messages, t) for t in texts]
    records = []
    for _ in range(EXTEND_ROUNDS):
        short = [i for i, t in enumerate(threads) if t.text and words - count_words(t.text) > words * (1 - SHORT)]
        if not short:
            break
        results = extend(call, [threads[i] for i in short], messages, words, index, temperature, repetition_penalty)
        better = [(i, r) for i, r in zip(short, results) if r is not None]
        for i, longer in better:
            records.append({"role": "extender", "input": threads[i].text, "output": longer.text})
            threads[i] = longer
        if not better:
            break
    if records and call.store is not None and call.run_id is not None:
        call.store.save_role_records(call.run_id, index, records)
    for _ in range(MAX_CONTINUATIONS):
        short = [i for i, t in enumerate(threads) if words - count_words(t.text) > words * (1 - SHORT)]
        if not short:
            break
        requests = []
        for i in short:
            more = int((words - count_words(threads[i].text)) * TOKENS_PER_WORD) + 16
            if not fits(call.engine, threads[i].messages, threads[i].text, new_tokens=more):
                threads[i] = Thread(messages, threads[i].text)  # the section prompt alone was budgeted to fit
            requests.append(ChatRequest(stop_on_loop=True, messages=threads[i].answered_by(threads[i].text),
                                        continue_final=True, max_tokens=more, min_tokens=int(more * 0.8),
                                        temperature=temperature, repetition_penalty=repetition_penalty))
        additions = call("continue", requests, template=SECTION_TEMPLATE, section_index=index)
        if not any(a.text.strip() for a in additions):
            break
        for i, addition in zip(short, additions):
            threads[i] = Thread(threads[i].messages, cut_loop(join_text(threads[i].text, addition.text)))
    texts = [t.text for t in threads]
    # a continuation stopped by max_tokens ends mid-sentence: end at the last full sentence if the budget allows
    return [end_at_sentence(trim_to_words(t, words) if count_words(t) > words * LONG else t, int(words * SHORT))
            for t in texts]


def draft(call: CallRecorder, messages: list[Message], words: int, index: int, n: int = 1,
          temperature: float = 0.7, repetition_penalty: float = 1.05) -> list[str]:
    """`n` drafts of one section brought to `words`: the Generator, then `lengthen`."""
    texts = generate(call, messages, words, index, n, temperature, repetition_penalty)
    return lengthen(call, messages, texts, words, index, temperature, repetition_penalty)


def pick_best(call: CallRecorder, plan: Plan, index: int, texts: list[str]) -> tuple[int, list[dict]]:
    """Score candidate drafts with the length, rules and checklist judges; return the best one's index and all
    scores. A judge that fails on a candidate is left out of its mean, never guessed."""
    from judges import JudgeInput, JudgeResult, get_judge

    section = plan.sections[index]
    task = f"{plan.instruction}\n\nThis is section {index + 1}, \"{section.title}\": {section.main_point}"
    samples = [JudgeInput(text=t or "(empty)", instruction=task, words=section.words) for t in texts]
    scored: list[dict] = [{} for _ in texts]
    for name in ("length", "rules", "checklist"):
        judge = get_judge(name)
        for k, result in enumerate(judge.score(samples, call if judge.needs_engine else None)):
            if isinstance(result, JudgeResult) and result.score is not None:
                scored[k][name] = round(result.score, 2)
    means = [sum(s.values()) / len(s) if s else 0.0 for s in scored]
    best = max(range(len(texts)), key=lambda k: means[k])
    return best, [{"text": t, "words": count_words(t), "scores": s, "score": round(m, 2), "chosen": k == best}
                  for k, (t, s, m) in enumerate(zip(texts, scored, means))]

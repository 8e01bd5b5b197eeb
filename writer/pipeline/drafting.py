"""Drafting one section: the Generator (`generate`), defect removal (`clean`), length control (`lengthen`).

The control unit (`writer.pipeline.memory.control`) runs these as a section's `write` and `extend`
steps, and `pick_best` when a section has several candidate drafts.

A section is written as a part of one document, not as a reply of its own: the prompt gives its
place (`writer.pipeline.context`), the engine may not write a heading or, before the last section, open
a conclusion (`banned_words`), and whatever such text still comes out is cut by the defect
checks (`writer.text.defects`).

The model ends its section where it ends its thought; the token bounds only keep it within
reach of the budget (`writer.pipeline.context.SectionBudget`). A draft short of its budget is continued
from where it stopped (a prefilled assistant message in the conversation the draft answered, so
the engine's prefix cache serves it); one far short first goes to the Self-Lengthen Extender
(`writer.pipeline.lengthen`), which enriches it rather than padding it. A draft that runs long loses
its last paragraphs. A draft that starts looping is cut where the loop starts
(`writer.text.repetition`) and continued from there, so loops never pad a section to its budget.
"""

from __future__ import annotations

from collections import Counter

from judges import JudgeInput, JudgeResult, get_judge
from judges.engine import choose_judge_model, judge_engine
from writer.artifacts import Plan
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message, Sampling
from writer.pipeline.context import SECTION_TEMPLATE, TOKENS_PER_WORD, SectionBudget
from writer.pipeline.lengthen import Thread, extend, fits
from writer.text.defects import Place, banned_words, clean, remove_defects
from writer.text.lengths import LONG, SHORT, count_words, end_at_sentence, join_text, trim_to_paragraph
from writer.text.repetition import cut_loop

EXTEND_BELOW = 0.6  # a draft under this share of its budget is enriched by the Extender before it is continued
MAX_CONTINUATIONS = 3
EXTEND_ROUNDS = 2  # Self-Lengthen micro-iterations at most
# A continuation that adds fewer words than this once they are cleaned gained nothing: the next one penalises
# repeats more, and after STUCK_AFTER such in a row the draft is left as it is (the check re-runs the section)
MIN_GAIN_WORDS = 5
STUCK_AFTER = 2  # continuations in a row that gained nothing before a draft is left as it is
STUCK_REPETITION_PENALTY = 1.2


def prose_request(messages: list[Message], max_tokens: int, min_tokens: int, place: Place, sampling: Sampling,
                  continue_final: bool = False) -> ChatRequest:
    return ChatRequest(messages=messages, max_tokens=max_tokens, min_tokens=min_tokens, continue_final=continue_final,
                       stop_on_loop=True, bad_words=banned_words(place), **sampling.model_dump())


def generate(call: CallRecorder, messages: list[Message], words: int, place: Place, n: int = 1,
             sampling: Sampling = Sampling(), earlier: str = "") -> tuple[list[str], list[Counter]]:
    """The Generator: `n` drafts of one section as one engine batch, cut where they start looping and cleaned
    of defects. Returns the drafts and the defects found in each."""
    budget = SectionBudget.for_words(words)
    request = prose_request(messages, budget.max_tokens, budget.min_tokens, place, sampling)
    raw = [cut_loop(c.text) for c in call("write", [request] * n, template=SECTION_TEMPLATE, section_index=place.index)]
    texts, found = clean(raw, place, earlier)
    if call.store is not None and call.run_id is not None:
        call.store.save_role_records(call.run_id, place.index, [{"role": "generator", "input": messages[-1].content,
                                                                 "output": t} for t in texts])
    return texts, found


def _short(text: str, words: int, share: float = SHORT) -> bool:
    return count_words(text) < words * share


def lengthen(call: CallRecorder, messages: list[Message], texts: list[str], words: int, place: Place,
             sampling: Sampling = Sampling(), style: str = "", earlier: str = "") -> tuple[list[str], list[Counter]]:
    """Bring drafts to `words`: those far short go to the Extender (`writer.pipeline.lengthen`), then any still short are
    continued; long ones lose their last paragraphs. Extender inputs/outputs are stored as role records. `style` is
    the run's `--style`, for the Extender's prompts (continuations follow the section prompt, which has it).

    Each continuation is cleaned of defects (`earlier`: the text before the section) before the length is judged
    again, so a continuation that only said a sentence again is continued, not kept as length the cut takes away.
    Returns the drafts and the defects cut from each while continuing."""
    threads = [Thread(messages, t) for t in texts]
    cut = [Counter() for _ in texts]
    records = []
    for _ in range(EXTEND_ROUNDS):
        short = [i for i, t in enumerate(threads) if t.text and _short(t.text, words, EXTEND_BELOW)]
        if not short:
            break
        results = extend(call, [threads[i] for i in short], messages, words, place, sampling, style)
        better = [(i, r) for i, r in zip(short, results) if r is not None]
        for i, longer in better:
            records.append({"role": "extender", "input": threads[i].text, "output": longer.text})
            threads[i] = longer
        if not better:
            break
    if records and call.store is not None and call.run_id is not None:
        call.store.save_role_records(call.run_id, place.index, records)
    gained_nothing = Counter()  # continuations in a row whose words were all cut (a loop, a repeat)
    for _ in range(MAX_CONTINUATIONS):
        short = [i for i, t in enumerate(threads) if _short(t.text, words) and gained_nothing[i] < STUCK_AFTER]
        if not short:
            break
        requests = []
        for i in short:
            # the same prefix tends to bring the same loop back: after one that kept nothing, penalise repeats more
            pushed = sampling if not gained_nothing[i] else sampling.model_copy(
                update={"repetition_penalty": max(STUCK_REPETITION_PENALTY, sampling.repetition_penalty)})
            more = int((words - count_words(threads[i].text)) * TOKENS_PER_WORD) + 16
            if not fits(call.engine, threads[i].messages, threads[i].text, new_tokens=more):
                threads[i] = Thread(messages, threads[i].text)  # the section prompt alone was budgeted to fit
            text = threads[i].text.rstrip()
            requests.append(prose_request(threads[i].answered_by(text), int(more * 1.2), int(more * 0.7), place,
                                          pushed, continue_final=True))
        additions = call("continue", requests, template=SECTION_TEMPLATE, section_index=place.index)
        if not any(a.text.strip() for a in additions):
            break
        for i, addition in zip(short, additions):
            text = cut_loop(join_text(threads[i].text.rstrip(), addition.text))
            cleaned = remove_defects(text, place, earlier)
            removed = cleaned.found - Counter(f.kind for f in cleaned.left)  # what is left is counted by the check
            cut[i] += removed
            # the draft as the engine wrote it, unless something was cut: the next continuation then prefills the
            # cut text (a cache miss), so the model does not see, and go on from, what it should not have said
            before = count_words(threads[i].text)
            threads[i] = Thread(threads[i].messages, cleaned.text if removed else text)
            gained_nothing[i] = gained_nothing[i] + 1 if count_words(threads[i].text) < before + MIN_GAIN_WORDS else 0
    return [fit_length(t.text, words) for t in threads], cut


def fit_length(text: str, words: int) -> str:
    """A long draft cut back at a paragraph end (a sentence end if no paragraph end fits); one that stops
    mid-sentence (at a token limit, or where a loop was cut) ended at its last full sentence, unless that would
    lose most of it: a section that breaks off mid-sentence reads as broken, a few words short does not."""
    if count_words(text) > words * LONG:
        text = trim_to_paragraph(text, int(words * LONG), int(words * SHORT))
    ended = end_at_sentence(text, 0)
    return ended if count_words(ended) * 2 >= count_words(text) else text


def judge_call(call: CallRecorder) -> CallRecorder:
    """The recorder the candidates' model judge runs on: the judge model (the run's `judge_model` option, else
    WRITER_JUDGE_MODEL / config, else the strongest installed model; `judges.engine`), or the writer's own
    recorder when that is the same engine. Its calls are stored with the run."""
    model = None
    if call.store is not None and call.run_id is not None:
        model = (call.store.get_run(call.run_id).options or {}).get("judge_model")
    engine = judge_engine(choose_judge_model(model=model, writer=call.engine))
    return call if engine is call.engine else CallRecorder(engine, call.store, call.run_id, call.on_call)


def pick_best(call: CallRecorder, plan: Plan, index: int, texts: list[str]) -> tuple[int, list[dict]]:
    """Score candidate drafts with the length, rules and checklist judges (the checklist on the judge model,
    `judge_call`); return the best one's index and all scores. A judge that fails on a candidate is left out of
    its mean, never guessed."""
    section = plan.sections[index]
    task = f"{plan.instruction}\n\nThis is section {index + 1}, \"{section.title}\": {section.main_point}"
    samples = [JudgeInput(text=t or "(empty)", instruction=task, words=section.words) for t in texts]
    scored: list[dict] = [{} for _ in texts]
    judged_by = judge_call(call)
    for name in ("length", "rules", "checklist"):
        judge = get_judge(name)
        for k, result in enumerate(judge.score(samples, judged_by if judge.needs_engine else None)):
            if isinstance(result, JudgeResult) and result.score is not None:
                scored[k][name] = round(result.score, 2)
    means = [sum(s.values()) / len(s) if s else 0.0 for s in scored]
    best = max(range(len(texts)), key=lambda k: means[k])
    return best, [{"text": t, "words": count_words(t), "scores": s, "score": round(m, 2), "chosen": k == best}
                  for k, (t, s, m) in enumerate(zip(texts, scored, means))]

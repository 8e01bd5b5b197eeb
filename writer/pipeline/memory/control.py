"""The control unit: runs a run's stored program one step at a time.

L2MAC's idea applied to long documents: the plan is compiled into steps
(`writer.pipeline.memory.steps`) kept in the store; the control unit executes the next pending one,
builds each call's context from memory within the model's window (`writer.pipeline.context`), checks
each section (`writer.pipeline.memory.checks`) and, when a check fails, re-runs the section's write and
extend with the failure fed back, at most `max_attempts` times in all. The best attempt is
kept either way, so a weak model slows a run down but never stops it. Every step's
status, attempts and outcome are stored, and so is every memory read and write, so a killed
run resumes where it stopped and a finished one can be inspected (`writer runs show --memory`).

What the user gave the run is read from its options: `--style` goes into every prompt; with
`--source`, each section's prompt gets the passages BM25 retrieves for it (query: the
instruction, the section's title and main point), and the check step checks the citations the
draft makes (`writer.text.citations`): those that do not hold are dropped, and a draft most of
whose citations fail is re-run with that as feedback. Every citation checked is stored.

Section steps of different sections are independent in parallel mode, so
`run_section` may be called from several threads at once (the engine merges their calls).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from writer.artifacts import Passage, Plan, PlannedSection, WrittenSection
from writer.calls import CallRecorder
from writer.engines.base import Message, Sampling
from writer.events import OnEvent, SectionDone, SectionStarted, StepDone, ignore
from writer.pipeline.context import (
    HISTORY_TOKENS,
    MEMORY_TOKENS,
    TOKENS_PER_WORD,
    SectionBudget,
    SectionMemory,
    section_prompt,
)
from writer.pipeline.drafting import generate, lengthen, pick_best, prose_request
from writer.pipeline.memory.checks import CheckResult, check_section, citation_failure
from writer.pipeline.memory.files import MemoryFiles
from writer.pipeline.memory.passes import drop_repeated_sentences, stitch, trim_to_total
from writer.pipeline.memory.steps import DRAFT_OPS, SECTION_OPS, Step, compile_steps
from writer.pipeline.memory.summaries import summarise
from writer.sources.index import SourceIndex
from writer.store import StepRow, Store
from writer.text.citations import Citation, check_citations, strip_citations
from writer.text.defects import Place, clean
from writer.text.lengths import count_words, end_at_sentence, join_text
from writer.text.repetition import cut_loop

MAX_ATTEMPTS = 2  # a section is written at most this many times (each re-run costs a whole section)
DOCUMENT_TOLERANCE = 0.05  # the consistency pass aims the whole document within this share of its target
CONTINUE_ROUNDS = 3  # batches of continuations the consistency pass may send to close the document's gap
RETRIEVED = 6  # passages retrieved for a section, best first (as many as fit its prompt are shown)



class ControlUnit:
    """Executes the stored program of run `run_id`."""

    def __init__(self, store: Store, call: CallRecorder, run_id: str, mode: str = "sequential",
                 candidates: int = 1, history_tokens: int = HISTORY_TOKENS, memory_tokens: int = MEMORY_TOKENS,
                 max_attempts: int = MAX_ATTEMPTS, sampling: Sampling = Sampling(), on_event: OnEvent = ignore):
        self.store = store
        self.call = call
        self.run_id = run_id
        self.mode = mode
        self.candidates = candidates
        self.history_tokens = history_tokens
        self.memory_tokens = memory_tokens
        self.max_attempts = max_attempts
        self.sampling = sampling
        self.files = MemoryFiles(store, run_id)
        self.on_event = on_event
        self._options: dict | None = None
        self._passages: dict[int, Passage] | None = None
        self._index: SourceIndex | None = None

    # what the user gave the run
    @property
    def options(self) -> dict:
        if self._options is None:
            self._options = dict(self.store.get_run(self.run_id).options or {})
        return self._options

    @property
    def style(self) -> str:
        return self.options.get("style") or ""

    @property
    def kind(self) -> str:
        return self.options.get("kind") or "compose"

    def passages(self) -> dict[int, Passage]:
        """The run's source passages by number ({} for a run without sources)."""
        if self._passages is None:
            self._passages = ({p.number: p for p in self.store.sources(self.run_id)}
                              if self.options.get("sources") else {})
        return self._passages

    def retrieve(self, plan: Plan, index: int) -> list[Passage]:
        """The passages for section `index`, best first (none for a run without sources)."""
        if not self.passages():
            return []
        if self._index is None:
            self._index = SourceIndex(list(self.passages().values()))
        section = plan.sections[index]
        return self._index.search(f"{plan.instruction} {section.title} {section.main_point}", RETRIEVED)

    def hold_citations(self, text: str) -> tuple[str, list[Citation]]:
        """`text` with the citations that do not hold dropped, and the verdict on each (none without sources)."""
        if not self.passages():
            return text, []
        return check_citations(text, {n: p.text for n, p in self.passages().items()})

    def save_citations(self, index: int, citations: list[dict], version: int = 1) -> None:
        """Store checked citations (`Citation` fields as dicts), with the file and passage each names."""
        rows = []
        for c in citations:
            passage = self.passages().get(c["number"])
            rows.append({**c, "path": passage.path if passage else None, "passage": passage.text if passage else None})
        if rows:
            self.store.save_citations(self.run_id, index, version, rows)

    # the program
    def compile(self, plan: Plan) -> list[StepRow]:
        """Store the program for `plan` (once per run) and return it."""
        self.store.save_steps(self.run_id, [{"seq": i.seq, "op": i.op, "section_index": i.section_index}
                                              for i in compile_steps(plan, self.mode, self.kind)])
        return list(self.store.steps(self.run_id))

    def _row(self, seq: int) -> StepRow:
        return next(r for r in self.store.steps(self.run_id) if r.seq == seq)

    def _plan(self, seq: int | None) -> Plan:
        plan = self.store.load_plan(self.run_id)
        self.store.log_memory(self.run_id, seq, "read", "plan", sum(count_words(s.main_point) for s in plan.sections))
        return plan

    def run_section(self, index: int) -> WrittenSection:
        """Execute the pending steps of section `index` (re-runs included) until it is committed."""
        while True:
            rows = [r for r in self.store.steps(self.run_id) if r.section_index == index and r.op in SECTION_OPS]
            pending = [r for r in rows if r.status == "pending"]
            if not pending:
                return self.store.get_section(self.run_id, index)
            self.execute(pending[0])

    def run_document(self) -> None:
        """Execute the pending document-level steps (stitching, consistency)."""
        rows = [r for r in self.store.steps(self.run_id) if r.op not in SECTION_OPS and r.status == "pending"]
        stitches = [r for r in rows if r.op == "stitch"]
        if stitches:
            self._stitch(stitches)
        for row in rows:
            if row.op == "consistency":
                self._consistency(row)

    def execute(self, row: StepRow) -> None:
        getattr(self, f"_{row.op}")(row)

    def _done(self, row: StepRow, note: str, **fields) -> None:
        self.store.update_step(self.run_id, row.seq, status="done", note=note, **fields)
        self.on_event(StepDone(row.seq, row.op, row.section_index, note))

    # section steps
    def _messages(self, plan: Plan, index: int, seq: int, feedback: str = "",
                  revision: dict | None = None) -> list[Message]:
        section = plan.sections[index]
        earlier = self.files.sections(seq, before=index) if self.mode == "sequential" else []
        memory = SectionMemory(summaries=self.files.summaries(index, seq), facts=self.files.facts(seq),
                               feedback=feedback)
        prompt = section_prompt(plan, index, earlier, self.call.engine, SectionBudget.for_words(section.words),
                                self.history_tokens, memory, self.memory_tokens, sources=self.retrieve(plan, index),
                                style=self.style, revision=revision)
        return [Message(role="user", content=prompt)]

    def _place(self, plan: Plan, index: int, prompt: str = "") -> Place:
        return Place(index=index, count=len(plan.sections), title=plan.sections[index].title,
                     other_titles=tuple(plan.sections[k].title for k in sorted(range(len(plan.sections)),
                                                                               key=lambda k: abs(k - index))
                                        if k != index),  # nearest first: the ones a model writes into it
                     prompt=prompt, instruction=plan.instruction,
                     previous_title=plan.sections[index - 1].title if index > 0 else "",
                     previous_point=plan.sections[index - 1].main_point if index > 0 else "")

    def _earlier(self, index: int, seq: int) -> str:
        """The text before section `index`, as far as it is written (in parallel mode, none is yet)."""
        if self.mode != "sequential":
            return ""
        return "\n\n".join(s.text for s in self.files.sections(seq, before=index))

    def _start_section(self, row: StepRow) -> tuple[Plan, PlannedSection, list[Message]] | None:
        """The plan, the section and its prompt for a write or original step; None (the step skipped) when the
        section is already written. The first attempt announces the section."""
        index, seq = row.section_index, row.seq
        if self.store.get_section(self.run_id, index) is not None:
            self._skip_section(index, "section already written")
            return None
        plan = self._plan(seq)
        section = plan.sections[index]
        if row.attempts == 0:
            self.on_event(SectionStarted(index, len(plan.sections), section))
        return plan, section, self._messages(plan, index, seq, row.feedback or "")

    def _write(self, row: StepRow) -> None:
        index, seq = row.section_index, row.seq
        started = self._start_section(row)
        if started is None:
            return
        plan, section, messages = started
        place = self._place(plan, index, messages[0].content)
        texts, found = generate(self.call, messages, section.words, place, self.candidates, self.sampling,
                                self._earlier(index, seq))
        self.files.write_json(f"draft/{index}", {"prompt": messages[0].content, "texts": texts,
                                                 "defects": [dict(f) for f in found]}, seq)
        cut = sum(found, Counter())
        self._done(row, f"attempt {row.attempts + 1}: {len(texts)} draft(s), "
                        f"{'/'.join(str(count_words(t)) for t in texts)} words"
                        + (f"; cut {_counts(cut)}" if cut else ""), attempts=row.attempts + 1)

    def _original(self, row: StepRow) -> None:
        """`writer extend`: the user's own text of section `index` is its draft (a part with no text is drafted)."""
        index, seq = row.section_index, row.seq
        started = self._start_section(row)
        if started is None:
            return
        plan, section, messages = started
        text = self.files.read(f"original/{index}", seq) or ""
        found = [Counter()]
        if not text.strip():
            place = self._place(plan, index, messages[0].content)
            (text,), found = generate(self.call, messages, section.words, place, 1, self.sampling,
                                      self._earlier(index, seq))
        self.files.write_json(f"draft/{index}", {"prompt": messages[0].content, "texts": [text],
                                                 "defects": [dict(f) for f in found]}, seq)
        self._done(row, f"attempt {row.attempts + 1}: the original, {count_words(text)} words",
                   attempts=row.attempts + 1)

    def _extend(self, row: StepRow, name: str = "draft") -> None:
        """Bring the drafts in memory file `name`/k to the section's budget."""
        index, seq = row.section_index, row.seq
        plan = self._plan(seq)
        section = plan.sections[index]
        draft = self.files.read_json(f"{name}/{index}", seq)
        messages = [Message(role="user", content=draft["prompt"])]
        place = self._place(plan, index, draft["prompt"])
        before = [count_words(t) for t in draft["texts"]]
        earlier = self._earlier(index, seq)
        texts, continued = lengthen(self.call, messages, draft["texts"], section.words, place, self.sampling,
                                    self.style, earlier)
        texts, found = clean(texts, place, earlier)
        found = [f + c for f, c in zip(found, continued)]
        defects = [dict(Counter(d) + f) for d, f in zip(draft.get("defects") or [{}] * len(texts), found)]
        self.files.write_json(f"{name}/{index}", {"prompt": draft["prompt"], "texts": texts, "defects": defects}, seq)
        after = [count_words(t) for t in texts]
        cut = sum(found, Counter())
        self._done(row, "; ".join(f"{b} -> {a} words" for b, a in zip(before, after))
                   + (f"; cut {_counts(cut)}" if cut else ""))

    def _check(self, row: StepRow) -> None:
        index, seq = row.section_index, row.seq
        plan = self._plan(seq)
        section = plan.sections[index]
        result, best = self._assess(plan, index, seq, "draft", "best")
        write_row = next(r for r in self.store.steps(self.run_id) if r.op in ("write", "original")
                         and r.section_index == index)
        attempts = write_row.attempts
        if result.passed or attempts >= self.max_attempts:
            kept = self.files.commit_section(WrittenSection(
                index=index, title=section.title, text=best["text"], words=count_words(best["text"]),
                defects=best.get("defects") or {}, defects_left=best.get("defects_left") or {}), seq)
            self.save_citations(index, best.get("citations") or [])
            note = "passed" if result.passed else f"kept best of {attempts} attempts; still: {'; '.join(best['failures'])}"
            self._done(row, f"{note} ({kept.words} words)", attempts=row.attempts + 1)
            self.on_event(SectionDone(index, kept))
            return
        self._retry(row, result, [r for r in self.store.steps(self.run_id)
                                  if r.section_index == index and r.op in DRAFT_OPS])

    def _retry(self, row: StepRow, result: CheckResult, redo: list[StepRow]) -> None:
        """A failed check: the steps `redo` are pending again, the drafting ones with the failure as feedback."""
        feedback = "; ".join(result.failures)
        self.store.update_step(self.run_id, row.seq, attempts=row.attempts + 1, feedback=feedback,
                               note=f"failed: {feedback}")
        for r in redo:
            self.store.update_step(self.run_id, r.seq, status="pending",
                                   feedback=feedback if r.op not in ("extend", "relengthen") else None)
        self.on_event(StepDone(row.seq, row.op, row.section_index, f"failed: {feedback}"))

    def _assess(self, plan: Plan, index: int, seq: int, name: str, best_name: str) -> tuple[CheckResult, dict]:
        """Check the drafts in memory file `name`/k (the judges pick one of several; citations that do not hold are
        dropped) and keep the best attempt so far in `best_name`/k. Returns the check's result and that best."""
        section = plan.sections[index]
        draft = self.files.read_json(f"{name}/{index}", seq)
        texts = draft["texts"]
        defects = draft.get("defects") or [{}] * len(texts)
        pick = 0
        if len(texts) > 1:
            pick, records = pick_best(self.call, plan, index, texts)
            self.store.save_candidates(self.run_id, index, records)
        text, citations = self.hold_citations(texts[pick])
        earlier = self._earlier(index, seq)
        result = check_section(text, section, earlier, self._place(plan, index, draft["prompt"]))
        failure = citation_failure(citations)
        if failure:
            result.failures.append(failure)
        best = self.files.read_json(f"{best_name}/{index}", seq)
        if best is None or result.badness(section.words) < tuple(best["badness"]):
            best = {"text": text, "failures": result.failures, "badness": list(result.badness(section.words)),
                    "defects": defects[pick], "defects_left": dict(result.defects_left),
                    "citations": [asdict(c) for c in citations]}
            self.files.write_json(f"{best_name}/{index}", best, seq)
        return result, best

    def _summarise(self, row: StepRow) -> None:
        index, seq = row.section_index, row.seq
        section = self.files.section(index, seq)
        summary, found, by_model = summarise(self.call, section.title, section.text, index)
        self.files.write(f"summary/{index}", summary, seq)
        self.files.add_facts(index, found, seq)
        source = "model summary" if by_model else "extractive summary (model's failed its checks)"
        self._done(row, f"{source}; {len(found['names'])} names, {len(found['facts'])} facts kept")

    def _skip_section(self, index: int, note: str) -> None:
        for r in self.store.steps(self.run_id):
            if r.section_index == index and r.status == "pending":
                self._done(r, note)

    # document steps
    def _stitch(self, rows: list[StepRow]) -> None:
        """All pending boundaries in one engine batch."""
        plan = self._plan(rows[0].seq)
        boundaries = []
        for row in rows:
            previous = self.files.section(row.section_index - 1, row.seq)
            current = self.files.section(row.section_index, row.seq)
            boundaries.append((row.section_index, previous.text, current.title, current.text))
        places = [self._place(plan, row.section_index) for row in rows]
        for row, (text, note) in zip(rows, stitch(self.call, plan.instruction, boundaries, places, self.style)):
            if text != self.store.get_section(self.run_id, row.section_index).text:
                self.files.replace_section(row.section_index, text, row.seq)
            self._done(row, note)

    def _consistency(self, row: StepRow) -> None:
        seq = row.seq
        plan = self._plan(seq)
        sections = self.files.sections(seq)
        texts, repeats = drop_repeated_sentences([s.text for s in sections])
        removed = sum(repeats)
        notes = [f"removed {removed} sentence(s) repeated from earlier sections"] if removed else []
        found = [Counter({"repeated": n}) if n else Counter() for n in repeats]
        target, total = plan.target_words, sum(count_words(t) for t in texts)
        budgets = [s.words for s in plan.sections]
        if total < (1 - DOCUMENT_TOLERANCE) * target:
            added = 0
            for _ in range(CONTINUE_ROUNDS):  # a round whose continuations were cut as defects leaves a gap
                texts, more, cut = self._continue_short(plan, texts, target - total, seq)
                found = [f + c for f, c in zip(found, cut)]
                added += more
                total = sum(count_words(t) for t in texts)
                if not more or total >= (1 - DOCUMENT_TOLERANCE) * target:
                    break
            notes.append(f"continued sections by {added} words")
        elif total > (1 + DOCUMENT_TOLERANCE) * target:
            texts = trim_to_total(texts, budgets, int(target * (1 + DOCUMENT_TOLERANCE)))
            notes.append(f"trimmed {total - sum(count_words(t) for t in texts)} words")
        for section, text, defects in zip(sections, texts, found):
            if text != section.text and self.passages():  # continuations cite too: check what they added
                text, citations = self.hold_citations(text)
                said = strip_citations(section.text)
                self.save_citations(section.index, [asdict(c) for c in citations if c.sentence not in said],
                                    self.store.section_version(self.run_id, section.index))
            if text != section.text:
                self.files.replace_section(section.index, text, seq, dict(defects))
        words = sum(count_words(t) for t in texts)
        self._done(row, "; ".join(notes + [f"{words} words for a target of {target}"]))

    def _continue_short(self, plan: Plan, texts: list[str], missing: int,
                        seq: int) -> tuple[list[str], int, list[Counter]]:
        """Continue the sections furthest below their budgets, in one batch, to cover `missing` words. Returns
        the texts, the words added and the defects cut from each continuation."""
        gaps = sorted(((plan.sections[k].words - count_words(t), k) for k, t in enumerate(texts)), reverse=True)
        picked: list[tuple[int, int]] = []
        for gap, k in gaps:
            if missing <= 0:
                break
            share = max(min(missing, max(gap, 0) or missing // max(1, len(texts))), 20)
            picked.append((k, share))
            missing -= share
        requests = []
        for k, share in picked:
            messages = self._messages(plan, k, seq) + [Message(role="assistant", content=texts[k])]
            tokens = int(share * TOKENS_PER_WORD) + 16
            requests.append(prose_request(messages, tokens, int(tokens * 0.8), self._place(plan, k), self.sampling,
                                          continue_final=True))
        texts = list(texts)
        added = 0
        cut = [Counter() for _ in texts]
        for (k, _), completion in zip(picked, self.call("continue", requests)):
            # cut back to a sentence end first, then clean: a sign-off cut mid-sentence is still a sign-off
            joined = end_at_sentence(cut_loop(join_text(texts[k], completion.text)), count_words(texts[k]))
            (longer,), (found,) = clean([joined], self._place(plan, k), "\n\n".join(texts[:k]))
            if count_words(longer) > count_words(texts[k]):
                added += count_words(longer) - count_words(texts[k])
                texts[k], cut[k] = longer, found
        return texts, added, cut


def _counts(counts: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


__all__ = ["ControlUnit", "Step", "MAX_ATTEMPTS"]

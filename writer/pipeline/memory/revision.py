"""Rewriting one section of a finished run (`writer revise`), with the run's own memory and checks.

The revision is part of the run's stored program: `start` appends four steps for the section
(`writer.pipeline.memory.steps.revision_steps`), and the control unit runs them like any other,
so a killed revision resumes where it stopped.

- `redraft`: the Generator writes the section again from its usual prompt (the same memory:
  the summaries and facts of the run, the text before it in sequential mode, its sources),
  shown the current version and the user's instruction ("more concrete examples");
- `relengthen`: the Extender and continuation bring it to its budget;
- `recheck`: the section checks (and citation checks); a failure re-runs the two steps before
  with the failure fed back, at most `max_attempts` times, and the best attempt is kept;
- `restitch`: its opening is rewritten to follow the section before and its closing paragraph to
  lead into the section after (`writer.pipeline.memory.passes`); the neighbours are not touched.
  The result is stored as the section's next version (`Store.add_section_version`: the old
  ones are kept).
"""

from __future__ import annotations

from writer.artifacts import WrittenSection
from writer.errors import UsageError
from writer.events import SectionDone, SectionStarted
from writer.pipeline.drafting import generate
from writer.pipeline.memory.control import ControlUnit
from writer.pipeline.memory.passes import stitch, stitch_ending
from writer.pipeline.memory.steps import REVISION_OPS, revision_steps
from writer.store import StepRow, Store
from writer.text.lengths import count_words

__all__ = ["RevisionUnit", "pending_revision"]


def pending_revision(store: Store, run_id: str) -> int | None:
    """The index of the section whose revision is unfinished in run `run_id`, or None."""
    pending = [r for r in store.steps(run_id) if r.op in REVISION_OPS and r.status == "pending"]
    return pending[0].section_index if pending else None


class RevisionUnit(ControlUnit):
    """The control unit, with the steps that rewrite one finished section."""

    def pending(self) -> list[StepRow]:
        return [r for r in self.store.steps(self.run_id) if r.op in REVISION_OPS and r.status == "pending"]

    def start(self, index: int, instruction: str | None = None) -> bool:
        """Add the steps that rewrite section `index` to the program. Returns False when an unfinished revision of
        that section is there already: it is resumed as it was asked (its instruction kept)."""
        unfinished = pending_revision(self.store, self.run_id)
        if unfinished is not None:
            if unfinished != index:
                k = unfinished + 1
                raise UsageError(f"section {index + 1} cannot be revised while the revision of section {k} is "
                                 f"unfinished; run `writer revise {self.run_id} --section {k}` to finish it",
                                 option="section")
            return False
        first = max(r.seq for r in self.store.steps(self.run_id)) + 1
        self.files.write_json(f"revision/{index}", {"instruction": instruction or "", "first_seq": first})
        self.files.write_json(f"revised/{index}", None)
        self.store.add_steps(self.run_id, [{"seq": s.seq, "op": s.op, "section_index": s.section_index}
                                           for s in revision_steps(index, first)])
        return True

    def run_revision(self, index: int) -> WrittenSection:
        """Execute the pending revision steps of section `index`; returns the section's new version."""
        while True:
            pending = [r for r in self.pending() if r.section_index == index]
            if not pending:
                return self.store.get_section(self.run_id, index)
            self.execute(pending[0])

    def _job(self, index: int, seq: int) -> dict:
        return self.files.read_json(f"revision/{index}", seq)

    def _rows(self, index: int, seq: int) -> list[StepRow]:
        """This revision's steps."""
        first = self._job(index, seq)["first_seq"]
        return [r for r in self.store.steps(self.run_id) if r.seq >= first and r.section_index == index
                and r.op in REVISION_OPS]

    def _redraft(self, row: StepRow) -> None:
        index, seq = row.section_index, row.seq
        plan = self._plan(seq)
        section = plan.sections[index]
        if row.attempts == 0:
            self.on_event(SectionStarted(index, len(plan.sections), section))
        current = self.files.section(index, seq)
        revision = {"text": current.text, "instruction": self._job(index, seq)["instruction"]}
        messages = self._messages(plan, index, seq, row.feedback or "", revision)
        place = self._place(plan, index, messages[0].content)
        texts, found = generate(self.call, messages, section.words, place, self.candidates, self.sampling,
                                self._earlier(index, seq))
        self.files.write_json(f"redraft/{index}", {"prompt": messages[0].content, "texts": texts,
                                                   "defects": [dict(f) for f in found]}, seq)
        self._done(row, f"attempt {row.attempts + 1}: {len(texts)} draft(s), "
                        f"{'/'.join(str(count_words(t)) for t in texts)} words", attempts=row.attempts + 1)

    def _relengthen(self, row: StepRow) -> None:
        self._extend(row, name="redraft")

    def _recheck(self, row: StepRow) -> None:
        index, seq = row.section_index, row.seq
        plan = self._plan(seq)
        result, best = self._assess(plan, index, seq, "redraft", "revised")
        rows = self._rows(index, seq)
        attempts = next(r for r in rows if r.op == "redraft").attempts
        if result.passed or attempts >= self.max_attempts:
            note = "passed" if result.passed else f"kept best of {attempts} attempts; still: {'; '.join(best['failures'])}"
            self._done(row, f"{note} ({count_words(best['text'])} words)", attempts=row.attempts + 1)
            return
        self._retry(row, result, [r for r in rows if r.op in ("redraft", "relengthen")])

    def _restitch(self, row: StepRow) -> None:
        """Join the new text to both neighbours (changing only it), then store it as the next version."""
        index, seq = row.section_index, row.seq
        plan = self._plan(seq)
        best = self.files.read_json(f"revised/{index}", seq)
        text, notes = best["text"], []
        place = self._place(plan, index)
        if index > 0:
            before = self.files.section(index - 1, seq)
            [(text, note)] = stitch(self.call, plan.instruction, [(index, before.text, plan.sections[index].title,
                                                                   text)], [place], self.style)
            notes.append(note)
        if index + 1 < len(plan.sections):
            after = self.files.section(index + 1, seq)
            text, note = stitch_ending(self.call, plan.instruction, text, after.title, after.text, place, self.style)
            notes.append(note)
        instruction = self._job(index, seq)["instruction"] or None
        checks = "passed" if not best["failures"] else "; ".join(best["failures"])
        version = self.files.add_version(index, text, instruction, checks, seq)
        self.save_citations(index, best.get("citations") or [], version)
        section = self.store.get_section(self.run_id, index)
        self._done(row, f"version {version} ({section.words} words); " + "; ".join(notes or ["no neighbours"]))
        self.on_event(SectionDone(index, section))

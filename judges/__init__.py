"""Judges: how good is a long document? One call, typed results, every verdict stored.

    from judges import judge
    j = judge(text, instruction="Write a 2000-word essay on tides.", judges=["length", "rules", "quality"])
    j.scores        # {"length": 96.1, "rules": 98.7, "quality": 62.5}

Built-in judges (a name -> class registry; more come from `writer.judges` entry points):
- length: LongBench-Write S_l (`judges/length.py`), no model;
- rules: repetition, diversity, compression, plan coverage (`judges/rules.py`), no model;
- quality: LongBench-Write's six dimensions, S_q (`judges/quality.py`);
- checklist: HelloEval checklists, calibrated weights (`judges/checklist.py`);
- clear: ExpertLongBench CLEAR against a reference and rubric (`judges/clear.py`);
- dspy-quality, dspy-checklist: quality and checklist as DSPy modules (`judges/dspy_judges.py`), which
  `writer optimize judge` compiles; `program=` runs a compiled one in place of the built-in.
The model judges may use another engine than the writer (a large model on a GPU server can
judge what a small one wrote). A reply that fails validation is retried twice, then
reported as a `JudgeError` in the judgment, never turned into a score.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field, SerializeAsAny

from judges.base import Judge, JudgeError, JudgeInput, JudgeReplyError, JudgeResult
from judges.length import required_words
from writer.calls import CallRecorder
from writer.engines import resolve_engine
from writer.engines.base import Engine
from writer.errors import EngineError, UsageError
from writer.registry import Registry
from writer.store import Store

__all__ = ["judge", "judge_batch", "Judgment", "Judge", "JudgeInput", "JudgeResult", "JudgeError",
           "get_judge", "judge_names", "default_judges"]

JUDGES = Registry("judge", "writer.judges", {
    "length": "judges.length:LengthJudge",
    "rules": "judges.rules:RulesJudge",
    "quality": "judges.quality:QualityJudge",
    "checklist": "judges.checklist:ChecklistJudge",
    "clear": "judges.clear:ClearJudge",
    "dspy-quality": "judges.dspy_judges:DSPyQualityJudge",
    "dspy-checklist": "judges.dspy_judges:DSPyChecklistJudge",
})


def judge_names() -> list[str]:
    return JUDGES.names()


def get_judge(name: str) -> Judge:
    """A judge instance by name (built-in or from a `writer.judges` entry point)."""
    return JUDGES.load(name)()


class Judgment(BaseModel):
    """Every requested judge's result or error on one text."""

    run_id: str | None = None
    judges: list[str]
    results: dict[str, SerializeAsAny[JudgeResult]] = Field(default_factory=dict)
    errors: list[JudgeError] = Field(default_factory=list)
    judge_engine: str | None = None
    judge_model: str | None = None

    @property
    def scores(self) -> dict[str, float | None]:
        """Each judge's score on 0-100 (None for a judge that failed)."""
        out: dict[str, float | None] = {name: None for name in self.judges}
        out.update({name: r.score for name, r in self.results.items()})
        return out


def default_judges(sample: JudgeInput) -> list[str]:
    """What can run on `sample`: rules always; length when a target is known; quality and checklist with an
    instruction; clear with a reference and a rubric."""
    names = ["rules"]
    if required_words(sample) is not None:
        names.insert(0, "length")
    if sample.instruction:
        names += ["quality", "checklist"]
    if sample.reference and sample.rubric:
        names.append("clear")
    return names


def _engine(engine: Engine | str | None, model: str | None, base_url: str | None) -> Engine:
    return resolve_engine(engine, model, base_url)


def judge_batch(samples: Sequence[JudgeInput], *, judges: Sequence[str] | None = None,
                engine: Engine | str | None = None, model: str | None = None, base_url: str | None = None,
                store: Store | None = None, run_ids: Sequence[str | None] | None = None,
                program: str | None = None) -> list[Judgment]:
    """Judge several texts; each model judge sends all of them to the engine as one batch.

    Args:
        samples: the texts and what they are judged against.
        judges: judge names; None picks `default_judges` of the first sample.
        engine, model, base_url: the judge engine (an `Engine`, or a name plus options; default from
            WRITER_ENGINE / config), built only when a model judge runs.
        store: where calls and verdicts are stored (default: the user's store).
        run_ids: the run each sample belongs to (stored with its verdicts).
        program: a judge program compiled by `writer optimize judge`; it runs in place of the built-in judge
            of its kind (as `dspy-quality` or `dspy-checklist`).
    Returns:
        one `Judgment` per sample.
    """
    if not samples:
        return []
    names = list(dict.fromkeys(judges)) if judges else default_judges(samples[0])
    if not names:
        raise UsageError("no judges to run")
    compiled = None
    if program is not None:
        from judges.dspy_judges import judge_from_program, with_program

        compiled = judge_from_program(program)
        names = with_program(names, compiled)
    instances = [compiled if compiled is not None and n == compiled.name else get_judge(n) for n in names]
    for j in instances:
        for s in samples:
            j.check(s)
    run_ids = list(run_ids) if run_ids is not None else [None] * len(samples)
    store = store or Store()
    call = None
    if any(j.needs_engine for j in instances):
        eng = _engine(engine, model, base_url)
        call = CallRecorder(eng, store, run_ids[0] if len(set(run_ids)) == 1 else None)
    out = [Judgment(run_id=rid, judges=names, judge_engine=call.engine.name if call else None,
                    judge_model=call.engine.model_id if call else None) for rid in run_ids]
    for j in instances:
        try:
            results = j.score(samples, call)
        except (JudgeReplyError, EngineError) as exc:
            results = [JudgeError(judge=j.name, error=f"{type(exc).__name__}: {exc}")] * len(samples)
        for judgment, result in zip(out, results):
            if isinstance(result, JudgeError):
                judgment.errors.append(result)
            else:
                judgment.results[j.name] = result
    for judgment in out:
        extra = {"judge_engine": judgment.judge_engine, "judge_model": judgment.judge_model}
        for name, result in judgment.results.items():
            store.save_judgment(judgment.run_id, name, result.score, {**result.details(), **extra})
        for e in judgment.errors:
            store.save_judgment(judgment.run_id, e.judge, None, {"attempts": e.attempts, "replies": e.replies, **extra},
                                error=e.error)
    return out


def judge(text: str, *, instruction: str | None = None, words: int | None = None, reference: str | None = None,
          rubric: Sequence[str] | None = None, plan_titles: Sequence[str] | None = None, category: str | None = None,
          judges: Sequence[str] | None = None, engine: Engine | str | None = None, model: str | None = None,
          base_url: str | None = None, store: Store | None = None, run_id: str | None = None,
          program: str | None = None) -> Judgment:
    """Judge one text.

    Args:
        text: the document.
        instruction: what it was written for (quality, checklist; length reads a target from it).
        words: required length in words (length).
        reference, rubric: reference text and rubric items (clear).
        plan_titles: planned section titles, for plan coverage (rules).
        category: checklist category (default: guessed from the instruction).
        judges: names from `judge_names()`; default `default_judges` (whatever the inputs allow).
        engine, model, base_url: the judge engine, when a model judge runs.
        store, run_id: where calls and verdicts go, and the run they belong to.
        program: a compiled judge program (see `judge_batch`).
    Returns:
        a `Judgment`: typed results by judge name, and errors of judges whose replies never validated.
    """
    if not text or not text.strip():
        raise UsageError("the text to judge is empty")
    if words is not None and words < 1:
        raise UsageError(f"words must be at least 1, got {words}", option="words")
    sample = JudgeInput(text=text, instruction=instruction, words=words, reference=reference,
                        rubric=list(rubric) if rubric else None, plan_titles=list(plan_titles) if plan_titles else None,
                        category=category)
    return judge_batch([sample], judges=judges, engine=engine, model=model, base_url=base_url, store=store,
                       run_ids=[run_id], program=program)[0]

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
  `writer optimize judge` compiles; `program=` runs a compiled one in place of the built-in;
- pairwise: which of two texts for one instruction is better, judged in both orders (`judges/pairwise.py`):
  `judge_pair(a, b, instruction=...)`, never on one text.
The model judges run on the judge model, not the writer's: by default the strongest installed local
model (`judges/engine.py`), so a small writer is judged by a larger model; the `Judgment` names it.
A reply that fails validation is retried twice, then reported as a `JudgeError` in the judgment,
never turned into a score.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field, SerializeAsAny

from judges.base import Judge, JudgeError, JudgeInput, JudgeReplyError, JudgeResult
from judges.engine import choose_judge_model, judge_engine
from judges.length import required_words
from judges.pairwise import OrderVerdict, PairInput, PairVerdict, compare, pair_score
from writer.calls import CallRecorder
from writer.engines.base import Engine
from writer.errors import EngineError, UsageError
from writer.registry import Registry
from writer.store import Store

__all__ = ["judge", "judge_batch", "judge_pair", "judge_pairs", "Judgment", "PairJudgment", "Judge", "JudgeInput",
           "JudgeResult", "JudgeError", "get_judge", "judge_names", "default_judges", "model_judges",
           "choose_judge_model", "PairInput", "OrderVerdict"]

JUDGES = Registry("judge", "writer.judges", {
    "length": "judges.length:LengthJudge",
    "rules": "judges.rules:RulesJudge",
    "quality": "judges.quality:QualityJudge",
    "checklist": "judges.checklist:ChecklistJudge",
    "clear": "judges.clear:ClearJudge",
    "dspy-quality": "judges.dspy_judges:DSPyQualityJudge",
    "dspy-checklist": "judges.dspy_judges:DSPyChecklistJudge",
    "pairwise": "judges.pairwise:PairwiseJudge",
})
PAIRWISE = "pairwise"


def judge_names() -> list[str]:
    return JUDGES.names()


def get_judge(name: str) -> Judge:
    """A judge instance by name (built-in or from a `writer.judges` entry point)."""
    return JUDGES.load(name)()


def model_judges(names: Sequence[str]) -> list[str]:
    """Those of `names` that call a model (so need the judge model)."""
    return [n for n in names if JUDGES.load(n).needs_engine]


class Judgment(BaseModel):
    """Every requested judge's result or error on one text."""

    run_id: str | None = None
    judges: list[str]
    results: dict[str, SerializeAsAny[JudgeResult]] = Field(default_factory=dict)
    errors: list[JudgeError] = Field(default_factory=list)
    judge_engine: str | None = None
    judge_model: str | None = None
    judge_model_source: str | None = None  # why that model: "given", "strongest installed", ...

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


class PairJudgment(PairVerdict):
    """A pairwise verdict on two texts ("first" is `a`, "second" is `b`), with the judge model that gave it."""

    instruction: str
    run_ids: tuple[str | None, str | None] = (None, None)
    labels: tuple[str, str] = ("first", "second")
    judge_engine: str | None = None
    judge_model: str | None = None
    judge_model_source: str | None = None
    error: str | None = None  # both orders' replies failed validation: the tie is no verdict


def _engine(engine: Engine | str | None, model: str | None, base_url: str | None) -> tuple[Engine, str]:
    """The judge engine and why that model: an instance as given, else the judge model (`judges/engine.py`)."""
    if isinstance(engine, Engine):
        return engine, "given"
    choice = choose_judge_model(engine, model, base_url)
    return judge_engine(choice), choice.source


def judge_batch(samples: Sequence[JudgeInput], *, judges: Sequence[str] | None = None,
                engine: Engine | str | None = None, model: str | None = None, base_url: str | None = None,
                store: Store | None = None, run_ids: Sequence[str | None] | None = None,
                program: str | None = None) -> list[Judgment]:
    """Judge several texts; each model judge sends all of them to the engine as one batch.

    Args:
        samples: the texts and what they are judged against.
        judges: judge names; None picks `default_judges` of the first sample.
        engine, model, base_url: the judge engine (an `Engine`, or a name plus options), built only when a
            model judge runs; with no model, the judge model of `judges.engine.choose_judge_model`
            (WRITER_JUDGE_MODEL, config `judge_model`, else the strongest installed local model).
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
    if PAIRWISE in names:
        raise UsageError("the pairwise judge compares two texts: use judge_pair (writer judge A --against B)")
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
    call, source = None, None
    if any(j.needs_engine for j in instances):
        eng, source = _engine(engine, model, base_url)
        call = CallRecorder(eng, store, run_ids[0] if len(set(run_ids)) == 1 else None)
    out = [Judgment(run_id=rid, judges=names, judge_engine=call.engine.name if call else None,
                    judge_model=call.engine.model_id if call else None, judge_model_source=source)
           for rid in run_ids]
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


def judge_pairs(pairs: Sequence[PairInput], *, engine: Engine | str | None = None, model: str | None = None,
                base_url: str | None = None, store: Store | None = None,
                run_ids: Sequence[tuple[str | None, str | None]] | None = None,
                labels: Sequence[tuple[str, str]] | None = None) -> list[PairJudgment]:
    """Judge several pairs with the pairwise judge: both orders of every pair in one engine batch.

    Args:
        pairs: two texts for one instruction each.
        engine, model, base_url: the judge engine, as for `judge_batch`.
        store: where the calls and verdicts are stored (default: the user's store); each verdict is one
            `pairwise` row in the judgments table, under the first text's run, with both runs, the winner
            and both orders' reasons in its details.
        run_ids: per pair, the runs of its two texts (None for a text that is no run).
        labels: per pair, names for the two texts (file names), kept in the verdict.
    Returns:
        one `PairJudgment` per pair.
    """
    if not pairs:
        return []
    for p in pairs:
        if not p.instruction.strip():
            raise UsageError("the pairwise judge needs instruction")
        if not p.first.strip() or not p.second.strip():
            raise UsageError("a text to compare is empty")
    run_ids = list(run_ids) if run_ids is not None else [(None, None)] * len(pairs)
    labels = list(labels) if labels is not None else [("first", "second")] * len(pairs)
    store = store or Store()
    eng, source = _engine(engine, model, base_url)
    runs = {r for ids in run_ids for r in ids}
    verdicts = compare(pairs, CallRecorder(eng, store, next(iter(runs)) if len(runs) == 1 else None))
    out = []
    for p, v, ids, names in zip(pairs, verdicts, run_ids, labels):
        failed = [o.error for o in v.orders if o.error]
        j = PairJudgment(**v.model_dump(), instruction=p.instruction, run_ids=tuple(ids), labels=tuple(names),
                         judge_engine=eng.name, judge_model=eng.model_id, judge_model_source=source,
                         error=failed[0] if len(failed) == len(v.orders) else None)
        details = {"first_run_id": ids[0], "second_run_id": ids[1], "labels": list(names), "winner": j.winner,
                   "consistent": j.consistent, "orders": [o.model_dump() for o in j.orders],
                   "truncated_input": j.truncated_input, "margin": j.margin, "judge_engine": j.judge_engine, "judge_model": j.judge_model}
        store.save_judgment(ids[0], PAIRWISE, None if j.error else pair_score(j.winner), details, error=j.error)
        out.append(j)
    return out


def judge_pair(a: str, b: str, *, instruction: str, engine: Engine | str | None = None, model: str | None = None,
               base_url: str | None = None, store: Store | None = None,
               run_ids: tuple[str | None, str | None] = (None, None),
               labels: tuple[str, str] = ("first", "second")) -> PairJudgment:
    """Which of `a` and `b`, written for `instruction`, is the better document?

    Judged in both orders (A/B, then B/A); the verdict ("first" for `a`, "second" for `b`) counts only when
    both orders name the same text, else it is a "tie". Both orders' verdicts and reasons are kept.

        j = judge_pair(open("a.md").read(), open("b.md").read(), instruction="Write a 2000-word essay on tides.")
        j.winner, [o.reason for o in j.orders]

    Args:
        a, b: the two texts.
        instruction: what both were written for.
        engine, model, base_url, store: as for `judge_pairs`.
        run_ids, labels: the texts' runs and names, stored with the verdict.
    Returns:
        a `PairJudgment`.
    """
    return judge_pairs([PairInput(instruction=instruction, first=a, second=b)], engine=engine, model=model,
                       base_url=base_url, store=store, run_ids=[run_ids], labels=[labels])[0]


"""Compile the DSPy planner or a DSPy judge against our own metrics (`writer optimize`).

Trainsets are JSONL:
- planner: `{"instruction": "...", "length": 800}` a line (`prompt` for `instruction` and
  `words` for `length` are accepted too, so LongBench-Write's file works as it is);
- judge: `{"instruction": "...", "text": "...", "label": 0-100}` a line, the label being a
  human (or strong-model) score of the text on 0-100; `category` optionally picks the
  checklist. Pointwise labels rather than pairs: the agreement metric needs nothing more,
  and a pair "A better than B" can be written as two lines with labels 100 and 0.

Metrics (each on 0-1; the report multiplies by 100):
- planner `plan` (cheap, one planning call per example): mean of budget (S_l of the plan's
  stated budgets against the target), count (section count within what the target allows,
  close to the suggested count), coverage (share of the instruction's content words found in
  the plan) and distinct (share of sections that are not duplicates).
- planner `compose` (what the issue asks for, expensive): the plan is repaired and composed
  by the workflow as a run of its own (stored), then the mean of S_l of the document, the rules
  judge's plan coverage, and the checklist judge's score (left out of the mean, and said so,
  when the judge gives no valid verdict). On a 2-core CPU this is minutes per example.
- judge `agreement`: 1 - |predicted score - label| / 100.

Optimizers: `bootstrap` (`dspy.BootstrapFewShot`: demos from training runs that pass
`threshold`; no labelled demos, the trainsets hold no outputs) and `mipro` (`dspy.MIPROv2`:
instruction candidates plus demos; `auto="light"` unless `trials` is given). The metric is
measured on the validation set before and after compilation, at temperature 0 so the two
numbers differ by the program, not by sampling. Without a valset a third of the trainset
(at least one example) is held out.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dspy

from judges.base import JudgeInput
from judges.checklist import ChecklistJudge
from judges.dspy_judges import CHECKLIST_TEMPLATE, JUDGE_MODULES, QUALITY_TEMPLATE, checklist_for, prediction_score
from judges.length import length_score
from judges.rules import plan_coverage
from planners.dspy_planner import TEMPLATE, PlanModule, sections_of
from planners.repair import repair_plan, section_count_bounds, suggested_sections
from writer.artifacts import Plan, document_text
from writer.calls import CallRecorder
from writer.dspy.lm import configure_dspy, dspy_lm
from writer.dspy.programs import save_program
from writer.engines import Engine, resolve_engine
from writer.errors import UsageError
from writer.pipeline.workflow import ComposeWorkflow
from writer.store import Store
from writer.text.lengths import count_words
from writer.text.words import TASK_WORDS, content_words

__all__ = ["OptimizeResult", "optimize", "load_examples", "planner_metric", "judge_metric", "evaluate",
           "PLANNER_METRICS", "OPTIMIZERS"]

PLANNER_METRICS = ("plan", "compose")
OPTIMIZERS = ("bootstrap", "mipro")


@dataclass
class OptimizeResult:
    """What an optimization run measured and saved."""

    kind: str
    optimizer: str
    metric: str
    train: int
    val: int
    before: float
    after: float
    before_scores: list[float] = field(default_factory=list)
    after_scores: list[float] = field(default_factory=list)
    demos: int = 0
    seconds: float = 0.0
    engine_calls: int = 0
    out: str | None = None


def _read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    rows = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise UsageError(f"{path}:{n}: not JSON") from None
            if not isinstance(row, dict):
                raise UsageError(f"{path}:{n}: not a JSON object")
            rows.append(row)
    if not rows:
        raise UsageError(f"{path} holds no examples")
    return rows


def load_examples(path: str | Path, kind: str, judge: str = "quality") -> list[dspy.Example]:
    """The examples of a trainset/valset file for `kind` ("planner" or "judge")."""
    out = []
    for n, row in enumerate(_read_jsonl(path), start=1):
        instruction = str(row.get("instruction") or row.get("prompt") or "").strip()
        if not instruction:
            raise UsageError(f"{path}:{n}: no instruction")
        if kind == "planner":
            length = row.get("length", row.get("words"))
            if not isinstance(length, int) or not 0 < length <= 100_000:
                raise UsageError(f"{path}:{n}: length must be a whole number of words (1-100000)")
            out.append(dspy.Example(instruction=instruction, target_words=length).with_inputs("instruction",
                                                                                              "target_words"))
            continue
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"{path}:{n}: no text")
        if isinstance(label, bool) or not isinstance(label, (int, float)) or not 0 <= label <= 100:
            raise UsageError(f"{path}:{n}: label must be a score from 0 to 100")
        fields = {"instruction": instruction, "response": text, "label": float(label)}
        inputs = ["instruction", "response"]
        if judge == "checklist":
            fields["checklist"] = checklist_for(instruction, row.get("category"))
            inputs.append("checklist")
        out.append(dspy.Example(**fields).with_inputs(*inputs))
    return out


def split(examples: list, seed: int = 0) -> tuple[list, list]:
    """(train, val): a third held out (at least one example; none when there is only one)."""
    if len(examples) < 2:
        raise UsageError("need at least 2 examples to hold some out; or pass --valset")
    order = list(examples)
    random.Random(seed).shuffle(order)
    held = max(1, len(order) // 3)
    return order[held:], order[:held]


# planner metrics
def _content_words(text: str) -> set[str]:
    return {w for w in content_words(text) if w.isalpha() and w not in TASK_WORDS}


def plan_parts(example, prediction) -> dict[str, float]:
    """The cheap plan-level metric's parts, each 0-1."""
    sections = sections_of(prediction)
    target = int(example.target_words)
    if not sections:
        return {"budget": 0.0, "count": 0.0, "coverage": 0.0, "distinct": 0.0}
    stated = sum(max(0, int(s.get("words") or 0)) for s in sections)
    budget = length_score(target, stated) / 100 if stated > 0 else 0.0
    low, high = section_count_bounds(target)
    want, k = suggested_sections(target), len(sections)
    count = 1 - 0.5 * abs(k - want) / max(want, k) if low <= k <= high else 0.0
    keywords = _content_words(example.instruction)
    planned = _content_words(" ".join(f"{s.get('title', '')} {s.get('main_point', '')}" for s in sections))
    coverage = len(keywords & planned) / len(keywords) if keywords else 1.0
    titles = {re.sub(r"\W+", " ", str(s.get("title", "")).lower()).strip() for s in sections}
    distinct = len(titles - {""}) / k
    return {"budget": budget, "count": count, "coverage": coverage, "distinct": distinct}


class _FixedPlanner:
    """A planner that returns the plan already predicted (the metric judges that plan, not a new one)."""

    def __init__(self, plan, raw: str):
        self._plan, self._raw = plan, raw

    def plan(self, instruction, target):
        return self._plan, self._raw


def compose_parts(example, prediction, call: CallRecorder) -> dict[str, float]:
    """The full metric's parts: the plan is repaired and composed by the workflow as a run of its own, then
    judged: S_l of the document, plan coverage, checklist (left out when the judge gives no valid verdict)."""
    target = int(example.target_words)
    raw = sections_of(prediction)
    sections, repairs = repair_plan(example.instruction, target, raw)
    plan = Plan(instruction=example.instruction, target_words=target, sections=sections, repairs=repairs)
    store = call.store or Store()
    engine = call.engine
    run_id = store.create_run(example.instruction, target, "option", engine.name, engine.model_id,
                              options={"optimize_metric": "compose"})
    recorder = CallRecorder(engine, store, run_id, on_call=call.on_call)
    ComposeWorkflow(store, recorder, _FixedPlanner(plan, json.dumps({"sections": raw}))).run(run_id)
    text = document_text(store.sections(run_id))
    parts = {"length": length_score(target, max(1, count_words(text))) / 100 if text.strip() else 0.0}
    titles = [s.title for s in plan.sections]
    parts["coverage"] = plan_coverage(text, titles)[0] if len(titles) > 1 else 1.0
    verdict = ChecklistJudge().score([JudgeInput(text=text or "(empty)", instruction=example.instruction)],
                                     recorder)[0]
    if getattr(verdict, "score", None) is not None:
        parts["checklist"] = verdict.score / 100
    return parts


def planner_metric(kind: str, call: CallRecorder | None = None) -> Callable:
    """A DSPy metric (example, prediction, trace) -> 0-1 for the planner."""
    if kind not in PLANNER_METRICS:
        raise UsageError(f"unknown planner metric {kind!r}; choose one of: {', '.join(PLANNER_METRICS)}")

    def metric(example, prediction, trace=None) -> float:
        parts = plan_parts(example, prediction) if kind == "plan" else compose_parts(example, prediction, call)
        return sum(parts.values()) / len(parts)

    metric.__name__ = f"planner_{kind}"
    return metric


def judge_metric(judge: str) -> Callable:
    """A DSPy metric: agreement of the judge's 0-100 score with the example's label."""
    def metric(example, prediction, trace=None) -> float:
        try:
            score = prediction_score(judge, prediction, getattr(example, "checklist", None))
        except (ValueError, AttributeError, TypeError):
            return 0.0
        return max(0.0, 1 - abs(score - float(example.label)) / 100)

    metric.__name__ = f"judge_{judge}_agreement"
    return metric


def evaluate(program: dspy.Module, examples: list, metric: Callable) -> list[float]:
    """The metric of `program` on each example (0 for an example whose run fails), sequentially."""
    scores = []
    for example in examples:
        try:
            prediction = program(**example.inputs())
            scores.append(float(metric(example, prediction)))
        except (dspy.utils.exceptions.AdapterParseError, ValueError) as exc:
            print(f"  example failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); scored 0")
            scores.append(0.0)
    return scores


def _compile(optimizer: str, student: dspy.Module, metric: Callable, train: list, val: list, *, threshold: float,
             max_demos: int, trials: int | None, seed: int, prompt_model=None) -> dspy.Module:
    if optimizer == "bootstrap":
        teleprompter = dspy.BootstrapFewShot(metric=metric, metric_threshold=threshold,
                                             max_bootstrapped_demos=max_demos, max_labeled_demos=0, max_rounds=1)
        return teleprompter.compile(student, trainset=train)
    if optimizer == "mipro":
        settings = {"auto": "light"} if trials is None else {"auto": None, "num_candidates": max(2, trials)}
        teleprompter = dspy.MIPROv2(metric=metric, prompt_model=prompt_model, max_bootstrapped_demos=max_demos,
                                    max_labeled_demos=0,
                                    num_threads=1, seed=seed, metric_threshold=threshold, verbose=False, **settings)
        extra = {} if trials is None else {"num_trials": trials, "minibatch": False}
        return teleprompter.compile(student, trainset=train, valset=val, **extra)
    raise UsageError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")


def optimize(kind: str, trainset: str | Path, *, valset: str | Path | None = None, optimizer: str = "bootstrap",
             out: str | Path | None = None, metric: str | None = None, judge: str = "quality",
             engine: Engine | str | None = None, model: str | None = None, base_url: str | None = None,
             threshold: float = 0.5, max_demos: int = 2, trials: int | None = None, limit: int | None = None,
             seed: int = 0, store=None) -> OptimizeResult:
    """Compile the planner (`kind="planner"`) or a judge (`kind="judge"`) and save the program.

    Args:
        kind: "planner" or "judge".
        trainset, valset: JSONL files (see the module docstring); without a valset a third is held out.
        optimizer: "bootstrap" (BootstrapFewShot) or "mipro" (MIPROv2).
        out: where to save the compiled program (default: `<kind>.program.json` in the current folder).
        metric: planner: "plan" (cheap) or "compose" (default; writes each plan); judge: "agreement".
        judge: which judge to compile: "quality" or "checklist".
        engine, model, base_url: the engine the module runs on (as for compose).
        threshold: metric (0-1) a training run must reach to become a demo.
        max_demos: most bootstrapped demos in the compiled prompt.
        trials: MIPROv2 trials (None: auto="light").
        limit: use at most this many training and validation examples each.
        seed: shuffling seed of the split.
        store: where the calls go (default: the user's store).
    Returns:
        OptimizeResult with the validation metric (0-100) before and after.
    """
    if kind not in ("planner", "judge"):
        raise UsageError(f"unknown module {kind!r}; choose planner or judge")
    if kind == "judge" and judge not in ("quality", "checklist"):
        raise UsageError(f"unknown judge {judge!r}; choose quality or checklist")
    if optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    metric = metric or ("compose" if kind == "planner" else "agreement")
    if kind == "judge" and metric != "agreement":
        raise UsageError(f"the judge metric is agreement, got {metric!r}")
    if kind == "planner" and metric not in PLANNER_METRICS:
        raise UsageError(f"unknown planner metric {metric!r}; choose one of: {', '.join(PLANNER_METRICS)}")
    if not 0 <= threshold <= 1:
        raise UsageError(f"threshold must be between 0 and 1, got {threshold}", option="threshold")
    if max_demos < 0:
        raise UsageError(f"max_demos must be at least 0, got {max_demos}", option="max_demos")
    out_path = Path(out or f"{kind}.program.json").expanduser()
    if not out_path.parent.exists():
        raise UsageError(f"output folder does not exist: {out_path.parent}")
    train = load_examples(trainset, kind, judge)
    val = load_examples(valset, kind, judge) if valset else None
    if val is None:
        train, val = split(train, seed)
    if limit is not None:
        train, val = train[:limit], val[:limit]

    eng = resolve_engine(engine, model, base_url)
    call = CallRecorder(eng, store or Store())
    if kind == "planner":
        stage, template, score = "plan", TEMPLATE, planner_metric(metric, call)
    else:
        stage, score = f"judge:{judge}", judge_metric(judge)
        template = QUALITY_TEMPLATE if judge == "quality" else CHECKLIST_TEMPLATE
    counted = {"calls": 0}
    previous = call.on_call
    call.on_call = lambda s, comps: counted.__setitem__("calls", counted["calls"] + len(comps))
    lm = dspy_lm(call, stage, template=template, temperature=0.0)
    configure_dspy(lm)
    started = time.perf_counter()
    try:
        with dspy.context(lm=lm):
            student = PlanModule() if kind == "planner" else JUDGE_MODULES[judge]()
            before = evaluate(student, val, score)
            compiled = _compile(optimizer, student, score, train, val, threshold=threshold, max_demos=max_demos,
                                trials=trials, seed=seed,
                                prompt_model=dspy_lm(call, "optimize:propose", temperature=0.7))
            after = evaluate(compiled, val, score)
    finally:
        call.on_call = previous
    demos = sum(len(p.demos) for p in compiled.predictors())
    result = OptimizeResult(kind=kind, optimizer=optimizer, metric=metric, train=len(train), val=len(val),
                            before=round(100 * sum(before) / len(before), 2),
                            after=round(100 * sum(after) / len(after), 2),
                            before_scores=[round(100 * s, 2) for s in before],
                            after_scores=[round(100 * s, 2) for s in after], demos=demos,
                            seconds=round(time.perf_counter() - started, 1), engine_calls=counted["calls"])
    save_program(out_path, compiled, kind, judge if kind == "judge" else None, optimizer=optimizer, metric=metric,
                 threshold=threshold, max_demos=max_demos, trainset=str(trainset),
                 valset=str(valset) if valset else None, train=result.train, val=result.val,
                 before=result.before, after=result.after, engine=eng.name, model=eng.model_id)
    result.out = str(out_path)
    return result

"""The model judges as DSPy modules: `quality` (LongBench-Write's six dimensions) and `checklist` (HelloEval).

Same verdicts as `judges/quality.py` and `judges/checklist.py`, expressed as signatures with
typed (pydantic) outputs, so `writer optimize judge` can compile them against labelled texts.
The signatures' instructions are the files `prompts/dspy/quality.j2` and
`prompts/dspy/checklist.j2`. Registered as the judges `dspy-quality` and `dspy-checklist`
(uncompiled); `writer judge --program P.json` runs a compiled one in place of the built-in of
the same kind.

Each sample is one module call (one engine call, stored under "judge:quality" or
"judge:checklist"); a reply that cannot be used is retried up to twice, warmer, then reported
as a `JudgeError`, never turned into a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import dspy
from pydantic import BaseModel, Field, create_model

from judges.base import MAX_RETRIES, Judge, JudgeError, JudgeInput, fit_text, require
from judges.checklist import ChecklistItem, ChecklistResult, get_checklist, guess_category, load_weights
from judges.quality import DIMENSIONS, QualityResult, quality_score
from prompts import render
from writer.calls import CallRecorder
from writer.dspy.lm import dspy_lm, last_output, run_module
from writer.dspy.programs import load_program

__all__ = ["QualityAssessment", "QualitySignature", "QualityModule", "ChecklistAnswer", "ChecklistSignature",
           "checklist_signature", "ChecklistModule", "DSPyQualityJudge", "DSPyChecklistJudge", "prediction_score", "JUDGE_MODULES"]

QUALITY_TEMPLATE = "dspy/quality.j2"
CHECKLIST_TEMPLATE = "dspy/checklist.j2"
Rating = Literal[1, 2, 3, 4, 5]


class QualityAssessment(BaseModel):
    """The analysis first (so the ratings follow from it), then each dimension 1-5."""

    analysis: str = Field(min_length=1, max_length=400)
    relevance: Rating
    accuracy: Rating
    coherence: Rating
    clarity: Rating
    breadth_and_depth: Rating
    reading_experience: Rating


class QualitySignature(dspy.Signature):
    """(replaced by prompts/dspy/quality.j2 at import)"""

    instruction: str = dspy.InputField(desc="the user's writing instruction")
    response: str = dspy.InputField(desc="the text to judge")
    assessment: QualityAssessment = dspy.OutputField()


QualitySignature = QualitySignature.with_instructions(render(QUALITY_TEMPLATE))


class ChecklistAnswer(BaseModel):
    reason: str = Field(min_length=1, max_length=160)
    score: Literal[0, 0.25, 0.5, 0.75, 1]


class ChecklistSignature(dspy.Signature):
    """(replaced by prompts/dspy/checklist.j2 at import)"""

    instruction: str = dspy.InputField(desc="the user's writing instruction")
    response: str = dspy.InputField(desc="the text to judge")
    checklist: list[str] = dspy.InputField(desc="the questions, in order")


def checklist_signature(n: int) -> type[dspy.Signature]:
    """The checklist signature for exactly `n` questions.

    The answer count must be part of the JSON schema (minItems = maxItems = n), as in the
    built-in judge, or a small model writes any number of answers. DSPy builds the schema
    from a field's type only (constraints given on the field are dropped), so the count
    lives inside a pydantic model type, one per checklist size.
    """
    verdict = create_model(f"ChecklistVerdict{n}",
                           answers=(list[ChecklistAnswer], Field(min_length=n, max_length=n,
                                                                 description="one entry per question, in order")))
    return ChecklistSignature.append("verdict", dspy.OutputField(), type_=verdict).with_instructions(
        render(CHECKLIST_TEMPLATE))


CHECKLIST_SIZES = (5, 6, 7)  # what `judges.checklist.Checklist` allows


class QualityModule(dspy.Module):
    """instruction + response -> six 1-5 ratings after a brief analysis."""

    def __init__(self):
        super().__init__()
        self.predict = dspy.Predict(QualitySignature)

    def forward(self, instruction: str, response: str) -> dspy.Prediction:
        return self.predict(instruction=instruction, response=response, config={"max_tokens": 260})


class ChecklistModule(dspy.Module):
    """instruction + response + checklist -> a reason and a 0-1 score per question.

    One predictor per checklist size (`items5`, `items6`, `items7`), each compiled on the
    training texts whose checklist has that size.
    """

    def __init__(self):
        super().__init__()
        for n in CHECKLIST_SIZES:
            setattr(self, f"items{n}", dspy.Predict(checklist_signature(n)))

    def forward(self, instruction: str, response: str, checklist: list[str]) -> dspy.Prediction:
        n = len(checklist)
        if n not in CHECKLIST_SIZES:
            raise ValueError(f"a checklist has {CHECKLIST_SIZES[0]}-{CHECKLIST_SIZES[-1]} questions, got {n}")
        prediction = getattr(self, f"items{n}")(instruction=instruction, response=response, checklist=list(checklist),
                                                 config={"max_tokens": 20 + 60 * n})
        return dspy.Prediction(answers=list(prediction.verdict.answers))


JUDGE_MODULES = {"quality": QualityModule, "checklist": ChecklistModule}


def checklist_for(instruction: str | None, category: str | None = None) -> list[str]:
    return get_checklist(category or guess_category(instruction)).items


def prediction_score(kind: str, prediction, checklist: Sequence[str] | None = None,
                     weights: Sequence[float] | None = None) -> float:
    """The 0-100 score a judge prediction amounts to (S_q for quality, weighted sum for checklist).

    Raises ValueError when the prediction cannot be scored (e.g. wrong number of checklist answers).
    """
    if kind == "quality":
        a = prediction.assessment
        return quality_score({d: int(getattr(a, d)) for d in DIMENSIONS})
    answers = list(prediction.answers or [])
    n = len(checklist or [])
    if len(answers) != n:
        raise ValueError(f"{len(answers)} checklist answers for {n} questions")
    weights = list(weights) if weights else [100 / n] * n
    return min(100.0, max(0.0, sum(float(a.score) * w for a, w in zip(answers, weights))))


class _DSPyJudge(Judge):
    kind = "quality"
    template = QUALITY_TEMPLATE
    needs_engine = True
    max_tokens = 260

    def __init__(self, module: dspy.Module | None = None, program: str | None = None, temperature: float = 0.0):
        self.module = module or JUDGE_MODULES[self.kind]()
        self.program = program
        self.temperature = temperature

    def check(self, sample: JudgeInput) -> None:
        require(sample, self.name, "instruction")
        if self.kind == "checklist" and sample.category:
            get_checklist(sample.category)

    def inputs(self, sample: JudgeInput, call: CallRecorder) -> tuple[dict, bool]:
        engine = call.engine
        budget = engine.context_window - 1200 - self.max_tokens  # the signature's own text and its schema
        text, cut = fit_text(engine, sample.text, max(200, budget))
        inputs = {"instruction": sample.instruction, "response": text}
        if self.kind == "checklist":
            inputs["checklist"] = checklist_for(sample.instruction, sample.category)
        return inputs, cut

    def ask(self, inputs: dict, call: CallRecorder) -> tuple[object | None, list[str], str]:
        """The prediction (None when no attempt validated), the replies, and the last error."""
        replies, error = [], ""
        for attempt in range(MAX_RETRIES + 1):
            temperature = self.temperature if attempt == 0 else max(0.7, self.temperature)
            lm = dspy_lm(call, f"judge:{self.kind}", template=self.template, temperature=temperature)
            try:
                prediction = run_module(self.module, lm, **inputs)
                if self.kind == "checklist":
                    prediction_score("checklist", prediction, inputs["checklist"])
                return prediction, replies, ""
            except (dspy.utils.exceptions.AdapterParseError, ValueError) as exc:
                error = str(exc).splitlines()[0][:300]
                replies.append((last_output(lm) or "")[:2000])
        return None, replies, error

    def score(self, samples: Sequence[JudgeInput], call: CallRecorder) -> list:
        out = []
        for sample in samples:
            inputs, cut = self.inputs(sample, call)
            prediction, replies, error = self.ask(inputs, call)
            if prediction is None:
                out.append(JudgeError(judge=self.name, error=f"no valid reply after {MAX_RETRIES + 1} attempts: {error}",
                                      attempts=MAX_RETRIES + 1, replies=replies))
                continue
            out.append(self.result(sample, inputs, prediction, cut))
        return out


class DSPyQualityJudge(_DSPyJudge):
    """LongBench-Write's quality dimensions from a (possibly compiled) `QualityModule`."""

    name = "dspy-quality"
    kind = "quality"

    def result(self, sample, inputs, prediction, cut) -> QualityResult:
        a = prediction.assessment
        dims = {d: int(getattr(a, d)) for d in DIMENSIONS}
        return QualityResult(judge=self.name, score=round(quality_score(dims), 4), dimensions=dims,
                             analysis=a.analysis, truncated_input=cut)


class DSPyChecklistJudge(_DSPyJudge):
    """HelloEval checklist scores from a (possibly compiled) `ChecklistModule`; calibrated weights apply."""

    name = "dspy-checklist"
    kind = "checklist"
    template = CHECKLIST_TEMPLATE
    max_tokens = 440

    def result(self, sample, inputs, prediction, cut) -> ChecklistResult:
        checklist = get_checklist(sample.category or guess_category(sample.instruction))
        n = len(checklist.items)
        calibrated = load_weights(checklist.category, n)
        weights = calibrated or [100 / n] * n
        items = [ChecklistItem(question=q, score=float(a.score), reason=a.reason, weight=round(w, 4))
                 for q, a, w in zip(checklist.items, prediction.answers, weights)]
        total = prediction_score("checklist", prediction, checklist.items, weights)
        return ChecklistResult(judge=self.name, score=round(total, 4), category=checklist.category,
                               weights="calibrated" if calibrated else "equal", items=items, truncated_input=cut)


DSPY_JUDGES = {"quality": DSPyQualityJudge, "checklist": DSPyChecklistJudge}


def judge_from_program(path) -> _DSPyJudge:
    """The DSPy judge compiled in program file `path` (UsageError, one line, for a missing or non-judge file)."""
    module, info = load_program(path, "judge", JUDGE_MODULES)
    return DSPY_JUDGES[info.judge](module=module, program=str(path))


def with_program(names: list[str], judge: _DSPyJudge) -> list[str]:
    """Judge names with the program's judge in place of the built-in of its kind (appended when absent)."""
    swapped = [judge.name if n in (judge.kind, judge.name) else n for n in names]
    return list(dict.fromkeys(swapped if judge.name in swapped else [*swapped, judge.name]))

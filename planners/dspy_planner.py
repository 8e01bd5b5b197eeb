"""The AgentWrite planner as a DSPy module, so it can be compiled (`writer optimize planner`) instead of hand-tuned.

`PlanModule` predicts typed sections (`PlanSection`: title, main point, word count) with one
`dspy.Predict` over `PlanSignature`; the JSON adapter sends the output's JSON schema as the
response format, so the engine decodes under that schema as the hand-written planner does.
The signature's instructions are the file `prompts/dspy/planner.j2` (prompts are files);
a compiled program may replace them (MIPROv2) and adds demos (bootstrap), which is what
`--program` loads.

`DSPyPlanner` implements the `Planner` contract around a module: one call, one colder retry
when the reply cannot be used, then the same deterministic `repair_plan` as AgentWrite, so
the workflow can use it in place of `AgentWritePlanner`. It runs the module inside
`dspy.context` (thread-local), never `dspy.configure`, so a LangGraph node in any thread can
call it.

The section count is bounded in the schema as AgentWrite bounds it (at most min(what the
target allows, 2n+2) sections): DSPy builds the response schema from a field's type only,
so the bound goes per call through `WriterJSONAdapter`'s `list_bounds`. Without it the
135M model kept adding sections until `max_tokens` cut the JSON.
"""

from __future__ import annotations

import json

import dspy
from pydantic import BaseModel, Field

from planners.base import Planner
from planners.repair import repair_plan, section_count_bounds, suggested_sections
from prompts import render
from writer.artifacts import Plan
from writer.calls import CallRecorder
from writer.dspy.lm import dspy_lm, last_output, run_module
from writer.text.lengths import TargetLength

__all__ = ["PlanSection", "PlanSignature", "PlanModule", "DSPyPlanner", "TEMPLATE", "plan_max_tokens", "max_sections"]

TEMPLATE = "dspy/planner.j2"


class PlanSection(BaseModel):
    """One planned part, as the model writes it (before repair)."""

    title: str = Field(min_length=1, max_length=100)
    main_point: str = Field(min_length=1, max_length=300)
    words: int


class PlanSignature(dspy.Signature):
    """(replaced by prompts/dspy/planner.j2 at import)"""

    instruction: str = dspy.InputField(desc="the writing task")
    target_words: int = dspy.InputField(desc="total length of the document in words")
    n_sections: int = dspy.InputField(desc="suggested number of parts")
    sections: list[PlanSection] = dspy.OutputField(desc="the parts, in order")


PlanSignature = PlanSignature.with_instructions(render(TEMPLATE))


def max_sections(target_words: int) -> int:
    """Most sections a plan may have, as in AgentWrite's schema: min(what the target allows, 2n+2)."""
    _, high = section_count_bounds(target_words)
    return min(high, 2 * suggested_sections(target_words) + 2)


def plan_max_tokens(target_words: int) -> int:
    """Output budget of a plan: ~140 tokens a section (as AgentWrite)."""
    return min(4096, 60 + 140 * max_sections(target_words))


class PlanModule(dspy.Module):
    """instruction + target length -> sections with main points and word budgets."""

    def __init__(self):
        super().__init__()
        self.predict = dspy.Predict(PlanSignature)

    def forward(self, instruction: str, target_words: int) -> dspy.Prediction:
        return self.predict(instruction=instruction, target_words=int(target_words),
                            n_sections=suggested_sections(int(target_words)),
                            config={"max_tokens": plan_max_tokens(int(target_words)),
                                    "list_bounds": {"sections": (1, max_sections(int(target_words)))}})


def sections_of(prediction) -> list[dict]:
    """The predicted sections as plain dicts (what `repair_plan` takes)."""
    out = []
    for s in getattr(prediction, "sections", None) or []:
        out.append(s.model_dump() if isinstance(s, BaseModel) else dict(s))
    return out


class DSPyPlanner(Planner):
    """Plans with a (possibly compiled) `PlanModule` on the run's engine, then repairs like AgentWrite.

    Args:
        call: the run's recorder; the planning call is stored under stage "plan".
        module: the module to run (default: an uncompiled `PlanModule`); `--program` loads a compiled one.
        temperature: sampling temperature of the first attempt (the retry is at 0).
        program: the program file the module was loaded from (None for the uncompiled module).
    """

    def __init__(self, call: CallRecorder, module: PlanModule | None = None, temperature: float = 0.5,
                 program: str | None = None):
        self.call = call
        self.module = module or PlanModule()
        self.temperature = temperature
        self.program = program

    def predict(self, instruction: str, target_words: int, temperature: float) -> tuple[list[dict], str]:
        """One module call: the raw sections (empty when the reply was unusable) and the raw reply."""
        lm = dspy_lm(self.call, "plan", template=TEMPLATE, temperature=temperature)
        try:
            prediction = run_module(self.module, lm, instruction=instruction, target_words=target_words)
        except (dspy.utils.exceptions.AdapterParseError, ValueError) as exc:
            return [], last_output(lm) or f"unusable reply: {exc}"[:2000]
        sections = sections_of(prediction)
        return sections, last_output(lm) or json.dumps({"sections": sections})

    def plan(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        sections, raw = self.predict(instruction, target.words, self.temperature)
        if not sections:
            sections, raw = self.predict(instruction, target.words, 0.0)
        repaired, repairs = repair_plan(instruction, target.words, sections)
        if not sections:
            repairs.insert(0, "planner reply unusable twice; plan built by repair alone")
        return Plan(instruction=instruction, target_words=target.words, target_source=target.source,
                    sections=repaired, repairs=repairs), raw

"""The planner contract."""

from __future__ import annotations

import abc

from planners.repair import suggested_sections
from writer.artifacts import Plan, PlannedSection
from writer.text.lengths import TargetLength

ONE_SECTION_NOTE = "one section: written straight from the instruction, no planning call"


class Planner(abc.ABC):
    """Makes the plan a document is written from.

    The run builds its planner from the PLANNERS registry as `cls(recorder, style=...)` (`recorder`: the
    run's `CallRecorder`, through which every engine call is made and stored); a plugin planner takes the same."""

    @abc.abstractmethod
    def plan(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        """Return the repaired plan and the raw planner output it came from."""


def one_section_plan(instruction: str, target: TargetLength) -> Plan | None:
    """The plan of a target short enough for one section (under ~525 words at AgentWrite's ~350 a section),
    made without the model; None for longer targets.

    A one-section plan from the model only restates the instruction as its main point (the 135M model's
    restatements were often worse, e.g. "The Sun: The Divine Spoke" for an astrology description), and
    its call was a fifth of the prompt tokens a short document made the engine compute (bench/dataset.py
    before this: 4,414 of 22,856). So compose skips it; `writer plan` still shows what the planner would make.
    """
    if suggested_sections(target.words) > 1:
        return None
    words = instruction.split()
    title = " ".join(words[:8]).rstrip(".,;:!?")[:80] if len(words) > 1 else instruction[:40]
    return Plan(instruction=instruction, target_words=target.words, target_source=target.source,
                sections=[PlannedSection(title=title or "Text", main_point=instruction, words=target.words)],
                repairs=[ONE_SECTION_NOTE])

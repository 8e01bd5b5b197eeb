"""The planner contract."""

from __future__ import annotations

import abc

from writer.artifacts import Plan
from writer.lengths import TargetLength


class Planner(abc.ABC):
    """Makes the plan a document is written from."""

    @abc.abstractmethod
    def plan(self, instruction: str, target: TargetLength) -> tuple[Plan, str]:
        """Return the repaired plan and the raw planner output it came from."""

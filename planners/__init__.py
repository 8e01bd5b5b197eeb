"""Planners turn an instruction and a target length into a `Plan` of sections.

Built-in: `agentwrite` (the AgentWrite planner, `AgentWritePlanner`) and `dspy` (a compiled DSPy planner,
`DSPyPlanner`, which `writer compose --program` uses); plugins register under the `writer.planners`
entry-point group.
"""

from planners.agentwrite import AgentWritePlanner
from planners.base import Planner
from planners.repair import repair_plan, section_count_bounds
from writer.registry import Registry

PLANNERS = Registry("planner", "writer.planners", {
    "agentwrite": "planners.agentwrite:AgentWritePlanner",
    "dspy": "planners.dspy_planner:DSPyPlanner",
})

__all__ = ["AgentWritePlanner", "Planner", "PLANNERS", "repair_plan", "section_count_bounds"]

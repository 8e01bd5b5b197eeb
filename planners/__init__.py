"""Planners turn an instruction and a target length into a `Plan` of sections."""

from planners.agentwrite import AgentWritePlanner
from planners.base import Planner
from planners.repair import repair_plan, section_count_bounds

__all__ = ["AgentWritePlanner", "Planner", "repair_plan", "section_count_bounds"]

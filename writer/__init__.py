"""writer: long documents from local models (AgentWrite planning, section-by-section writing, a store of every call)."""

from writer.api import compose, get_run, list_runs, plan
from writer.artifacts import ComposeResult, Plan, PlannedSection, Stats, WrittenSection

__all__ = ["compose", "plan", "get_run", "list_runs", "ComposeResult", "Plan", "PlannedSection", "Stats",
           "WrittenSection"]

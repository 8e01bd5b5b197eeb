"""writer: long documents from local models (AgentWrite planning, section-by-section writing, a store of every call)."""

from writer.artifacts import ComposeResult, Plan, PlannedSection, Stats, WrittenSection

__all__ = ["compose", "plan", "revise", "extend", "get_run", "list_runs", "get_memory", "ComposeResult", "Plan",
           "PlannedSection", "Stats", "WrittenSection"]
_API = {"compose", "plan", "revise", "extend", "get_run", "list_runs", "get_memory"}


def __getattr__(name: str):
    # The API is loaded on first use: `writer.api` imports the planners, which import `writer`'s
    # modules, so an eager import here made `import planners` on its own circular.
    if name in _API:
        from writer import api

        return getattr(api, name)
    raise AttributeError(f"module 'writer' has no attribute {name!r}")

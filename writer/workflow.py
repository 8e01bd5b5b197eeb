"""The compose workflow as a LangGraph `StateGraph`: plan -> write each section -> assemble.

Graph state holds only ids and counters; plans and section texts live in the store, so
the SQLite checkpointer stays small and a resumed run reads the same texts. Every node
is idempotent against the store: a section found there is never written again, even if
the process died after storing it but before the checkpoint was saved.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from planners.base import Planner
from writer.artifacts import Plan, WrittenSection
from writer.calls import CallRecorder
from writer.config import data_dir
from writer.drafting import write_section
from writer.lengths import TargetLength, count_words
from writer.store import Store

Event = Callable[[str, dict], None]


class ComposeState(TypedDict):
    run_id: str
    n_sections: int
    next_index: int
    output_path: str | None


def assemble(plan: Plan, sections: list[WrittenSection]) -> str:
    """The document: sections in order, each under its title when there are several."""
    if len(sections) == 1:
        return sections[0].text.strip() + "\n"
    return "\n\n".join(f"## {s.title}\n\n{s.text.strip()}" for s in sections) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file, so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ComposeWorkflow:
    """Runs one compose run through the graph, with checkpoints in `checkpoint_path`."""

    def __init__(self, store: Store, call: CallRecorder, planner: Planner, on_event: Event | None = None,
                 checkpoint_path: Path | None = None, candidates: int = 1):
        self.candidates = candidates
        self.store = store
        self.call = call
        self.planner = planner
        self.on_event = on_event or (lambda kind, data: None)
        self.checkpoint_path = checkpoint_path or data_dir() / "checkpoints.sqlite"

    # nodes
    def plan_node(self, state: ComposeState) -> dict:
        run_id = state["run_id"]
        plan = self.store.load_plan(run_id)
        if plan is None:
            run = self.store.get_run(run_id)
            target = TargetLength(run.target_words, run.target_source)
            plan, raw = self.planner.plan(run.instruction, target)
            self.store.save_plan(run_id, plan, raw)
        self.store.update_run(run_id, status="writing")
        self.on_event("planned", {"plan": plan})
        return {"n_sections": len(plan.sections), "next_index": 0}

    def write_node(self, state: ComposeState) -> dict:
        run_id, index = state["run_id"], state["next_index"]
        plan = self.store.load_plan(run_id)
        section = self.store.get_section(run_id, index)
        if section is None:
            self.on_event("section_start", {"index": index, "section": plan.sections[index]})
            written = self.store.sections(run_id)[:index]
            section = self.store.save_section(run_id, write_section(self.call, plan, index, written,
                                                                  candidates=self.candidates))
        self.on_event("section_done", {"index": index, "section": section})
        return {"next_index": index + 1}

    def assemble_node(self, state: ComposeState) -> dict:
        run_id = state["run_id"]
        sections = self.store.sections(run_id)
        text = assemble(self.store.load_plan(run_id), sections)
        if state.get("output_path"):
            write_atomic(Path(state["output_path"]), text)
        self.store.update_run(run_id, status="done", words=count_words(text), output_path=state.get("output_path"))
        return {}

    def _route(self, state: ComposeState) -> str:
        return "write" if state["next_index"] < state["n_sections"] else "assemble"

    def graph(self, checkpointer) -> object:
        g = StateGraph(ComposeState)
        g.add_node("plan", self.plan_node)
        g.add_node("write", self.write_node)
        g.add_node("assemble", self.assemble_node)
        g.add_edge(START, "plan")
        g.add_conditional_edges("plan", self._route, ["write", "assemble"])
        g.add_conditional_edges("write", self._route, ["write", "assemble"])
        g.add_edge("assemble", END)
        return g.compile(checkpointer=checkpointer)

    def run(self, run_id: str, output_path: str | None = None) -> float:
        """Run (or resume) `run_id` to the end. Returns the seconds spent in this call."""
        started = time.perf_counter()
        conn = sqlite3.connect(self.checkpoint_path, check_same_thread=False)
        try:
            graph = self.graph(SqliteSaver(conn))
            config = {"configurable": {"thread_id": run_id}, "recursion_limit": 10_000}
            snapshot = graph.get_state(config)
            if snapshot.next:  # a checkpoint to continue from
                if output_path is not None:
                    graph.update_state(config, {"output_path": output_path})
                graph.invoke(None, config)
            else:
                graph.invoke({"run_id": run_id, "n_sections": 0, "next_index": 0, "output_path": output_path},
                             config)
        finally:
            conn.close()
        return time.perf_counter() - started

"""The compose workflow as a LangGraph `StateGraph`.

    plan -> compile -> section (one after another, or all at once) -> document -> assemble

`compile` turns the plan into the run's stored program; `section` nodes have the control
unit (`writer.pipeline.memory.control`) execute a section's steps; `document` runs the
document-level passes. In sequential mode (AgentWrite) the `section` node loops, each
section seeing what came before. In parallel mode `compile` fans out with LangGraph `Send`,
one `section` task per section, run concurrently; the engine (`BatchingEngine`) merges their
calls into shared batches, and the stitching pass then smooths the boundaries.

Graph state holds only ids and counters; plans, programs and texts live in the store, so
the SQLite checkpointer stays small and a resumed run reads the same memory. Every node is
idempotent against the store: an instruction marked done is never run again.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from planners.base import Planner, one_section_plan
from writer.calls import CallRecorder
from writer.config import data_dir
from writer.events import OnEvent, Planned, ignore
from writer.exporters import write_document
from writer.pipeline.memory import ControlUnit
from writer.store import Store
from writer.text.lengths import TargetLength


class ComposeState(TypedDict):
    run_id: str
    n_sections: int
    next_index: int
    output_path: str | None


class SectionTask(TypedDict):
    """What a parallel `section` task gets through `Send`."""

    run_id: str
    index: int


class ComposeWorkflow:
    """Runs one compose run through the graph, with checkpoints in `checkpoint_path`."""

    def __init__(self, store: Store, call: CallRecorder, planner: Planner, on_event: OnEvent = ignore,
                 checkpoint_path: Path | None = None, candidates: int = 1, mode: str = "sequential"):
        self.candidates = candidates
        self.mode = mode
        self.store = store
        self.call = call
        self.planner = planner
        self.on_event = on_event
        self.checkpoint_path = checkpoint_path or data_dir() / "checkpoints.sqlite"

    def control(self, run_id: str) -> ControlUnit:
        return ControlUnit(self.store, self.call, run_id, mode=self.mode, candidates=self.candidates,
                           on_event=self.on_event)

    # nodes
    def plan_node(self, state: ComposeState) -> dict:
        run_id = state["run_id"]
        plan = self.store.load_plan(run_id)
        if plan is None:
            run = self.store.get_run(run_id)
            target = TargetLength(run.target_words, run.target_source)
            plan, raw = one_section_plan(run.instruction, target), ""
            if plan is None:
                plan, raw = self.planner.plan(run.instruction, target)
            self.store.save_plan(run_id, plan, raw)
        self.store.update_run(run_id, status="writing")
        self.on_event(Planned(plan))
        return {"n_sections": len(plan.sections), "next_index": 0}

    def compile_node(self, state: ComposeState) -> dict:
        self.control(state["run_id"]).compile(self.store.load_plan(state["run_id"]))
        return {}

    def section_node(self, state: ComposeState) -> dict:
        """Sequential mode: section `next_index`, then on to the next."""
        self.control(state["run_id"]).run_section(state["next_index"])
        return {"next_index": state["next_index"] + 1}

    def parallel_section_node(self, task: SectionTask) -> dict:
        """Parallel mode: one section, concurrently with the others."""
        self.control(task["run_id"]).run_section(task["index"])
        return {}

    def document_node(self, state: ComposeState) -> dict:
        self.control(state["run_id"]).run_document()
        return {}

    def assemble_node(self, state: ComposeState) -> dict:
        run_id = state["run_id"]
        text, words = self.store.document(run_id)
        if state.get("output_path"):
            write_document(Path(state["output_path"]), text, (self.store.get_run(run_id).options or {}).get("format"))
        self.store.update_run(run_id, status="done", words=words, output_path=state.get("output_path"))
        return {}

    def _after_compile(self, state: ComposeState):
        if self.mode == "parallel":
            sends = [Send("parallel_section", {"run_id": state["run_id"], "index": i})
                     for i in range(state["n_sections"])]
            return sends or "document"
        return "section" if state["n_sections"] else "document"

    def _after_section(self, state: ComposeState) -> str:
        return "section" if state["next_index"] < state["n_sections"] else "document"

    def graph(self, checkpointer) -> object:
        g = StateGraph(ComposeState)
        g.add_node("plan", self.plan_node)
        g.add_node("compile", self.compile_node)
        g.add_node("section", self.section_node)
        g.add_node("parallel_section", self.parallel_section_node)
        g.add_node("document", self.document_node)
        g.add_node("assemble", self.assemble_node)
        g.add_edge(START, "plan")
        g.add_edge("plan", "compile")
        g.add_conditional_edges("compile", self._after_compile, ["section", "parallel_section", "document"])
        g.add_conditional_edges("section", self._after_section, ["section", "document"])
        g.add_edge("parallel_section", "document")
        g.add_edge("document", "assemble")
        g.add_edge("assemble", END)
        return g.compile(checkpointer=checkpointer)

    def run(self, run_id: str, output_path: str | None = None) -> float:
        """Run (or resume) `run_id` to the end. Returns the seconds spent in this call."""
        started = time.perf_counter()
        conn = sqlite3.connect(self.checkpoint_path, check_same_thread=False, timeout=60)  # other runs may write
        try:
            graph = self.graph(SqliteSaver(conn))
            # parallel mode runs every section task at once; LangGraph's default pool would cap that
            config = {"configurable": {"thread_id": run_id}, "recursion_limit": 10_000, "max_concurrency": 64}
            snapshot = graph.get_state(config)
            # a checkpoint to continue from (one naming nodes this version lacks is replayed from the start;
            # every node is idempotent against the store, so nothing is written twice)
            if snapshot.next and set(snapshot.next) <= set(graph.nodes):
                if output_path is not None:
                    graph.update_state(config, {"output_path": output_path})
                graph.invoke(None, config)
            else:
                graph.invoke({"run_id": run_id, "n_sections": 0, "next_index": 0, "output_path": output_path},
                             config)
        finally:
            conn.close()
        return time.perf_counter() - started

"""One compose run: its row in the store, its planner and workflow, and the result.

The API (`writer.api.compose`) checks what the user asked, then calls `create_run` and
`continue_run`; dataset jobs call them with instructions they checked when the job was made.
The row is created before the engine is built (loading a model takes minutes on a CPU), so a
run killed while the engine starts already exists and can be resumed. A run that is already
done is returned from the store without an engine.
"""

from __future__ import annotations

from pathlib import Path

from planners import PLANNERS
from writer.artifacts import ComposeResult, RunInputs
from writer.calls import CallRecorder
from writer.engines.base import Engine
from writer.engines.batching import shareable
from writer.events import CallDone, OnEvent, RunCreated, ignore
from writer.exporters import write_document
from writer.pipeline.liveness import hold
from writer.pipeline.workflow import ComposeWorkflow
from writer.stop_signals import is_stop
from writer.store import Store
from writer.text.lengths import TargetLength

__all__ = ["create_run", "continue_run", "finished_result", "load_planner_program", "make_planner"]


def create_run(store: Store, instruction: str, target: TargetLength, *, engine: str, model: str | None,
               base_url: str | None = None, candidates: int = 1, mode: str = "sequential",
               program: str | None = None, on_event: OnEvent = ignore, inputs: RunInputs | None = None,
               plan_model: str | None = None) -> str:
    """Store a new run with everything needed to write (and resume) it; returns its id. `inputs`: the user's
    own plan (stored as the run's plan: no planner call), sources, style, format, text to extend."""
    inputs = inputs or RunInputs()
    run_id = store.create_run(instruction, target.words, target.source, engine, model or "",
                              options={"model": model, "base_url": base_url, "candidates": candidates, "mode": mode,
                                       "planner_program": program, "style": inputs.style, "format": inputs.format,
                                       "kind": inputs.kind, "sources": inputs.source_paths,
                                       "title": inputs.plan.title if inputs.plan else None,
                                       "headings": inputs.headings, "plan_model": plan_model})
    if inputs.sources:
        store.save_sources(run_id, inputs.sources)
    for k, text in enumerate(inputs.originals):
        store.write_file(run_id, f"original/{k}", text)
    if inputs.plan is not None:
        store.save_plan(run_id, inputs.plan, inputs.plan_raw)
    on_event(RunCreated(run_id))
    return run_id


def finished_result(store: Store, run_id: str, output_path: str | None = None) -> ComposeResult | None:
    """The stored result of a run that is done (written to `output_path` too, if that is new), else None."""
    run = store.get_run(run_id)
    if run.status != "done":
        return None
    result = store.load_result(run_id)
    if output_path and output_path != run.output_path:
        write_document(Path(output_path), result.text, (run.options or {}).get("format"))
        store.update_run(run_id, output_path=output_path)
        result = store.load_result(run_id)
    return result


def load_planner_program(path: str | Path):
    """The compiled planner module in `path` (UsageError, one line, for a missing or non-planner file).
    DSPy is imported only for runs that use one."""
    from planners.dspy_planner import PlanModule
    from writer.dspy.programs import load_program

    return load_program(path, "planner", PlanModule)[0]


def make_planner(recorder: CallRecorder, opts: dict):
    """The run's planner, by name from the PLANNERS registry: "dspy" for a run with a compiled planner program,
    the run option "planner" (a plugin's name) where one was stored, else "agentwrite". A planner class is
    built as `cls(recorder, style=...)`; the DSPy planner also gets the loaded program."""
    program = opts.get("planner_program") or opts.get("program")  # "program": runs stored before the rename
    name = "dspy" if program else opts.get("planner") or "agentwrite"
    cls = PLANNERS.load(name)
    if name == "dspy":
        return cls(recorder, load_planner_program(program), program=program)
    return cls(recorder, style=opts.get("style") or "")


def continue_run(store: Store, run_id: str, engine: Engine, *, output_path: str | None = None,
                 on_event: OnEvent = ignore) -> ComposeResult:
    """Run (or resume) `run_id` to the end on `engine`; the run is marked failed if anything raises (interrupted
    on Ctrl-C or SIGTERM). This process holds the run meanwhile (`liveness`): RunBusyError if another live one does."""
    run = store.get_run(run_id)
    opts = run.options or {}
    mode = opts.get("mode", "sequential")
    output_path = output_path or run.output_path
    held = hold(store, run_id)
    try:
        if mode == "parallel":
            engine = shareable(engine)  # the sections' concurrent calls share the engine's batches
        recorder = CallRecorder(engine, store, run_id,
                                on_call=lambda stage, completions: on_event(CallDone(stage, completions)))
        planner = make_planner(recorder, opts)
        workflow = ComposeWorkflow(store, recorder, planner, on_event=on_event, candidates=opts.get("candidates", 1),
                                   mode=mode)
        seconds = workflow.run(run_id, output_path)
    except BaseException as exc:
        # an engine error after Ctrl-C is the engine process dying of the same Ctrl-C (`writer.stop_signals`)
        stopped = is_stop(exc)
        store.update_run(run_id, status="interrupted" if stopped else "failed",
                         error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        held.done()
    run = store.get_run(run_id)
    store.update_run(run_id, seconds=run.seconds + seconds, error=None)
    return store.load_result(run_id)

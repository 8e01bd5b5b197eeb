"""The Python API: `compose`, `plan`, and run inspection. The CLI is a thin layer over these."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from planners.agentwrite import AgentWritePlanner
from writer.artifacts import ComposeResult, Plan, Stats
from writer.calls import CallRecorder
from writer.config import engine_settings
from writer.engines import Engine, get_engine
from writer.engines.batching import shareable
from writer.errors import UsageError
from writer.lengths import MAX_WORDS, TargetLength, count_words, resolve_target
from writer.memory.program import MODES, default_mode
from writer.store import Run, Store
from writer.workflow import ComposeWorkflow, Event, assemble

MAX_CANDIDATES = 8

__all__ = ["compose", "plan", "list_runs", "get_run", "get_memory", "resolve_engine"]


def validate(instruction: str | None, words: int | None) -> str:
    """Check user input; return the stripped instruction."""
    instruction = (instruction or "").strip()
    if not instruction:
        raise UsageError("the instruction is empty")
    if words is not None and not (0 < words <= MAX_WORDS):
        raise UsageError(f"--words must be between 1 and {MAX_WORDS}, got {words}")
    return instruction


def resolve_engine(engine: Engine | str | None = None, model: str | None = None, base_url: str | None = None,
                   api_key: str | None = None, concurrency: int | None = None) -> Engine:
    """An `Engine` instance from an instance, or from a name plus options (env/config fill the rest)."""
    if isinstance(engine, Engine):
        return engine
    return get_engine(engine_settings(engine=engine, model=model, base_url=base_url, api_key=api_key,
                                      concurrency=concurrency))


def _check_output(output: str | Path | None) -> str | None:
    if output is None:
        return None
    path = Path(output).expanduser()
    if path.is_dir():
        raise UsageError(f"output path is a folder: {path}")
    if not path.parent.exists():
        raise UsageError(f"output folder does not exist: {path.parent}")
    return str(path.resolve())


def plan(instruction: str, *, words: int | None = None, engine: Engine | str | None = None,
         model: str | None = None, base_url: str | None = None, store: Store | None = None) -> Plan:
    """Plan `instruction` without writing it. The planner's call is logged to the store (run id None)."""
    instruction = validate(instruction, words)
    target = resolve_target(instruction, words)
    eng = resolve_engine(engine, model, base_url)
    recorder = CallRecorder(eng, store or Store())
    return AgentWritePlanner(recorder).plan(instruction, target)[0]


def compose(instruction: str | None = None, *, words: int | None = None, engine: Engine | str | None = None,
            model: str | None = None, base_url: str | None = None, api_key: str | None = None,
            output: str | Path | None = None, resume: str | None = None, store: Store | None = None,
            on_event: Event | None = None, candidates: int | None = None, mode: str | None = None,
            program: str | Path | None = None) -> ComposeResult:
    """Write a long document for `instruction` (or continue run `resume`).

    Args:
        instruction: what to write; may state its length ("a 3000-word essay").
        words: target length in words; overrides the instruction's own.
        engine: an `Engine`, or an engine name ("vllm", "openai"); default from WRITER_ENGINE or "vllm".
        model, base_url, api_key: engine options when `engine` is a name.
        output: file to write the document to (written atomically at the end).
        resume: id of an earlier run to continue; finished sections are kept.
        store: the store to use (default: WRITER_DB_URL or SQLite in the data dir).
        on_event: called with (kind, data) as the run progresses: planned, section_start, section_done, call.
        candidates: drafts per section (1-8, default 1); the judges keep the best, all are stored.
        mode: "sequential" (each section sees the text before it) or "parallel" (all sections drafted at
            once in shared engine batches, then stitched); default: parallel on engines that batch concurrent
            calls (vLLM, OpenAI-compatible servers), else sequential. A resumed run keeps its mode.
        program: a planner program compiled by `writer optimize planner`; the run plans with it (DSPy) instead
            of the AgentWrite template. A resumed run keeps its program.
    Returns:
        ComposeResult with the text, plan, sections, stats and run id.
    """
    if candidates is not None and not 1 <= candidates <= MAX_CANDIDATES:
        raise UsageError(f"--candidates must be between 1 and {MAX_CANDIDATES}, got {candidates}")
    if mode is not None and mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    store = store or Store()
    output_path = _check_output(output)
    planner_program = _planner_program(program) if program else None
    if resume:
        run = store.get_run(resume)
        opts = run.options or {}
        if isinstance(engine, Engine):
            eng = engine
        else:
            eng = resolve_engine(engine or run.engine, model or opts.get("model"), base_url or opts.get("base_url"),
                                 api_key)
        run_id = run.id
        output_path = output_path or run.output_path
        candidates = candidates or opts.get("candidates", 1)
        mode = opts.get("mode", "sequential")
        if planner_program is None and opts.get("program"):
            program, planner_program = opts["program"], _planner_program(opts["program"])
    else:
        instruction = validate(instruction, words)
        target: TargetLength = resolve_target(instruction, words)
        eng = resolve_engine(engine, model, base_url, api_key)
        given_model = None if isinstance(engine, Engine) else (model or engine_settings(model=model).model)
        mode = mode or default_mode(eng)
        run_id = store.create_run(instruction, target.words, target.source, eng.name, eng.model_id,
                                  options={"model": given_model, "base_url": getattr(eng, "base_url", None),
                                           "candidates": candidates or 1, "mode": mode,
                                           "program": str(Path(program).expanduser().resolve()) if program else None})
    notify = on_event or (lambda kind, data: None)
    if mode == "parallel":
        eng = shareable(eng)  # the sections' concurrent calls share the engine's batches
    recorder = CallRecorder(eng, store, run_id, on_call=lambda stage, comps: notify("call", {"stage": stage,
                                                                                          "completions": comps}))
    if planner_program is None:
        planner = AgentWritePlanner(recorder)
    else:  # dspy is imported only for runs that use a compiled program
        from planners.dspy_planner import DSPyPlanner

        planner = DSPyPlanner(recorder, planner_program, program=str(program))
    workflow = ComposeWorkflow(store, recorder, planner, on_event=notify,
                               candidates=candidates or 1, mode=mode)
    notify("run", {"run_id": run_id})
    try:
        seconds = workflow.run(run_id, output_path)
    except BaseException as exc:
        store.update_run(run_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    run = store.get_run(run_id)
    store.update_run(run_id, seconds=run.seconds + seconds, error=None)
    return _result(store, run_id)


def _planner_program(path: str | Path):
    """The compiled planner module in `path` (UsageError, one line, for a missing or non-planner file)."""
    from writer.programs import load_program

    return load_program(path, "planner")[0]


def _result(store: Store, run_id: str) -> ComposeResult:
    run = store.get_run(run_id)
    plan_ = store.load_plan(run_id)
    sections = store.sections(run_id)
    text = assemble(plan_, sections) if plan_ and sections else ""
    stats = store.call_stats(run_id)
    stats = Stats(words=count_words(text), sections=len(sections), seconds=run.seconds, calls=stats.calls,
                  prompt_tokens=stats.prompt_tokens, cached_tokens=stats.cached_tokens,
                  output_tokens=stats.output_tokens)
    return ComposeResult(run_id=run_id, instruction=run.instruction, text=text, plan=plan_, sections=sections,
                         stats=stats, output_path=run.output_path)


def list_runs(limit: int = 50, store: Store | None = None) -> list[Run]:
    return list((store or Store()).list_runs(limit))


def list_runs_row(run_id: str, store: Store | None = None) -> Run:
    """The stored row of one run (status, engine, error)."""
    return (store or Store()).get_run(run_id)


def get_run(run_id: str, store: Store | None = None) -> ComposeResult:
    """A stored run as a ComposeResult (text so far, plan, sections, stats)."""
    store = store or Store()
    store.get_run(run_id)
    return _result(store, run_id)


def get_memory(run_id: str, store: Store | None = None) -> dict:
    """A run's stored program, memory files and memory reads/writes, as plain data.

    Returns:
        {"program": [{seq, op, section, status, attempts, feedback, note}],
         "files": [{name, version, words, content}], "events": [{seq, action, name, words}]}
    """
    store = store or Store()
    store.get_run(run_id)
    program = [{"seq": r.seq, "op": r.op, "section": None if r.section_index is None else r.section_index + 1,
                "status": r.status, "attempts": r.attempts, "feedback": r.feedback, "note": r.note}
               for r in store.program(run_id)]
    files = [{"name": f.name, "version": f.version, "words": count_words(f.content), "content": f.content}
             for f in store.files(run_id)]
    events = [{"seq": e.seq, "action": e.action, "name": e.name, "words": e.words} for e in store.memory_events(run_id)]
    return {"program": program, "files": files, "events": events}

"""The Python API: `compose`, `plan`, and run inspection. The CLI is a thin layer over these.

Everything the user passes is checked here, before any model loads: a bad value is one
`UsageError` line (its `option` names the argument, which the CLI shows as its flag).
"""

from __future__ import annotations

from pathlib import Path

from planners.agentwrite import AgentWritePlanner
from writer.artifacts import ComposeResult, Plan
from writer.calls import CallRecorder
from writer.engines import Engine, check_settings, is_concurrent, resolve_engine, settings_for
from writer.errors import UsageError
from writer.events import EngineReady, EngineStarting, OnEvent, ignore
from writer.pipeline.memory.steps import MODES
from writer.pipeline.run import continue_run, create_run, finished_result, load_planner_program
from writer.store import Run, Store
from writer.text.lengths import MAX_WORDS, count_words, resolve_target

MAX_CANDIDATES = 8

__all__ = ["compose", "plan", "list_runs", "get_run", "get_run_row", "get_memory", "validate"]


def validate(instruction: str | None, words: int | None) -> str:
    """Check user input; return the stripped instruction."""
    instruction = (instruction or "").strip()
    if not instruction:
        raise UsageError("the instruction is empty")
    if words is not None and not (0 < words <= MAX_WORDS):
        raise UsageError(f"words must be between 1 and {MAX_WORDS}, got {words}", option="words")
    return instruction


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
            on_event: OnEvent | None = None, candidates: int | None = None, mode: str | None = None,
            program: str | Path | None = None) -> ComposeResult:
    """Write a long document for `instruction` (or continue run `resume`).

    Args:
        instruction: what to write; may state its length ("a 3000-word essay").
        words: target length in words; overrides the instruction's own.
        engine: an `Engine`, or an engine name ("vllm", "openai"); default from WRITER_ENGINE or "vllm".
        model, base_url, api_key: engine options when `engine` is a name.
        output: file to write the document to (written atomically at the end).
        resume: id of an earlier run to continue; finished sections are kept. A run that is done is returned
            at once, without an engine.
        store: the store to use (default: WRITER_DB_URL or SQLite in the data dir).
        on_event: called with a `writer.events` event as the run progresses (run created, engine starting,
            planned, section started and done, each engine call, each step).
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
        raise UsageError(f"candidates must be between 1 and {MAX_CANDIDATES}, got {candidates}", option="candidates")
    if mode is not None and mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", option="mode")
    notify = on_event or ignore
    store = store or Store()
    output_path = _check_output(output)
    if resume:
        run = store.get_run(resume)
        done = finished_result(store, run.id, output_path)
        if done is not None:
            return done
        opts = run.options or {}
        settings = None if isinstance(engine, Engine) else settings_for(
            engine or run.engine, model or opts.get("model"), base_url or opts.get("base_url"), api_key)
        run_id = run.id
    else:
        instruction = validate(instruction, words)
        target = resolve_target(instruction, words)
        program_path = str(Path(program).expanduser().resolve()) if program else None
        if program_path:
            load_planner_program(program_path)  # a bad program file is one line now, not after the engine loads
        settings = None if isinstance(engine, Engine) else settings_for(engine, model, base_url, api_key)
        if settings is not None:
            check_settings(settings)
            if settings.engine != "vllm":  # a served model is reached in a second: check it before the run exists
                engine, settings = resolve_engine(settings.engine, settings.model, settings.base_url,
                                                  settings.api_key), None
        mode = mode or ("parallel" if is_concurrent(engine if settings is None else settings.engine) else "sequential")
        run_id = create_run(store, instruction, target, engine=engine.name if settings is None else settings.engine,
                            model=engine.model_id if settings is None else settings.model,
                            base_url=getattr(engine, "base_url", None) if settings is None else settings.base_url,
                            candidates=candidates or 1, mode=mode, program=program_path, on_event=notify)
    if settings is None:
        eng = engine
    else:
        notify(EngineStarting(settings.engine, settings.model))
        try:
            eng = resolve_engine(settings.engine, settings.model, settings.base_url, settings.api_key)
        except BaseException as exc:
            store.update_run(run_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        notify(EngineReady(eng.name, eng.model_id))
        store.update_run(run_id, model=eng.model_id)
    return continue_run(store, run_id, eng, output_path=output_path, on_event=notify)


def list_runs(limit: int = 50, store: Store | None = None) -> list[Run]:
    return list((store or Store()).list_runs(limit))


def get_run_row(run_id: str, store: Store | None = None) -> Run:
    """The stored row of one run (status, engine, error)."""
    return (store or Store()).get_run(run_id)


def get_run(run_id: str, store: Store | None = None) -> ComposeResult:
    """A stored run as a ComposeResult (text so far, plan, sections, stats)."""
    return (store or Store()).load_result(run_id)


def get_memory(run_id: str, store: Store | None = None) -> dict:
    """A run's stored program, memory files and memory reads/writes, as plain data.

    Returns:
        {"steps": [{seq, op, section, status, attempts, feedback, note}],
         "files": [{name, version, words, content}], "events": [{seq, action, name, words}]}
    """
    store = store or Store()
    store.get_run(run_id)
    steps = [{"seq": r.seq, "op": r.op, "section": None if r.section_index is None else r.section_index + 1,
                "status": r.status, "attempts": r.attempts, "feedback": r.feedback, "note": r.note}
               for r in store.steps(run_id)]
    files = [{"name": f.name, "version": f.version, "words": count_words(f.content), "content": f.content}
             for f in store.files(run_id)]
    events = [{"seq": e.seq, "action": e.action, "name": e.name, "words": e.words} for e in store.memory_events(run_id)]
    return {"steps": steps, "files": files, "events": events}

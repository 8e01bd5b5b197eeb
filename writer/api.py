"""The Python API: `compose`, `plan`, and run inspection. The CLI is a thin layer over these.

Everything the user passes is checked here, before any model loads: a bad value is one
`UsageError` line (its `option` names the argument, which the CLI shows as its flag).
"""

from __future__ import annotations

from pathlib import Path

from planners.agentwrite import AgentWritePlanner
from planners.document import extension_plan
from planners.outline import load_outline, outline_of, user_plan
from writer.artifacts import ComposeResult, Plan, RunInputs
from writer.calls import CallRecorder
from writer.engines import Engine, check_settings, is_concurrent, resolve_engine, settings_for
from writer.engines.models import DEFAULT_MODEL, context_window
from writer.errors import UsageError
from writer.events import EngineReady, EngineStarting, OnEvent, ignore
from writer.exporters import output_format
from writer.pipeline.limits import check_instruction
from writer.pipeline.liveness import hold, shown_status
from writer.pipeline.memory.revision import pending_revision
from writer.pipeline.memory.steps import MODES, default_mode
from writer.pipeline.planning import NO_PLAN_MODEL, plan_model_settings, plan_with_model
from writer.pipeline.revise import revise_run
from writer.pipeline.run import continue_run, create_run, finished_result, load_planner_program, make_planner
from writer.sources import load_sources
from writer.stop_signals import is_stop
from writer.store import Run, Store
from writer.text.lengths import MAX_WORDS, TargetLength, count_words, resolve_target

MAX_CANDIDATES = 8
MAX_STYLE_CHARS = 500  # a style is a line of guidance, repeated in every prompt

__all__ = ["compose", "plan", "revise", "extend", "read_plan", "list_runs", "get_run", "get_run_row", "get_memory",
           "get_versions", "get_citations", "validate"]


def validate(instruction: str | None, words: int | None) -> str:
    """Check user input; return the stripped instruction."""
    instruction = (instruction or "").strip()
    if not instruction:
        raise UsageError("the instruction is empty")
    check_instruction(instruction)  # words to plan from
    if words is not None and not (0 < words <= MAX_WORDS):
        raise UsageError(f"words must be between 1 and {MAX_WORDS}, got {words}", option="words")
    return instruction


def _check_fits(instruction: str, engine: Engine | None, settings) -> None:
    """The instruction against the window of the model that will write it (`limits`), before that model loads:
    an engine's own, or for the in-process engine the registered model's (or model folder's)."""
    if settings is None:
        check_instruction(instruction, engine.context_window, engine.model_id)
    elif settings.engine == "vllm":
        check_instruction(instruction, context_window(settings.model), settings.model or DEFAULT_MODEL)


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
         model: str | None = None, base_url: str | None = None, store: Store | None = None,
         style: str | None = None) -> Plan:
    """Plan `instruction` (for a document in `style`) without writing it. The planner's call is logged to the
    store (run id None)."""
    instruction = validate(instruction, words)
    target = resolve_target(instruction, words)
    style = _check_style(style)
    settings = None if isinstance(engine, Engine) else settings_for(engine, model, base_url)
    if settings is not None:
        _check_fits(instruction, None, settings)  # before the model loads
        check_settings(settings)
    eng = resolve_engine(engine, model, base_url)
    _check_fits(instruction, eng, None)
    recorder = CallRecorder(eng, store or Store())
    return AgentWritePlanner(recorder, style=style or "").plan(instruction, target)[0]


def _check_style(style: str | None) -> str | None:
    style = " ".join((style or "").split()).rstrip(".") or None
    if style and len(style) > MAX_STYLE_CHARS:
        raise UsageError(f"style must be at most {MAX_STYLE_CHARS} characters, got {len(style)}", option="style")
    return style


def read_plan(plan: Plan | str | Path, instruction: str | None = None, words: int | None = None) -> Plan:
    """The plan `compose(plan=...)` writes from: the user's outline (a `Plan`, or a JSON or Markdown file) with its
    sections as given and its budgets repaired to the target (`words`, else the instruction's, else the plan's);
    what was repaired is in its `repairs`. UsageError (naming the line or field) for a file that is no outline."""
    return _user_plan(plan, instruction, words)[0]


def _user_plan(plan: Plan | str | Path, instruction: str | None, words: int | None) -> tuple[Plan, str]:
    if words is not None:
        validate("plan", words)
    outline = outline_of(plan) if isinstance(plan, Plan) else load_outline(plan)
    return user_plan(outline, instruction, words), outline.raw


def _inputs(instruction: str | None, words: int | None, plan: Plan | str | Path | None, sources, style: str | None,
            fmt: str | None) -> RunInputs:
    """What a new run is given besides its instruction, checked (one UsageError) before anything runs."""
    inputs = RunInputs(style=_check_style(style), format=fmt)
    if plan is not None:
        inputs.plan, inputs.plan_raw = _user_plan(plan, instruction, words)
    if sources:
        inputs.sources = load_sources(sources)
        inputs.source_paths = [str(Path(p).expanduser()) for p in sources]
    return inputs


def compose(instruction: str | None = None, *, words: int | None = None, engine: Engine | str | None = None,
            model: str | None = None, base_url: str | None = None, api_key: str | None = None,
            output: str | Path | None = None, resume: str | None = None, store: Store | None = None,
            on_event: OnEvent | None = None, candidates: int | None = None, mode: str | None = None,
            program: str | Path | None = None, plan: Plan | str | Path | None = None,
            sources: list[str | Path] | None = None, style: str | None = None, format: str | None = None,
            inputs: RunInputs | None = None, plan_model: str | None = None) -> ComposeResult:
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
            calls (vLLM, OpenAI-compatible servers), else sequential, and sequential for a story (its sections
            go on from the text before them). A resumed run keeps its mode.
        program: a planner program compiled by `writer optimize planner`; the run plans with it (DSPy) instead
            of the AgentWrite template. A resumed run keeps its program.
        plan: the user's own plan instead of the planner's: a `Plan`, or a JSON (as `writer plan` prints) or
            Markdown outline file (`## Title` lines). Its sections are written as given, in order; budgets missing
            or not adding up to the target are rebalanced (`result.plan.repairs` says how). `instruction` may
            then be left out (the plan's, or the outline's title, is used).
        sources: files or folders (.md, .txt, .pdf, .docx) to write from: passages relevant to each section go
            into its prompt, the text cites them as [n], and a references list ends the document.
        style: tone, audience, person, formality ("for 12-year-olds, second person, friendly"), carried into
            every planning, writing and lengthening prompt.
        format: md, docx, html or epub (default: from `output`'s extension).
        inputs: a prepared `RunInputs` (what `extend` passes); instead of plan/sources/style/format.
        plan_model: plan on this model (a registered name or folder), then write on `model`
            (`writer.pipeline.planning`); default WRITER_PLAN_MODEL, else config `plan_model`, else for a target
            over 2,000 words the strongest installed model when it is stronger than `model`, else the writer
            plans. For the in-process engine only.
        A resumed run keeps its plan, sources, style and plan model.
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
    if format is not None:
        format = output_format(output_path, format)  # normalised; a format other than md needs an output file
    elif output_path is not None:
        output_format(output_path)  # an unknown extension is one line now, not after the run
    if resume:
        if plan is not None or sources or style or inputs is not None:
            raise UsageError("a resumed run keeps the plan, sources and style it was started with; leave them out",
                             option="resume")
        run = store.get_run(resume)
        if format is not None:
            store.update_run(run.id, options={**(run.options or {}), "format": format})
        done = finished_result(store, run.id, output_path)
        if done is not None:
            return done
        opts = run.options or {}
        settings = None if isinstance(engine, Engine) else settings_for(
            engine or run.engine, model or opts.get("model"), base_url or opts.get("base_url"), api_key)
        run_id = run.id
        plans = None  # the run's plan model, if it has one and no plan yet
        if settings is not None and opts.get("plan_model") and store.load_plan(run_id) is None:
            plans = plan_model_settings(opts["plan_model"], settings)
        held = hold(store, run_id)  # RunBusyError now, before an engine starts, if another live process writes it
    else:
        inputs = inputs or _inputs(instruction, words, plan, sources, style, format)
        if inputs.plan is not None:
            validate(inputs.plan.instruction, words)
            instruction = inputs.plan.instruction
            target = TargetLength(inputs.plan.target_words, inputs.plan.target_source)
        else:
            instruction = validate(instruction, words)
            target = resolve_target(instruction, words)
        program_path = str(Path(program).expanduser().resolve()) if program else None
        if program_path:
            load_planner_program(program_path)  # a bad program file is one line now, not after the engine loads
        settings = None if isinstance(engine, Engine) else settings_for(engine, model, base_url, api_key)
        plans = None
        if settings is not None:
            _check_fits(instruction, None, settings)  # a registered model's window is known before it is installed
            check_settings(settings)
            if inputs.plan is None:
                plans = plan_model_settings(plan_model, settings, target.words)
            if settings.engine != "vllm":  # a served model is reached in a second: check it before the run exists
                engine, settings = resolve_engine(settings.engine, settings.model, settings.base_url,
                                                  settings.api_key), None
        elif plan_model and plan_model.strip().lower() != NO_PLAN_MODEL:
            raise UsageError("a plan model needs the engine given by name (vllm), not an engine instance",
                             option="plan_model")
        if settings is None:
            _check_fits(instruction, engine, None)
        mode = mode or default_mode(instruction, is_concurrent(engine if settings is None else settings.engine))
        run_id = create_run(store, instruction, target, engine=engine.name if settings is None else settings.engine,
                            model=engine.model_id if settings is None else settings.model,
                            base_url=getattr(engine, "base_url", None) if settings is None else settings.base_url,
                            candidates=candidates or 1, mode=mode, program=program_path, on_event=notify,
                            inputs=inputs, plan_model=plans.model if plans else None)
        held = hold(store, run_id)  # this process's from its first second, engine start included (`liveness`)
    if settings is None:
        eng = engine
    else:
        try:
            if plans is not None:  # the plan model plans first, alone, then makes way for the writer's
                plan_with_model(store, run_id, plans, make_planner, notify)
            notify(EngineStarting(settings.engine, settings.model))
            eng = resolve_engine(settings.engine, settings.model, settings.base_url, settings.api_key)
        except BaseException as exc:
            stopped = is_stop(exc)
            store.update_run(run_id, status="interrupted" if stopped else "failed",
                             error=f"{type(exc).__name__}: {exc}"[:2000])
            held.done()
            raise
        notify(EngineReady(eng.name, eng.model_id))
        store.update_run(run_id, model=eng.model_id)
    try:
        return continue_run(store, run_id, eng, output_path=output_path, on_event=notify)
    finally:
        held.done()


def list_runs(limit: int = 50, store: Store | None = None) -> list[Run]:
    """The newest runs. `status` is as of now: a run whose writing process died shows as `interrupted`."""
    if limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}", option="limit")
    return [_as_now(run) for run in (store or Store()).list_runs(limit)]


def get_run_row(run_id: str, store: Store | None = None) -> Run:
    """The stored row of one run (status as of now, engine, error, the process writing it)."""
    return _as_now((store or Store()).get_run(run_id))


def _as_now(run: Run) -> Run:
    run.status = shown_status(run)  # a detached row: shown, never saved
    return run


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


def _engine_of(run: Run, engine: Engine | str | None, model: str | None, base_url: str | None,
               api_key: str | None, notify: OnEvent) -> Engine:
    """The engine to continue `run` on: `engine` if it is one, else built from the options given, then the run's."""
    if isinstance(engine, Engine):
        return engine
    opts = run.options or {}
    settings = settings_for(engine or run.engine, model or opts.get("model"), base_url or opts.get("base_url"),
                            api_key)
    check_settings(settings)
    notify(EngineStarting(settings.engine, settings.model))
    eng = resolve_engine(settings.engine, settings.model, settings.base_url, settings.api_key)
    notify(EngineReady(eng.name, eng.model_id))
    return eng


def revise(run_id: str, section: int, instruction: str | None = None, *, engine: Engine | str | None = None,
           model: str | None = None, base_url: str | None = None, api_key: str | None = None,
           output: str | Path | None = None, store: Store | None = None,
           on_event: OnEvent | None = None) -> ComposeResult:
    """Rewrite section `section` (1-based) of finished run `run_id`, keep the others as they are, and write the
    document again (to `output`, default the run's own output file, atomically).

    The section is redrafted with the run's memory and checks, shown its current version and `instruction`
    ("more concrete examples"); its opening and closing are re-stitched to its neighbours, which are not
    changed. The new text is stored as the section's next version (`get_versions`): nothing is overwritten.
    Asking again for a revision that was interrupted finishes it.

    Args:
        run_id: a run whose status is done.
        section: the section's number, 1 to the number of sections.
        instruction: what to change; None to have it written again as planned.
        engine, model, base_url, api_key: as for `compose` (default: the run's engine and model).
        output: where to write the document (default: the run's output file; none: only the store).
    Returns:
        ComposeResult of the run, with the new section.
    """
    notify = on_event or ignore
    store = store or Store()
    run = store.get_run(run_id)
    if run.status != "done":
        raise UsageError(f"run {run_id} is not finished (status {shown_status(run)}); finish it with "
                         f"`writer compose --resume {run_id}`, then revise it")
    count = len(store.load_plan(run_id).sections)
    if isinstance(section, bool) or not isinstance(section, int) or not 1 <= section <= count:
        raise UsageError(f"section must be between 1 and {count}, got {section!r}", option="section")
    unfinished = pending_revision(store, run_id)
    if unfinished is not None and unfinished != section - 1:
        raise UsageError(f"section {unfinished + 1}'s revision is unfinished; run `writer revise {run_id} "
                         f"--section {unfinished + 1}` to finish it first", option="section")
    output_path = _check_output(output)
    if output_path is not None:
        output_format(output_path, (run.options or {}).get("format"))
    instruction = " ".join((instruction or "").split()) or None
    with hold(store, run_id):  # one process writes a run at a time
        eng = _engine_of(run, engine, model, base_url, api_key, notify)
        return revise_run(store, run_id, eng, section - 1, instruction, output_path=output_path, on_event=notify)


def extend(file: str | Path | None = None, *, words: int | None = None, engine: Engine | str | None = None,
           model: str | None = None, base_url: str | None = None, api_key: str | None = None,
           output: str | Path | None = None, resume: str | None = None, store: Store | None = None,
           on_event: OnEvent | None = None, mode: str | None = None, style: str | None = None,
           format: str | None = None) -> ComposeResult:
    """Write a longer version of the document in `file`, `words` words long, as a run (resumable like `compose`).

    The document is cut at its headings (or, without any, into parts of about 300 words at paragraph ends);
    each part is lengthened in proportion with the Self-Lengthen Extender and continuation, keeping the
    document's headings as written, and the consistency pass brings the whole to `words`.

    Args:
        file: a Markdown or plain-text file (read once: the run stores it).
        words: the new length; more than the document has.
        resume: id of an earlier extend run to continue (then `file` and `words` are left out).
        engine, model, base_url, api_key, output, store, on_event, mode, style, format: as for `compose`.
    Returns:
        ComposeResult with the longer text.
    """
    if resume:
        return compose(resume=resume, engine=engine, model=model, base_url=base_url, api_key=api_key, output=output,
                       store=store, on_event=on_event, format=format)
    if file is None:
        raise UsageError("give the file to extend (or --resume RUN_ID)")
    path = Path(file).expanduser()
    if not path.is_file():
        raise UsageError(f"cannot extend {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot extend {path}: not readable UTF-8 text "
                         f"({getattr(exc, 'strerror', None) or exc})") from None
    if words is None:
        raise UsageError("words is required: the length of the new version", option="words")
    validate("extend", words)
    plan, parts = extension_plan(text, words, path.name)
    fmt = output_format(_check_output(output), format) if format is not None else None
    inputs = RunInputs(plan=plan, plan_raw=text, style=_check_style(style), format=fmt, kind="extend",
                       originals=[p.text for p in parts], headings=[p.heading for p in parts])
    return compose(plan.instruction, words=words, engine=engine, model=model, base_url=base_url, api_key=api_key,
                   output=output, store=store, on_event=on_event, mode=mode, format=fmt, inputs=inputs)


def get_versions(run_id: str, store: Store | None = None) -> list[dict]:
    """Every stored version of a run's revised sections: [{section, version, words, instruction, note, created_at,
    text}], version 1 being the section as composed. A section never revised has none."""
    store = store or Store()
    store.get_run(run_id)
    return [{"section": v.index + 1, "version": v.version, "words": v.words, "instruction": v.instruction,
             "note": v.note, "created_at": v.created_at.isoformat(), "text": v.text}
            for v in store.section_versions(run_id)]


def get_citations(run_id: str, store: Store | None = None) -> list[dict]:
    """Every citation a run's sections made: [{section, version, sentence, number, path, passage, supported,
    reason}]; those not supported were dropped from the text."""
    store = store or Store()
    store.get_run(run_id)
    return [{"section": c.section_index + 1, "version": c.version, "sentence": c.sentence, "number": c.number,
             "path": c.path, "passage": c.passage, "supported": c.supported, "reason": c.reason}
            for c in store.citations(run_id)]

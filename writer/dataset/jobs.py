"""Dataset jobs: compose many documents from an instructions file, resumably, with a full engine.

A job is rows in the store (`jobs`, `job_items`): one item per instruction line and sample,
each written by its own compose run (the full workflow: plan, memory, Generator/Extender,
checks), then scored by the judges. K items are composed at once in threads that share one
engine, so the vLLM engine's continuous batching sees K documents' section requests together.

No lost and no duplicated documents after a crash: an item records its run id as soon as the
run exists, and a resumed job continues that run (finished sections are kept) instead of
starting another; items already done are never touched again.

The model judges (quality, checklist) run on the judge model (`judges.engine`: the job's `judge_model`,
else WRITER_JUDGE_MODEL / config, else the strongest installed model), started once for the whole job, or
the writer's own engine when it is the same model. `pairwise` compares the samples of each instruction
once all of them are written (`writer.dataset.judging.judge_job_pairs`), every pair in both orders, in one
engine batch.

With a plan model (the job's `plan_model`, `--plan-model`), every document is planned on it first
(`plan_job`: one plan engine, K plans at once), that engine is closed, and only then does the writer's
engine start and write them; the two models never hold memory and cores at once.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from judges import judge, model_judges
from writer.dataset.events import (
    ItemDone,
    ItemFailed,
    ItemSectionDone,
    JobStarted,
    JudgeModelChosen,
    OnJobEvent,
    ignore,
)
from writer.dataset.judging import DEFAULT_JUDGES, PAIRWISE, document_judges, job_judge_engine, judge_job_pairs
from writer.engines import is_concurrent, settings_for
from writer.engines.base import Engine
from writer.engines.batching import shareable
from writer.errors import UsageError
from writer.events import RunCreated, SectionDone
from writer.pipeline.memory.steps import default_mode
from writer.pipeline.planning import plan_model_settings, plan_runs
from writer.pipeline.run import continue_run, create_run, make_planner
from writer.stop_signals import received as stop_received
from writer.store import JobItemRow, JobRow, Store
from writer.text.lengths import MAX_WORDS, TargetLength, count_words, resolve_target

INSTRUCTION_FIELDS = ("instruction", "prompt")  # "prompt": LongBench-Write's and LongWriter's name
CATEGORY_FIELDS = ("category", "type")

MAX_SAMPLES = 16



@dataclass
class ParsedInstructions:
    """What an instructions file holds: items to write, lines skipped (with why), and notes."""

    items: list[dict]
    skipped: list[dict] = field(default_factory=list)  # {"line": n, "error": "..."}
    notes: list[str] = field(default_factory=list)


def read_instructions(path: str | Path, *, samples: int = 1, words_field: str = "length") -> ParsedInstructions:
    """Parse a JSONL instructions file into job items (one per line and sample).

    Each line is a JSON object with "instruction" (or "prompt"), optionally the required length in
    `words_field` and a "category" (or "type"); other fields are kept as metadata. A bad line is
    skipped with its line number; a missing or unreadable file, or one with no usable line, is a
    UsageError.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"instructions file not found: {path}")
    if not 1 <= samples <= MAX_SAMPLES:
        raise UsageError(f"samples must be between 1 and {MAX_SAMPLES}, got {samples}", option="samples")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"instructions file is not UTF-8 text: {path}") from None
    parsed = ParsedInstructions(items=[])
    unknown: dict[str, list[int]] = {}
    known = set(INSTRUCTION_FIELDS) | set(CATEGORY_FIELDS) | {words_field, "length_source"}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = _parse_line(line, words_field)
        except ValueError as exc:
            parsed.skipped.append({"line": number, "error": str(exc)})
            continue
        for key in item["extra"]:
            if key not in known:
                unknown.setdefault(key, []).append(number)
        parsed.items += [{**item, "line": number, "sample": k} for k in range(samples)]
    for key, numbers in unknown.items():
        where = ", ".join(map(str, numbers[:5])) + (" ..." if len(numbers) > 5 else "")
        parsed.notes.append(f"unknown field {key!r} (lines {where}) kept as metadata")
    if not parsed.items:
        why = f"; {len(parsed.skipped)} bad line(s), first: line {parsed.skipped[0]['line']}: " \
              f"{parsed.skipped[0]['error']}" if parsed.skipped else ""
        raise UsageError(f"no instructions in {path}{why}")
    return parsed


def _parse_line(line: str, words_field: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    instruction = next((record[k] for k in INSTRUCTION_FIELDS if k in record), None)
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError(f"no instruction: expected a non-empty string in {' or '.join(INSTRUCTION_FIELDS)!r}")
    if count_words(instruction) == 0:
        raise ValueError("the instruction has no words to plan from (only symbols or emoji)")
    words = record.get(words_field)
    if words is not None:
        if isinstance(words, str) and words.strip().isdigit():
            words = int(words)
        if isinstance(words, bool) or not isinstance(words, (int, float)) or not 1 <= words <= MAX_WORDS:
            raise ValueError(f"{words_field!r} must be a number of words from 1 to {MAX_WORDS}, got {words!r}")
        words = int(words)
    target = resolve_target(instruction.strip(), words)
    category = next((record[k] for k in CATEGORY_FIELDS if isinstance(record.get(k), str)), None)
    extra = {k: v for k, v in record.items() if k not in INSTRUCTION_FIELDS}
    return {"instruction": instruction.strip(), "required_words": target.words, "category": category,
            "extra": {**extra, "length_source": target.source}}


def output_folder(out: str | Path) -> Path:
    """The job's document folder: created if missing, but its parent must exist (a typo is an error)."""
    path = Path(out).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise UsageError(f"out is a file, not a folder: {path}", option="out")
    if not path.parent.is_dir():
        raise UsageError(f"output folder's parent does not exist: {path.parent}")
    path.mkdir(exist_ok=True)
    return path


def create_job(store: Store, instructions: str | Path, *, out: str | Path, engine_name: str, model: str,
               samples: int = 1, concurrency: int = 8, words_field: str = "length", name: str | None = None,
               judges: list[str] | None = None, engine_options: dict | None = None,
               judge_model: str | None = None, plan_model: str | None = None) -> tuple[str, ParsedInstructions]:
    """Store a new job for `instructions` (every item pending); returns its name and what was parsed.
    `judge_model`: the model judges' model (None: the default judge model when the job runs). `plan_model`:
    the model that plans every document before the writer's model writes them (None: the writer plans)."""
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}", option="concurrency")
    parsed = read_instructions(instructions, samples=samples, words_field=words_field)
    folder = output_folder(out)
    name = name or Path(instructions).stem
    options = {"out": str(folder), "samples": samples, "concurrency": concurrency, "words_field": words_field,
               "judges": list(judges or DEFAULT_JUDGES), "engine": engine_options or {}, "judge_model": judge_model,
               "plan_model": plan_model}
    store.create_job(name, str(Path(instructions).expanduser().resolve()), engine_name, model, options,
                     parsed.items, parsed.skipped)
    return name, parsed


def claim(store: Store, job_id: str) -> JobRow:
    """Mark the job as run by this process; refuse if another live process on this host runs it."""
    job = store.get_job(job_id)
    host = socket.gethostname()
    if job.status == "running" and job.pid and job.pid != os.getpid() and job.host == host and _alive(job.pid):
        raise UsageError(f"job {job_id!r} is being run by process {job.pid}; stop it first")
    store.update_job(job_id, status="running", pid=os.getpid(), host=host)
    return store.get_job(job_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def todo(store: Store, job_id: str) -> list[JobItemRow]:
    """Items still to write: pending, interrupted (running) and failed ones (retried on resume), in the
    order they are started: items with a run already begun first (their work is half done), then the
    longest documents first. Longest-first keeps the engine full to the end: the job's last minutes,
    when fewer than K documents are left, are spent on short documents instead of a few long ones
    (on the 2-core CPU without AVX-512 that tail cost the dataset benchmark most; bench/README.md)."""
    items = store.job_items(job_id, ("running", "pending", "failed"))
    return sorted(items, key=lambda it: (it.run_id is None, -it.required_words))  # resolved when the job was made


def finished_status(store: Store, job_id: str) -> "JobStatus | None":
    """The status of a job with nothing left to write (marked done), without an engine; None while work is left
    (a pairwise job may have pairs left to judge: it goes through `run_job`)."""
    job = store.get_job(job_id)
    if todo(store, job_id) or PAIRWISE in ((job.options or {}).get("judges") or []):
        return None
    if job.status != "done":
        store.update_job(job_id, status="done", pid=None)
    return job_status(store, job_id)


def process_item(store: Store, job: JobRow, item: JobItemRow, engine: Engine,
                 on_event: OnJobEvent | None = None, judge_with: Engine | None = None) -> str:
    """Write (or finish) one item's document, score it, mark it done or failed; returns the status.

    Used by the local thread pool and by the Ray workers alike. `judge_with`: the judge engine (default:
    `job_judge_engine`, resolved here).
    """
    notify = on_event or ignore
    opts = job.options or {}
    started = time.perf_counter()
    try:
        run_id = item.run_id
        if run_id is None or store.get_run(run_id).status != "done":
            def record_run(event) -> None:
                if isinstance(event, RunCreated):  # from now on a resume continues this run, never starts another
                    store.update_item(item.id, run_id=event.run_id, status="running", error=None)
                elif isinstance(event, SectionDone):
                    notify(ItemSectionDone(item.id, event.section.words))

            output = Path(opts["out"]) / f"{item.line:05d}-{item.sample + 1}.md" if opts.get("out") else None
            if run_id is None:
                store.update_item(item.id, status="running", error=None)
                run_id = _create_item_run(store, item, engine.name, engine.model_id, getattr(engine, "base_url", None),
                                          concurrent=is_concurrent(engine), on_event=record_run)
            result = continue_run(store, run_id, engine, output_path=str(output) if output else None,
                                  on_event=record_run)
        else:
            result = store.load_result(run_id)
        # a one-section document carries no heading (`assemble`), so there is no title to look for
        titles = [s.title for s in result.plan.sections] if result.plan and len(result.sections) > 1 else None
        names = document_judges(job)
        if judge_with is None and model_judges(names):
            judge_with = job_judge_engine(job, engine)
        verdict = judge(result.text, instruction=item.instruction, words=item.required_words, plan_titles=titles,
                        judges=names, engine=judge_with or engine, store=store, run_id=result.run_id)
        scores = {name: round(s, 2) for name, s in verdict.scores.items() if s is not None}
        if scores:
            scores["score"] = round(sum(scores.values()) / len(scores), 2)
        store.update_item(item.id, status="done", run_id=result.run_id, words=result.stats.words,
                          output_tokens=result.stats.output_tokens, seconds=result.stats.seconds, scores=scores,
                          error=None)
        notify(ItemDone(item.id, result.stats.words, result.stats.output_tokens, scores.get("score")))
        return "done"
    except Exception as exc:  # one bad document never stops the job; resume retries it
        if stop_received() is not None:  # the engine died of this job's Ctrl-C: the item stays running, for resume
            raise
        store.update_item(item.id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000],
                          seconds=time.perf_counter() - started)
        notify(ItemFailed(item.id, f"{type(exc).__name__}: {exc}"))
        return "failed"


def _create_item_run(store: Store, item: JobItemRow, engine: str, model: str | None, base_url: str | None, *,
                     concurrent: bool, plan_model: str | None = None, on_event=None) -> str:
    """The compose run that writes `item` (its id recorded on the item at once: a resume continues it)."""
    def record(event) -> None:
        if isinstance(event, RunCreated):
            store.update_item(item.id, run_id=event.run_id, error=None)
        if on_event is not None:
            on_event(event)

    return create_run(store, item.instruction, TargetLength(item.required_words, "option"), engine=engine,
                      model=model, base_url=base_url, mode=default_mode(item.instruction, concurrent),
                      plan_model=plan_model, on_event=record)


def plan_job(store: Store, job_id: str, *, concurrency: int | None = None) -> int:
    """Plan every document still to write on the job's plan model, before the writer's engine starts; returns
    how many were planned (0 without a plan model). Items get their runs now; a plan that fails is left to the
    writer's model, when the item is written."""
    job = store.get_job(job_id)
    opts = job.options or {}
    if not opts.get("plan_model"):
        return 0
    engine_opts = opts.get("engine") or {}
    writer = settings_for(job.engine, engine_opts.get("model") or job.model, engine_opts.get("base_url"))
    plans = plan_model_settings(opts["plan_model"], writer)
    if plans is None:
        return 0
    items = todo(store, job_id)
    concurrent = is_concurrent(writer.engine)
    run_ids = [it.run_id or _create_item_run(store, it, writer.engine, writer.model or job.model, writer.base_url,
                                             concurrent=concurrent, plan_model=plans.model) for it in items]
    return plan_runs(store, run_ids, plans, make_planner, concurrency=concurrency or opts.get("concurrency", 8),
                     keep_going=True)


def run_job(store: Store, job_id: str, engine: Engine, *, concurrency: int | None = None,
            on_event: OnJobEvent | None = None) -> "JobStatus":
    """Compose every item still to write, `concurrency` documents at once on the shared `engine`."""
    job = claim(store, job_id)
    k = concurrency or (job.options or {}).get("concurrency", 8)
    items = todo(store, job_id)
    notify = on_event or ignore
    notify(JobStarted(job_id, len(items), len(store.job_items(job_id))))
    engine = shareable(engine)  # K documents' calls must share the engine's batches
    names = (job.options or {}).get("judges") or DEFAULT_JUDGES
    judge_with = None
    if model_judges(names):  # resolved (and started) once, before the threads that share it
        judge_with = shareable(job_judge_engine(job, engine))
        notify(JudgeModelChosen(judge_with.model_id, judge_with is engine))
    clock = JobClock(store, job)
    pool = ThreadPoolExecutor(max_workers=max(1, k), thread_name_prefix="job")
    try:
        futures = [pool.submit(_timed, clock, process_item, store, job, item, engine, notify, judge_with)
                   for item in items]
        for f in futures:
            f.result()
    except BaseException:  # Ctrl-C / SIGTERM: running items stay "running" and are continued on resume
        pool.shutdown(wait=False, cancel_futures=True)
        clock.tick()
        store.update_job(job_id, status="stopped", pid=None)
        raise
    pool.shutdown()
    if PAIRWISE in names:
        judge_job_pairs(store, job_id, judge_with, on_event=notify)
    clock.tick()
    left = todo(store, job_id)
    store.update_job(job_id, status="done" if not left else "stopped", pid=None)
    return job_status(store, job_id)


def _timed(clock: "JobClock", fn, *args):
    try:
        return fn(*args)
    finally:
        clock.tick()


class JobClock:
    """Adds this session's working time to the job's stored seconds after every document, so a killed job
    keeps its time (tokens/s and ETA in `writer dataset status` use it)."""

    def __init__(self, store: Store, job: JobRow):
        self.store, self.job_id = store, job.id
        self.base = job.seconds or 0.0
        self.started = time.perf_counter()
        self.lock = threading.Lock()

    def tick(self) -> None:
        with self.lock:
            self.store.update_job(self.job_id, seconds=self.base + time.perf_counter() - self.started)


@dataclass
class JobStatus:
    """Counts and rates of a job, as `writer dataset status` prints them."""

    job: str
    status: str
    engine: str
    model: str
    counts: dict[str, int]
    total: int
    words: int
    output_tokens: int
    seconds: float
    skipped_lines: int
    errors: list[str]

    @property
    def tokens_per_s(self) -> float:
        return self.output_tokens / self.seconds if self.seconds else 0.0

    @property
    def docs_per_hour(self) -> float:
        return self.counts.get("done", 0) * 3600 / self.seconds if self.seconds else 0.0

    @property
    def words_per_hour(self) -> float:
        return self.words * 3600 / self.seconds if self.seconds else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (None before the first document is done)."""
        done = self.counts.get("done", 0)
        if not done or not self.seconds:
            return None
        return (self.total - done) * self.seconds / done

    def as_dict(self) -> dict:
        return {"job": self.job, "status": self.status, "engine": self.engine, "model": self.model,
                "counts": self.counts, "total": self.total, "words": self.words,
                "output_tokens": self.output_tokens, "seconds": round(self.seconds, 1),
                "tokens_per_s": round(self.tokens_per_s, 2), "docs_per_hour": round(self.docs_per_hour, 2),
                "words_per_hour": round(self.words_per_hour), "eta_s": None if self.eta_s is None else round(self.eta_s),
                "skipped_lines": self.skipped_lines, "errors": self.errors}


def job_status(store: Store, job_id: str) -> JobStatus:
    job = store.get_job(job_id)
    items = store.job_items(job_id)
    counts = {s: 0 for s in ("done", "failed", "running", "pending")}
    for it in items:
        counts[it.status] = counts.get(it.status, 0) + 1
    done = [it for it in items if it.status == "done"]
    status = job.status
    if status == "running" and job.host == socket.gethostname() and job.pid and not _alive(job.pid):
        status = "stopped"  # killed without a chance to say so
    errors = [f"line {it.line} sample {it.sample + 1}: {it.error}" for it in items if it.status == "failed"]
    return JobStatus(job=job.id, status=status, engine=job.engine, model=job.model, counts=counts, total=len(items),
                     words=sum(it.words for it in done), output_tokens=sum(it.output_tokens for it in done),
                     seconds=job.seconds or 0.0, skipped_lines=len(job.skipped or []), errors=errors)

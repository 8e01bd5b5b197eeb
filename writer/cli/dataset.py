"""`writer dataset generate|resume|status|instructions|export`: long-output training data from the CLI.

A thin Typer layer over `writer.dataset.jobs`, `writer.dataset.ray_runner`,
`writer.dataset.instructions` and `datasets_out.export`. Errors are one line on stderr with
exit code 2 (bad input) or 1; a stopped job (Ctrl-C, SIGTERM, kill -9) loses nothing:
`writer dataset resume JOB` goes on from where it was.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datasets_out.export import export_job
from judges import judge_names, model_judges
from judges.engine import choose_judge_model
from writer import stop_signals
from writer.cli.options import BaseUrlOpt, EngineOpt, ModelOpt, fail
from writer.config import engine_settings
from writer.dataset.events import ItemDone, ItemFailed, JobEvent, JobStarted, PairsJudging, WorkersReady
from writer.dataset.instructions import read_topics, synthesize, write_instructions
from writer.dataset.jobs import create_job, finished_status, job_status, judge_job_pairs, plan_job, run_job, todo
from writer.engines import check_engine_name, check_settings, close_engines, resolve_engine
from writer.engines.models import DEFAULT_MODEL
from writer.errors import EmptyExportError, UsageError, WriterError
from writer.pipeline.planning import plan_model_settings
from writer.store import Store

dataset_app = typer.Typer(help="Dataset jobs: write many documents, export SFT/DPO/lengthen data.",
                          no_args_is_help=True, add_completion=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConcurrencyOpt = typer.Option(None, "--concurrency", "-k", help="Documents composed at once (default: the job's own, set by `generate`).")
RayOpt = typer.Option(None, "--ray", help="Run on Ray: `--ray` alone starts a local Ray instance; "
                                          "`--ray auto` or `--ray ray://HOST:10001` joins a cluster.")
WorkersOpt = typer.Option(None, "--workers", help="Ray workers, one engine each (default: one per GPU, or 2).")


def _default_model(engine: str) -> str:
    """The job's model label when none is given: the default registered model on vLLM, the server's on openai."""
    return DEFAULT_MODEL if engine == "vllm" else "default"


def _store():
    return Store()


class JobProgress:
    """Documents done of the job's total, words, output tokens/s. A live bar on a terminal; one line per
    finished document otherwise (logs of long jobs)."""

    def __init__(self, enabled: bool):
        self.live = enabled
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("docs · {task.fields[info]}"), TimeElapsedColumn(),
                                 console=err, transient=True, disable=not enabled)
        self.task = self.progress.add_task("job", total=None, info="")
        self.started = time.perf_counter()
        self.words = self.tokens = self.failed = 0

    def __call__(self, event: JobEvent) -> None:
        if isinstance(event, JobStarted):
            self.progress.update(self.task, description=f"job {event.job}", total=event.total,
                                 completed=event.total - event.items)
            if not self.live:
                err.print(f"job {event.job}: {event.items} of {event.total} documents to write")
        elif isinstance(event, PairsJudging):
            err.print(f"pairwise judge: {event.pairs} pair(s) of samples, both orders, one batch")
        elif isinstance(event, WorkersReady):
            err.print(f"{len(event.workers)} Ray workers: " + ", ".join(f"{w['host']}:{w['pid']}" for w in event.workers))
        elif isinstance(event, (ItemDone, ItemFailed)):
            if isinstance(event, ItemDone):
                self.words += event.words or 0
                self.tokens += event.tokens or 0
                self.progress.advance(self.task)
            else:
                self.failed += 1
            rate = self.tokens / max(time.perf_counter() - self.started, 1e-9)
            failed = f" · {self.failed} failed" if self.failed else ""
            self.progress.update(self.task, info=f"{self.words} words · {rate:.1f} tok/s{failed}")
            if not self.live:
                what = (f"{event.words} words, score {event.score}" if isinstance(event, ItemDone)
                        else f"failed: {event.error}")
                err.print(f"item {event.item}: {what} · {rate:.1f} tok/s")


def _run(store, job_id: str, *, concurrency: int | None, ray: str | None, workers: int | None,
         engine_options: dict) -> None:
    """Run the job's remaining items locally or on Ray, with progress; print the status line after."""
    progress = JobProgress(enabled=sys.stderr.isatty())
    try:
        with progress.progress:
            plan_model = (store.get_job(job_id).options or {}).get("plan_model")
            if plan_model and todo(store, job_id):
                err.print(f"plan model: {plan_model} plans the documents first, then the writer's model writes them")
                planned = plan_job(store, job_id, concurrency=concurrency)
                err.print(f"planned {planned} document(s) on {plan_model}")
            if ray is not None:
                from writer.dataset.ray_runner import run_job_ray

                status = run_job_ray(store, job_id, address=ray, workers=workers, concurrency=concurrency,
                                     engine_options=engine_options, on_event=progress)
                if "pairwise" in ((store.get_job(job_id).options or {}).get("judges") or []):
                    judge_job_pairs(store, job_id, on_event=progress)
            elif (status := finished_status(store, job_id)) is None:  # nothing left: no engine to start
                engine = resolve_engine(engine_options.get("engine"), engine_options.get("model"),
                                            engine_options.get("base_url"))
                status = run_job(store, job_id, engine, concurrency=concurrency, on_event=progress)
    except BaseException as exc:
        if not stop_signals.is_stop(exc):
            raise
        # Ctrl-C or SIGTERM (or the engine dying of them). Worker threads may be inside engine calls: shut the
        # engine down and leave now; the job's running items are continued by `writer dataset resume`.
        err.print(f"stopped; continue with: writer dataset resume {job_id}")
        close_engines()
        sys.stderr.flush()
        code = stop_signals.exit_code()
        os._exit(code if code is not None else exc.code if isinstance(exc, SystemExit)
                 and isinstance(exc.code, int) else 130)
    _print_status_line(status)
    if status.counts.get("failed"):
        err.print(f"{status.counts['failed']} document(s) failed; see `writer dataset status {job_id}`; "
                  f"`writer dataset resume {job_id}` retries them")


def _print_status_line(status) -> None:
    c = status.counts
    err.print(f"job {status.job}: {c.get('done', 0)}/{status.total} done, {c.get('failed', 0)} failed, "
              f"{status.words} words, {status.seconds:.0f} s, {status.tokens_per_s:.1f} output tokens/s")


@dataset_app.command("generate")
def generate(
    instructions: Path = typer.Argument(..., help="JSONL: one {\"instruction\", \"length\", \"category\"} per line."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder for the documents (created if missing)."),
    samples: int = typer.Option(1, "--samples", "-n", help="Documents per instruction (DPO needs 2 or more)."),
    concurrency: int = typer.Option(8, "--concurrency", "-k", help="Documents composed at once."),
    words_field: str = typer.Option("length", "--words-field", help="The field holding the required length."),
    job: Optional[str] = typer.Option(None, "--job", help="The job's name (default: the file's name)."),
    judges: str = typer.Option("length,rules", "--judges",
                               help="Judges that score each document (comma-separated; quality and checklist "
                                    "use the judge model; pairwise compares the samples of each instruction)."),
    judge_model: Optional[str] = typer.Option(None, "--judge-model",
                                              help="Model of the model judges (default: WRITER_JUDGE_MODEL, config "
                                                   "judge_model, else the strongest installed)."),
    plan_model: Optional[str] = typer.Option(None, "--plan-model",
                                             help="Plan every document on this model first, then write them on "
                                                  "--model (default: WRITER_PLAN_MODEL, config plan_model, else "
                                                  "the writer's model plans)."),
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
    ray: Optional[str] = RayOpt,
    workers: Optional[int] = WorkersOpt,
) -> None:
    """Write a document for every instruction (x samples), K at once, resumably."""
    try:
        check_engine_name(engine)
        names = [j.strip() for j in judges.split(",") if j.strip()]
        unknown = [j for j in names if j not in judge_names()]
        if unknown or not names:
            raise UsageError(f"unknown judge {unknown[0]!r}; choose from: {', '.join(judge_names())}" if unknown
                             else "--judges is empty")
        settings = engine_settings(engine=engine, model=model, base_url=base_url)
        check_settings(settings)  # an unknown or missing model is one line before the job exists
        options = {"engine": settings.engine, "model": settings.model, "base_url": settings.base_url}
        plans = plan_model_settings(plan_model, settings)  # a plan model not installed is one line, now
        if model_judges(names):
            choice = choose_judge_model(settings.engine, judge_model,
                                        settings.base_url if settings.engine == "openai" else None)
            same = choice.settings.engine == settings.engine and choice.model == (settings.model or
                                                                                   _default_model(settings.engine))
            err.print(f"judge model: {choice.label}" + (" · the writer's engine judges" if same else ""))
        store = _store()
        job_id, parsed = create_job(store, instructions, out=out_dir, engine_name=settings.engine,
                                    model=settings.model or _default_model(settings.engine), samples=samples,
                                    concurrency=concurrency, words_field=words_field, name=job, judges=names,
                                    engine_options=options, judge_model=judge_model,
                                    plan_model=plans.model if plans else None)
    except WriterError as exc:
        fail(exc)
    for s in parsed.skipped:
        err.print(f"skipped line {s['line']}: {s['error']}")
    for note in parsed.notes:
        err.print(f"note: {note}")
    err.print(f"job {job_id}: {len(parsed.items)} documents ({len(parsed.items) // samples} instructions x "
              f"{samples} samples), {len(parsed.skipped)} line(s) skipped")
    try:
        _run(store, job_id, concurrency=concurrency, ray=ray, workers=workers, engine_options=options)
    except WriterError as exc:
        fail(exc)


@dataset_app.command("resume")
def resume(
    job: str = typer.Argument(..., help="The job's name."),
    concurrency: Optional[int] = ConcurrencyOpt,
    ray: Optional[str] = RayOpt,
    workers: Optional[int] = WorkersOpt,
) -> None:
    """Continue a stopped job: unfinished documents are continued, failed ones retried, none duplicated."""
    try:
        store = _store()
        row = store.get_job(job)
        _run(store, job, concurrency=concurrency, ray=ray, workers=workers,
             engine_options=(row.options or {}).get("engine", {}))
    except WriterError as exc:
        fail(exc)


@dataset_app.command("status")
def status(
    job: Optional[str] = typer.Argument(None, help="The job's name (default: list every job)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Done/failed/pending documents, words, output tokens/s and ETA of a job (or list the jobs)."""
    try:
        store = _store()
        if job is None:
            rows = [job_status(store, j.id) for j in store.list_jobs()]
            if as_json:
                for r in rows:
                    out.print(json.dumps(r.as_dict()), markup=False)
                return
            table = Table("job", "status", "done", "failed", "pending", "words", "tok/s")
            for r in rows:
                table.add_row(r.job, r.status, f"{r.counts.get('done', 0)}/{r.total}", str(r.counts.get("failed", 0)),
                              str(r.counts.get("pending", 0) + r.counts.get("running", 0)), str(r.words),
                              f"{r.tokens_per_s:.1f}")
            out.print(table)
            return
        s = job_status(store, job)
    except WriterError as exc:
        fail(exc)
    info = s.as_dict()
    if as_json:
        out.print(json.dumps(info, indent=2), markup=False)
        return
    eta = "-" if s.eta_s is None else f"{s.eta_s / 60:.1f} min"
    rows = [("job", s.job), ("status", s.status), ("engine", f"{s.engine} · {s.model}"),
            ("documents", f"{s.counts.get('done', 0)} done, {s.counts.get('failed', 0)} failed, "
                          f"{s.counts.get('running', 0)} interrupted, {s.counts.get('pending', 0)} pending "
                          f"(of {s.total})"),
            ("skipped lines", str(s.skipped_lines)), ("words", str(s.words)),
            ("output tokens", str(s.output_tokens)), ("time", f"{s.seconds:.0f} s"),
            ("output tokens/s", f"{s.tokens_per_s:.1f}"), ("documents/hour", f"{s.docs_per_hour:.1f}"),
            ("words/hour", f"{s.words_per_hour:.0f}"), ("ETA", eta)]
    for key, value in rows:
        out.print(f"{key}: {value}", markup=False)
    for e in s.errors[:10]:
        out.print(f"failed: {e}", markup=False)


@dataset_app.command("instructions")
def instructions(
    topics: Path = typer.Option(..., "--topics", help="Seed topics, one per line."),
    n: int = typer.Option(..., "--n", help="How many instructions to write."),
    out_file: Path = typer.Option(..., "--out", "-o", help="JSONL file to write (instruction, length, category)."),
    seed: int = typer.Option(0, "--seed", help="Random seed for lengths and sampling."),
    min_words: int = typer.Option(300, "--min-words", help="Shortest required length."),
    max_words: int = typer.Option(20000, "--max-words", help="Longest required length."),
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
) -> None:
    """Write instructions with explicit, varied length requirements from seed topics, deduplicated."""
    try:
        if n < 1:
            raise UsageError(f"--n must be at least 1, got {n}")
        if not 1 <= min_words <= max_words:
            raise UsageError(f"--min-words/--max-words must satisfy 1 <= min <= max, got {min_words}, {max_words}")
        seeds = read_topics(topics)
        if not out_file.expanduser().resolve().parent.is_dir():
            raise UsageError(f"output folder does not exist: {out_file.expanduser().resolve().parent}")
        eng = resolve_engine(engine, model, base_url)
        report = synthesize(eng, seeds, n, seed=seed, store=_store(), lengths=(min_words, max_words))
        write_instructions(out_file, report.records)
    except WriterError as exc:
        fail(exc)
    err.print(f"{len(report.records)} instructions ({report.from_model} from the model, {report.from_template} from "
              f"templates, {sum(report.rejected.values())} rejected) · {out_file}")


@dataset_app.command("export")
def export(
    job: str = typer.Argument(..., help="The job's name."),
    fmt: str = typer.Option(..., "--format", "-f", help="sft, dpo or lengthen."),
    to: str = typer.Option("jsonl", "--to", help="jsonl or parquet."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder for the data file and its README.md card."),
    min_score: Optional[float] = typer.Option(None, "--min-score", help="Keep documents scoring at least S (0-100)."),
    length_ratio: Optional[str] = typer.Option(None, "--length-ratio",
                                               help="Keep documents with words/required in LO,HI, e.g. 0.8,1.2."),
    min_margin: float = typer.Option(5.0, "--min-margin",
                                     help="DPO: least score gap between chosen and rejected where no pairwise "
                                          "verdict decides."),
    no_dedupe: bool = typer.Option(False, "--no-dedupe", help="Keep exact and near-duplicate texts."),
) -> None:
    """Export a job's documents as SFT, DPO or Generator/Extender (lengthen) data, with a dataset card."""
    try:
        ratio = _ratio(length_ratio) if length_ratio else None
        report = export_job(_store(), job, fmt, to, out_dir, min_score=min_score, length_ratio=ratio,
                            dedupe=not no_dedupe, min_margin=min_margin)
    except EmptyExportError as exc:  # nothing written: say which filter removed everything, with its flag
        err.print(f"error: {exc.cli_message}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except WriterError as exc:
        fail(exc)
    dropped = ", ".join(f"{k} {v}" for k, v in report.dropped.items() if v) or "none"
    err.print(f"{report.records} records · {report.path} · card {report.card_path} · dropped: {dropped}")
    if report.decided_by:
        err.print("pairs decided by: " + ", ".join(f"{k} {v}" for k, v in sorted(report.decided_by.items())))
    if report.note:
        err.print(f"note: {report.note}")


def _ratio(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"--length-ratio must be LO,HI (two numbers), got {text!r}") from None
    if not 0 <= lo <= hi:
        raise UsageError(f"--length-ratio needs 0 <= LO <= HI, got {text!r}")
    return lo, hi


def optional_ray_address(argv: list[str]) -> list[str]:
    """`--ray` given with no address (last, or followed by another option) means a local Ray instance."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--ray" and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            argv.insert(i + 1, "local")
            break
    return argv

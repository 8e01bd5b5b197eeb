"""The `writer` command line: a thin Typer layer over `writer.api`.

Library errors become one line on stderr: exit code 2 for bad input, 1 for runtime failures.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from judges.cli import judge_app
from writer.cli_options import BaseUrlOpt, EngineOpt, ModelOpt, fail
from writer.dataset.cli import dataset_app, optional_ray_address
from writer.models_cli import models_app
from writer.optimize_cli import optimize_cmd
from writer import api

try:  # Typer >= 0.25 vendors its own click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer on real click
    import click.exceptions as click_exceptions
from writer.engines import check_engine_name, close_engines
from writer.errors import UsageError, WriterError
from writer.lengths import resolve_target

app = typer.Typer(help="Write long documents with local models.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
runs_app = typer.Typer(help="List and inspect compose runs.", add_completion=False)
app.add_typer(runs_app, name="runs")
app.add_typer(judge_app, name="judge")
app.add_typer(dataset_app, name="dataset")
app.add_typer(models_app, name="models")
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

WordsOpt = typer.Option(None, "--words", "-w", help="Target length in words (default: from the instruction).")


class ComposeProgress:
    """Live display: words written against the target, the current section, output tokens/s."""

    def __init__(self, target: int | None, enabled: bool):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("words · {task.fields[rate]}"), TimeElapsedColumn(),
                                 console=err, transient=True, disable=not enabled)
        self.task = self.progress.add_task("planning", total=target, rate="")
        self.started = time.perf_counter()
        self.tokens = 0
        self.words = 0

    def __call__(self, kind: str, data: dict) -> None:
        if kind == "run":
            self.progress.update(self.task, description=f"run {data['run_id']}: planning")
        elif kind == "planned":
            plan = data["plan"]
            self.progress.update(self.task, total=plan.total_words)
        elif kind == "section_start":
            s = data["section"]
            self.progress.update(self.task, description=f"section {data['index'] + 1}: {s.title[:40]}")
        elif kind == "section_done":
            self.words += data["section"].words
            self.progress.update(self.task, completed=self.words)
        elif kind == "call":
            self.tokens += sum(c.completion_tokens for c in data["completions"])
            rate = self.tokens / max(1e-6, time.perf_counter() - self.started)
            self.progress.update(self.task, rate=f"{rate:.1f} tok/s")


@app.command()
def compose(
    instruction: Optional[str] = typer.Argument(None, help="What to write; may state a length (\"a 3000-word essay\")."),
    words: Optional[int] = WordsOpt,
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the document to this file."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue run RUN_ID from its checkpoint."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON result instead of the document."),
    candidates: Optional[int] = typer.Option(None, "--candidates", "-n",
                                             help="Drafts per section (1-8); the judges keep the best."),
    mode: Optional[str] = typer.Option(None, "--mode",
                                       help="sequential: each section sees the text before it; parallel: all "
                                            "sections at once, then stitched (default: parallel on vLLM and "
                                            "OpenAI-compatible engines)."),
    program: Optional[Path] = typer.Option(None, "--program",
                                           help="Plan with a planner program compiled by `writer optimize planner`."),
) -> None:
    """Plan and write a long document."""
    try:
        check_engine_name(engine)
        target = None
        if not resume:
            instruction = api.validate(instruction, words)
            length = resolve_target(instruction, words)
            target = length.words
            if length.source == "estimate":
                err.print(f"note: no length in the instruction; writing about {target} words, estimated from the "
                          f"task ({length.phrase}); set one with --words")
            elif length.source == "default":
                err.print(f"note: no length in the instruction; writing {target} words (set one with --words)")
        show = sys.stderr.isatty()
        progress = ComposeProgress(target, enabled=show)
        with progress.progress:
            result = api.compose(instruction, words=words, engine=engine, model=model, base_url=base_url,
                                 output=output, resume=resume, on_event=progress, candidates=candidates,
                                 mode=mode, program=program)
    except WriterError as exc:
        fail(exc)
    stats = result.stats
    if as_json:
        out.print(json.dumps({"run_id": result.run_id, "words": stats.words, "sections": stats.sections,
                              "target_words": result.plan.target_words, "seconds": round(stats.seconds, 2),
                              "output_tokens": stats.output_tokens,
                              "output_tokens_per_second": round(stats.output_tokens_per_second, 2),
                              "output_path": result.output_path}), markup=False)
    elif output is None:
        out.print(result.text, markup=False)
    where = f" · {result.output_path}" if result.output_path else ""
    err.print(f"{stats.words} words, {stats.sections} sections, {stats.seconds:.1f} s, "
              f"{stats.output_tokens_per_second:.1f} output tokens/s · run {result.run_id}{where}")


@app.command()
def plan(
    instruction: Optional[str] = typer.Argument(None, help="What to write."),
    words: Optional[int] = WordsOpt,
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
) -> None:
    """Print the plan (sections, main points, word budgets) as JSON."""
    try:
        check_engine_name(engine)
        result = api.plan(instruction, words=words, engine=engine, model=model, base_url=base_url)
    except WriterError as exc:
        fail(exc)
    out.print(result.model_dump_json(indent=2), markup=False)


@runs_app.callback(invoke_without_command=True)
def runs_default(ctx: typer.Context) -> None:
    """List runs (newest first)."""
    if ctx.invoked_subcommand is None:
        runs_list(limit=50, as_json=False)


@runs_app.command("list")
def runs_list(
    limit: int = typer.Option(50, "--limit", "-n", help="How many runs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """List runs (newest first)."""
    try:
        runs = api.list_runs(limit)
    except WriterError as exc:
        fail(exc)
    if as_json:
        for r in runs:
            out.print(json.dumps({"run_id": r.id, "status": r.status, "words": r.words, "target_words": r.target_words,
                                  "created_at": r.created_at.isoformat(), "instruction": r.instruction}), markup=False)
        return
    table = Table("run", "status", "words", "target", "created", "instruction")
    for r in runs:
        table.add_row(r.id, r.status, str(r.words), str(r.target_words), r.created_at.strftime("%Y-%m-%d %H:%M"),
                      r.instruction[:60])
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., help="The run's id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    text: bool = typer.Option(False, "--text", help="Print the document written so far."),
    memory: bool = typer.Option(False, "--memory", help="Print the run's program, memory files and memory log."),
) -> None:
    """Show a run: status, plan, sections, tokens."""
    try:
        run = api.get_run(run_id)
        row = api.list_runs_row(run_id)
        mem = api.get_memory(run_id) if memory else None
    except WriterError as exc:
        fail(exc)
    if mem is not None:
        _print_memory(mem, as_json)
        return
    if text:
        out.print(run.text, markup=False)
        return
    info = {"run_id": run.run_id, "status": row.status, "instruction": run.instruction, "engine": row.engine,
            "model": row.model, "target_words": row.target_words, "words": run.stats.words,
            "sections_written": len(run.sections), "calls": run.stats.calls,
            "prompt_tokens": run.stats.prompt_tokens, "cached_prompt_tokens": run.stats.cached_tokens,
            "output_tokens": run.stats.output_tokens,
            "seconds": round(run.stats.seconds, 2), "output_path": run.output_path, "error": row.error,
            "plan": run.plan.model_dump() if run.plan else None}
    if as_json:
        out.print(json.dumps(info, indent=2), markup=False)
        return
    for key in ("run_id", "status", "engine", "model", "target_words", "words", "sections_written", "calls",
                "prompt_tokens", "cached_prompt_tokens", "output_tokens", "seconds", "output_path", "error"):
        out.print(f"{key}: {info[key]}", markup=False)
    out.print(f"instruction: {run.instruction}", markup=False)
    if run.plan:
        table = Table("#", "title", "budget", "written")
        done = {s.index: s.words for s in run.sections}
        for i, s in enumerate(run.plan.sections):
            table.add_row(str(i + 1), s.title[:60], str(s.words), str(done.get(i, "-")))
        out.print(table)
        for note in run.plan.repairs:
            out.print(f"repair: {note}", markup=False)


def _print_memory(mem: dict, as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(mem, indent=2, ensure_ascii=False), markup=False)
        return
    table = Table("seq", "instruction", "section", "status", "tries", "outcome", title="program")
    for r in mem["program"]:
        table.add_row(str(r["seq"]), r["op"], str(r["section"] or "-"), r["status"], str(r["attempts"]),
                      r["note"] or "")
    out.print(table)
    table = Table("file", "version", "words", "content", title="memory files")
    for f in mem["files"]:
        table.add_row(f["name"], str(f["version"]), str(f["words"]), " ".join(f["content"].split())[:70])
    out.print(table)
    table = Table("seq", "action", "file", "words", title="memory reads and writes")
    for e in mem["events"]:
        table.add_row(str(e["seq"]) if e["seq"] is not None else "-", e["action"], e["name"], str(e["words"]))
    out.print(table)


app.command("optimize")(optimize_cmd)


def main() -> None:
    """Console entry point: like `app()`, but usage errors are one line too (exit 2)."""
    # SIGTERM unwinds like Ctrl-C, so the engine's worker processes are shut down, not orphaned.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.argv = optional_ray_address(sys.argv)
    try:
        code = app(standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(0)
    except click_exceptions.ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    finally:
        close_engines()
    sys.exit(code if isinstance(code, int) else 0)

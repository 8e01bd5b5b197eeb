"""`writer compose` and `writer plan`: parse, call `writer.api`, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from writer import api
from writer.cli.options import BaseUrlOpt, EngineOpt, FormatOpt, ModelOpt, StyleOpt, WordsOpt, err, fail, out
from writer.cli.progress import ComposeProgress
from writer.config import engine_settings
from writer.engines import check_engine_name
from writer.engines.models import DEFAULT_MODEL
from writer.errors import WriterError
from writer.pipeline.planning import plan_model_choice
from writer.text.lengths import resolve_target

__all__ = ["compose", "plan"]


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
                                            "OpenAI-compatible engines, sequential for a story)."),
    program: Optional[Path] = typer.Option(None, "--program",
                                           help="Plan with a planner program compiled by `writer optimize planner`."),
    plan_file: Optional[Path] = typer.Option(None, "--plan",
                                             help="Write from this plan instead of planning: JSON as `writer plan` "
                                                  "prints it, or a Markdown outline of '## Title' lines."),
    sources: Optional[list[Path]] = typer.Option(None, "--source",
                                                 help="Write from this file or folder (.md, .txt, .pdf, .docx) and "
                                                      "cite it as \\[n]; repeatable."),
    style: Optional[str] = StyleOpt,
    fmt: Optional[str] = FormatOpt,
    plan_model: Optional[str] = typer.Option(None, "--plan-model",
                                             help="Plan on this model, then write on --model: a registered name "
                                                  "or folder, e.g. qwen2.5-coder-1.5b, or none (default: "
                                                  "WRITER_PLAN_MODEL, config plan_model, else over 2,000 words the "
                                                  "strongest installed model if stronger, else the writer's)."),
) -> None:
    """Plan and write a long document."""
    try:
        check_engine_name(engine)
        target = None
        if plan_file is not None and not resume:
            user = api.read_plan(plan_file, instruction, words)
            for note in user.repairs:
                err.print(f"note: {note}", markup=False)
            target = user.target_words
        elif not resume:
            instruction = api.validate(instruction, words)
            length = resolve_target(instruction, words)
            target = length.words
            if length.source == "estimate":
                err.print(f"note: no length in the instruction; writing about {target} words, estimated from the "
                          f"task ({length.phrase}); set one with --words")
            elif length.source == "default":
                err.print(f"note: no length in the instruction; writing {target} words (set one with --words)")
            writer_settings = engine_settings(engine=engine, model=model, base_url=base_url)
            chosen, source = plan_model_choice(plan_model, writer_settings, target)
            if source == "auto":
                err.print(f"note: a {target}-word target: {chosen}, the strongest installed model, plans it and "
                          f"{writer_settings.model or DEFAULT_MODEL} writes it (--plan-model none: the writer plans)")
        show = sys.stderr.isatty()
        progress = ComposeProgress(err, target, enabled=show)
        with progress.progress:
            result = api.compose(instruction, words=words, engine=engine, model=model, base_url=base_url,
                                 output=output, resume=resume, on_event=progress, candidates=candidates,
                                 mode=mode, program=program, plan=plan_file, sources=sources or None, style=style,
                                 format=fmt, plan_model=plan_model)
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


def plan(
    instruction: Optional[str] = typer.Argument(None, help="What to write."),
    words: Optional[int] = WordsOpt,
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
    style: Optional[str] = StyleOpt,
) -> None:
    """Print the plan (sections, main points, word budgets) as JSON."""
    try:
        check_engine_name(engine)
        result = api.plan(instruction, words=words, engine=engine, model=model, base_url=base_url, style=style)
    except WriterError as exc:
        fail(exc)
    out.print(result.model_dump_json(indent=2), markup=False)

"""`writer extend`: a longer version of the user's own document; parse, call `writer.api.extend`, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from writer import api
from writer.cli.options import BaseUrlOpt, EngineOpt, FormatOpt, ModelOpt, StyleOpt, err, fail, out
from writer.cli.progress import ComposeProgress
from writer.engines import check_engine_name
from writer.errors import WriterError

__all__ = ["extend"]


def extend(
    file: Optional[Path] = typer.Argument(None, help="The Markdown or text file to lengthen."),
    words: Optional[int] = typer.Option(None, "--words", "-w", help="The new length in words."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the document to this file."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue run RUN_ID from its checkpoint."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON result instead of the document."),
    mode: Optional[str] = typer.Option(None, "--mode", help="sequential or parallel (as for compose)."),
    style: Optional[str] = StyleOpt,
    fmt: Optional[str] = FormatOpt,
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
) -> None:
    """Lengthen a document to --words words, part by part, keeping its headings."""
    try:
        check_engine_name(engine)
        progress = ComposeProgress(err, words, enabled=sys.stderr.isatty())
        with progress.progress:
            result = api.extend(file, words=words, engine=engine, model=model, base_url=base_url, output=output,
                                resume=resume, on_event=progress, mode=mode, style=style, format=fmt)
    except WriterError as exc:
        fail(exc)
    stats = result.stats
    if as_json:
        out.print(json.dumps({"run_id": result.run_id, "words": stats.words, "sections": stats.sections,
                              "target_words": result.plan.target_words, "seconds": round(stats.seconds, 2),
                              "output_path": result.output_path}), markup=False)
    elif output is None and result.output_path is None:
        out.print(result.text, markup=False)
    where = f" · {result.output_path}" if result.output_path else ""
    err.print(f"{stats.words} words (target {result.plan.target_words}), {stats.sections} parts, "
              f"{stats.seconds:.1f} s · run {result.run_id}{where}")

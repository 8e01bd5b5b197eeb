"""`writer revise`: rewrite one section of a finished run; parse, call `writer.api.revise`, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from writer import api
from writer.cli.options import BaseUrlOpt, EngineOpt, ModelOpt, err, fail, out
from writer.cli.progress import ComposeProgress
from writer.engines import check_engine_name
from writer.errors import WriterError

__all__ = ["revise"]


def revise(
    run_id: str = typer.Argument(..., help="The finished run's id (`writer runs` lists them)."),
    section: int = typer.Option(..., "--section", "-s", help="The number of the section to rewrite (1 is the first)."),
    instruction: Optional[str] = typer.Option(None, "--instruction", "-i",
                                              help="What to change, e.g. \"more concrete examples\"."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write the document here (default: the run's own output file)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON result instead of the document."),
    model: Optional[str] = ModelOpt,
    engine: Optional[str] = EngineOpt,
    base_url: Optional[str] = BaseUrlOpt,
) -> None:
    """Rewrite one section of a finished run, keeping the others; the old version is kept."""
    try:
        check_engine_name(engine)
        progress = ComposeProgress(err, None, enabled=sys.stderr.isatty())
        with progress.progress:
            result = api.revise(run_id, section, instruction, engine=engine, model=model, base_url=base_url,
                                output=output, on_event=progress)
        versions = [v for v in api.get_versions(run_id) if v["section"] == section]
    except WriterError as exc:
        fail(exc)
    new = result.sections[section - 1]
    version = versions[-1]["version"] if versions else 1
    if as_json:
        out.print(json.dumps({"run_id": result.run_id, "section": section, "version": version, "words": new.words,
                              "document_words": result.words, "output_path": result.output_path}), markup=False)
    elif result.output_path is None:
        out.print(result.text, markup=False)
    where = f" · {result.output_path}" if result.output_path else ""
    err.print(f"section {section} rewritten: version {version}, {new.words} words; the document has {result.words} "
              f"words · run {result.run_id}{where}")

"""What the `writer` commands share: the engine options and the one-line error exit.

One place, so `writer compose`, `writer dataset ...`, `writer judge ...` and `writer optimize`
spell and document `--engine/--model/--base-url` the same way, and fail the same way: one line
on stderr, exit code 2 for bad input, 1 for runtime failures (`WriterError.exit_code`).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from writer.engines.models import DEFAULT_MODEL, REGISTRY
from writer.errors import WriterError

EngineOpt = typer.Option(None, "--engine", "-e", help="Engine: vllm (default, in-process) or openai.",
                         envvar="WRITER_ENGINE", show_envvar=False)
ModelOpt = typer.Option(None, "--model", "-m",
                        help=f"A registered model ({', '.join(REGISTRY)}; see `writer models list`), a model "
                             f"folder, or a hub id (default: {DEFAULT_MODEL}).")
WordsOpt = typer.Option(None, "--words", "-w", help="Target length in words (default: from the instruction).")
BaseUrlOpt = typer.Option(None, "--base-url", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1.")


err = Console(stderr=True, highlight=False, soft_wrap=True)  # progress, notes, summary lines, errors
out = Console(highlight=False, soft_wrap=True)  # the document or JSON


def message(exc: WriterError) -> str:
    """The error as the command line says it: an argument named by the library becomes its flag."""
    text = str(exc)
    option = getattr(exc, "option", None)
    if option and text.startswith(option):
        text = "--" + option.replace("_", "-") + text[len(option):]
    return text


def fail(exc: WriterError) -> NoReturn:
    """Print `error: ...` on stderr and exit with the error's code."""
    typer.echo(f"error: {message(exc)}", err=True)
    raise typer.Exit(exc.exit_code)

"""What the `writer` commands share: the engine options and the one-line error exit.

One place, so `writer compose`, `writer dataset ...`, `writer judge ...` and `writer optimize`
spell and document `--engine/--model/--base-url` the same way, and fail the same way: one line
on stderr, exit code 2 for bad input, 1 for runtime failures (`WriterError.exit_code`).
"""

from __future__ import annotations

import sys
import traceback
from datetime import datetime
from typing import NoReturn

import typer
from rich.console import Console

from writer import stop_signals
from writer.engines.models import DEFAULT_MODEL, REGISTRY
from writer.errors import WriterError

EngineOpt = typer.Option(None, "--engine", "-e", help="Engine: vllm (default, in-process) or openai.",
                         envvar="WRITER_ENGINE", show_envvar=False)
ModelOpt = typer.Option(None, "--model", "-m",
                        help=f"A registered model ({', '.join(REGISTRY)}; see `writer models list`), a model "
                             f"folder, or a hub id (default: {DEFAULT_MODEL}).")
WordsOpt = typer.Option(None, "--words", "-w", help="Target length in words (default: from the instruction).")
BaseUrlOpt = typer.Option(None, "--base-url", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1.")
StyleOpt = typer.Option(None, "--style",
                        help="Tone, audience, person, formality, e.g. \"for 12-year-olds, second person, friendly\".")
FormatOpt = typer.Option(None, "--format",
                         help="Output format: md, docx, html or epub (default: from the --output extension).")


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
    """Print `error: ...` on stderr and exit with the error's code; after Ctrl-C or SIGTERM, stop as interrupted
    instead (the engine error is the engine process dying of the same signal: `writer.stop_signals`)."""
    stopped()
    typer.echo(f"error: {message(exc)}", err=True)
    raise typer.Exit(exc.exit_code)


def stopped() -> None:
    """Exit 130 (Ctrl-C) or 143 (SIGTERM) with "aborted" if this process received a stop signal; else return."""
    code = stop_signals.exit_code()
    if code is not None:
        typer.echo("aborted", err=True)
        sys.exit(code)


VERBOSE = False  # `writer -v`: an unexpected error's traceback is shown, not only logged


def crash(exc: BaseException) -> NoReturn:
    """An error writer did not raise on purpose: one `error:` line and exit 1; the traceback is appended to
    <data dir>/engine.log (and shown too with -v)."""
    trace = "".join(traceback.format_exception(exc))
    where = ""
    try:
        from writer.config import data_dir

        log = data_dir() / "engine.log"
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"--- {datetime.now().isoformat(timespec='seconds')} writer {' '.join(sys.argv[1:])}\n{trace}")
        where = f" (traceback in {log})"
    except Exception:  # noqa: BLE001 - no usable data dir: the one line still says what failed
        pass
    if VERBOSE:
        typer.echo(trace, err=True, nl=False)
    stopped()
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    typer.echo(f"error: {type(exc).__name__}{': ' + first if first else ''}{where}", err=True)
    sys.exit(1)

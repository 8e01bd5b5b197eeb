"""The `writer` command line: a thin Typer layer over `writer.api`, one module per command group.

Library errors become one line on stderr: exit code 2 for bad input, 1 for runtime failures.
"""

from __future__ import annotations

import os
import sys

import typer

from writer import stop_signals
from writer.cli import options
from writer.cli.compose import compose, plan
from writer.cli.dataset import dataset_app, optional_ray_address
from writer.cli.extend import extend
from writer.cli.judge import judge_app
from writer.cli.models import models_app
from writer.cli.optimize import optimize_cmd
from writer.cli.options import crash, fail, message, stopped
from writer.cli.quiet import quiet
from writer.cli.revise import revise
from writer.cli.runs import runs_app
from writer.config import check as check_config
from writer.config import data_dir
from writer.engines import close_engines
from writer.errors import WriterError

try:  # Typer >= 0.25 vendors its own click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer on real click
    import click.exceptions as click_exceptions

__all__ = ["app", "main"]

app = typer.Typer(help="Write long documents with local models.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)


@app.callback()
def main_options(verbose: bool = typer.Option(False, "--verbose", "-v",
                                              help="Show the engine's own output (vLLM, torch, transformers) "
                                                   "instead of logging it to <data dir>/engine.log.")) -> None:
    """Write long documents with local models."""
    options.VERBOSE = verbose
    try:
        check_config()  # the config file, the environment, the data and cache dirs: one line for the first bad one
        if not verbose and (sys.stderr.isatty() or os.environ.get("WRITER_QUIET") == "1"):
            quiet(data_dir() / "engine.log")
    except WriterError as exc:
        fail(exc)


app.command()(compose)
app.command()(plan)
app.command()(revise)
app.command()(extend)
app.add_typer(runs_app, name="runs")
app.add_typer(judge_app, name="judge")
app.add_typer(dataset_app, name="dataset")
app.add_typer(models_app, name="models")
app.command("optimize")(optimize_cmd)


def main() -> None:
    """Console entry point: like `app()`, but usage errors are one line too (exit 2)."""
    stop_signals.install()  # Ctrl-C and SIGTERM are recorded, so an engine that dies of them reads as a stop
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
    except WriterError as exc:  # raised outside a command's own guard
        stopped()
        typer.echo(f"error: {message(exc)}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug or a library's failure: one line, the traceback to the log
        crash(exc)
    finally:
        stop_signals.defer()  # a Ctrl-C while the engines shut down waits for them (the command's own exit code)
        close_engines()
    sys.exit(code if isinstance(code, int) else 0)

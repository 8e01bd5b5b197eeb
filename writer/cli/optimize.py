"""`writer optimize planner|judge`: compile a DSPy module against our metrics and save the program.

Registered on the main app with `app.command("optimize")(optimize_cmd)`. dspy is imported
only when the command runs, so other commands start as fast as before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from writer.cli.options import EngineOpt, ModelOpt, fail
from writer.engines import check_engine_name
from writer.errors import UsageError, WriterError

__all__ = ["optimize_cmd"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def optimize_cmd(
    module: str = typer.Argument(..., help="What to compile: planner or judge."),
    trainset: Path = typer.Option(..., "--trainset", help="JSONL: planner {instruction, length}; judge {instruction, text, label 0-100}."),
    valset: Optional[Path] = typer.Option(None, "--valset", help="JSONL of held-out examples (default: a third of the trainset)."),
    optimizer: str = typer.Option("bootstrap", "--optimizer", help="bootstrap (BootstrapFewShot) or mipro (MIPROv2)."),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to save the compiled program (default: MODULE.program.json)."),
    metric: Optional[str] = typer.Option(None, "--metric", help="planner: plan (cheap) or compose (writes each plan; default); judge: agreement."),
    judge: str = typer.Option("quality", "--judge", help="Which judge to compile: quality or checklist."),
    threshold: float = typer.Option(0.5, "--threshold", help="Metric (0-1) a training run needs to become a demo."),
    max_demos: int = typer.Option(2, "--max-demos", help="Most bootstrapped demos in the compiled prompt."),
    trials: Optional[int] = typer.Option(None, "--trials", help="MIPROv2 trials (default: auto=light)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use at most this many training and validation examples each."),
    engine: Optional[str] = EngineOpt,
    model: Optional[str] = ModelOpt,
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible server URL (a vLLM server uses DSPy's hosted_vllm route)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Compile the DSPy planner or a judge against our metrics; print the metric before and after."""
    try:
        if module not in ("planner", "judge"):
            raise UsageError(f"unknown module {module!r}; choose planner or judge")
        check_engine_name(engine)
        from writer.dspy.optimize import optimize

        result = optimize(module, trainset, valset=valset, optimizer=optimizer, out=out_path, metric=metric,
                          judge=judge, engine=engine, model=model, base_url=base_url, threshold=threshold,
                          max_demos=max_demos, trials=trials, limit=limit)
    except WriterError as exc:
        fail(exc)
    if as_json:
        out.print(json.dumps(result.__dict__), markup=False)
    else:
        what = module if module == "planner" else f"judge {judge}"
        table = Table("program", "optimizer", "metric", "train", "val", "demos", "before", "after",
                      title="validation metric (0-100) before and after compilation")
        table.add_row(what, result.optimizer, result.metric, str(result.train), str(result.val), str(result.demos),
                      f"{result.before:.1f}", f"{result.after:.1f}")
        out.print(table)
    err.print(f"saved {result.out} · {result.engine_calls} engine calls, {result.seconds:.0f} s")

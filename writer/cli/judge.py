"""`writer judge`: score a file or a run's document, and calibrate checklist weights.

A Typer group whose default command is `score`: `writer judge FILE_OR_RUN_ID ...` runs
`writer judge score FILE_OR_RUN_ID ...` (a first argument that is not a subcommand name or a
help flag gets `score` put before it); `writer judge calibrate ANNOTATIONS.jsonl` fits
checklist weights. A file literally named `calibrate` or `score` needs the explicit form
`writer judge score ./calibrate`. Register it on the main app with
`app.add_typer(judge_app, name="judge")`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from judges import Judgment, judge, judge_names
from judges.checklist import Annotation, calibrate
from writer.api import get_run
from writer.cli.options import fail
from writer.engines import check_engine_name
from writer.errors import UsageError, WriterError

__all__ = ["judge_app"]

out = Console(highlight=False, soft_wrap=True)


class DefaultToScore(TyperGroup):
    """A group that runs `score` when its first argument is not a subcommand."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["score", *args]
        return super().parse_args(ctx, args)


judge_app = typer.Typer(cls=DefaultToScore, help="Score documents: length, rules, quality, checklist, CLEAR.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _read(path: Path, what: str) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None


def read_rubric(path: Path) -> list[str]:
    """Rubric items from a JSON list of strings, a JSON object with "items", or one item per line."""
    text = _read(path, "rubric")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [line.strip().lstrip("-*").strip() for line in text.splitlines()]
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list) or not all(isinstance(i, str) for i in data):
        raise UsageError(f"rubric {path} must be a JSON list of strings or one item per line")
    items = [i.strip() for i in data if i.strip()]
    if not items:
        raise UsageError(f"rubric {path} has no items")
    return items


def _target(file_or_run: str) -> tuple[str, str | None, dict]:
    """The text, the run id (None for a file), and what the run knows (instruction, words, plan titles)."""
    path = Path(file_or_run).expanduser()
    if path.is_file():
        return _read(path, "file"), None, {}
    try:
        run = get_run(file_or_run)
    except UsageError:
        raise UsageError(f"{file_or_run!r} is neither a file nor a run id in the store") from None
    if not run.text.strip():
        raise UsageError(f"run {run.run_id} has no text yet (status: not written)")
    known = {"instruction": run.instruction,
             "words": run.plan.target_words if run.plan else None,
             "plan_titles": [s.title for s in run.plan.sections] if run.plan and len(run.plan.sections) > 1 else None}
    return run.text, run.run_id, known


def _summary(name: str, r) -> str:
    if name == "length":
        return f"{r.words} words for {r.required_words} required"
    if name == "rules":
        cov = "" if r.plan_coverage is None else f", plan coverage {r.plan_coverage:.0%}"
        return (f"distinct-1/2/4 {r.distinct_1:.2f}/{r.distinct_2:.2f}/{r.distinct_4:.2f}, repeated 4-grams "
                f"{r.repeated_4gram_share:.1%}, longest repeat {r.longest_repeated_span} words, duplicated "
                f"paragraphs {r.duplicated_paragraphs}, compression {r.compression_ratio:.2f}{cov}")
    if name in ("quality", "dspy-quality"):
        return ", ".join(f"{k} {v}" for k, v in r.dimensions.items())
    if name in ("checklist", "dspy-checklist"):
        return f"{r.category} ({r.weights} weights): " + " ".join(f"{i.score:g}" for i in r.items)
    if name == "clear":
        return f"precision {r.precision:.2f}, recall {r.recall:.2f}, F1 {r.f1:.2f} over {len(r.items)} items"
    return json.dumps(r.details())[:120]


def print_judgment(j: Judgment) -> None:
    table = Table("judge", "score", "details", title=f"judgment{f' of run {j.run_id}' if j.run_id else ''}")
    for name in j.judges:
        if name in j.results:
            r = j.results[name]
            table.add_row(name, "-" if r.score is None else f"{r.score:.1f}", _summary(name, r))
    for e in j.errors:
        table.add_row(e.judge, "error", e.error)
    out.print(table)


@judge_app.command("score")
def score(
    file_or_run_id: str = typer.Argument(..., help="A text/Markdown file, or the id of a compose run."),
    instruction: Optional[str] = typer.Option(None, "--instruction", "-i", help="What the text was written for (default for a run: the run's)."),
    words: Optional[int] = typer.Option(None, "--words", "-w", help="Required length in words (default: from the run or the instruction)."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Reference text file (clear judge)."),
    rubric: Optional[Path] = typer.Option(None, "--rubric", help="Rubric items: JSON list or one per line (clear judge)."),
    category: Optional[str] = typer.Option(None, "--category", help="Checklist category (default: guessed from the instruction)."),
    judges: Optional[str] = typer.Option(None, "--judges", "-j", help="Comma-separated: length,rules,quality,checklist,clear (default: all the inputs allow)."),
    judge_engine: Optional[str] = typer.Option(None, "--judge-engine", help="Engine of the judge model: vllm or openai (default: WRITER_ENGINE)."),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="Judge model folder or id (default: the embedded model)."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="OpenAI-compatible server of the judge model."),
    as_json: bool = typer.Option(False, "--json", help="Print the judgment as JSON."),
    program: Optional[Path] = typer.Option(None, "--program", help="A judge program compiled by `writer optimize judge`; runs in place of the built-in judge of its kind."),
) -> None:
    """Judge a file or a run's document; with a run id the judgment is stored with the run."""
    try:
        check_engine_name(judge_engine)
        names = None
        if judges is not None:
            names = [n.strip() for n in judges.split(",") if n.strip()]
            unknown = [n for n in names if n not in judge_names()]
            if not names or unknown:
                raise UsageError(f"unknown judge {', '.join(unknown) or repr(judges)}; choose from: "
                                 f"{', '.join(judge_names())}")
        text, run_id, known = _target(file_or_run_id)
        result = judge(text, instruction=instruction or known.get("instruction"),
                       words=words if words is not None else known.get("words"),
                       reference=_read(reference, "reference") if reference else None,
                       rubric=read_rubric(rubric) if rubric else None, plan_titles=known.get("plan_titles"),
                       category=category, judges=names, engine=judge_engine, model=judge_model,
                       base_url=judge_base_url, run_id=run_id, program=program)
    except WriterError as exc:
        fail(exc)
    if as_json:
        out.print(result.model_dump_json(indent=2), markup=False)
    else:
        print_judgment(result)


@judge_app.command("calibrate")
def calibrate_cmd(
    annotations: Path = typer.Argument(..., help="JSONL: {\"category\", \"item_scores\": [0-1...], \"human_score\": 0-100} a line."),
    as_json: bool = typer.Option(False, "--json", help="Print the fits as JSON lines."),
) -> None:
    """Fit checklist weights to human scores (least squares, each weight >= 0.5) and save them."""
    try:
        rows = []
        for n, line in enumerate(_read(annotations, "annotations").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(Annotation.model_validate_json(line))
                except ValueError as exc:
                    raise UsageError(f"{annotations}:{n}: not a valid annotation "
                                     f"({str(exc).splitlines()[-1].strip()[:160]})") from None
        fits = calibrate(rows)
    except WriterError as exc:
        fail(exc)
    if as_json:
        for f in fits:
            out.print(f.model_dump_json(), markup=False)
        return
    table = Table("category", "annotations", "R²", "Pearson r", "weights (sum 100)")
    for f in fits:
        table.add_row(f.category, str(f.n), f"{f.r2:.3f}", "-" if f.pearson is None else f"{f.pearson:.3f}",
                      " ".join(f"{w:.1f}" for w in f.weights))
    out.print(table)

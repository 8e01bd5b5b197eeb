"""`writer judge`: score a file or a run's document, compare two (`--against`), and calibrate checklist weights.

A Typer group whose default command is `score`: `writer judge FILE_OR_RUN_ID ...` runs
`writer judge score FILE_OR_RUN_ID ...` (a first argument that is not a subcommand name or a
help flag gets `score` put before it); `writer judge calibrate ANNOTATIONS.jsonl` fits
checklist weights. A file literally named `calibrate` or `score` needs the explicit form
`writer judge score ./calibrate`. Register it on the main app with
`app.add_typer(judge_app, name="judge")`.

The model judges run on the judge model (`--judge-model`, WRITER_JUDGE_MODEL, config `judge_model`,
else the strongest installed local model); which one is said on stderr before it loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from judges import (
    JudgeInput,
    Judgment,
    PairJudgment,
    default_judges,
    get_judge,
    judge,
    judge_names,
    judge_pair,
    model_judges,
)
from judges.calibration import read_labels, score_labels
from judges.checklist import calibrate
from judges.engine import choose_judge_model
from writer.api import get_run
from writer.cli.options import fail
from writer.engines import check_engine_name
from writer.errors import UsageError, WriterError

__all__ = ["judge_app"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class DefaultToScore(TyperGroup):
    """A group that runs `score` when its first argument is not a subcommand."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["score", *args]
        return super().parse_args(ctx, args)


judge_app = typer.Typer(cls=DefaultToScore,
                        help="Score documents (length, rules, quality, checklist, CLEAR) or compare two (pairwise).",
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


def print_pair(j: PairJudgment) -> None:
    first, second = j.labels
    name = {"first": first, "second": second, "tie": "tie"}
    agree = "both orders agree" if j.consistent else "the two orders disagree" if not j.error else j.error
    out.print(f"verdict: {j.winner}" + (f" ({name[j.winner]} is better)" if j.winner != "tie" else "")
              + f" · {agree} · judge {j.judge_model}", markup=False)
    for k, o in enumerate(j.orders, start=1):
        shown = name[o.shown_first]
        said = f"error: {o.error}" if o.error else f"{o.preferred}" + (
            f" ({name[o.preferred]})" if o.preferred != "tie" else "") + f": {o.reason}"
        out.print(f"order {k} ({shown} shown first): {said}", markup=False)
    if j.margin is not None:
        leaning = first if j.margin > 0 else second
        out.print(f"margin: {j.margin:+.2f} (log-odds towards {leaning}, with the judge's lean to a position taken "
                  "out)", markup=False)
    if j.truncated_input:
        out.print("note: a text was longer than the judge's window; it saw its head and tail", markup=False)


def _judge_names(judges: str | None) -> list[str] | None:
    if judges is None:
        return None
    names = [n.strip() for n in judges.split(",") if n.strip()]
    unknown = [n for n in names if n not in judge_names()]
    if not names or unknown:
        raise UsageError(f"unknown judge {', '.join(unknown) or repr(judges)}; choose from: {', '.join(judge_names())}")
    return names


def say_judge_model(engine: str | None, model: str | None, base_url: str | None) -> None:
    """`judge model: NAME (why)` on stderr, checked before anything loads."""
    err.print(f"judge model: {choose_judge_model(engine, model, base_url).label}")


@judge_app.command("score")
def score(
    file_or_run_id: str = typer.Argument(..., help="A text/Markdown file, or the id of a compose run."),
    against: Optional[str] = typer.Option(None, "--against", help="Compare with this file or run (pairwise judge): which is better?"),
    instruction: Optional[str] = typer.Option(None, "--instruction", "-i", help="What the text was written for (default for a run: the run's)."),
    words: Optional[int] = typer.Option(None, "--words", "-w", help="Required length in words (default: from the run or the instruction)."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Reference text file (clear judge)."),
    rubric: Optional[Path] = typer.Option(None, "--rubric", help="Rubric items: JSON list or one per line (clear judge)."),
    category: Optional[str] = typer.Option(None, "--category", help="Checklist category (default: guessed from the instruction)."),
    judges: Optional[str] = typer.Option(None, "--judges", "-j", help="Comma-separated: length,rules,quality,checklist,clear (default: all the inputs allow); pairwise with --against."),
    judge_engine: Optional[str] = typer.Option(None, "--judge-engine", help="Engine of the judge model: vllm or openai (default: WRITER_ENGINE)."),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="Judge model: a registered name, folder or id (default: WRITER_JUDGE_MODEL, config judge_model, else the strongest installed)."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="OpenAI-compatible server of the judge model."),
    as_json: bool = typer.Option(False, "--json", help="Print the judgment as JSON."),
    program: Optional[Path] = typer.Option(None, "--program", help="A judge program compiled by `writer optimize judge`; runs in place of the built-in judge of its kind."),
) -> None:
    """Judge a file or a run's document (or which of two is better, with --against); a run's verdicts are stored with it."""
    try:
        check_engine_name(judge_engine)
        names = _judge_names(judges)
        if against is not None:
            if names is not None and names != ["pairwise"]:
                raise UsageError("--against compares two texts with the pairwise judge; drop --judges or use "
                                 "--judges pairwise")
            pair = _pair(file_or_run_id, against, instruction, judge_engine, judge_model, judge_base_url)
        else:
            text, run_id, known = _target(file_or_run_id)
            if "pairwise" in (names or []):
                raise UsageError("the pairwise judge compares two texts: add --against FILE_OR_RUN_ID")
            inputs = dict(instruction=instruction or known.get("instruction"),
                          words=words if words is not None else known.get("words"),
                          reference=_read(reference, "reference") if reference else None,
                          rubric=read_rubric(rubric) if rubric else None, plan_titles=known.get("plan_titles"),
                          category=category)
            if words is not None and words < 1:
                raise UsageError(f"words must be at least 1, got {words}", option="words")
            sample = JudgeInput(text=text, **inputs)
            chosen = names or default_judges(sample)
            if program is None and model_judges(chosen):
                for name in chosen:  # bad input is one line before the judge model is named or loaded
                    get_judge(name).check(sample)
                say_judge_model(judge_engine, judge_model, judge_base_url)
            result = judge(text, **inputs, judges=names, engine=judge_engine, model=judge_model,
                           base_url=judge_base_url, run_id=run_id, program=program)
    except WriterError as exc:
        fail(exc)
    if against is not None:
        if as_json:
            out.print(pair.model_dump_json(indent=2), markup=False)
        else:
            print_pair(pair)
    elif as_json:
        out.print(result.model_dump_json(indent=2), markup=False)
    else:
        print_judgment(result)


def _pair(a: str, b: str, instruction: str | None, engine: str | None, model: str | None,
          base_url: str | None) -> PairJudgment:
    text_a, run_a, known_a = _target(a)
    text_b, run_b, known_b = _target(b)
    instruction = instruction or known_a.get("instruction") or known_b.get("instruction")
    if not instruction:
        raise UsageError("the pairwise judge needs instruction: what both texts were written for (--instruction)",
                         option="instruction")
    say_judge_model(engine, model, base_url)
    return judge_pair(text_a, text_b, instruction=instruction, engine=engine, model=model, base_url=base_url,
                      run_ids=(run_a, run_b), labels=(a, b))


@judge_app.command("calibrate")
def calibrate_cmd(
    labels: Path = typer.Argument(..., help="JSONL, a line each: {\"instruction\", \"text\", \"human_score\": 0-100} "
                                            "(scored by the checklist judge) or {\"category\", \"item_scores\", "
                                            "\"human_score\"}; see docs/judges.md."),
    judge_engine: Optional[str] = typer.Option(None, "--judge-engine", help="Engine of the judge model: vllm or openai (default: WRITER_ENGINE)."),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="Judge model that scores labelled texts (default: the strongest installed)."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="OpenAI-compatible server of the judge model."),
    as_json: bool = typer.Option(False, "--json", help="Print the fits as JSON lines."),
) -> None:
    """Fit checklist weights to human scores (least squares, each weight >= 0.5) and save them."""
    try:
        rows = read_labels(_read(labels, "labels"), str(labels))
        if any(r.item_scores is None for r in rows):
            say_judge_model(judge_engine, judge_model, judge_base_url)
        annotations = score_labels(rows, engine=judge_engine, model=judge_model, base_url=judge_base_url)
        fits = calibrate(annotations)
    except WriterError as exc:
        fail(exc)
    if as_json:
        for f in fits:
            out.print(f.model_dump_json(), markup=False)
        return
    table = Table("category", "annotations", "R²", "Pearson r", "good over worse before", "after",
                  "weights (sum 100)")
    for f in fits:
        table.add_row(f.category, str(f.n), f"{f.r2:.3f}", "-" if f.pearson is None else f"{f.pearson:.3f}",
                      _share(f.ranked_before), _share(f.ranked_after), " ".join(f"{w:.1f}" for w in f.weights))
    out.print(table)


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"

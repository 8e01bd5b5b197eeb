"""`writer runs`: list runs and show one (its plan, sections, defects, memory)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from writer import api
from writer.cli.options import fail, out
from writer.errors import WriterError

__all__ = ["runs_app"]

runs_app = typer.Typer(help="List and inspect compose runs.", add_completion=False)


@runs_app.callback(invoke_without_command=True)
def runs_default(ctx: typer.Context) -> None:
    """List runs (newest first)."""
    if ctx.invoked_subcommand is None:
        runs_list(limit=50, as_json=False)


@runs_app.command("list")
def runs_list(
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many runs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """List runs (newest first)."""
    try:
        runs = api.list_runs(limit)
    except WriterError as exc:
        fail(exc)
    if as_json:
        for r in runs:
            out.print(json.dumps({"run_id": r.id, "status": r.status, "words": r.words, "target_words": r.target_words,
                                  "created_at": r.created_at.isoformat(), "instruction": r.instruction}), markup=False)
        return
    table = Table("run", "status", "words", "target", "created", "instruction")
    for r in runs:
        table.add_row(r.id, r.status, str(r.words), str(r.target_words), r.created_at.strftime("%Y-%m-%d %H:%M"),
                      r.instruction[:60])
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., help="The run's id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    text: bool = typer.Option(False, "--text", help="Print the document written so far."),
    memory: bool = typer.Option(False, "--memory", help="Print the run's program, memory files and memory log."),
) -> None:
    """Show a run: status, plan, sections, tokens."""
    try:
        run = api.get_run(run_id)
        row = api.get_run_row(run_id)
        mem = api.get_memory(run_id) if memory else None
        versions = api.get_versions(run_id)
    except WriterError as exc:
        fail(exc)
    if mem is not None:
        _print_memory(mem, as_json)
        return
    if text:
        out.print(run.text, markup=False)
        return
    info = {"run_id": run.run_id, "status": row.status, "instruction": run.instruction, "engine": row.engine,
            "model": row.model, "target_words": row.target_words, "words": run.stats.words,
            "sections_written": len(run.sections), "calls": run.stats.calls,
            "prompt_tokens": run.stats.prompt_tokens, "cached_prompt_tokens": run.stats.cached_tokens,
            "output_tokens": run.stats.output_tokens,
            "seconds": round(run.stats.seconds, 2), "output_path": run.output_path, "error": row.error,
            "process": f"{row.pid} on {row.host}" if row.pid else None,
            "heartbeat_at": row.heartbeat_at.isoformat() if row.heartbeat_at else None,
            "plan": run.plan.model_dump() if run.plan else None,
            "sections": [{"index": w.index + 1, "title": w.title, "words": w.words, "defects": w.defects,
                          "defects_left": w.defects_left} for w in run.sections],
            "versions": [{k: v for k, v in version.items() if k != "text"} for version in versions]}
    if as_json:
        out.print(json.dumps(info, indent=2), markup=False)
        return
    for key in ("run_id", "status", "engine", "model", "target_words", "words", "sections_written", "calls",
                "prompt_tokens", "cached_prompt_tokens", "output_tokens", "seconds", "output_path", "error",
                "process", "heartbeat_at"):
        out.print(f"{key}: {info[key]}", markup=False)
    out.print(f"instruction: {run.instruction}", markup=False)
    if run.plan:
        table = Table("#", "title", "budget", "written", "defects cut", "left")
        written = {s.index: s for s in run.sections}
        for i, s in enumerate(run.plan.sections):
            w = written.get(i)
            table.add_row(str(i + 1), s.title[:60], str(s.words), str(w.words) if w else "-",
                          _counts(w.defects) if w else "", _counts(w.defects_left) if w else "")
        out.print(table)
        for note in run.plan.repairs:
            out.print(f"repair: {note}", markup=False)
    if versions:
        table = Table("section", "version", "words", "instruction", "checks", "created", title="section versions")
        for v in versions:
            table.add_row(str(v["section"]), str(v["version"]), str(v["words"]), v["instruction"] or "",
                          (v["note"] or "")[:50], v["created_at"][:16].replace("T", " "))
        out.print(table)


def _print_memory(mem: dict, as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(mem, indent=2, ensure_ascii=False), markup=False)
        return
    table = Table("seq", "step", "section", "status", "tries", "outcome", title="steps (the stored program)")
    for r in mem["steps"]:
        table.add_row(str(r["seq"]), r["op"], str(r["section"] or "-"), r["status"], str(r["attempts"]),
                      r["note"] or "")
    out.print(table)
    table = Table("file", "version", "words", "content", title="memory files")
    for f in mem["files"]:
        table.add_row(f["name"], str(f["version"]), str(f["words"]), " ".join(f["content"].split())[:70])
    out.print(table)
    table = Table("seq", "action", "file", "words", title="memory reads and writes")
    for e in mem["events"]:
        table.add_row(str(e["seq"]) if e["seq"] is not None else "-", e["action"], e["name"], str(e["words"]))
    out.print(table)


def _counts(counts: dict[str, int]) -> str:
    """Defect counts as "heading 2, chatter 1" ("0" for none)."""
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()) if n) or "0"

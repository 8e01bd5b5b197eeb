"""Dataset jobs on the scripted engine: parsing, bad input, K documents at once, resume without duplicates."""

from __future__ import annotations

import json
import threading

import pytest
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

from writer.cli import app
from writer.cli.dataset import optional_ray_address
from writer.dataset.jobs import create_job, job_status, read_instructions, run_job, todo
from writer.errors import UsageError

PLAN = {"sections": [{"title": "Opening", "main_point": "What the piece is about", "words": 120},
                     {"title": "Closing", "main_point": "What it comes to", "words": 120}]}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_file(tmp_path, n=3):
    return write_lines(tmp_path / "in.jsonl", [json.dumps({"instruction": f"Write an essay about topic {i}.",
                                                           "length": 240, "category": "essay"}) for i in range(n)])


def test_read_instructions_skips_bad_lines_with_their_numbers(tmp_path):
    path = write_lines(tmp_path / "in.jsonl", [
        json.dumps({"instruction": "Write a story about a lighthouse.", "length": 300, "category": "story"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"length": 300}),
        json.dumps({"prompt": "Write a 500-word letter to a friend.", "type": "letter", "mood": "warm"}),
        json.dumps({"instruction": "Write a poem.", "length": -5}),
        "",
        json.dumps({"instruction": "Write a guide.", "length": "800"}),
    ])
    parsed = read_instructions(path, samples=2)
    assert [(s["line"], s["error"].split(" ")[0]) for s in parsed.skipped] == [
        (2, "not"), (3, "expected"), (4, "no"), (6, "'length'")]
    assert [(i["line"], i["sample"]) for i in parsed.items] == [(1, 0), (1, 1), (5, 0), (5, 1), (8, 0), (8, 1)]
    letter = parsed.items[2]
    assert letter["required_words"] == 500 and letter["category"] == "letter"  # length read from the prompt
    assert letter["extra"]["mood"] == "warm"
    assert parsed.items[4]["required_words"] == 800
    assert any("'mood'" in n for n in parsed.notes)


@pytest.mark.parametrize("content", ["", "\n\n", "{bad\n[1]\n"])
def test_a_file_without_usable_lines_is_a_usage_error(tmp_path, content):
    path = tmp_path / "in.jsonl"
    path.write_text(content)
    with pytest.raises(UsageError, match="no instructions"):
        read_instructions(path)


def test_missing_file_and_bad_out_folder_are_usage_errors(tmp_path, store):
    with pytest.raises(UsageError, match="not found"):
        read_instructions(tmp_path / "nope.jsonl")
    with pytest.raises(UsageError, match="parent does not exist"):
        create_job(store, good_file(tmp_path), out=tmp_path / "a" / "b", engine_name="scripted", model="m")
    assert store.list_jobs() == []


def test_job_composes_every_item_concurrently_and_scores_it(tmp_path, store):
    engine = ScriptedEngine(plan_reply=PLAN)
    job, parsed = create_job(store, good_file(tmp_path), out=tmp_path / "docs", engine_name="scripted", model="m",
                             samples=2, concurrency=3)
    assert job == "in" and len(parsed.items) == 6
    threads = set()
    status = run_job(store, job, engine, on_event=lambda event: threads.add(threading.current_thread().name))
    assert status.counts["done"] == 6 and status.status == "done"
    items = store.job_items(job)
    assert len({it.run_id for it in items}) == 6
    assert all(it.scores["length"] > 80 and "rules" in it.scores and "score" in it.scores for it in items)
    assert sorted(p.name for p in (tmp_path / "docs").iterdir())[:2] == ["00001-1.md", "00001-2.md"]
    assert len([t for t in threads if t.startswith("job")]) > 1  # documents ran in several threads
    assert status.words == sum(it.words for it in items) > 6 * 200
    with pytest.raises(UsageError, match="already exists"):
        create_job(store, good_file(tmp_path), out=tmp_path / "docs", engine_name="scripted", model="m")


def test_resume_continues_interrupted_runs_and_retries_failures_without_duplicates(tmp_path, store):
    calls = {"n": 0}

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN)
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("engine hiccup")
        return "Some words about the topic. " * 30

    engine = ScriptedEngine(reply=reply)
    job, _ = create_job(store, good_file(tmp_path, n=2), out=tmp_path / "docs", engine_name="scripted", model="m",
                        concurrency=1)
    status = run_job(store, job, engine)
    assert status.counts["failed"] == 1 and status.counts["done"] == 1 and status.status == "stopped"
    failed = store.job_items(job, "failed")[0]
    assert "engine hiccup" in failed.error and failed.run_id is not None
    run_before = failed.run_id
    status = run_job(store, job, ScriptedEngine(plan_reply=PLAN))
    assert status.counts["done"] == 2 and status.status == "done"
    assert store.job_item(failed.id).run_id == run_before  # the same run was continued, not a new one
    assert len(store.list_runs()) == 2


def test_items_start_longest_first_after_those_already_begun(tmp_path, store):
    """So the job's tail, when fewer than K documents are left, is short documents, not a long one alone."""
    path = write_lines(tmp_path / "in.jsonl", [
        json.dumps({"instruction": "Write a note.", "length": 300}),
        json.dumps({"instruction": "Write a report.", "length": 1200}),
        json.dumps({"instruction": "Write a 600-word story."}),  # the length read from the prompt counts too
        json.dumps({"instruction": "Write a letter.", "length": 150}),
    ])
    job, _ = create_job(store, path, out=tmp_path / "docs", engine_name="scripted", model="m", samples=2)
    assert [(it.line, it.sample) for it in todo(store, job)] == [
        (2, 0), (2, 1), (3, 0), (3, 1), (1, 0), (1, 1), (4, 0), (4, 1)]
    letter = store.job_items(job)[-1]
    store.update_item(letter.id, status="running", run_id="r-begun")  # a resumed job finishes it first
    assert [(it.line, it.sample) for it in todo(store, job)][:2] == [(4, 1), (2, 0)]


def test_cli_generate_status_and_bad_input(tmp_path, monkeypatch):
    engine = ScriptedEngine(plan_reply=PLAN)
    monkeypatch.setattr("writer.cli.dataset.resolve_engine", lambda *a, **k: engine)
    runner = CliRunner()
    path = write_lines(tmp_path / "in.jsonl", [json.dumps({"instruction": "Write about bees.", "length": 240}),
                                                "oops"])
    result = runner.invoke(app, ["dataset", "generate", str(path), "--out", str(tmp_path / "docs"), "-n", "2"])
    assert result.exit_code == 0, result.output
    assert "skipped line 2" in result.output and "2/2 done" in result.output
    result = runner.invoke(app, ["dataset", "status", "in", "--json"])
    info = json.loads(result.output)
    assert info["counts"]["done"] == 2 and info["skipped_lines"] == 1 and info["eta_s"] == 0
    result = runner.invoke(app, ["dataset", "status", "nope"])
    assert result.exit_code == 2 and "no job named 'nope'" in result.output
    result = runner.invoke(app, ["dataset", "generate", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not found" in result.output
    result = runner.invoke(app, ["dataset", "generate", str(path), "--out", str(tmp_path / "x"), "--judges", "nope"])
    assert result.exit_code == 2 and "unknown judge" in result.output


def test_bare_ray_flag_means_a_local_instance():
    assert optional_ray_address(["writer", "dataset", "resume", "j", "--ray"])[-1] == "local"
    assert optional_ray_address(["w", "--ray", "--workers", "2"])[:3] == ["w", "--ray", "local"]
    assert optional_ray_address(["w", "--ray", "auto"]) == ["w", "--ray", "auto"]


def test_status_eta_from_rate(tmp_path, store):
    job, _ = create_job(store, good_file(tmp_path, n=4), out=tmp_path / "d", engine_name="scripted", model="m")
    first = store.job_items(job)[0]
    store.update_item(first.id, status="done", words=250, output_tokens=400)
    store.update_job(job, seconds=100.0)
    s = job_status(store, job)
    assert s.eta_s == 300 and s.tokens_per_s == 4.0 and s.docs_per_hour == 36.0

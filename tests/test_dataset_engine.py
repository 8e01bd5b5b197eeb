"""Dataset jobs end to end on the real embedded engine (vLLM CPU + SmolLM2-135M). CI always runs these.

A 3-instruction x 2-sample job exported in every format and loaded back with `datasets`; a job
killed with SIGKILL mid-run and resumed; the same job shape on a local Ray instance with 2
workers. Documents are short (80-150 words): what is tested is the job machinery, at full
workflow, not the prose.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import datasets
import pytest
from typer.testing import CliRunner

from datasets_out.export import export_job
from writer.cli import app
from writer.dataset.jobs import create_job, run_job
from writer.store import Store

pytestmark = pytest.mark.engine
runner = CliRunner()

INSTRUCTIONS = [
    {"instruction": "Write a short story about a lighthouse keeper.", "length": 120, "category": "story"},
    {"instruction": "Write an article about urban gardening.", "length": 150, "category": "article"},
    {"instruction": "Write a letter to a friend about moving to a new city.", "length": 100, "category": "letter"},
]


def instructions_file(tmp_path, rows=INSTRUCTIONS, extra_lines=()):
    path = tmp_path / "instructions.jsonl"
    path.write_text("\n".join([json.dumps(r) for r in rows] + list(extra_lines)) + "\n")
    return path


def load(path):
    kind = "parquet" if path.suffix == ".parquet" else "json"
    return datasets.load_dataset(kind, data_files=str(path), split="train", cache_dir=str(path.parent / ".hf"))


def test_job_of_three_instructions_two_samples_exports_sft_dpo_lengthen(embedded_engine, tmp_path):
    store = Store()
    job, parsed = create_job(store, instructions_file(tmp_path), out=tmp_path / "docs", engine_name="vllm",
                             model="embedded", samples=2, concurrency=6)
    status = run_job(store, job, embedded_engine)
    assert status.counts["done"] == 6, status.errors
    items = store.job_items(job)
    assert len({it.run_id for it in items}) == 6
    assert all(0.5 <= it.words / it.required_words <= 1.5 and it.scores["length"] > 40 for it in items)
    assert len(list((tmp_path / "docs").glob("*.md"))) == 6

    for fmt in ("sft", "dpo", "lengthen"):
        for to in ("jsonl", "parquet"):
            report = export_job(store, job, fmt, to, tmp_path / f"{fmt}-{to}", min_margin=0)
            data = load(report.path)
            assert data.num_rows == report.records
            card = report.card_path.read_text()
            assert f"| records | {report.records} |" in card and "embedded" in card
            if fmt == "sft":
                assert data.num_rows == 6
                row = data[0]
                assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
                assert row["messages"][0]["content"] == INSTRUCTIONS[0]["instruction"]
                assert row["words"] > 0 and row["required_words"] == 120
            elif fmt == "dpo":  # margin 0: every instruction with two scored samples gives a pair
                assert data.num_rows == 3
                assert all(r["chosen_score"] >= r["rejected_score"] for r in data)
                assert set(data.column_names) >= {"prompt", "chosen", "rejected"}
            else:
                roles = set(data["role"])
                assert "generator" in roles and data.num_rows >= 6
    filtered = export_job(store, job, "sft", "jsonl", tmp_path / "strict", length_ratio=(0.95, 1.05))
    kept = [it for it in items if 0.95 <= it.words / it.required_words <= 1.05]
    assert filtered.records <= len(kept) and filtered.dropped["length_ratio"] == 6 - len(kept)


def test_killed_job_resumes_with_no_lost_and_no_duplicated_documents(embedded_engine, tmp_path):
    path = instructions_file(tmp_path, extra_lines=["{broken json"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "writer", "dataset", "generate", str(path), "--out", str(tmp_path / "docs"),
         "--job", "killed", "--concurrency", "1"], env=os.environ.copy(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = Store()
    deadline = time.time() + 900
    interrupted = None
    try:
        while time.time() < deadline and proc.poll() is None:
            items = store.job_items("killed") if store.list_jobs() else []
            done = [it for it in items if it.status == "done"]
            running = [it for it in items if it.status == "running" and it.run_id]
            if done and running:
                interrupted = running[0]
                break
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9, engine workers included
        proc.wait()
    assert interrupted is not None, proc.stderr.read().decode()[-2000:]
    assert [s["line"] for s in store.get_job("killed").skipped] == [4]  # the broken line, reported
    done_before = {it.id: it.run_id for it in store.job_items("killed", "done")}

    result = runner.invoke(app, ["dataset", "status", "killed", "--json"])
    info = json.loads(result.stdout)
    assert info["status"] == "stopped" and info["counts"]["done"] == len(done_before)

    result = runner.invoke(app, ["dataset", "resume", "killed"])
    assert result.exit_code == 0, result.output
    items = store.job_items("killed")
    assert [it.status for it in items] == ["done"] * 3
    assert {it.id: it.run_id for it in items if it.id in done_before} == done_before  # untouched
    assert store.job_item(interrupted.id).run_id == interrupted.run_id  # continued, not started again
    run_ids = [it.run_id for it in items]
    assert len(set(run_ids)) == 3 and len(store.list_runs()) == 3  # no duplicated document
    assert sorted(p.name for p in (tmp_path / "docs").glob("*.md")) == ["00001-1.md", "00002-1.md", "00003-1.md"]
    report = export_job(store, "killed", "sft", "jsonl", tmp_path / "sft")
    assert report.records + report.dropped["exact_duplicate"] + report.dropped["near_duplicate"] == 3


def test_job_on_a_local_ray_instance_with_two_workers(embedded_engine, tmp_path):
    path = instructions_file(tmp_path, rows=INSTRUCTIONS[:2])
    result = subprocess.run(
        [sys.executable, "-m", "writer", "dataset", "generate", str(path), "--out", str(tmp_path / "docs"),
         "--job", "on-ray", "--samples", "2", "--concurrency", "2", "--ray", "--workers", "2"],
        env=os.environ.copy(), capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 Ray workers" in result.stderr
    store = Store()
    items = store.job_items("on-ray")
    assert [it.status for it in items] == ["done"] * 4
    assert len({it.run_id for it in items}) == 4
    assert all(store.calls(it.run_id, "write") for it in items)  # the workers logged their calls
    report = export_job(store, "on-ray", "sft", "parquet", tmp_path / "sft")
    assert load(report.path).num_rows == report.records >= 1


def test_instruction_synthesis_on_the_real_model(embedded_engine, tmp_path):
    from writer.text.lengths import parse_target_words

    topics = tmp_path / "topics.txt"
    topics.write_text("public libraries\nurban beekeeping\n")
    out = tmp_path / "instructions.jsonl"
    result = runner.invoke(app, ["dataset", "instructions", "--topics", str(topics), "--n", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 6
    assert all(parse_target_words(r["instruction"]).words == r["length"] for r in records)
    assert {r["topic"] for r in records} == {"public libraries", "urban beekeeping"}
    assert len({r["instruction"] for r in records}) == 6
    assert "from the model" in result.output

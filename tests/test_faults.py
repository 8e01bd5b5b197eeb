"""Faults at run time: each ends in one `error:` line with the run marked failed or interrupted and resumable;
the liveness record shows a run whose process died as interrupted and keeps two processes off one run;
nothing to do returns at once, without an engine. Scripted engines only (bench/faults.py kills real ones)."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scripted_engine import ScriptedEngine

import writer
from writer import stop_signals
from writer.cli import main
from writer.engines import ENGINES, close_engines
from writer.engines.base import ChatRequest, Message
from writer.errors import EngineError, RunBusyError
from writer.pipeline import liveness
from writer.store import Store
from writer.store.models import utcnow

PLAN = {"sections": [{"title": "Roots", "main_point": "Where tea grows", "words": 300},
                     {"title": "Leaves", "main_point": "How leaves are picked", "words": 300},
                     {"title": "Cups", "main_point": "How tea is drunk", "words": 300}]}
INSTRUCTION = "Write a 900-word essay about tea."
FAULT: dict = {}  # what FaultyEngine does: {"at": call number, "raise": exception}


class FaultyEngine(ScriptedEngine):
    """The scripted engine, built by name like a real one (`--engine faulty`), raising FAULT["raise"] at call
    FAULT["at"]: an engine that crashes, runs out of memory or is interrupted mid-run."""

    name = "faulty"
    calls = 0

    def __init__(self, model: str | None = None):
        super().__init__(plan_reply=PLAN)

    def generate(self, requests: list[ChatRequest]):
        FaultyEngine.calls += 1
        if FAULT and FaultyEngine.calls == FAULT["at"]:
            if "signal" in FAULT:  # the signal that killed the engine process reached this process too
                stop_signals._received = FAULT["signal"]
            raise FAULT["raise"]
        return super().generate(requests)


@pytest.fixture
def faulty(monkeypatch):
    monkeypatch.setitem(ENGINES.builtins, "faulty", "test_faults:FaultyEngine")
    FAULT.clear()
    FaultyEngine.calls = 0
    yield FAULT
    FAULT.clear()


def cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """`writer ARGS` through the console entry point; (exit code, stdout, stderr)."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["writer", *args])
    # main() closes the engines it leaves open; only the faulty ones here, not the suite's real engine
    monkeypatch.setattr("writer.cli.close_engines", lambda: close_engines({"faulty"}))
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def write_calls(store: Store, run_id: str) -> list[int]:
    return [c.section_index for c in store.calls(run_id) if c.stage == "write"]


# runtime failures: one line, exit 1, the run failed and resumable

@pytest.mark.parametrize("fault, message", [
    (EngineError("the vLLM engine failed: EngineDeadError: engine core died"), "error: the vLLM engine failed"),
    (MemoryError(), "error: MemoryError"),
    (RuntimeError("CUDA error: an illegal memory access"), "error: RuntimeError: CUDA error"),
])
def test_an_engine_that_fails_mid_run_is_one_line_and_the_run_resumes(faulty, monkeypatch, capsys, fault, message):
    faulty.update({"at": 4, "raise": fault})  # plan, write 1, summarise 1, then write 2 fails
    code, out, err = cli(monkeypatch, capsys, "compose", INSTRUCTION, "--engine", "faulty", "--json")
    assert code == 1 and one_error(err).startswith(message)
    store = Store()
    run = store.list_runs()[0]
    assert run.status == "failed" and run.pid is None and type(fault).__name__ in run.error
    assert [s.index for s in store.sections(run.id)] == [0]
    faulty.clear()
    code, out, err = cli(monkeypatch, capsys, "compose", "--resume", run.id, "--engine", "faulty", "--json")
    assert code == 0, err
    assert json.loads(out)["sections"] == 3 and store.get_run(run.id).status == "done"
    assert write_calls(store, run.id).count(0) == 1  # the section written before the crash is not written again


def test_an_unexpected_error_logs_its_traceback_and_prints_one_line(faulty, monkeypatch, capsys, isolated):
    faulty.update({"at": 2, "raise": KeyError("sections")})
    code, out, err = cli(monkeypatch, capsys, "compose", INSTRUCTION, "--engine", "faulty")
    line = one_error(err)
    log = isolated / "data" / "engine.log"
    assert code == 1 and line.startswith("error: KeyError: 'sections'") and str(log) in line
    assert "Traceback" in log.read_text() and "KeyError: 'sections'" in log.read_text()


def test_ctrl_c_marks_the_run_interrupted_and_it_resumes(faulty, monkeypatch, capsys):
    faulty.update({"at": 3, "raise": KeyboardInterrupt()})
    code, out, err = cli(monkeypatch, capsys, "compose", INSTRUCTION, "--engine", "faulty")
    assert code == 130 and "error:" not in err
    store = Store()
    run = store.list_runs()[0]
    assert run.status == "interrupted" and run.pid is None
    faulty.clear()
    assert cli(monkeypatch, capsys, "compose", "--resume", run.id, "--engine", "faulty")[0] == 0
    assert store.get_run(run.id).status == "done"


class DiesOfCtrlC(ScriptedEngine):
    """An engine whose process dies of the Ctrl-C the terminal sent to the whole process group: this process has
    recorded the signal, and the call fails with an engine error, as vLLM's does."""

    def __init__(self, at: int, **kwargs):
        super().__init__(**kwargs)
        self.at, self.n = at, 0

    def generate(self, requests):
        self.n += 1
        if self.n == self.at:
            stop_signals._received = signal.SIGINT
            raise EngineError("the vLLM engine failed: EngineCore encountered an issue")
        return super().generate(requests)


def test_an_engine_that_dies_of_ctrl_c_ends_the_compose_as_interrupted_not_failed(faulty, monkeypatch, capsys):
    monkeypatch.setattr(stop_signals, "_received", None)
    faulty.update({"at": 3, "raise": EngineError("the vLLM engine failed: EngineCore encountered an issue"),
                   "signal": signal.SIGINT})
    code, out, err = cli(monkeypatch, capsys, "compose", INSTRUCTION, "--engine", "faulty")
    assert code == 130 and "aborted" in err and "error:" not in err, err
    run = Store().list_runs()[0]
    assert run.status == "interrupted" and run.pid is None


def test_a_job_whose_engine_dies_of_ctrl_c_leaves_its_documents_to_resume_not_failed(monkeypatch, tmp_path):
    from writer.dataset.jobs import create_job, run_job

    monkeypatch.setattr(stop_signals, "_received", None)
    store = Store()
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"instruction": "Write a 200-word note about rain.", "length": 200}) + "\n")
    create_job(store, src, out=tmp_path / "docs", engine_name="vllm", model="smollm2-135m", name="rain")
    with pytest.raises(EngineError):
        run_job(store, "rain", DiesOfCtrlC(at=1))  # a 200-word note is one call
    assert [item.status for item in store.job_items("rain")] == ["running"]
    assert store.get_job("rain").status == "stopped"


def test_stop_signals_are_recorded_and_an_inherited_ignore_is_replaced(tmp_path):
    child = ("import os, signal\n"
             "from writer import stop_signals\n"
             "stop_signals.install()\n"
             "try:\n"
             "    os.kill(os.getpid(), signal.SIGINT)\n"
             "except KeyboardInterrupt:\n"
             "    print(stop_signals.exit_code())\n")
    ignored = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # a background job
    assert ignored.returncode == 0 and ignored.stdout.strip() == "130", ignored.stderr


def test_a_full_disk_while_writing_the_output_keeps_the_old_file_and_the_run_resumes(faulty, monkeypatch, capsys,
                                                                                      tmp_path):
    out = tmp_path / "tea.md"
    out.write_text("the previous version\n")
    real = Path.write_text

    def full_disk(self, data, *args, **kwargs):
        if self.name.endswith(".partial"):
            real(self, data[: len(data) // 2], *args, **kwargs)  # half of it, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    code, _, err = cli(monkeypatch, capsys, "compose", INSTRUCTION, "--engine", "faulty", "-o", str(out))
    assert code == 1 and one_error(err) == f"error: cannot write {out}: No space left on device"
    assert out.read_text() == "the previous version\n" and not list(tmp_path.glob(".*.partial"))
    store = Store()
    run = store.list_runs()[0]
    assert run.status == "failed" and len(store.sections(run.id)) == 3
    monkeypatch.setattr(Path, "write_text", real)
    before = len(store.calls(run.id))
    code, _, err = cli(monkeypatch, capsys, "compose", "--resume", run.id, "--engine", "faulty")
    assert code == 0, err
    assert out.read_text() == store.load_result(run.id).text and len(store.calls(run.id)) == before  # no new call


# a served engine that drops a reply midway, then comes back

class DroppingServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server (HTTP/1.1, chunked SSE) answering like the scripted engine, that drops the
    connection halfway through streamed reply number `drop_at` (a server killed mid-stream)."""

    protocol_version = "HTTP/1.1"
    engine = ScriptedEngine(plan_reply=PLAN)
    streamed = 0
    drop_at: int | None = None

    def log_message(self, *args):
        pass

    def _send(self, data: bytes, kind: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(json.dumps({"object": "list", "data": [{"id": "fake", "object": "model", "created": 0,
                                                           "owned_by": "t", "max_model_len": 8192}]}).encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/tokenize"):  # vLLM's token counter
            self._send(json.dumps({"count": self.engine.count_tokens(body["prompt"])}).encode())
            return
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        request = ChatRequest(messages=[Message(**m) for m in body["messages"]], max_tokens=body["max_tokens"],
                              min_tokens=body.get("min_tokens", 0), json_schema=schema,
                              continue_final=bool(body.get("continue_final_message")))
        text = self.engine.generate([request])[0].text
        words = text.split(" ")
        if not body.get("stream"):
            self._send(json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "fake",
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": text}}],
                                   "usage": {"prompt_tokens": 10, "completion_tokens": len(words),
                                             "total_tokens": 10 + len(words)}}).encode())
            return
        DroppingServer.streamed += 1
        dropping = self.drop_at is not None and self.streamed >= self.drop_at
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n, word in enumerate(words):
            if dropping and n == len(words) // 2:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # killed: no closing chunk
                self.close_connection = True
                return
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                     "choices": [{"index": 0, "delta": {"content": word + (" " if n + 1 < len(words) else "")},
                                  "finish_reason": "stop" if n + 1 == len(words) else None}]}
            data = f"data: {json.dumps(chunk)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        done = b"data: [DONE]\n\n"
        self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")


@pytest.fixture
def served():
    DroppingServer.engine, DroppingServer.streamed, DroppingServer.drop_at = ScriptedEngine(plan_reply=PLAN), 0, None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), DroppingServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_a_reply_dropped_midway_is_an_engine_error(served):
    from writer.engines.openai_engine import OpenAIEngine

    DroppingServer.drop_at = 1
    engine = OpenAIEngine(base_url=served, max_retries=0)
    with pytest.raises(EngineError, match="dropped the connection"):
        engine.generate([ChatRequest(messages=[Message(role="user", content="Write about owls.")], max_tokens=200,
                                     stop_on_loop=True)])


def test_a_served_engine_that_drops_mid_stream_fails_the_run_which_resumes_after_a_restart(served, monkeypatch,
                                                                                            capsys):
    DroppingServer.drop_at = 3  # the plan's reply and the first section's come through
    code, _, err = cli(monkeypatch, capsys, "compose", INSTRUCTION, "--engine", "openai", "--base-url", served,
                       "--mode", "sequential")
    assert code == 1 and "dropped the connection" in one_error(err)
    store = Store()
    run = store.list_runs()[0]
    assert run.status == "failed" and store.sections(run.id)
    kept = {s.index for s in store.sections(run.id)}
    DroppingServer.drop_at = None  # the server is back
    code, out, err = cli(monkeypatch, capsys, "compose", "--resume", run.id, "--json")
    assert code == 0, err
    assert json.loads(out)["sections"] == 3
    assert all(write_calls(store, run.id).count(i) == 1 for i in kept)


# liveness: who writes a run

def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_died_shows_as_interrupted(monkeypatch, capsys):
    store = Store()
    run = writer.compose(INSTRUCTION, engine=ScriptedEngine(plan_reply=PLAN))
    store.update_run(run.run_id, status="writing", pid=dead_pid(), host=socket.gethostname(), heartbeat_at=utcnow())
    code, out, _ = cli(monkeypatch, capsys, "runs", "list", "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["status"] == "interrupted"
    code, out, _ = cli(monkeypatch, capsys, "runs", "show", run.run_id, "--json")
    assert json.loads(out)["status"] == "interrupted"
    code, out, _ = cli(monkeypatch, capsys, "runs")
    assert "interrupted" in out
    assert store.get_run(run.run_id).status == "writing"  # shown, not stored


def test_a_run_another_live_process_writes_is_not_resumed(monkeypatch, capsys):
    store = Store()
    run_id = store.create_run(INSTRUCTION, 900, "instruction", "scripted", "scripted-model", {"mode": "sequential"})
    writer_proc = subprocess.Popen(["sleep", "60"])
    try:
        store.update_run(run_id, status="writing", pid=writer_proc.pid, host=socket.gethostname(),
                         heartbeat_at=utcnow())
        code, out, _ = cli(monkeypatch, capsys, "runs", "list", "--json")
        assert json.loads(out.splitlines()[0])["status"] == "writing"
        code, out, err = cli(monkeypatch, capsys, "compose", "--resume", run_id)
        assert code == 2 and f"is being written by process {writer_proc.pid}" in one_error(err)
        assert store.get_run(run_id).pid == writer_proc.pid and not store.sections(run_id)
        with pytest.raises(RunBusyError):
            writer.compose(resume=run_id, engine=ScriptedEngine(plan_reply=PLAN))
    finally:
        writer_proc.kill()
        writer_proc.wait()
    result = writer.compose(resume=run_id, engine=ScriptedEngine(plan_reply=PLAN))  # its writer is gone now
    assert len(result.sections) == 3 and store.get_run(run_id).pid is None


def test_a_reused_pid_is_not_the_holder_and_another_host_is_judged_by_its_heartbeat():
    store = Store()
    run_id = store.create_run(INSTRUCTION, 900, "instruction", "scripted", "scripted-model")
    later = subprocess.Popen(["sleep", "30"])  # started after the holder's last heartbeat: it only got its pid
    try:
        store.update_run(run_id, status="writing", pid=later.pid, host=socket.gethostname(),
                         heartbeat_at=utcnow() - timedelta(minutes=1))
        assert liveness.shown_status(store.get_run(run_id)) == "interrupted"
    finally:
        later.kill()
        later.wait()
    store.update_run(run_id, pid=4242, host="elsewhere", heartbeat_at=utcnow())
    assert liveness.shown_status(store.get_run(run_id)) == "writing"
    store.update_run(run_id, heartbeat_at=utcnow() - timedelta(seconds=liveness.STALE + 1))
    assert liveness.shown_status(store.get_run(run_id)) == "interrupted"
    for status in ("done", "failed", "interrupted"):
        store.update_run(run_id, status=status)
        assert liveness.shown_status(store.get_run(run_id)) == status


def test_a_hold_beats_until_released_and_nested_holds_share_it(monkeypatch):
    monkeypatch.setattr(liveness, "BEAT", 0.05)
    store = Store()
    run_id = store.create_run(INSTRUCTION, 900, "instruction", "scripted", "scripted-model")
    outer = liveness.hold(store, run_id)
    first = store.get_run(run_id).heartbeat_at
    inner = liveness.hold(store, run_id)
    assert inner is outer
    time.sleep(0.3)
    run = store.get_run(run_id)
    assert run.pid == os.getpid() and run.host == socket.gethostname() and run.heartbeat_at > first
    inner.done()
    assert store.get_run(run_id).pid == os.getpid()  # the outer hold still has it
    outer.done()
    run = store.get_run(run_id)
    assert run.pid is None and run.heartbeat_at is None and not outer.thread.is_alive()


def test_taking_a_run_over_is_a_compare_and_set():
    store = Store()
    run_id = store.create_run(INSTRUCTION, 900, "instruction", "scripted", "scripted-model")
    seen = (None, None, None)
    assert store.claim_run(run_id, seen, 111, "a")
    assert not store.claim_run(run_id, seen, 222, "b")  # the second claimer saw the same free row: it lost
    assert store.get_run(run_id).pid == 111


def test_migration_12_adds_the_liveness_columns_to_an_older_store():
    from sqlalchemy import inspect, text

    old = Store()
    with old.engine.begin() as conn:
        for column in ("pid", "host", "heartbeat_at"):
            conn.execute(text(f"ALTER TABLE runs DROP COLUMN {column}"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 12"))
    store = Store()
    assert {"pid", "host", "heartbeat_at"} <= {c["name"] for c in inspect(store.engine).get_columns("runs")}
    run = writer.compose(INSTRUCTION, engine=ScriptedEngine(plan_reply=PLAN), store=store)
    assert store.get_run(run.run_id).status == "done"


# nothing to do: at once, no engine

def no_engine(*args, **kwargs):
    raise AssertionError("an engine was started")


def test_resuming_a_finished_run_starts_no_engine(monkeypatch, capsys, tmp_path):
    run = writer.compose(INSTRUCTION, engine=ScriptedEngine(plan_reply=PLAN))
    monkeypatch.setattr("writer.api.resolve_engine", no_engine)
    monkeypatch.setattr("writer.engines.get_engine", no_engine)
    started = time.perf_counter()
    code, out, err = cli(monkeypatch, capsys, "compose", "--resume", run.run_id, "-o", str(tmp_path / "again.md"))
    assert code == 0, err
    assert time.perf_counter() - started < 2
    assert (tmp_path / "again.md").read_text() == run.text


def test_resuming_a_finished_job_starts_no_engine(monkeypatch, capsys, tmp_path):
    from writer.dataset.jobs import create_job, run_job

    store = Store()
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"instruction": "Write a 200-word note about rain.", "length": 200}) + "\n")
    create_job(store, src, out=tmp_path / "docs", engine_name="vllm", model="smollm2-135m", name="rain")
    run_job(store, "rain", ScriptedEngine())
    store.update_job("rain", status="stopped")  # killed after its last document
    monkeypatch.setattr("writer.cli.dataset.resolve_engine", no_engine)
    started = time.perf_counter()
    code, out, err = cli(monkeypatch, capsys, "dataset", "resume", "rain")
    assert code == 0, err
    assert time.perf_counter() - started < 2
    assert "1/1 done" in err and store.get_job("rain").status == "done"


# vLLM's shared memory: freed when the engine closes, so the resource tracker has nothing to report

SHM_CHILD = """
import os, sys, time
from multiprocessing import get_context, shared_memory

def engine_process(ready):  # creates a segment the way vLLM's engine process does, then dies without unlinking
    segment = shared_memory.SharedMemory(create=True, size=4096)  # noqa: F841 - kept mapped, as vLLM keeps it
    ready.send(1)
    time.sleep(60)

if __name__ == "__main__":
    from writer.engines.shm import Segments
    segments = Segments()
    ctx = get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=engine_process, args=(there,))
    proc.start()
    here.recv()
    segments.scan()
    proc.kill()
    proc.join()
    if sys.argv[1] == "free":
        print(len(segments.free()))
"""


@pytest.mark.parametrize("free", [True, False])
def test_engine_segments_left_in_shared_memory_are_freed_at_close(tmp_path, free):
    script = tmp_path / "shm_child.py"
    script.write_text(SHM_CHILD)
    proc = subprocess.run([sys.executable, str(script), "free" if free else "keep"], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr
    leaked = "leaked shared_memory objects" in proc.stderr
    assert leaked is not free, proc.stderr  # without free() it is the warning every compose ended with
    if free:
        assert proc.stdout.strip() == "1"


def test_ctrl_c_while_the_engines_shut_down_lets_them_finish(faulty, monkeypatch, capsys):
    def interrupted_close(names=None):  # the terminal's Ctrl-C arrives while the engine shuts down
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        close_engines({"faulty"})

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["writer", "compose", INSTRUCTION, "--engine", "faulty", "--json"])
    monkeypatch.setattr("writer.cli.close_engines", interrupted_close)
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 0 and "Traceback" not in err, err  # the document was written: the command's code
    assert Store().list_runs()[0].status == "done"

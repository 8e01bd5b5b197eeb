"""Fault injection: kill writer at random moments, resume, and count what was lost or done twice.

Anyone can repeat it (a seed fixes the moments and the documents). On the tiny registered model:

  kill -9   N random `kill -9` of the whole process group (writer and its vLLM engine processes) during
            `writer compose` in sequential and parallel mode (targets of 400-900 words) and during
            `writer dataset generate` jobs, at random moments from before the engine is up to the final
            write; after each kill the run or job is resumed (and may be killed again), until it finishes.
  signals   SIGTERM to writer, and Ctrl-C (SIGINT to the process group, as a terminal sends it), during a
            compose and during a job; then resume.
  crash     the engine process alone killed mid-run (`VLLM::EngineCore`): writer must end with one error line.
  served    `writer compose --engine openai` against `python -m vllm.entrypoints.openai.api_server` serving
            the same model's folder on 127.0.0.1; the server is killed mid-stream, restarted, and the run resumed.

After each fault and at the end it counts: sections or documents lost; sections or documents written twice
(engine calls writing a section that was already stored when the process was killed; a second run with text
for one job item); half-written files (an output that is not exactly the stored document; temporary files
left); orphaned engine processes (any process started by the fault's command still alive after the kill);
runs or jobs left in a live-looking state (status `created`/`writing`, or job `running`, although
their process is dead); and shared memory vLLM's processes left in /dev/shm (freed here afterwards).
Prints a table and writes bench/results/faults.json.

    .venv/bin/python bench/faults.py [--kills 20] [--seed 0] [--model smollm2-135m] [--kv-gib 1]
                                     [--no-signals] [--no-crash] [--no-served] [--out bench/results/faults.json]

About 30-60 minutes on a 2-core CPU at the default 20 kills (each attempt starts the engine again).
The engine processes get VLLM_CPU_KVCACHE_SPACE=--kv-gib (default 1 GiB, plenty for the tiny model), so
the benchmark fits beside other work; everything runs in a temporary data dir, removed unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py

from writer.pipeline.liveness import ACTIVE, shown_status  # noqa: E402
from writer.store import Store  # noqa: E402

TOPICS = ["lighthouses", "honeybees", "glaciers", "paper money", "city gardens", "night trains", "salt",
          "clocks", "coral reefs", "bicycles", "libraries", "volcanoes", "tea", "maps", "owls", "bridges"]
WRITES = ("write", "continue", "extend")  # call stages that write a section's text
SHM = Path("/dev/shm")


# processes

GROUPS: dict[str, int] = {}  # tag -> the session its command was started in (start_new_session: its pid)


def tagged(tag: str, var: str = "FAULTS_TAG") -> list[tuple[int, str]]:
    """Live (not zombie) processes a command started: those whose environment carries `var`=`tag`, and those in
    its session. vLLM's engine processes rename themselves (setproctitle), which overwrites the memory
    /proc/PID/environ reads, so their environment no longer shows the tag; their session does (kept when they are
    re-parented after a kill -9, and when a process changes its process group)."""
    needle = f"{var}={tag}".encode()
    group = GROUPS.get(tag)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] in ("Z", "X"):
                continue
            if int(fields[3]) != group and needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            found.append((int(entry.name), (entry / "comm").read_text().strip()))
        except OSError:
            continue
    return found


def mapped_shm(pids: list[int]) -> set[str]:
    names = set()
    for pid in pids:
        try:
            names |= {line.split("/dev/shm/", 1)[1].split()[0]
                      for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if "/dev/shm/psm_" in line}
        except OSError:
            pass
    return names


def wait_gone(tag: str, var: str = "FAULTS_TAG", seconds: float = 15) -> list[tuple[int, str]]:
    """Processes of `tag` still alive after `seconds` (orphans); they are killed then, so the next fault starts clean."""
    deadline = time.time() + seconds
    while time.time() < deadline and tagged(tag, var):
        time.sleep(0.25)
    left = tagged(tag, var)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def free_shm(names: set[str]) -> int:
    """Bytes of `names` still in /dev/shm (left by killed engine processes); removes them."""
    total = 0
    for name in names:
        path = SHM / name
        try:
            total += path.stat().st_size
            path.unlink()
        except OSError:
            pass
    return total


class Bench:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = Path(tempfile.mkdtemp(prefix="writer-faults-"))
        self.data = self.work / "data"
        self.data.mkdir(parents=True)
        self.store = Store(f"sqlite:///{self.data / 'writer.sqlite'}")
        self.estimate = {"compose": 150.0, "dataset": 300.0}  # seconds of an uninterrupted attempt, learnt as it goes
        self.kills: list[dict] = []
        self.faults: list[dict] = []  # signals, crash, served
        self.docs: list[dict] = []
        self.started = time.time()
        self.counter = 0

    def env(self, tag: str) -> dict:
        env = {**os.environ, "WRITER_DATA_DIR": str(self.data), "WRITER_QUIET": "1", "WRITER_MODEL": self.args.model,
               "VLLM_CPU_KVCACHE_SPACE": str(self.args.kv_gib), "FAULTS_TAG": tag}
        env.pop("WRITER_DB_URL", None)
        env.pop("WRITER_CONFIG", None)
        return env

    def spawn(self, args: list[str], tag: str) -> tuple[subprocess.Popen, Path]:
        self.counter += 1
        log = self.work / f"cmd-{self.counter:03d}.err"
        out = open(self.work / f"cmd-{self.counter:03d}.out", "w")
        proc = subprocess.Popen([sys.executable, "-m", "writer", *args], env=self.env(tag), cwd=ROOT,
                                start_new_session=True, stdout=out, stderr=open(log, "w"))
        GROUPS[tag] = proc.pid
        proc.out_path = Path(out.name)  # type: ignore[attr-defined]
        return proc, log

    def out_of_time(self) -> bool:
        return time.time() - self.started > self.args.max_minutes * 60

    # what the store says

    def run_of(self, instruction: str) -> str | None:
        runs = [r for r in self.store.list_runs(10_000) if r.instruction == instruction]
        return runs[-1].id if runs else None  # list_runs is newest first: the first one made

    def snapshot(self, run_ids: list[str]) -> list[tuple[str, set[int], int]]:
        """Per run, at a kill: the sections stored and the last call id, to tell afterwards what was written again."""
        return [(rid, {s.index for s in self.store.sections(rid)}, max((c.id for c in self.store.calls(rid)), default=0))
                for rid in run_ids]

    def phase(self, run_id: str | None) -> str:
        if run_id is None:
            return "before the run existed"
        run = self.store.get_run(run_id)
        plan = self.store.load_plan(run_id)
        if run.status == "done":
            return "done"
        if plan is None:
            return "engine starting or planning"
        done = len(self.store.sections(run_id))
        return f"{done}/{len(plan.sections)} sections" if done < len(plan.sections) else "document passes/final write"

    def rewritten(self, snaps: list[tuple[str, set[int], int]]) -> int:
        """Engine calls that wrote a section already stored at some kill before them (each call counted once)."""
        n = 0
        for rid in {rid for rid, _, _ in snaps}:
            mine = [(done, last) for r, done, last in snaps if r == rid]
            n += sum(1 for c in self.store.calls(rid) if c.stage in WRITES
                     and any(c.id > last and c.section_index in done for done, last in mine))
        return n

    def live_looking(self, run_ids: list[str], job: str | None = None) -> int:
        """Runs (and the job) a dead process left that still look live to `writer runs` / `dataset status`."""
        store = Store(self.store.url)  # a fresh look, as a new `writer runs` has
        n = sum(1 for rid in run_ids if shown_status(store.get_run(rid)) in ACTIVE)
        if job is not None:
            from writer.dataset.jobs import job_status

            try:
                n += job_status(store, job).status == "running"
            except Exception:  # noqa: BLE001 - no job yet
                pass
        return n

    # one fault

    def kill9(self, proc: subprocess.Popen, tag: str) -> dict:
        pids = [pid for pid, _ in tagged(tag)]
        shm = mapped_shm(pids)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        orphans = wait_gone(tag)
        return {"orphans": [name for _, name in orphans], "shm_left_bytes": free_shm(shm)}

    def wait(self, proc: subprocess.Popen, seconds: float) -> bool:
        """Whether `proc` ended within `seconds`."""
        try:
            proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def finish(self, proc: subprocess.Popen, tag: str, log: Path) -> dict:
        """Wait for an attempt left to run; its exit code, error lines, and processes it left."""
        ok = self.wait(proc, self.args.attempt_timeout)
        if not ok:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        errors = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("error:")]
        return {"rc": proc.returncode if ok else "timeout", "errors": errors,
                "orphans": [name for _, name in wait_gone(tag)]}

    # compose documents

    def compose_doc(self, mode: str, kills_left: int, per_doc: int) -> int:
        """Write one document, killing it up to `per_doc` times; returns the kills made."""
        topic = self.rng.choice(TOPICS)
        words = self.rng.randint(400, 900)
        instruction = f"Write an essay about {topic} (document {len(self.docs) + 1})."
        out = self.work / f"doc-{len(self.docs) + 1}.md"
        wanted, made, snaps = min(per_doc, kills_left), 0, []
        while True:
            run_id = self.run_of(instruction)
            args = (["compose", "--resume", run_id] if run_id else ["compose", instruction, "--words", str(words),
                                                                      "--mode", mode]) + ["-o", str(out), "--json"]
            tag = uuid.uuid4().hex
            started = time.time()
            proc, log = self.spawn(args, tag)
            if made < wanted and not self.out_of_time():
                delay = self.rng.uniform(0.5, self.estimate["compose"])
                if not self.wait(proc, delay):
                    run_id = self.run_of(instruction)
                    snaps += self.snapshot([run_id] if run_id else [])
                    where = self.phase(run_id)
                    result = self.kill9(proc, tag)
                    made += 1
                    run_id = self.run_of(instruction)  # one made just before the kill counts too
                    self.kills.append({"kind": f"compose {mode}", "doc": len(self.docs) + 1, "after_s": round(delay, 1),
                                       "phase": where, **result,
                                       "live_looking": self.live_looking([run_id] if run_id else [])})
                    continue
            end = self.finish(proc, tag, log)
            self.estimate["compose"] = 0.5 * self.estimate["compose"] + 0.5 * (time.time() - started)
            break
        run_id = self.run_of(instruction)
        self.docs.append({"kind": f"compose {mode}", "words": words, "run_id": run_id, "kills": made,
                          **end, **self.check_compose(run_id, out, snaps)})
        return made

    def check_compose(self, run_id: str | None, out: Path, snaps: dict) -> dict:
        if run_id is None:
            return {"lost": 1, "duplicated": 0, "half_written": 0, "temp_files": 0, "status": "no run"}
        run = self.store.get_run(run_id)
        plan = self.store.load_plan(run_id)
        sections = {s.index: s for s in self.store.sections(run_id)}
        planned = len(plan.sections) if plan else 0
        lost = sum(1 for i in range(planned) if i not in sections or not sections[i].text.strip())
        text = self.store.load_result(run_id).text
        written = out.read_text(encoding="utf-8") if out.exists() else None
        in_file = sum(1 for s in sections.values() if written and written.count(s.text[:120]) > 1)
        return {"status": shown_status(run), "sections": planned, "lost": lost,
                "duplicated": self.rewritten(snaps) + in_file, "half_written": int(written != text),
                "temp_files": len(list(out.parent.glob(f".{out.name}.partial")))}

    # dataset jobs

    def dataset_job(self, kills_left: int, per_job: int) -> int:
        n = len([d for d in self.docs if d["kind"] == "dataset"]) + 1
        job = f"faults-{n}"
        src = self.work / f"{job}.jsonl"
        lines = []
        for k in range(3):
            topic = self.rng.choice(TOPICS)
            lines.append({"instruction": f"Write a short article about {topic} (job {n}, item {k + 1}).",
                          "length": self.rng.randint(300, 500)})
        src.write_text("".join(json.dumps(line) + "\n" for line in lines))
        folder = self.work / f"{job}-docs"
        wanted, made, snaps = min(per_job, kills_left), 0, []
        while True:
            exists = any(j.id == job for j in self.store.list_jobs())
            args = ["dataset", "resume", job] if exists else ["dataset", "generate", str(src), "-o", str(folder),
                                                             "--job", job, "-k", "2"]
            tag = uuid.uuid4().hex
            started = time.time()
            proc, log = self.spawn(args, tag)
            if made < wanted and not self.out_of_time():
                delay = self.rng.uniform(0.5, self.estimate["dataset"])
                if not self.wait(proc, delay):
                    snaps += self.snapshot(self.job_runs(job, lines))
                    result = self.kill9(proc, tag)
                    made += 1
                    runs = self.job_runs(job, lines)
                    done = sum(1 for it in self.items(job) if it.status == "done")
                    self.kills.append({"kind": "dataset", "doc": job, "after_s": round(delay, 1),
                                       "phase": f"{done}/3 documents, {len(runs)} runs begun", **result,
                                       "live_looking": self.live_looking(runs, job)})
                    continue
            end = self.finish(proc, tag, log)
            self.estimate["dataset"] = 0.5 * self.estimate["dataset"] + 0.5 * (time.time() - started)
            break
        self.docs.append({"kind": "dataset", "job": job, "kills": made, **end,
                          **self.check_job(job, lines, folder, snaps)})
        return made

    def items(self, job: str) -> list:
        try:
            return list(self.store.job_items(job))
        except Exception:  # noqa: BLE001 - the job does not exist yet
            return []

    def job_runs(self, job: str, lines: list[dict]) -> list[str]:
        wanted = {line["instruction"] for line in lines}
        return [r.id for r in self.store.list_runs(10_000) if r.instruction in wanted]

    def check_job(self, job: str, lines: list[dict], folder: Path, snaps: dict) -> dict:
        items = self.items(job)
        lost = len(lines) - sum(1 for it in items if it.status == "done")
        half = temp = dup = 0
        files = sorted(folder.glob("*.md")) if folder.exists() else []
        for it in items:
            path = folder / f"{it.line:05d}-{it.sample + 1}.md"
            if not path.exists() or it.run_id is None:
                lost += it.status == "done"
                continue
            half += path.read_text(encoding="utf-8") != self.store.load_result(it.run_id).text
            runs = [r for r in self.store.list_runs(10_000) if r.instruction == it.instruction]
            dup += sum(1 for r in runs if r.id != it.run_id and self.store.sections(r.id))  # a second document
        temp = len(list(folder.glob(".*.partial"))) if folder.exists() else 0
        dup += max(0, len(files) - len(items)) + self.rewritten(snaps)
        return {"status": self.job_state(job), "documents": len(items), "lost": lost, "duplicated": dup,
                "half_written": half, "temp_files": temp}

    def job_state(self, job: str) -> str:
        from writer.dataset.jobs import job_status

        try:
            return job_status(Store(self.store.url), job).status
        except Exception:  # noqa: BLE001
            return "no job"

    # signals, an engine crash, a served engine

    def wait_for_section(self, instruction: str | None, proc: subprocess.Popen, job: str | None = None) -> bool:
        """Until the command has a section stored (a compose) or a run with one (a job); False if it ended first."""
        deadline = time.time() + self.args.attempt_timeout
        while time.time() < deadline and proc.poll() is None:
            runs = self.job_runs(job, self.job_lines[job]) if job else [self.run_of(instruction)]
            if any(rid and self.store.sections(rid) for rid in runs):
                return True
            time.sleep(1)
        return False

    def signal_fault(self, sig: signal.Signals, what: str) -> None:
        tag = uuid.uuid4().hex
        n = len(self.faults) + 1
        job = None
        if what == "compose":
            instruction = f"Write an essay about {self.rng.choice(TOPICS)} (signal {n})."
            out = self.work / f"signal-{n}.md"
            args = ["compose", instruction, "--words", "1200", "--mode", "sequential", "-o", str(out), "--json"]
        else:
            instruction, job = None, f"signal-{n}"
            lines = [{"instruction": f"Write a short article about {t} (signal job {n}).", "length": 300}
                     for t in self.rng.sample(TOPICS, 3)]
            self.job_lines[job] = lines
            src = self.work / f"{job}.jsonl"
            src.write_text("".join(json.dumps(line) + "\n" for line in lines))
            folder = self.work / f"{job}-docs"
            args = ["dataset", "generate", str(src), "-o", str(folder), "--job", job, "-k", "2"]
        proc, log = self.spawn(args, tag)
        record = {"fault": f"{sig.name} during {what}"}
        if not self.wait_for_section(instruction, proc, job):
            record["note"] = "ended before a section was written"
        else:
            runs = self.job_runs(job, self.job_lines[job]) if job else [self.run_of(instruction)]
            snap = self.snapshot(runs)
            pids = [pid for pid, _ in tagged(tag)]
            shm = mapped_shm(pids)
            record["phase"] = self.phase(runs[0]) if len(runs) == 1 else f"{len(runs)} documents started"
            sent = time.time()
            if sig == signal.SIGINT:
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
            else:
                os.kill(proc.pid, sig)
            stopped = self.wait(proc, 60)
            record["exit_s"] = round(time.time() - sent, 1) if stopped else None
            if not stopped:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            record.update(rc=proc.returncode, orphans=[name for _, name in wait_gone(tag)],
                          shm_left_bytes=free_shm(shm), live_looking=self.live_looking(runs, job),
                          errors=[line for line in log.read_text(errors="replace").splitlines()
                                  if line.startswith("error:")])
            self.resume_and_check(record, runs, snap, job, instruction, out if what == "compose" else None)
        self.faults.append(record)

    def resume_and_check(self, record: dict, runs: list[str], snap: dict, job: str | None, instruction: str | None,
                         out: Path | None) -> None:
        tag = uuid.uuid4().hex
        if job:
            proc, log = self.spawn(["dataset", "resume", job], tag)
        else:
            proc, log = self.spawn(["compose", "--resume", runs[0], "-o", str(out), "--json"], tag)
        end = self.finish(proc, tag, log)
        record["resume_rc"] = end["rc"]
        record["orphans"] = record.get("orphans", []) + end["orphans"]
        if job:
            record.update(self.check_job(job, self.job_lines[job], self.work / f"{job}-docs", snap))
        else:
            record.update(self.check_compose(runs[0], out, snap))

    def crash_fault(self) -> None:
        """Kill the engine process alone mid-run: writer must end with one error line and a resumable run."""
        tag = uuid.uuid4().hex
        instruction = f"Write an essay about {self.rng.choice(TOPICS)} (engine crash)."
        out = self.work / "crash.md"
        proc, log = self.spawn(["compose", instruction, "--words", "1200", "--mode", "sequential", "-o", str(out)],
                               tag)
        record = {"fault": "engine process killed (kill -9 VLLM::EngineCore)"}
        if self.wait_for_section(instruction, proc):
            run_id = self.run_of(instruction)
            snap = self.snapshot([run_id])
            pids = [pid for pid, _ in tagged(tag)]
            shm = mapped_shm(pids)
            core = [(pid, name) for pid, name in tagged(tag) if name.startswith("VLLM::EngineCor")]
            record["phase"] = self.phase(run_id)
            record["killed"] = [f"{name} ({pid})" for pid, name in core]
            if not core:
                record["note"] = "no engine process found to kill"
            sent = time.time()
            for pid, _ in core:
                os.kill(pid, signal.SIGKILL)
            stopped = self.wait(proc, 180)
            record["exit_s"] = round(time.time() - sent, 1) if stopped else None
            if not stopped:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            record.update(rc=proc.returncode, orphans=[name for _, name in wait_gone(tag)],
                          shm_left_bytes=free_shm(shm), live_looking=self.live_looking([run_id]),
                          errors=[line for line in log.read_text(errors="replace").splitlines()
                                  if line.startswith("error:")], run_status=shown_status(self.store.get_run(run_id)))
            self.resume_and_check(record, [run_id], snap, None, instruction, out)
        else:
            record["note"] = "ended before a section was written"
        self.faults.append(record)

    def served_fault(self) -> None:
        from writer.engines.models import model_dir
        from writer.engines.vllm_engine import cpu_bind_list

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}/v1"
        server_tag = uuid.uuid4().hex
        record = {"fault": "served engine (openai) killed mid-stream, restarted"}

        def serve() -> subprocess.Popen:
            env = {**self.env("none"), "FAULTS_SERVER": server_tag, "VLLM_CPU_OMP_THREADS_BIND": cpu_bind_list()}
            proc = subprocess.Popen(
                [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
                 str(model_dir(self.args.model)), "--served-model-name", "served", "--enforce-eager",
                 "--max-model-len", "8192", "--host", "127.0.0.1", "--port", str(port)],
                env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=open(self.work / "server.err", "a"))
            GROUPS[server_tag] = proc.pid
            deadline = time.time() + self.args.attempt_timeout
            while time.time() < deadline and proc.poll() is None:
                try:
                    urllib.request.urlopen(f"{url}/models", timeout=2)
                    return proc
                except OSError:
                    time.sleep(2)
            raise RuntimeError(f"the vLLM server did not start (see {self.work / 'server.err'})")

        server = serve()
        tag = uuid.uuid4().hex
        instruction = f"Write an essay about {self.rng.choice(TOPICS)} (served)."
        out = self.work / "served.md"
        proc, log = self.spawn(["compose", instruction, "--words", "1200", "--engine", "openai", "--base-url", url,
                                "--model", "served", "--mode", "sequential", "-o", str(out)], tag)
        try:
            if self.wait_for_section(instruction, proc):
                run_id = self.run_of(instruction)
                snap = self.snapshot([run_id])
                os.killpg(server.pid, signal.SIGKILL)  # the server and its engine processes, mid-stream
                server.wait()
                record["server_orphans"] = [name for _, name in wait_gone(server_tag, "FAULTS_SERVER")]
                sent = time.time()
                stopped = self.wait(proc, 180)
                record["exit_s"] = round(time.time() - sent, 1) if stopped else None
                if not stopped:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                record.update(rc=proc.returncode, orphans=[name for _, name in wait_gone(tag)],
                              errors=[line for line in log.read_text(errors="replace").splitlines()
                                      if line.startswith("error:")],
                              run_status=shown_status(self.store.get_run(run_id)),
                              live_looking=self.live_looking([run_id]))
                server = serve()  # restarted on the same port: the run's stored base URL
                self.resume_and_check(record, [run_id], snap, None, instruction, out)
            else:
                record["note"] = "ended before a section was written"
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            wait_gone(server_tag, "FAULTS_SERVER")
        self.faults.append(record)

    # the whole benchmark

    def run(self) -> dict:
        self.job_lines: dict[str, list[dict]] = {}
        k = self.args.kills
        plan = {"compose sequential": k - 2 * (k // 3), "compose parallel": k // 3, "dataset": k // 3}
        per = self.args.kills_per_document
        for kind, budget in plan.items():
            left = budget
            while left > 0 and not self.out_of_time():
                if kind == "dataset":
                    made = self.dataset_job(left, per)
                else:
                    made = self.compose_doc(kind.split()[1], left, per)
                left -= made
                print(f"[{time.time() - self.started:6.0f} s] {kind}: {budget - left}/{budget} kills", flush=True)
        if self.args.signals:
            for what in ("compose", "dataset"):
                for sig in (signal.SIGTERM, signal.SIGINT):
                    if not self.out_of_time():
                        self.guarded(f"{sig.name} during {what}", self.signal_fault, sig, what)
        if self.args.crash and not self.out_of_time():
            self.guarded("engine crash", self.crash_fault)
        if self.args.served and not self.out_of_time():
            self.guarded("served engine", self.served_fault)
        return self.report()

    def guarded(self, name: str, fault, *args) -> None:
        """Run one fault; one the benchmark itself could not carry out (a server that never started) is a row
        that did not finish, with its error, and the run goes on to the next."""
        try:
            fault(*args)
        except Exception as exc:  # noqa: BLE001 - reported in the table, not raised
            self.faults.append({"fault": name, "error": f"{type(exc).__name__}: {exc}"})
        print(f"[{time.time() - self.started:6.0f} s] {name}", flush=True)

    def report(self) -> dict:
        rows = []
        for kind in ("compose sequential", "compose parallel", "dataset"):
            kills = [k for k in self.kills if k["kind"] == kind]
            docs = [d for d in self.docs if d["kind"] == kind]
            if not kills and not docs:
                continue
            rows.append({"fault": f"kill -9 during {kind}", "n": len(kills), "units": len(docs),
                         "lost": sum(d["lost"] for d in docs), "twice": sum(d["duplicated"] for d in docs),
                         "half": sum(d["half_written"] + d["temp_files"] for d in docs),
                         "orphans": sum(len(k["orphans"]) for k in kills) + sum(len(d["orphans"]) for d in docs),
                         "live": sum(k["live_looking"] for k in kills),
                         "shm_mb": round(sum(k["shm_left_bytes"] for k in kills) / 2**20),
                         "finished": sum(1 for d in docs if d["rc"] == 0 and d["status"] == "done")})
        for f in self.faults:
            rows.append({"fault": f["fault"], "n": 1, "units": 1, "lost": f.get("lost", 0),
                         "twice": f.get("duplicated", 0), "half": f.get("half_written", 0) + f.get("temp_files", 0),
                         "orphans": len(f.get("orphans", [])) + len(f.get("server_orphans", [])),
                         "live": f.get("live_looking", 0), "shm_mb": round(f.get("shm_left_bytes", 0) / 2**20),
                         "finished": int(f.get("resume_rc") == 0 and f.get("status") == "done"),
                         "exit": f"rc {f.get('rc')} in {f.get('exit_s')} s, {len(f.get('errors', []))} error line(s)"
                                 + (f", sent at {f['phase']}" if f.get("phase") else "")
                                 + (f"; {f['note']}" if f.get("note") else "")})
        total = {key: sum(r[key] for r in rows) for key in ("n", "units", "lost", "twice", "half", "orphans", "live",
                                                             "shm_mb", "finished")}
        return {"model": self.args.model, "seed": self.args.seed, "kills": len(self.kills),
                "minutes": round((time.time() - self.started) / 60, 1), "rows": rows, "total": total,
                "kill_records": self.kills, "documents": self.docs, "faults": self.faults}


def print_table(report: dict) -> None:
    head = ("fault", "n", "docs", "lost", "twice", "half-written", "orphans", "live-looking", "shm MB", "finished")
    keys = ("fault", "n", "units", "lost", "twice", "half", "orphans", "live", "shm_mb", "finished")
    rows = [[str(r[k]) for k in keys] for r in report["rows"]]
    rows.append(["total"] + [str(report["total"][k]) for k in keys[1:]])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    for r in report["rows"]:
        if "exit" in r:
            print(f"{r['fault']}: {r['exit']}")
    for f in report["faults"]:
        if "error" in f:
            print(f"{f['fault']}: not carried out: {f['error']}")
    print(f"{report['kills']} kills, {report['minutes']} min, model {report['model']}, seed {report['seed']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="kill -9s across compose (both modes) and dataset jobs")
    parser.add_argument("--kills-per-document", type=int, default=2, help="kills of one document or job before it "
                                                                           "is let finish")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--kv-gib", type=int, default=1, help="VLLM_CPU_KVCACHE_SPACE of the engine processes")
    parser.add_argument("--attempt-timeout", type=float, default=1200, help="seconds an attempt may take")
    parser.add_argument("--max-minutes", type=float, default=120, help="stop injecting new faults after this")
    parser.add_argument("--no-signals", dest="signals", action="store_false")
    parser.add_argument("--no-crash", dest="crash", action="store_false")
    parser.add_argument("--no-served", dest="served", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir and logs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    args = parser.parse_args()
    bench = Bench(args)
    print(f"work dir {bench.work}", flush=True)
    try:
        report = bench.run()
    finally:
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    report["work_dir"] = str(bench.work) if args.keep else None
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

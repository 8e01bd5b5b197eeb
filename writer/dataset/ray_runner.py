"""Scale-out on Ray: a job's documents on a Ray cluster, one engine per worker.

Each `DocumentWorker` actor owns one engine (vLLM in the actor: one GPU each on a GPU
cluster, one CPU on a CPU-only one) and composes up to `concurrency` documents at once on it
(a threaded actor), through the same `process_item` as a local job. Workers write straight to
the shared store, so status, resume and export work the same whichever way a job ran; across
machines that store must be a server database (a Postgres WRITER_DB_URL), as SQLite files are
local. The driver only hands out item ids and keeps every worker busy.
"""

from __future__ import annotations

import os
import socket

from writer.config import engine_settings
from writer.dataset.events import ItemDone, ItemFailed, JobStarted, OnJobEvent, WorkersReady, ignore
from writer.dataset.jobs import JobClock, JobStatus, claim, job_status, process_item, todo
from writer.engines import get_engine
from writer.engines.batching import shareable
from writer.errors import UsageError
from writer.store import Store

FORWARDED_ENV = ("WRITER_", "VLLM_", "HF_", "LITELLM_")  # settings the workers need, as the driver has them


class DocumentWorker:
    """One engine and a store connection; `process` writes one job item on them."""

    def __init__(self, store_url: str, engine_options: dict):
        self.store = Store(store_url)
        self.engine = shareable(get_engine(engine_settings(**engine_options)))

    def ready(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(), "engine": self.engine.name,
                "model": self.engine.model_id}

    def process(self, job_id: str, item_id: int) -> str:
        return process_item(self.store, self.store.get_job(job_id), self.store.job_item(item_id), self.engine)

    def close(self) -> None:
        self.engine.close()


def start_ray(address: str | None, workers: int):
    """Connect to the Ray cluster at `address` ("auto", "ray://host:10001"), or start a local one ("local")."""
    try:
        import ray
    except ImportError:
        raise UsageError("ray needs the ray package: pip install 'writer[ray]'", option="ray") from None
    env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
    if address in (None, "", "local"):
        ray.init(num_cpus=max(os.cpu_count() or 1, workers), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": env}, ignore_reinit_error=True)
    else:
        ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": env}, ignore_reinit_error=True)
    return ray


def run_job_ray(store: Store, job_id: str, *, address: str | None = "local", workers: int | None = None,
                concurrency: int | None = None, engine_options: dict | None = None,
                on_event: OnJobEvent | None = None) -> JobStatus:
    """Compose the job's remaining items on Ray workers; returns the job's status afterwards."""
    remote_cluster = address not in (None, "", "local")
    if remote_cluster and store.url.startswith("sqlite"):
        raise UsageError("a Ray cluster across machines needs a shared store: set WRITER_DB_URL to a Postgres URL")
    job = claim(store, job_id)
    k = concurrency or (job.options or {}).get("concurrency", 8)
    notify = on_event or ignore
    ray = start_ray(address, workers or 2)
    clock = JobClock(store, job)
    actors = []
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        n = workers or gpus or 2
        resources = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
        Worker = ray.remote(max_concurrency=k, **resources)(DocumentWorker)
        actors = [Worker.remote(store.url, engine_options or (job.options or {}).get("engine", {})) for _ in range(n)]
        info = ray.get([a.ready.remote() for a in actors])
        notify(WorkersReady(info))
        items = todo(store, job_id)
        notify(JobStarted(job_id, len(items), len(store.job_items(job_id))))
        queue = [it.id for it in items]
        load = {i: 0 for i in range(n)}
        running: dict = {}  # object ref -> (item id, worker)
        while queue or running:
            while queue and len(running) < n * k:  # keep every worker's engine full
                w = min(load, key=load.get)
                item_id = queue.pop(0)
                running[actors[w].process.remote(job_id, item_id)] = (item_id, w)
                load[w] += 1
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                item_id, w = running.pop(ref)
                load[w] -= 1
                try:
                    status = ray.get(ref)
                except Exception as exc:  # the worker died: the item is retried on resume
                    store.update_item(item_id, status="failed", error=f"ray worker: {type(exc).__name__}: {exc}"[:2000])
                    status = "failed"
                clock.tick()
                item = store.job_item(item_id)
                notify(ItemDone(item_id, item.words, item.output_tokens, (item.scores or {}).get("score"))
                       if status == "done" else ItemFailed(item_id, item.error))
    except BaseException:
        clock.tick()
        store.update_job(job_id, status="stopped", pid=None)
        raise
    finally:
        for a in actors:
            try:
                ray.get(a.close.remote(), timeout=60)
            except Exception:
                pass
        ray.shutdown()
    clock.tick()
    store.update_job(job_id, status="done" if not todo(store, job_id) else "stopped", pid=None)
    return job_status(store, job_id)

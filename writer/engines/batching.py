"""Gather requests from many threads into one engine batch, for engines that cannot take concurrent calls.

The built-in engines batch concurrent callers themselves (`Engine.concurrent`: the vLLM
engine steps one continuous batch, a server batches its requests). An engine without that,
such as a plugin wrapping a blocking library, would see concurrent workers (the sections of
a document in parallel mode, the documents of a batch job) as a queue of small calls; this
wrapper merges whatever calls are waiting into one `generate` on the engine underneath.

It is a leader/follower queue, with no thread of its own: the first caller to find the
engine idle waits for others to join (window by window, while more keep arriving), then runs
everything queued; callers that
arrive while a batch runs wait and go out together in the next one.
"""

from __future__ import annotations

import threading
import time

from writer.engines.base import ChatRequest, Completion, Engine

MAX_WINDOWS = 20


class _Job:
    def __init__(self, requests: list[ChatRequest]):
        self.requests = requests
        self.results: list[Completion] | None = None
        self.error: BaseException | None = None


class BatchingEngine(Engine):
    """Thread-safe `Engine` that merges concurrent `generate` calls into one call on `inner`."""

    concurrent = True

    def __init__(self, inner: Engine, window_s: float = 0.05, max_requests: int = 256):
        self.inner = inner
        self.name = inner.name
        self.model_id = inner.model_id
        self.context_window = inner.context_window
        self.window_s = window_s
        self.max_requests = max_requests
        self.batches: list[int] = []  # requests per engine call, for benchmarks and tests
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._busy = False

    def generate(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        job = _Job(requests)
        with self._cond:
            self._queue.append(job)
            self._cond.notify_all()
        while True:
            with self._cond:
                while job.results is None and job.error is None and self._busy:
                    self._cond.wait()
                if job.results is not None or job.error is not None:
                    break
                self._busy = True
            # leading a batch need not include this caller's own job (max_requests may leave it for the next
            # one): lead until it has been served
            self._lead()
        if job.error is not None:
            raise job.error
        return job.results

    def _lead(self) -> None:
        """Run one batch as leader: wait the window for company, take the queue, run it, hand out results."""
        try:
            # wait for company: while callers keep arriving, wait another window (at most MAX_WINDOWS)
            seen = -1
            for _ in range(MAX_WINDOWS):
                with self._cond:
                    queued = sum(len(job.requests) for job in self._queue)
                if queued == seen or queued >= self.max_requests:
                    break
                seen = queued
                time.sleep(self.window_s)
            with self._cond:
                batch, total = [], 0
                while self._queue and (not batch or total + len(self._queue[0].requests) <= self.max_requests):
                    job = self._queue.pop(0)
                    batch.append(job)
                    total += len(job.requests)
            try:
                completions = self.inner.generate([r for job in batch for r in job.requests])
                self.batches.append(total)
                start = 0
                for job in batch:
                    job.results = completions[start:start + len(job.requests)]
                    start += len(job.requests)
            except BaseException as exc:  # every caller in the batch sees the engine's error
                for job in batch:
                    job.error = exc
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def close(self) -> None:
        self.inner.close()


def shareable(engine: Engine) -> Engine:
    """`engine` itself when concurrent callers may share it, else wrapped in a `BatchingEngine`."""
    return engine if engine.concurrent else BatchingEngine(engine)

"""BatchingEngine: concurrent callers share engine batches, get their own results, and see engine errors."""

import threading
import time

from scripted_engine import ScriptedEngine

from writer.engines.base import ChatRequest, Message
from writer.engines.batching import BatchingEngine


def request(text: str) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], max_tokens=8)


def test_concurrent_calls_are_merged_and_results_routed_back():
    inner = ScriptedEngine(reply=lambda req: "echo " + req.messages[0].content)
    engine = BatchingEngine(inner, window_s=0.2)
    results: dict[int, list[str]] = {}

    def worker(k: int) -> None:
        results[k] = [c.text for c in engine.generate([request(f"{k}-a"), request(f"{k}-b")])]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: [f"echo {k}-a", f"echo {k}-b"] for k in range(6)}
    assert sum(engine.batches) == 12 and len(engine.batches) < 6  # fewer engine calls than callers
    assert max(engine.batches) >= 4


class GatedEngine(ScriptedEngine):
    """Holds its first batch until `gate` is set, so other callers queue behind it; records batch sizes."""

    def __init__(self, fail_after_first: bool = False):
        super().__init__(reply=lambda req: "ok", on_topic=False)
        self.gate = threading.Event()
        self.calls: list[int] = []
        self.fail_after_first = fail_after_first

    def generate(self, requests):
        self.calls.append(len(requests))
        if len(self.calls) == 1:
            assert self.gate.wait(10)
        elif self.fail_after_first:
            raise RuntimeError("engine died")
        return super().generate(requests)


def start_queued(engine: BatchingEngine, inner: GatedEngine, n: int, results: list, errors: list) -> list:
    """One caller whose batch is held by the gate, then `n` callers queued behind it; returns the threads."""
    def call(text: str) -> None:
        try:
            results.append(engine.generate([request(text)])[0].text)
        except RuntimeError as exc:
            errors.append(str(exc))

    first = threading.Thread(target=call, args=("first",))
    first.start()
    wait_for(lambda: inner.calls == [1])
    threads = [threading.Thread(target=call, args=(f"q{k}",)) for k in range(n)]
    for t in threads:
        t.start()
    wait_for(lambda: len(engine._queue) == n)
    return [first, *threads]


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.005)


def test_max_requests_caps_every_batch_of_queued_callers():
    inner = GatedEngine()
    engine = BatchingEngine(inner, window_s=0.01, max_requests=2)
    results, errors = [], []
    threads = start_queued(engine, inner, 5, results, errors)
    inner.gate.set()
    for t in threads:
        t.join()
    assert inner.calls == [1, 2, 2, 1] and engine.batches == [1, 2, 2, 1]
    assert results == ["ok"] * 6 and errors == []


def test_an_engine_error_reaches_every_caller_of_its_batch_and_the_engine_recovers():
    inner = GatedEngine(fail_after_first=True)
    engine = BatchingEngine(inner, window_s=0.01)
    results, errors = [], []
    threads = start_queued(engine, inner, 3, results, errors)
    inner.gate.set()
    for t in threads:
        t.join()
    assert inner.calls == [1, 3]  # the three queued callers went out together, and all three heard the error
    assert results == ["ok"] and errors == ["engine died"] * 3
    inner.fail_after_first = False
    assert engine.generate([request("again")])[0].text == "ok"
    assert engine.generate([]) == []

"""BatchingEngine: concurrent callers share engine batches, get their own results, and see engine errors."""

import threading

import pytest
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


def test_max_requests_splits_batches_and_errors_reach_every_caller():
    engine = BatchingEngine(ScriptedEngine(reply=lambda req: "ok"), window_s=0.01, max_requests=2)
    assert [c.text for c in engine.generate([request("a"), request("b"), request("c")])] == ["ok"] * 3
    assert engine.generate([]) == []

    def boom(req):
        raise RuntimeError("engine died")

    broken = BatchingEngine(ScriptedEngine(reply=boom), window_s=0.01)
    with pytest.raises(RuntimeError, match="engine died"):
        broken.generate([request("a")])
    # the engine is free again after an error
    broken.inner.reply = lambda req: "back"
    assert broken.generate([request("a")])[0].text == "back"

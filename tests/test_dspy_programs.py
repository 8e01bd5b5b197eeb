"""DSPy modules on scripted engines: the engine bridge, the planner and judges, optimize, program files, --program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dspy_fake_engine import SchemaEngine
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import writer
from writer.calls import CallRecorder
from writer.cli import app
from writer.errors import UsageError
from writer.store import Store
from writer.text.lengths import TargetLength

FIXTURES = Path(__file__).parent / "fixtures"
PLANNER_TRAIN = FIXTURES / "dspy_planner_train.jsonl"
JUDGE_TRAIN = FIXTURES / "dspy_judge_train.jsonl"
GOOD_PLAN = {"sections": [{"title": "Why buy one", "main_point": "Christmas cactus blooms every winter for years",
                           "words": 150},
                          {"title": "Easy care", "main_point": "The cactus needs little water and indirect light",
                           "words": 150}]}
runner = CliRunner()


def test_one_module_call_is_one_engine_call_with_the_schema_constrained():
    from planners.dspy_planner import DSPyPlanner

    engine = ScriptedEngine(plan_reply=GOOD_PLAN)
    store = Store()
    plan, raw = DSPyPlanner(CallRecorder(engine, store)).plan("Write a 300-word post on cactus.", TargetLength(300, "option"))
    assert len(engine.requests) == 1
    request = engine.requests[0]
    assert request.json_schema["properties"]["sections"]["type"] == "array"  # constrained decoding stays on
    assert request.json_schema["$defs"]["PlanSection"]["required"] == ["title", "main_point", "words"]
    assert request.messages[0].role == "system" and "Break the writing task" in request.messages[0].content
    assert "Write a 300-word post on cactus." in request.messages[-1].content
    assert request.temperature == 0.5 and request.max_tokens > 200
    assert [s.title for s in plan.sections] == ["Why buy one", "Easy care"] and plan.total_words == 300
    assert json.loads(raw) == GOOD_PLAN
    with store.Session() as s:
        from writer.store.models import CallRow

        rows = s.query(CallRow).all()
    assert [(r.stage, r.template) for r in rows] == [("plan", "dspy/planner.j2")]


def test_unusable_reply_is_never_silently_resent_by_the_adapter():
    import dspy

    from planners.dspy_planner import DSPyPlanner, PlanModule
    from writer.dspy.lm import dspy_lm, run_module

    engine = ScriptedEngine(reply=lambda req: "not json at all")
    lm = dspy_lm(CallRecorder(engine), "plan")
    with pytest.raises(dspy.utils.exceptions.AdapterParseError):
        run_module(PlanModule(), lm, instruction="Write about owls.", target_words=300)
    assert len(engine.requests) == 1  # no ChatAdapter -> JSONAdapter fallback call
    # The planner's own retry is explicit (once, colder) and stored; then the repair makes the plan.
    engine.requests.clear()
    plan, _ = DSPyPlanner(CallRecorder(engine)).plan("Write about owls.", TargetLength(600, "option"))
    assert [r.temperature for r in engine.requests] == [0.5, 0.0]
    assert plan.repairs[0].startswith("planner reply unusable twice") and plan.total_words == 600


def test_import_and_start_need_no_network(tmp_path):
    code = """
import socket, sys
def refuse(*a, **k):
    raise RuntimeError("network used")
socket.socket.connect = refuse
socket.create_connection = refuse
sys.path.insert(0, "tests")
import writer.dspy.lm as bridge
import os
from scripted_engine import ScriptedEngine
from writer.calls import CallRecorder
from planners.dspy_planner import DSPyPlanner
from writer.text.lengths import TargetLength
plan, _ = DSPyPlanner(CallRecorder(ScriptedEngine(plan_reply=%r))).plan("Write about cactus.", TargetLength(300, "option"))
print(os.environ["LITELLM_LOCAL_MODEL_COST_MAP"], os.environ["DSPY_CACHEDIR"], len(plan.sections))
""" % (GOOD_PLAN,)
    env = {**os.environ, "WRITER_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DSPY_CACHEDIR", None)
    env.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", str(tmp_path / "cache" / "dspy"), "2"]


def test_planner_runs_from_worker_threads_after_one_configure():
    from planners.dspy_planner import DSPyPlanner
    from writer.dspy.lm import configure_dspy

    configure_dspy()
    engines = [ScriptedEngine(plan_reply=GOOD_PLAN) for _ in range(3)]

    def plan(engine):
        configure_dspy()  # a no-op off the main thread: never dspy.configure from a worker
        return DSPyPlanner(CallRecorder(engine)).plan("Write about cactus.", TargetLength(300, "option"))[0]

    with ThreadPoolExecutor(3) as pool:
        plans = list(pool.map(plan, engines))
    assert all(p.total_words == 300 for p in plans) and all(len(e.requests) == 1 for e in engines)


def test_quality_and_checklist_judges_as_dspy_modules():
    from judges import judge

    engine = SchemaEngine(seed=3)
    text = (FIXTURES / "prose" / "tides.md").read_text()
    j = judge(text, instruction="Write an essay about tides.", judges=["dspy-quality", "dspy-checklist"],
              engine=engine)
    assert not j.errors
    q, c = j.results["dspy-quality"], j.results["dspy-checklist"]
    assert set(q.dimensions) == {"relevance", "accuracy", "coherence", "clarity", "breadth_and_depth",
                                 "reading_experience"} and 0 <= q.score <= 100
    assert c.category == "essay" and len(c.items) == 7 and 0 <= c.score <= 100
    stages = [req.json_schema and list(req.json_schema["properties"]) for req in engine.requests]
    assert stages == [["assessment"], ["verdict"]]  # one call per judge, schema-constrained
    answers = engine.requests[1].json_schema["$defs"]["ChecklistVerdict7"]["properties"]["answers"]
    assert answers["minItems"] == answers["maxItems"] == 7  # the count is part of the schema


def test_checklist_with_wrong_item_count_is_an_error_not_a_score():
    from judges import judge

    engine = SchemaEngine(fixed={"verdict": {"answers": [{"reason": "ok", "score": 1}]}})  # a model ignoring the schema
    j = judge("Some essay text about tides and the moon.", instruction="Write an essay about tides.",
              judges=["dspy-checklist"], engine=engine)
    assert "dspy-checklist" not in j.results and j.errors[0].attempts == 3
    assert "no valid reply after 3 attempts" in j.errors[0].error and len(engine.requests) == 3


def test_optimize_planner_bootstrap_saves_a_program_that_compose_uses(tmp_path):
    from writer.dspy.optimize import optimize

    out = tmp_path / "planner.json"
    engine = ScriptedEngine(plan_reply=GOOD_PLAN)
    result = optimize("planner", PLANNER_TRAIN, metric="plan", engine=engine, out=out, max_demos=1, threshold=0.3)
    assert result.train == 3 and result.val == 1 and result.demos == 1
    assert 0 < result.before <= 100 and 0 < result.after <= 100
    saved = json.loads(out.read_text())
    assert saved["kind"] == "planner" and saved["optimizer"] == "bootstrap" and saved["metric"] == "plan"
    demo = saved["state"]["predict"]["demos"][0]
    assert saved["before"] == result.before and saved["after"] == result.after and saved["state"]["predict"]["lm"] is None

    engine = ScriptedEngine(plan_reply=GOOD_PLAN)  # a target of several sections: one-section ones are not planned
    composed = writer.compose("Write a 700-word post about cactus care.", engine=engine, program=out)
    plan_call = Store().calls(composed.run_id, stage="plan")[0]
    prompt = "\n".join(m["content"] for m in plan_call.messages)
    assert demo["instruction"] in prompt  # the compiled demo is in the stored planning prompt
    assert plan_call.template == "dspy/planner.j2"
    assert Store().get_run(composed.run_id).options["planner_program"] == str(out.resolve())
    assert [s.title for s in composed.plan.sections] == ["Why buy one", "Easy care"]


def test_optimize_planner_with_mipro_on_a_fake_engine(tmp_path):
    from writer.dspy.optimize import optimize

    out = tmp_path / "mipro.json"
    engine = SchemaEngine(seed=1)
    result = optimize("planner", PLANNER_TRAIN, metric="plan", optimizer="mipro", trials=2, engine=engine, out=out,
                      max_demos=1, threshold=0.0)
    saved = json.loads(out.read_text())
    assert saved["optimizer"] == "mipro" and saved["kind"] == "planner"
    assert result.engine_calls > 8  # bootstrap sets, instruction proposals, trials, both evaluations
    with Store().Session() as s:
        from writer.store.models import CallRow

        stages = {r.stage for r in s.query(CallRow).all()}
    assert {"plan", "optimize:propose"} <= stages


def test_planner_compose_metric_writes_and_judges_the_document():
    from planners.dspy_planner import PlanModule
    from writer.dspy.lm import dspy_lm, run_module
    from writer.dspy.optimize import load_examples, planner_metric

    engine = SchemaEngine(seed=2, fixed=GOOD_PLAN)
    call = CallRecorder(engine, Store())
    example = load_examples(PLANNER_TRAIN, "planner")[0]
    prediction = run_module(PlanModule(), dspy_lm(call, "plan"), **example.inputs())
    score = planner_metric("compose", call)(example, prediction)
    assert 0 < score <= 1
    with Store().Session() as s:
        from writer.store.models import CallRow

        stages = [r.stage for r in s.query(CallRow).all()]
    assert stages[0] == "plan" and "write" in stages and stages[-1] == "judge:checklist"


def test_optimize_judge_and_judge_with_program(tmp_path):
    from judges import judge
    from writer.dspy.optimize import optimize

    out = tmp_path / "quality.json"
    result = optimize("judge", JUDGE_TRAIN, judge="quality", engine=SchemaEngine(seed=5), out=out, max_demos=1,
                      threshold=0.0)
    assert result.metric == "agreement" and result.train == 4 and result.val == 2 and result.demos == 1
    assert json.loads(out.read_text())["judge"] == "quality"
    engine = SchemaEngine(seed=6)
    j = judge("Tides rise and fall twice a day.", instruction="Write about tides.", judges=["length", "quality"],
              words=10, engine=engine, program=str(out))
    assert j.judges == ["length", "dspy-quality"] and "dspy-quality" in j.results
    prompt = "\n".join(m.content for m in engine.requests[0].messages)
    demo = json.loads(out.read_text())["state"]["predict"]["demos"][0]
    assert demo["instruction"] in prompt


def test_program_kind_is_checked_with_one_line(tmp_path):
    from writer.dspy.optimize import optimize

    judge_program = tmp_path / "judge.json"
    optimize("judge", JUDGE_TRAIN, engine=SchemaEngine(), out=judge_program, max_demos=0)
    result = runner.invoke(app, ["compose", "Write about owls", "--words", "300", "--program", str(judge_program)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {judge_program} is a judge program; this command needs a planner program"
    text = tmp_path / "doc.md"
    text.write_text("Owls hunt at night.")
    planner_program = tmp_path / "planner.json"
    optimize("planner", PLANNER_TRAIN, metric="plan", engine=ScriptedEngine(plan_reply=GOOD_PLAN),
             out=planner_program, max_demos=0)
    result = runner.invoke(app, ["judge", str(text), "-i", "Write about owls", "--program", str(planner_program)])
    assert result.exit_code == 2 and "is a planner program; this command needs a judge program" in result.output
    missing = runner.invoke(app, ["compose", "Write about owls", "--program", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read program" in missing.output
    text.write_text("{}")
    bad = runner.invoke(app, ["compose", "Write about owls", "--program", str(text)])
    assert bad.exit_code == 2 and "is not a writer program file" in bad.output
    assert Store().list_runs() == []  # refused before any run was created


@pytest.mark.parametrize("args, message", [
    (["optimize", "poem", "--trainset", str(PLANNER_TRAIN)], "unknown module 'poem'"),
    (["optimize", "planner", "--trainset", "/no/such.jsonl"], "cannot read /no/such.jsonl"),
    (["optimize", "planner", "--trainset", str(PLANNER_TRAIN), "--optimizer", "grid"], "unknown optimizer 'grid'"),
    (["optimize", "planner", "--trainset", str(PLANNER_TRAIN), "--metric", "vibes"], "unknown planner metric"),
    (["optimize", "judge", "--trainset", str(PLANNER_TRAIN)], "no text"),
    (["optimize", "judge", "--trainset", str(JUDGE_TRAIN), "--judge", "clear"], "unknown judge 'clear'"),
    (["optimize", "planner", "--trainset", str(PLANNER_TRAIN), "--out", "/no/dir/p.json"], "output folder does not exist"),
])
def test_optimize_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output and result.output.count("\n") == 1


class _FakeVLLM(BaseHTTPRequestHandler):
    """Just enough of `vllm serve`: /v1/models (with max_model_len) and /v1/chat/completions."""

    bodies: list = []

    def log_message(self, *args):
        pass

    def _send(self, data):
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send({"object": "list", "data": [{"id": "smol", "object": "model", "owned_by": "vllm",
                                                 "max_model_len": 8192}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(body)
        self._send({"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": json.dumps(GOOD_PLAN)}}],
                    "usage": {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375}})


def test_served_vllm_goes_through_dspys_hosted_vllm_route_and_is_stored():
    from planners.dspy_planner import DSPyPlanner
    from writer.dspy.lm import dspy_lm
    from writer.engines.openai_engine import OpenAIEngine

    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeVLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = OpenAIEngine(base_url=f"http://127.0.0.1:{server.server_port}/v1")
        call = CallRecorder(engine, Store())
        assert dspy_lm(call, "plan").model == "hosted_vllm/smol"
        plan, _ = DSPyPlanner(call).plan("Write a 300-word post on cactus.", TargetLength(300, "option"))
    finally:
        server.shutdown()
    assert len(_FakeVLLM.bodies) == 1
    body = _FakeVLLM.bodies[0]
    assert body["model"] == "smol" and body["response_format"]["type"] == "json_schema"
    assert "sections" in body["response_format"]["json_schema"]["schema"]["properties"]
    assert [s.title for s in plan.sections] == ["Why buy one", "Easy care"]
    with Store().Session() as s:
        from writer.store.models import CallRow

        rows = s.query(CallRow).all()
    assert [(r.stage, r.engine, r.prompt_tokens, r.completion_tokens) for r in rows] == [("plan", "openai", 321, 54)]
    assert "Write a 300-word post on cactus." in rows[0].messages[-1]["content"]


def test_load_program_rejects_tampered_state(tmp_path):
    from planners.dspy_planner import PlanModule
    from writer.dspy.programs import load_program

    path = tmp_path / "p.json"
    path.write_text(json.dumps({"writer_program": 1, "kind": "planner", "state": {"nope": {}}}))
    with pytest.raises(UsageError, match="does not fit its module"):
        load_program(path, "planner", PlanModule)


def test_planner_schema_bounds_the_section_count_per_target():
    from planners.dspy_planner import DSPyPlanner

    for words, most in ((200, 1), (1000, 6), (3000, 20)):
        engine = ScriptedEngine(plan_reply=GOOD_PLAN)
        DSPyPlanner(CallRecorder(engine)).plan("Write about cactus.", TargetLength(words, "option"))
        sections = engine.requests[0].json_schema["properties"]["sections"]
        assert (sections["minItems"], sections["maxItems"]) == (1, most)
        assert "list_bounds" not in engine.requests[0].model_dump_json()  # never reaches the engine

"""DSPy on the real embedded engine (vLLM CPU + SmolLM2-135M). CI always runs these.

A tiny optimization (two training examples, one held out, bootstrap with one demo, the cheap
plan metric) must complete and save a program; `compose --program` must then plan with it,
which shows in the stored planning prompt (the compiled demo is there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from writer.cli import app
from writer.store import Store

pytestmark = pytest.mark.engine
runner = CliRunner()
TRAIN = Path(__file__).parent / "fixtures" / "dspy_planner_train.jsonl"


def test_optimize_planner_then_compose_with_the_program(embedded_engine, tmp_path):
    program = tmp_path / "planner.json"
    result = runner.invoke(app, ["optimize", "planner", "--trainset", str(TRAIN), "--metric", "plan", "--limit", "2",
                                 "--max-demos", "1", "--threshold", "0", "--out", str(program), "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["train"] == 2 and info["val"] == 1 and info["demos"] == 1
    assert 0 <= info["before"] <= 100 and 0 <= info["after"] <= 100
    saved = json.loads(program.read_text())
    assert saved["kind"] == "planner" and saved["model"] == embedded_engine.model_id
    demo = saved["state"]["predict"]["demos"][0]
    assert demo["sections"]  # a real bootstrapped trace: the model's own (schema-constrained) plan
    # Every optimization call went through the recorder: one stored "plan" call per module call.
    with Store().Session() as s:
        from writer.store.models import CallRow

        plan_calls = s.query(CallRow).filter(CallRow.stage == "plan").all()
    assert len(plan_calls) == info["engine_calls"] >= 3  # before (1) + bootstrap (>= 1) + after (1)
    assert all(c.params["json_schema"]["properties"]["sections"]["type"] == "array" for c in plan_calls)
    # Under the schema a finished reply always parses; one cut at max_tokens is salvaged by the adapter.
    assert all(json.loads(c.output)["sections"] for c in plan_calls if c.finish_reason == "stop")

    out = tmp_path / "cactus.md"
    # 600 words: two sections, so the planner runs (a one-section target is written without a planning call)
    composed = runner.invoke(app, ["compose", "Write a short blog post about why Christmas cactus are a great buy.",
                                   "--words", "600", "--program", str(program), "-o", str(out), "--json"])
    assert composed.exit_code == 0, (composed.output, composed.exception)
    run_id = json.loads(composed.stdout.strip().splitlines()[-1])["run_id"]
    calls = Store().calls(run_id)
    assert calls[0].stage == "plan" and calls[0].template == "dspy/planner.j2"
    prompt = "\n".join(m["content"] for m in calls[0].messages)
    assert demo["instruction"] in prompt  # the compiled program's demo is in the stored prompt
    assert Store().get_run(run_id).options["planner_program"] == str(program.resolve())
    assert out.read_text().strip()

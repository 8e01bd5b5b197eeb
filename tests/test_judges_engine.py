"""`writer judge` end to end on the real embedded engine: every judge scores in range, replies validate.

The document is a short stored run (written here, not composed) so the test stays within a
few minutes on a 2-core CPU at ~10 tokens/s.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from writer.artifacts import Plan, PlannedSection, WrittenSection
from writer.cli.judge import judge_app
from writer.store import Store
from writer.text.lengths import count_words

pytestmark = pytest.mark.engine
runner = CliRunner()

INSTRUCTION = "Write a 150-word email to your neighbours inviting them to a community garden cleanup."
EMAIL = """Dear neighbours,

I hope this note finds you well. I am writing to invite you to a community cleanup of the Elm Street garden
this Saturday, May 18, from 9 a.m. to noon. Over the winter the beds have filled with weeds, the paths are
covered in leaves, and the compost bins need turning before we can plant the summer vegetables.

Please bring gloves, a rake or a trowel if you have one, and a water bottle. We will provide bags, extra
tools, and coffee and pastries from the bakery on the corner. Children are very welcome; there will be a
small seed-planting table for them near the gate.

Many hands make light work, and even an hour of your time will help. If you cannot come but would like
to help, you could donate seedlings or lend a wheelbarrow for the day.

Thank you, and I hope to see you there.

Warm regards,
Maria Lopez, apartment 4B"""
REFERENCE = """Hello everyone, join us on Saturday, May 18, 9 a.m. to 12 noon, to clean up the Elm Street community
garden. Bring gloves and a rake or trowel; bags and coffee are provided."""
RUBRIC = ["Date and time of the cleanup", "What volunteers should bring"]


def test_writer_judge_on_a_stored_run(embedded_engine, tmp_path):
    store = Store()
    run_id = store.create_run(INSTRUCTION, 150, "instruction", "vllm", embedded_engine.model_id)
    store.save_plan(run_id, Plan(instruction=INSTRUCTION, target_words=150,
                                 sections=[PlannedSection(title="Invitation", main_point="invite", words=150)]))
    store.save_section(run_id, WrittenSection(index=0, title="Invitation", text=EMAIL, words=count_words(EMAIL)))
    store.update_run(run_id, status="done", words=count_words(EMAIL))
    (tmp_path / "ref.txt").write_text(REFERENCE)
    (tmp_path / "rubric.json").write_text(json.dumps(RUBRIC))

    app = typer.Typer()
    app.add_typer(judge_app, name="judge")

    @app.command()
    def other() -> None:
        """Keeps `judge` a sub-command, as in writer/cli.py."""

    result = runner.invoke(app, ["judge", run_id, "--judges", "length,rules,quality,checklist,clear",
                                 "--reference", str(tmp_path / "ref.txt"), "--rubric", str(tmp_path / "rubric.json"),
                                 "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    judgment = json.loads(result.stdout)
    assert judgment["run_id"] == run_id and judgment["errors"] == [], judgment["errors"]
    results = judgment["results"]
    assert set(results) == {"length", "rules", "quality", "checklist", "clear"}
    assert all(0 <= r["score"] <= 100 for r in results.values()), {k: r["score"] for k, r in results.items()}
    assert results["length"]["required_words"] == 150
    assert set(results["quality"]["dimensions"].values()) <= {1, 2, 3, 4, 5} and results["quality"]["analysis"]
    assert results["checklist"]["category"] == "email"
    assert all(i["score"] in (0, 0.25, 0.5, 0.75, 1) for i in results["checklist"]["items"])
    assert len(results["clear"]["items"]) == 2 and 0 <= results["clear"]["f1"] <= 1

    # every judge call is stored with the run, and its reply is valid under the schema it was constrained by
    calls = store.calls(run_id)
    assert {c.stage for c in calls} == {"judge:quality", "judge:checklist", "judge:clear"}
    for c in calls:
        assert c.engine == "vllm" and c.completion_tokens > 0
        try:
            jsonschema.validate(json.loads(c.output), c.params["json_schema"])
        except (ValueError, jsonschema.ValidationError):
            # constrained decoding only yields invalid JSON when cut at max_tokens; such replies were retried
            assert c.finish_reason == "length", c.output
    stored = {r.judge: r for r in store.judgments(run_id)}
    assert set(stored) == set(results) and all(r.error is None for r in stored.values())
    assert stored["quality"].score == results["quality"]["score"]

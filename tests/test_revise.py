"""`writer revise`: one section rewritten with the run's memory and checks, its neighbours byte-identical, its
boundaries re-stitched, every version kept, the output file rewritten."""

import json

import docx
import pytest
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import writer
from writer import api
from writer.cli import app
from writer.errors import UsageError
from writer.store import Store

runner = CliRunner()

PLAN = {"sections": [{"title": "Origins", "main_point": "Where tea began", "words": 300},
                     {"title": "Trade", "main_point": "How tea travelled", "words": 400},
                     {"title": "Today", "main_point": "Tea now", "words": 300}]}


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_revise_changes_only_that_section_and_keeps_every_version(tmp_path, mode):
    out = tmp_path / "tea.md"
    engine = ScriptedEngine(plan_reply=PLAN)
    before = writer.compose("Write a 1000-word essay about tea.", engine=engine, output=out, mode=mode)
    engine.requests.clear()
    after = api.revise(before.run_id, 2, "more concrete examples", engine=engine)
    assert after.sections[0].text == before.sections[0].text and after.sections[2].text == before.sections[2].text
    assert after.sections[1].text != before.sections[1].text
    assert out.read_text() == after.text != before.text
    assert out.read_text().split("## Trade")[0] == before.text.split("## Trade")[0]  # byte for byte
    assert out.read_text().split("## Today")[1] == before.text.split("## Today")[1]
    redraft = engine.requests[0].messages[0].content
    assert "with this change: more concrete examples" in redraft and before.sections[1].text in redraft
    templates = [c.template for c in Store().calls(before.run_id) if c.stage == "stitch"][-2:]
    assert templates == ["memory/stitch.j2", "memory/stitch_ending.j2"]  # both boundaries, neighbours untouched
    versions = api.get_versions(before.run_id)
    assert [(v["section"], v["version"], v["instruction"]) for v in versions] == [
        (2, 1, None), (2, 2, "more concrete examples")]
    assert versions[0]["text"] == before.sections[1].text and versions[1]["text"] == after.sections[1].text
    again = api.revise(before.run_id, 2, engine=engine)  # a second revision: a third version, nothing lost
    assert [v["version"] for v in api.get_versions(before.run_id)] == [1, 2, 3]
    assert again.sections[0].text == before.sections[0].text
    ops = [s["op"] for s in api.get_memory(before.run_id)["steps"]][-8:]
    assert ops == ["redraft", "relengthen", "recheck", "restitch"] * 2


def test_runs_show_lists_the_versions():
    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(plan_reply=PLAN))
    api.revise(result.run_id, 1, "shorter sentences", engine=ScriptedEngine())
    shown = json.loads(runner.invoke(app, ["runs", "show", result.run_id, "--json"]).stdout)
    assert [(v["section"], v["version"], v["instruction"]) for v in shown["versions"]] == [
        (1, 1, None), (1, 2, "shorter sentences")]
    table = runner.invoke(app, ["runs", "show", result.run_id]).stdout
    assert "section versions" in table and "shorter sentences" in table


def test_revise_rewrites_a_docx_output(tmp_path):
    out = tmp_path / "tea.docx"
    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(plan_reply=PLAN), output=out)
    api.revise(result.run_id, 3, engine=ScriptedEngine())
    document = docx.Document(str(out))
    assert [p.text for p in document.paragraphs if p.style.name.startswith("Heading")] == ["Origins", "Trade", "Today"]
    assert Store().get_section(result.run_id, 2).text.split("\n\n")[0] in [p.text for p in document.paragraphs]


def test_revise_is_refused_before_any_call_when_it_cannot_be_done():
    engine = ScriptedEngine(plan_reply=PLAN)
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine)
    engine.requests.clear()
    with pytest.raises(UsageError, match="section must be between 1 and 3, got 4"):
        api.revise(result.run_id, 4, engine=engine)
    Store().update_run(result.run_id, status="writing")
    with pytest.raises(UsageError, match="is not finished"):
        api.revise(result.run_id, 1, engine=engine)
    assert engine.requests == []
    proc = runner.invoke(app, ["revise", result.run_id, "--section", "0"])
    assert proc.exit_code == 2 and proc.stderr.startswith("error: ")


def test_an_interrupted_revision_is_finished_by_asking_again():
    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(plan_reply=PLAN))

    def dies(req):
        raise RuntimeError("engine died")

    with pytest.raises(RuntimeError):
        api.revise(result.run_id, 2, "warmer", engine=ScriptedEngine(reply=dies))
    store = Store()
    assert store.get_run(result.run_id).status == "done" and store.load_result(result.run_id).text == result.text
    with pytest.raises(UsageError, match="section 2's revision is unfinished"):
        api.revise(result.run_id, 1, engine=ScriptedEngine())
    engine = ScriptedEngine()
    finished = api.revise(result.run_id, 2, engine=engine)
    assert "with this change: warmer" in engine.requests[0].messages[0].content  # the interrupted request, kept
    assert finished.sections[1].text != result.sections[1].text
    assert [v["instruction"] for v in api.get_versions(result.run_id)] == [None, "warmer"]

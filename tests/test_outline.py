"""The user's own outline (`compose --plan`): Markdown and JSON parsing, malformed files, budget repair, and a
compose that writes from it without a planner call."""

import json

import pytest
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import writer
from planners.outline import load_outline, parse_json_plan, parse_markdown_outline, user_plan
from writer import api
from writer.artifacts import Plan, PlannedSection
from writer.cli import app
from writer.errors import UsageError
from writer.store import Store

runner = CliRunner()

OUTLINE = """# The history of tea
A short history for a general audience.

## Origins (300 words)
Where and when tea was first drunk.

## Trade
- How tea travelled
- by caravan and clipper (400 words)

## Conclusion
"""


def test_markdown_outline_titles_points_and_word_counts():
    outline = parse_markdown_outline(OUTLINE)
    assert outline.title == "The history of tea"
    assert outline.instruction == "The history of tea: A short history for a general audience."
    assert outline.sections == [
        {"title": "Origins", "main_point": "Where and when tea was first drunk.", "words": 300},
        {"title": "Trade", "main_point": "How tea travelled by caravan and clipper", "words": 400},
        {"title": "Conclusion", "main_point": "Conclusion", "words": None}]


@pytest.mark.parametrize("text, where, problem", [
    ("Just some text.\n", "outline", "has no sections"),
    ("## Origins\ntext\n##   \n", "line 3", "has no title"),
    ("## Origins\n\n## origins\n", "line 3", "repeats line 1"),
    ("## Origins (many words)\n", "line 1", "cannot read the word count"),
    ("## Origins (0 words)\n", "line 1", "between 1 and"),
    ("# One\n## A\n# Two\n", "line 3", "a second '# ' title"),
    ("### Detail\n## A\n", "line 1", "before the first '## ' section"),
    ("## A (100 words)\nIt says (200 words).\n", "line 2", "a second word count"),
])
def test_malformed_markdown_names_the_line(text, where, problem):
    with pytest.raises(UsageError) as caught:
        parse_markdown_outline(text, "outline.md" if where != "outline" else "outline")
    message = str(caught.value)
    assert caught.value.option == "plan" and where in message and problem in message, message


def test_json_plan_as_writer_plan_prints_it():
    plan = Plan(instruction="Write about tea.", target_words=700, title="Tea",
                sections=[PlannedSection(title="Origins", main_point="Where tea began", words=300),
                          PlannedSection(title="Trade", main_point="How tea travelled", words=400)],
                repairs=["rebalanced budgets from 650 to 700 words"])
    outline = parse_json_plan(plan.model_dump_json(indent=2))
    assert outline.instruction == "Write about tea." and outline.target_words == 700 and outline.title == "Tea"
    assert [s["title"] for s in outline.sections] == ["Origins", "Trade"]
    assert parse_json_plan('[{"title": "A"}, {"title": "B", "words": 50}]').sections[0] == {
        "title": "A", "main_point": "A", "words": None}


@pytest.mark.parametrize("text, field", [
    ('{"sections": [{"title": "A"},', "line 1"),
    ('{"sections": []}', "field sections"),
    ('{"sections": [{"title": "A"}, {"main_point": "x"}]}', "field sections[1].title"),
    ('{"sections": [{"title": "A", "words": -3}]}', "field sections[0].words"),
    ('{"sections": [{"title": "A", "words": "many"}]}', "field sections[0].words"),
    ('{"sections": [{"title": "A", "word": 30}]}', "field sections[0].word"),
    ('{"sections": [{"title": "A"}], "target": 30}', "field target"),
    ('{"sections": [{"title": "A"}, {"title": "a"}]}', "field sections[1].title"),
    ('"just text"', "must be a JSON object"),
])
def test_malformed_json_names_the_field(text, field):
    with pytest.raises(UsageError) as caught:
        parse_json_plan(text, "plan.json")
    assert field in str(caught.value) and str(caught.value).startswith("plan plan.json"), str(caught.value)


def test_load_outline_picks_the_format_and_reports_a_missing_file(tmp_path):
    (tmp_path / "plan.json").write_text('{"sections": [{"title": "A"}]}')
    (tmp_path / "plan.txt").write_text('[{"title": "B"}]')  # JSON by its first character
    (tmp_path / "outline.md").write_text("## C\n")
    assert [load_outline(tmp_path / n).sections[0]["title"] for n in ("plan.json", "plan.txt", "outline.md")] == \
        ["A", "B", "C"]
    with pytest.raises(UsageError, match="no such file"):
        load_outline(tmp_path / "nope.md")


def test_budgets_of_a_user_plan_are_rebalanced_in_proportion_and_order_kept():
    outline = parse_markdown_outline(OUTLINE)
    plan = user_plan(outline)  # no length anywhere but the sections: 300 + 400 + the median for the third
    assert [s.title for s in plan.sections] == ["Origins", "Trade", "Conclusion"]  # never reordered or merged
    assert [s.words for s in plan.sections] == [300, 400, 400] and plan.target_words == 1100
    assert plan.target_source == "plan" and plan.title == "The history of tea"
    assert plan.repairs[0] == "section 3 had no word count; gave it the median of the others"
    scaled = user_plan(outline, words=2200)  # --words wins: the sections keep their proportions
    assert [s.words for s in scaled.sections] == [600, 800, 800] and scaled.target_source == "option"
    assert "rebalanced budgets from 700 to 2200 words" in scaled.repairs
    exact = user_plan(parse_markdown_outline("## A (100 words)\n## B (60 words)\n"))
    assert [s.words for s in exact.sections] == [100, 60] and exact.repairs == []  # small budgets kept as given
    stated = user_plan(parse_markdown_outline("## A\n## B\n"), "Write a 500-word note on owls.")
    assert [s.words for s in stated.sections] == [250, 250] and stated.target_source == "instruction"
    assert stated.repairs == ["no section had a word count; shared 500 words among them"]
    untitled = user_plan(parse_markdown_outline("## A\n## B\n"), words=300)
    assert untitled.instruction == "Write a piece in 2 sections, in this order: A; B."
    with pytest.raises(UsageError, match="at least one word a section"):
        user_plan(parse_markdown_outline("## A\n## B\n## C\n"), words=2)


def test_compose_from_an_outline_skips_the_planner_and_stores_the_file(tmp_path):
    path = tmp_path / "outline.md"
    path.write_text(OUTLINE)
    engine = ScriptedEngine()
    result = writer.compose(engine=engine, plan=path, words=900, mode="sequential")
    assert [s.title for s in result.sections] == ["Origins", "Trade", "Conclusion"]
    assert result.text.startswith("# The history of tea\n\n## Origins\n\n")
    store = Store()
    assert "plan" not in {c.stage for c in store.calls(result.run_id)}
    assert not any(r.json_schema and "sections" in r.json_schema.get("properties", {}) for r in engine.requests)
    with store.Session() as s:
        from writer.store.models import PlanRow

        assert s.query(PlanRow).filter_by(run_id=result.run_id).one().raw == OUTLINE
    assert store.load_plan(result.run_id).title == "The history of tea"
    assert abs(result.words - 900) / 900 < 0.1


def test_a_plan_object_works_too_and_resume_keeps_the_plan():
    plan = Plan(instruction="Write about tea.", target_words=600,
                sections=[PlannedSection(title="Leaves", main_point="How tea leaves are picked", words=300),
                          PlannedSection(title="Cups", main_point="How tea is served in cups", words=300)])
    calls = {"n": 0}

    def reply(req):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("engine died")
        return "Tea leaves are picked and tea is served in cups. " * 40

    with pytest.raises(RuntimeError):
        writer.compose(engine=ScriptedEngine(reply=reply), plan=plan, mode="sequential")
    run = Store().list_runs()[0]
    result = writer.compose(resume=run.id, engine=ScriptedEngine())
    assert [s.title for s in result.plan.sections] == ["Leaves", "Cups"]
    with pytest.raises(UsageError, match="keeps the plan"):
        writer.compose(resume=run.id, engine=ScriptedEngine(), plan=plan)


def test_cli_notes_the_repairs_and_a_bad_outline_is_one_error_line(tmp_path, monkeypatch):
    good = tmp_path / "outline.md"
    good.write_text(OUTLINE)
    done = writer.compose(engine=ScriptedEngine(), plan=good)
    seen = {}

    def fake_compose(instruction, **kwargs):
        seen.update(kwargs)
        return done

    monkeypatch.setattr(api, "compose", fake_compose)
    result = runner.invoke(app, ["compose", "--plan", str(good), "--words", "2200"])
    assert result.exit_code == 0, result.output
    assert "note: section 3 had no word count; gave it the median of the others" in result.stderr
    assert "note: rebalanced budgets from 700 to 2200 words" in result.stderr
    assert seen["plan"] == good
    bad = tmp_path / "bad.md"
    bad.write_text("## Origins\n\n## \n")
    result = runner.invoke(app, ["compose", "--plan", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["error: --plan bad.md line 3: a section heading has no title"]
    bad.write_text(json.dumps({"sections": [{"title": "A", "words": 0}]}))
    result = runner.invoke(app, ["compose", "--plan", str(bad)])
    assert result.exit_code == 2 and "field sections[0].words" in result.stderr

"""Judges on a scripted engine: worked S_l values, rule metrics on real prose, validated and retried
judge replies, checklist item counts, calibration, CLEAR's precision/recall and N/A rules, storage, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import writer
from judges import JudgeInput, judge, judge_batch
from judges.checklist import (
    FLAWLESS,
    calibrate,
    checklist_schema,
    fit_weights,
    get_checklist,
    guess_category,
    load_checklists,
    load_weights,
)
from judges.clear import is_na, pair_scores
from judges.length import length_score
from judges.quality import DIMENSIONS, quality_score
from judges.rules import plan_coverage, rule_metrics
from writer.cli.judge import judge_app
from writer.errors import UsageError

PROSE = Path(__file__).parent / "fixtures" / "prose"
runner = CliRunner()


def prose(name: str) -> str:
    return (PROSE / f"{name}.md").read_text()


def titles(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, re.M)


def looping(text: str) -> str:
    """The same document where, after its first section, the model falls into a loop."""
    first, *_ = text.split("\n\n## ")
    sentence = "The library is a place where people can read books and learn new things every day. "
    return first + "\n\n" + sentence * 25


def prompt_of(req) -> str:
    return req.messages[-1].content


# length

@pytest.mark.parametrize("required, written, expected", [
    (1000, 1000, 100.0), (1000, 2500, 50.0), (1000, 500, 50.0), (1000, 4000, 0.0), (1000, 0, 0.0),
    (1000, 1300, 90.0), (1000, 800, 87.5), (1000, 250, 0.0), (200, 300, 100 * (1 - 0.5 / 3)),
])
def test_length_score_worked_values(required, written, expected):
    assert length_score(required, written) == pytest.approx(expected)


def test_length_judge_counts_words_as_longbench_write():
    j = judge("一二三四五 and five more English words here", words=10, judges=["length"])
    assert j.results["length"].words == 11 and j.results["length"].required_words == 10
    assert j.scores["length"] == pytest.approx(length_score(10, 11))
    stated = judge("word " * 250, instruction="Write a 500-word essay on owls.", judges=["length"])
    assert stated.results["length"].required_words == 500 and stated.scores["length"] == pytest.approx(50.0)
    with pytest.raises(UsageError, match="needs --words"):
        judge("some text", instruction="Write an essay on owls.", judges=["length"])


# rules

def test_rules_count_the_defects_the_compose_checks_cut():
    """A document whose sections restart as standalone articles (inner headings, a conclusion mid-document,
    a remark about the text) shows them in `defects` and scores lower than the same prose without them."""
    paras = [p for p in prose("libraries").split("\n\n") if len(p.split()) > 20]
    clean = f"## The first libraries\n\n{paras[0]}\n\n{paras[1]}\n\n## Libraries for everyone\n\n{paras[2]}\n\n{paras[3]}\n"
    marred = (f"## The first libraries\n\n### Introduction\n\n{paras[0]}\n\n{paras[1]}\n\nIn conclusion, libraries have "
              f"always mattered to the towns that built them.\n\n## Libraries for everyone\n\n{paras[2]}\n\n{paras[3]}\n\n"
              "I hope this article meets your needs. Let me know if you would like any changes.\n")
    good, bad = rule_metrics(clean), rule_metrics(marred)
    assert good.defects == {} and good.defect_count == 0
    assert {"heading", "conclusion", "chatter"} <= set(bad.defects) and bad.defect_count >= 3
    assert bad.score < good.score


@pytest.mark.parametrize("name", ["libraries", "tides", "bread"])
def test_rules_tell_coherent_prose_from_looping_repetition(name):
    good, bad = rule_metrics(prose(name)), rule_metrics(looping(prose(name)))
    assert good.repeated_4gram_share < 0.05 and bad.repeated_4gram_share > 0.5
    assert good.distinct_4 > 0.95 and bad.distinct_4 < 0.6
    assert good.distinct_1 > bad.distinct_1 and good.distinct_2 > bad.distinct_2
    assert good.longest_repeated_span < 10 and bad.longest_repeated_span > 200
    assert good.compression_ratio < 2.5 < bad.compression_ratio
    assert good.duplicated_paragraphs == 0
    assert good.score > 95 and bad.score < 50


def test_rules_duplicated_paragraphs_and_plan_coverage():
    text = prose("tides")
    paras = text.split("\n\n")
    assert rule_metrics("\n\n".join(paras + [paras[1], paras[3], paras[2]])).duplicated_paragraphs == 2  # headings are too short to count
    heads = titles(text)
    assert plan_coverage(text, heads) == (1.0, [])
    dropped = text.replace("## Why Coasts Differ", "")
    assert plan_coverage(dropped, heads) == (0.75, ["Why Coasts Differ"])
    assert plan_coverage(text, list(reversed(heads)))[0] == 0.25  # found only in plan order
    full = rule_metrics(text, heads)
    assert full.plan_coverage == 1.0 and rule_metrics(dropped, heads).score < full.score


def test_rules_on_tiny_and_empty_inputs():
    tiny = rule_metrics("Just three words")
    assert tiny.distinct_4 == 1.0 and tiny.repeated_4gram_share == 0.0 and tiny.longest_repeated_span == 0
    assert 0 <= tiny.score <= 100
    with pytest.raises(UsageError, match="empty"):
        judge("   ", judges=["rules"])


# quality

def quality_reply(scores: dict | None = None, analysis: str = "Clear and on topic, with some gaps.") -> str:
    return json.dumps({"analysis": analysis, **(scores or {d: 4 for d in DIMENSIONS})})


def test_quality_judge_sq_and_schema(store):
    scores = dict(zip(DIMENSIONS, [5, 4, 3, 4, 2, 5]))
    eng = ScriptedEngine(reply=lambda req: quality_reply(scores))
    j = judge(prose("bread"), instruction="Write about sourdough.", judges=["quality"], engine=eng, store=store,
              run_id="r1")
    q = j.results["quality"]
    assert q.dimensions == scores and q.score == pytest.approx(quality_score(scores))
    assert q.score == pytest.approx(sum((s - 1) * 25 for s in scores.values()) / 6)
    req = eng.requests[0]
    schema = req.json_schema
    assert list(schema["properties"])[0] == "analysis" and schema["properties"]["analysis"]["maxLength"] <= 500
    assert all(schema["properties"][d]["enum"] == [1, 2, 3, 4, 5] for d in DIMENSIONS)
    assert "Ignore the response's length" in prompt_of(req) and "Write about sourdough." in prompt_of(req)
    assert req.max_tokens <= 300
    (logged,) = store.calls("r1", stage="judge:quality")  # every judge call is in the store
    assert json.loads(logged.output)["relevance"] == 5 and logged.template == "judges/quality.j2"
    assert j.judge_engine == "scripted" and store.judgments("r1")[0].details["dimensions"] == scores


def test_malformed_reply_is_retried_then_reported_as_error(store):
    eng = ScriptedEngine(reply=lambda req: '{"analysis": "fine", "relevance": 9')
    j = judge(prose("bread"), instruction="Write about sourdough.", words=370, judges=["length", "quality"],
              engine=eng, store=store)
    assert len(eng.requests) == 3  # the first try and two retries
    assert eng.requests[1].seed != eng.requests[2].seed and eng.requests[1].temperature > 0
    assert "quality" not in j.results and j.scores["quality"] is None and j.scores["length"] is not None
    (err,) = j.errors
    assert err.judge == "quality" and err.attempts == 3 and "not JSON" in err.error and len(err.replies) == 3
    rows = store.judgments(None)
    assert {(r.judge, r.score is None, r.error is not None) for r in rows} == {("length", False, False),
                                                                              ("quality", True, True)}


def test_schema_violation_is_an_error_and_a_later_valid_reply_counts():
    out_of_range = quality_reply({**{d: 4 for d in DIMENSIONS}, "clarity": 7})
    replies = iter([out_of_range, quality_reply()])
    eng = ScriptedEngine(reply=lambda req: next(replies))
    j = judge(prose("tides"), instruction="Explain tides.", judges=["quality"], engine=eng)
    assert len(eng.requests) == 2 and j.scores["quality"] == 75.0 and not j.errors
    eng = ScriptedEngine(reply=lambda req: out_of_range)
    j = judge(prose("tides"), instruction="Explain tides.", judges=["quality"], engine=eng)
    assert "clarity" in j.errors[0].error and j.scores["quality"] is None


def test_long_text_is_cut_to_the_judge_window():
    eng = ScriptedEngine(reply=lambda req: quality_reply(), context_window=2048)
    text = "\n\n".join([prose("libraries"), prose("tides"), prose("bread")] * 3)
    j = judge(text, instruction="Write.", judges=["quality"], engine=eng)
    assert j.results["quality"].truncated_input
    assert eng.count_tokens(prompt_of(eng.requests[0])) + eng.requests[0].max_tokens <= 2048
    assert "words omitted" in prompt_of(eng.requests[0])


# checklist

def checklist_reply(n: int, score: float = 0.75) -> str:
    return json.dumps({"items": [{"reason": f"Item {i + 1} is mostly met.", "score": score} for i in range(n)]})


def test_checklist_files_are_valid():
    lists = load_checklists()
    for category in ("open_ended_qa", "summarization", "chat", "text_completion", "heuristic_text_generation",
                     "essay", "story", "report", "blog", "email"):
        c = lists[category]
        assert 5 <= len(c.items) <= 7 and c.items[-1] == FLAWLESS
    assert guess_category("Write a 500-word blog post about cactus care.") == "blog"
    assert guess_category("Write an email to my landlord about the heating.") == "email"
    assert guess_category("Write a story about a lighthouse keeper.") == "story"
    assert guess_category("Compose something nice.") == "heuristic_text_generation"


def test_checklist_scores_every_item_in_one_call():
    n = len(get_checklist("essay").items)
    eng = ScriptedEngine(reply=lambda req: checklist_reply(n, 0.75))
    j = judge(prose("libraries"), instruction="Write an essay on public libraries.", judges=["checklist"], engine=eng)
    c = j.results["checklist"]
    assert len(eng.requests) == 1 and c.category == "essay" and c.weights == "equal"
    assert len(c.items) == n and c.items[-1].question == FLAWLESS and c.score == pytest.approx(75.0)
    schema = eng.requests[0].json_schema["properties"]["items"]
    assert schema["minItems"] == schema["maxItems"] == n
    assert schema["items"]["properties"]["score"]["enum"] == [0, 0.25, 0.5, 0.75, 1]
    assert all(q in prompt_of(eng.requests[0]) for q in get_checklist("essay").items)


def test_checklist_item_count_is_enforced():
    n = len(get_checklist("blog").items)
    eng = ScriptedEngine(reply=lambda req: checklist_reply(n - 1))
    j = judge(prose("bread"), instruction="Write a blog post on sourdough.", judges=["checklist"], engine=eng)
    assert len(eng.requests) == 3 and j.scores["checklist"] is None
    assert f"items: {n - 1} items where minItems is {n}" in j.errors[0].error
    eng = ScriptedEngine(reply=lambda req: checklist_reply(n + 1))
    assert judge(prose("bread"), instruction="Write a blog post.", judges=["checklist"], engine=eng).errors
    bad_level = json.dumps({"items": [{"reason": "x", "score": 0.6}] * n})
    eng = ScriptedEngine(reply=lambda req: bad_level)
    assert judge(prose("bread"), instruction="Write a blog post.", judges=["checklist"], engine=eng).errors
    assert checklist_schema(3)["properties"]["items"]["maxItems"] == 3


def test_user_checklists_add_categories(isolated):
    folder = isolated / "data" / "judges" / "checklists"
    folder.mkdir(parents=True)
    items = ["Is it a haiku?", "Does it mention a season?", "Is it vivid?", "Is it concise?", FLAWLESS]
    (folder / "poem.json").write_text(json.dumps({"category": "poem", "keywords": ["haiku"], "items": items}))
    assert guess_category("Write a haiku about frogs.") == "poem"
    (folder / "bad.json").write_text(json.dumps({"category": "bad", "items": ["only one?"]}))
    with pytest.raises(UsageError, match="bad checklist file"):
        load_checklists()


# calibration

def synthetic(weights: list[float], rows: int = 60, noise: float = 0.0, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.choice([0, 0.25, 0.5, 0.75, 1], size=(rows, len(weights)))
    y = x @ np.array(weights) + rng.normal(0, noise, rows)
    return x, y


def test_calibration_recovers_known_weights():
    true = [30.0, 10.0, 5.0, 20.0, 15.0, 20.0]  # the email checklist has 6 items; sums to 100
    x, y = synthetic(true)
    fits = calibrate([{"category": "email", "item_scores": list(r), "human_score": float(h)} for r, h in zip(x, y)])
    (fit,) = fits
    assert fit.weights == pytest.approx(true, abs=1e-4) and fit.r2 == pytest.approx(1.0)
    assert fit.pearson == pytest.approx(1.0) and sum(fit.weights) == pytest.approx(100)
    assert load_weights("email", 6) == pytest.approx(true, abs=1e-4)
    # saved weights are used from then on
    x0 = [1, 0, 0, 0, 0, 0]
    eng = ScriptedEngine(reply=lambda req: json.dumps({"items": [{"reason": "r", "score": s} for s in x0]}))
    j = judge(prose("bread"), instruction="Write an email to a baker.", judges=["checklist"], engine=eng)
    assert j.results["checklist"].weights == "calibrated" and j.scores["checklist"] == pytest.approx(30.0, abs=1e-3)


def test_calibration_keeps_every_weight_at_least_half_and_reports_fit_quality():
    x, y = synthetic([40.0, -10.0, 20.0, 40.0, -10.0, 30.0], noise=3.0)
    raw = fit_weights(x, y)
    assert (raw >= 0.5 - 1e-9).all() and raw[1] == pytest.approx(0.5) and raw[4] == pytest.approx(0.5)
    unconstrained = np.linalg.lstsq(x, y, rcond=None)[0]
    assert unconstrained.min() < 0.5  # the bound is doing something
    (fit,) = calibrate([{"category": "email", "item_scores": list(r), "human_score": float(h)} for r, h in zip(x, y)],
                       save=False)
    assert 0.9 < fit.r2 < 1 and 0.95 < fit.pearson < 1 and min(fit.raw_weights) >= 0.5


def test_calibration_rejects_bad_annotations():
    with pytest.raises(UsageError, match="checklist items"):
        calibrate([{"category": "email", "item_scores": [1, 0], "human_score": 50}])
    with pytest.raises(UsageError, match="need at least"):
        calibrate([{"category": "email", "item_scores": [1] * 6, "human_score": 50}])
    with pytest.raises(UsageError, match="human_score"):
        calibrate([{"category": "email", "item_scores": [1] * 6}])


# CLEAR

RUBRIC = ["Diagnosis", "Dosage", "Follow-up", "Allergies"]
OUTPUT = {"Diagnosis": "Type 2 diabetes.", "Dosage": "N/A", "Follow-up": "See the doctor in 3 months and check eyes.",
          "Allergies": "N/A"}
REFERENCE = {"Diagnosis": "The patient has type 2 diabetes.", "Dosage": "Metformin 500 mg twice daily.",
             "Follow-up": "Return in 3 months.", "Allergies": "N/A"}


def clear_reply(req) -> str:
    text = prompt_of(req)
    if '"content"' in text:
        item = re.search(r"Item: (.+)", text).group(1)
        side = OUTPUT if "[Response]" in text else REFERENCE
        return json.dumps({"content": side[item]})
    claim = re.search(r"Statement A: (.+)", text).group(1)
    # the follow-up in the output says more than the reference: contained one way only
    return json.dumps({"answer": "no" if "eyes" in claim else "yes"})


def test_clear_precision_recall_and_na_rules():
    eng = ScriptedEngine(reply=clear_reply)
    j = judge("The patient has type 2 diabetes...", reference="Reference notes.", rubric=RUBRIC, judges=["clear"],
              engine=eng)
    c = j.results["clear"]
    by = {i.item: i for i in c.items}
    assert (by["Diagnosis"].precision, by["Diagnosis"].recall, by["Diagnosis"].by_rule) == (1, 1, False)
    assert (by["Dosage"].precision, by["Dosage"].recall, by["Dosage"].by_rule) == (0, 0, True)  # missing in output
    assert (by["Follow-up"].precision, by["Follow-up"].recall, by["Follow-up"].f1) == (0, 1, 0)
    assert (by["Allergies"].precision, by["Allergies"].recall, by["Allergies"].by_rule) == (1, 1, True)  # both N/A
    assert c.precision == 0.5 and c.recall == 0.75 and c.f1 == pytest.approx(0.6)
    assert c.score == pytest.approx(60.0)
    assert len(eng.requests) == 8 + 4  # two extractions per item, two containments per pair with content


def test_clear_na_rule_and_inputs():
    assert pair_scores("N/A", "n/a.") == (1.0, 1.0) and pair_scores("x", "N/A") == (0.0, 0.0)
    assert pair_scores("N/A", "x") == (0.0, 0.0) and pair_scores("x", "y") is None
    assert is_na(' "N/A" ') and not is_na("Nancy")
    with pytest.raises(UsageError, match="clear judge needs rubric and reference"):
        judge("text", judges=["clear"], engine=ScriptedEngine())


def test_clear_failed_extraction_is_an_error():
    eng = ScriptedEngine(reply=lambda req: json.dumps({"content": ""}))  # violates minLength
    j = judge("text", reference="ref", rubric=["A"], judges=["clear"], engine=eng)
    assert j.errors and j.errors[0].judge == "clear" and j.scores["clear"] is None


# API and storage

def test_judge_batch_defaults_and_scores_in_range(store):
    def reply(req):
        if "Rate six dimensions" in prompt_of(req):
            return quality_reply()
        return checklist_reply(req.json_schema["properties"]["items"]["minItems"], 0.5)

    eng = ScriptedEngine(reply=reply)
    samples = [JudgeInput(text=prose(n), instruction=f"Write a 375-word report on {n}.") for n in ("tides", "bread")]
    out = judge_batch(samples, engine=eng, store=store)
    assert [sorted(j.results) for j in out] == [["checklist", "length", "quality", "rules"]] * 2
    assert all(0 <= s <= 100 for j in out for s in j.scores.values())
    assert len(eng.requests) == 4  # one batch of two per model judge
    assert len(store.judgments(None)) == 8
    with pytest.raises(UsageError, match="unknown judge"):
        judge("text", judges=["nope"])
    with pytest.raises(UsageError, match="unknown engine"):
        judge("text", instruction="x", judges=["quality"], engine="nope")




# CLI

def cli_app() -> typer.Typer:
    """The main app as writer/cli.py registers the sub-app."""
    app = typer.Typer()
    app.add_typer(judge_app, name="judge")

    @app.command()
    def other() -> None:
        """Another command, so `judge` stays a sub-command."""

    return app


def test_cli_judges_a_file_by_default_command(tmp_path):
    doc = tmp_path / "tides.md"
    doc.write_text(prose("tides"))
    res = runner.invoke(cli_app(), ["judge", str(doc), "--words", "400", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data["results"]) == {"length", "rules"} and data["errors"] == []
    assert data["results"]["length"]["score"] == pytest.approx(length_score(400, 375))
    table = runner.invoke(cli_app(), ["judge", "score", str(doc), "--judges", "rules"])
    assert table.exit_code == 0 and "rules" in table.stdout and "distinct-1/2/4" in table.stdout


def test_cli_judges_a_run_and_stores_the_judgment(store):
    result = writer.compose("Write a 700-word essay about tea.", engine=ScriptedEngine(), store=store)
    res = runner.invoke(cli_app(), ["judge", result.run_id, "--judges", "length,rules", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["run_id"] == result.run_id and data["results"]["length"]["required_words"] == 700
    assert data["results"]["rules"]["plan_coverage"] == 1.0
    assert {r.judge for r in store.judgments(result.run_id)} == {"length", "rules"}


@pytest.mark.parametrize("args, message", [
    (["judge", "no-such-file-or-run"], "neither a file nor a run id"),
    (["judge", "{doc}", "--judges", "length,bogus"], "unknown judge bogus"),
    (["judge", "{doc}", "--judges", "length"], "needs --words"),
    (["judge", "{doc}", "--judges", "quality"], "needs instruction"),
    (["judge", "{doc}", "--judges", "clear", "--rubric", "{doc}"], "needs reference"),
    (["judge", "{doc}", "--reference", "/no/such/ref.txt"], "cannot read reference"),
    (["judge", "{doc}", "--judge-engine", "nope", "-i", "x"], "unknown engine 'nope'"),
    (["judge", "{doc}", "--words", "0"], "--words must be at least 1"),
    (["judge", "calibrate", "{bad}"], "not a valid annotation"),
])
def test_cli_bad_input_exits_2(tmp_path, args, message):
    doc, bad = tmp_path / "doc.md", tmp_path / "bad.jsonl"
    doc.write_text(prose("bread"))
    bad.write_text('{"category": "email"}\n')
    res = runner.invoke(cli_app(), [a.format(doc=doc, bad=bad) for a in args])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().startswith("error: ") and message in res.stderr and len(res.stderr.splitlines()) == 1


def test_cli_calibrate(tmp_path):
    x, y = synthetic([30.0, 10.0, 5.0, 20.0, 15.0, 20.0])
    path = tmp_path / "ann.jsonl"
    path.write_text("".join(json.dumps({"category": "email", "item_scores": list(r), "human_score": float(h)}) + "\n"
                            for r, h in zip(x, y)))
    res = runner.invoke(cli_app(), ["judge", "calibrate", str(path), "--json"])
    assert res.exit_code == 0, res.output
    fit = json.loads(res.stdout)
    assert fit["category"] == "email" and fit["weights"] == pytest.approx([30, 10, 5, 20, 15, 20], abs=1e-3)
    assert load_weights("email", 6) is not None
    table = runner.invoke(cli_app(), ["judge", "calibrate", str(path)])
    assert table.exit_code == 0 and "email" in table.stdout

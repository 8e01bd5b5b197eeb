"""The pairwise judge on a scripted engine: both orders in one batch, a verdict only when they agree, the
reasons kept and stored; `judge_pair`, and `writer judge A --against B`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import judges.engine
from judges import judge, judge_pair, judge_pairs
from judges.pairwise import PairInput, compare, pairwise_schema
from writer.calls import CallRecorder
from writer.cli.judge import judge_app
from writer.engines.base import score_choices
from writer.errors import UsageError

PROSE = Path(__file__).parent / "fixtures" / "prose"
GOOD = (PROSE / "tides.md").read_text()
BAD = GOOD.split("\n\n## ")[0] + "\n\n" + "The tide comes in and the tide goes out. " * 30
INSTRUCTION = "Write a 375-word article explaining ocean tides."
runner = CliRunner()


def shown_first(req, a: str, b: str) -> str:
    """Which of `a`/`b` the pairwise prompt shows as Response A (the test reads the texts, not the wording): the
    first line of each that the other lacks."""
    prompt = req.messages[-1].content
    mark = {t: next(line for line in t.splitlines() if line.strip() and line not in other)
            for t, other in ((a, b), (b, a))}
    return "a" if prompt.index(mark[a]) < prompt.index(mark[b]) else "b"


def fair_judge(req) -> str:
    """Prefers the coherent text wherever it is shown."""
    better = "A" if shown_first(req, GOOD, BAD) == "a" else "B"
    return json.dumps({"reason": f"Response {better} stays on its subject; the other loops.", "better": better})


def biased_judge(req) -> str:
    """Always prefers whichever text comes first: position, not quality."""
    return json.dumps({"reason": "Response A is better.", "better": "A"})


def test_both_orders_in_one_batch_and_the_order_swap(store):
    eng = ScriptedEngine(reply=fair_judge)
    j = judge_pair(GOOD, BAD, instruction=INSTRUCTION, engine=eng, store=store)
    assert len(eng.requests) == 2  # one batch: A/B and B/A
    assert [shown_first(r, GOOD, BAD) for r in eng.requests] == ["a", "b"]
    assert all(r.json_schema == pairwise_schema() and r.temperature == 0 for r in eng.requests)
    assert (j.winner, j.consistent) == ("first", True)
    assert [(o.shown_first, o.preferred) for o in j.orders] == [("first", "first"), ("second", "first")]
    assert all("loops" in o.reason for o in j.orders)
    # swapped: the same judge names the same text, now "second"
    swapped = judge_pair(BAD, GOOD, instruction=INSTRUCTION, engine=eng, store=store)
    assert (swapped.winner, swapped.consistent) == ("second", True)


def test_disagreeing_orders_are_a_tie_with_both_reasons(store):
    j = judge_pair(GOOD, BAD, instruction=INSTRUCTION, engine=ScriptedEngine(reply=biased_judge), store=store,
                   run_ids=("run-a", "run-b"), labels=("a.md", "b.md"))
    assert (j.winner, j.consistent) == ("tie", False)
    assert [o.preferred for o in j.orders] == ["first", "second"]  # each order preferred its Response A
    (row,) = store.judgments("run-a")
    assert (row.judge, row.score, row.error) == ("pairwise", 50.0, None)
    d = row.details
    assert (d["first_run_id"], d["second_run_id"], d["winner"], d["labels"]) == ("run-a", "run-b", "tie",
                                                                                ["a.md", "b.md"])
    assert [o["reason"] for o in d["orders"]] == ["Response A is better.", "Response A is better."]
    assert d["judge_model"] == "scripted-model"


def test_a_tie_verdict_and_invalid_replies(store):
    tie = ScriptedEngine(reply=lambda req: json.dumps({"reason": "Both read well.", "better": "tie"}))
    assert judge_pair(GOOD, BAD, instruction=INSTRUCTION, engine=tie, store=store).winner == "tie"
    broken = ScriptedEngine(reply=lambda req: "not json")
    j = judge_pair(GOOD, BAD, instruction=INSTRUCTION, engine=broken, store=store)
    assert j.winner == "tie" and j.error and "invalid judge reply" in j.error
    assert len(broken.requests) == 6  # each order tried three times, never turned into a verdict
    (_, row) = store.judgments(None)
    assert row.score is None and row.error == j.error


def test_many_pairs_one_batch_and_bad_input(store):
    eng = ScriptedEngine(reply=fair_judge)
    out = judge_pairs([PairInput(instruction=INSTRUCTION, first=GOOD, second=BAD),
                       PairInput(instruction=INSTRUCTION, first=BAD, second=GOOD)], engine=eng, store=store)
    assert [j.winner for j in out] == ["first", "second"] and len(eng.requests) == 4
    with pytest.raises(UsageError, match="needs instruction"):
        judge_pair(GOOD, BAD, instruction=" ", engine=eng, store=store)
    with pytest.raises(UsageError, match="compares two texts"):
        judge(GOOD, instruction=INSTRUCTION, judges=["pairwise"], engine=eng, store=store)


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(judge_app, name="judge")

    @app.command()
    def other() -> None:
        """Keeps `judge` a sub-command."""

    return app


def test_cli_against_prints_the_verdict_both_orders_and_the_judge_model(tmp_path, monkeypatch):
    eng = ScriptedEngine(reply=fair_judge)
    monkeypatch.setenv("WRITER_JUDGE_MODEL", "smollm2-135m")
    monkeypatch.setattr(judges.engine, "check_settings", lambda settings: None)
    monkeypatch.setattr(judges.engine, "get_engine", lambda settings: eng)
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(GOOD)
    b.write_text(BAD)
    res = runner.invoke(cli_app(), ["judge", str(a), "--against", str(b), "--instruction", INSTRUCTION])
    assert res.exit_code == 0, res.output
    assert res.stderr.strip() == "judge model: smollm2-135m (WRITER_JUDGE_MODEL)"
    lines = res.stdout.splitlines()
    assert lines[0] == f"verdict: first ({a} is better) · both orders agree · judge scripted-model"
    assert lines[1].startswith(f"order 1 ({a} shown first): first ({a}): Response A stays on its subject")
    assert lines[2].startswith(f"order 2 ({b} shown first): first ({a}): Response B stays on its subject")
    res = runner.invoke(cli_app(), ["judge", str(b), "--against", str(a), "-i", INSTRUCTION, "--json"])
    data = json.loads(res.stdout)
    assert data["winner"] == "second" and data["labels"] == [str(b), str(a)] and len(data["orders"]) == 2


@pytest.mark.parametrize("args, message", [
    (["judge", "{a}", "--against", "{b}"], "needs instruction"),
    (["judge", "{a}", "--against", "{b}", "-i", "x", "--judges", "quality"], "--against compares two texts"),
    (["judge", "{a}", "--judges", "pairwise", "-i", "x"], "add --against"),
    (["judge", "{a}", "--against", "/no/such/file", "-i", "x"], "neither a file nor a run id"),
])
def test_cli_against_bad_input_exits_2(tmp_path, args, message):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(GOOD)
    b.write_text(BAD)
    res = runner.invoke(cli_app(), [x.format(a=a, b=b) for x in args])
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def biased_letters(req) -> dict[str, float]:
    """A judge that leans 2 nats towards whichever text it is shown first, and 0.6 towards the good one."""
    good_first = shown_first(req, GOOD, BAD) == "a"
    lean = 2.0 + (0.6 if good_first else -0.6)
    return {"A": -0.1, "B": -0.1 - lean}


def test_the_margin_takes_the_judges_position_out(store):
    """Discrete verdicts from a judge that prefers the first position tie; its lean, read from log-probabilities
    in both orders, still says which text is better once the position's share is taken out."""
    eng = ScriptedEngine(reply=biased_judge, letters=biased_letters)
    agreed = judge_pair(GOOD, BAD, instruction=INSTRUCTION, engine=eng, store=store)
    assert agreed.winner == "tie" and agreed.margin == pytest.approx(0.6)
    assert [o.lean for o in agreed.orders] == [pytest.approx(2.6), pytest.approx(1.4)]
    letters = [r for r in eng.requests if r.choices]
    assert len(letters) == 2 and all(r.choices == ["A", "B"] and r.max_tokens == 1 for r in letters)
    assert all("Answer with one letter" in r.messages[0].content for r in letters)
    by_margin = compare([PairInput(instruction=INSTRUCTION, first=BAD, second=GOOD)], CallRecorder(eng), rule="margin")
    assert by_margin[0].winner == "second" and by_margin[0].margin == pytest.approx(-0.6)


def test_an_engine_without_logprobs_gets_no_letter_requests(store):
    eng = ScriptedEngine(reply=fair_judge)
    j = compare([PairInput(instruction=INSTRUCTION, first=GOOD, second=BAD)], CallRecorder(eng), rule="margin")[0]
    assert len(eng.requests) == 2 and j.margin is None
    assert j.winner == "first"  # no margin: the rule falls back to agreement


def test_choice_scores_add_the_tokens_that_begin_each_choice():
    top = {"A": math.log(0.5), " A": math.log(0.1), "t": math.log(0.2), "Response": math.log(0.15)}
    scores = score_choices(top, ["A", "B", "tie"])
    assert scores["A"] == pytest.approx(math.log(0.6)) and scores["tie"] == pytest.approx(math.log(0.2))
    assert scores["B"] == pytest.approx(math.log(0.1))  # not among the alternatives: the lowest returned
    assert score_choices({}, ["A"]) == {}


def test_letters_alone_decide_by_margin_and_need_logprobs():
    eng = ScriptedEngine(reply=biased_judge, letters=biased_letters)
    (j,) = compare([PairInput(instruction=INSTRUCTION, first=GOOD, second=BAD)], CallRecorder(eng), reasons=False)
    assert j.winner == "first" and len(eng.requests) == 2 and all(r.choices for r in eng.requests)
    with pytest.raises(UsageError, match="log-probabilities"):
        compare([PairInput(instruction=INSTRUCTION, first=GOOD, second=BAD)], CallRecorder(ScriptedEngine()),
                reasons=False)

"""The compose workflow on the scripted engine: planning, section writing, store, resume."""

import json

import pytest
from scripted_engine import ScriptedEngine, prose

import writer
from writer.errors import UnknownRunError, UsageError
from writer.pipeline.context import TOKENS_PER_WORD
from writer.store import Store

PLAN = {"sections": [{"title": "Origins", "main_point": "Where tea began", "words": 300},
                     {"title": "Trade", "main_point": "How tea travelled", "words": 400},
                     {"title": "Today", "main_point": "Tea now", "words": 300}]}


def test_compose_writes_every_section_to_its_budget(tmp_path):
    engine = ScriptedEngine(plan_reply=PLAN)
    out = tmp_path / "tea.md"
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine, output=out)
    assert [s.title for s in result.sections] == ["Origins", "Trade", "Today"]
    assert out.read_text() == result.text
    assert abs(result.words - 1000) / 1000 < 0.1
    for planned, written in zip(result.plan.sections, result.sections):
        assert 0.85 * planned.words <= written.words <= 1.1 * planned.words
    calls = Store().calls(result.run_id)
    assert [c.stage for c in calls] == ["plan", "write", "summarise", "write", "summarise", "write"]
    assert result.stats.output_tokens == sum(c.completion_tokens for c in calls)
    assert Store().get_run(result.run_id).status == "done"


def test_section_prompts_carry_their_place_and_previous_text():
    engine = ScriptedEngine(plan_reply=PLAN)
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine)
    third = next(r.messages[0].content for r in engine.requests if "Write section 3" in r.messages[0].content)
    assert 'Write section 3, "Today", in about 300 words: Tea now' in third
    assert "The piece is written in 3 sections" in third and "bring the piece to a close" in third
    assert result.sections[1].text[-200:] in third  # the text written so far, without its headings
    assert "## Trade" not in third and "Origins:" not in third  # no outline, no headings


def test_short_drafts_are_continued_and_long_ones_trimmed():
    short = ScriptedEngine(plan_reply=PLAN, words_per_call=120)
    result = writer.compose("Write a 1000-word essay about tea.", engine=short)
    stages = [c.stage for c in Store().calls(result.run_id)]
    assert "continue" in stages
    assert all(r.continue_final for r in short.requests if r.messages[-1].role == "assistant")
    long = ScriptedEngine(plan_reply=PLAN, words_per_call=2000)
    result = writer.compose("Write a 1000-word essay about tea.", engine=long)
    assert all(s.words <= 1.1 * p.words for s, p in zip(result.sections, result.plan.sections))


def test_resume_does_not_rewrite_finished_sections():
    class Crash(Exception):
        pass

    calls = {"n": 0}

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN)
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash("engine died")
        return prose(int((req.min_tokens + req.max_tokens) / 2 / TOKENS_PER_WORD), seed=calls["n"])

    engine = ScriptedEngine(reply=reply)
    with pytest.raises(Crash):
        writer.compose("Write a 1000-word essay about tea.", engine=engine)
    store = Store()
    run = store.list_runs()[0]
    assert run.status == "failed" and len(store.sections(run.id)) == 1
    result = writer.compose(resume=run.id, engine=engine)
    writes = [c.section_index for c in store.calls(run.id) if c.stage == "write"]
    assert writes == [0, 1, 2]  # section 0 written once, never again
    assert len(result.sections) == 3 and store.get_run(run.id).status == "done"


def test_resume_unknown_run_is_a_usage_error():
    with pytest.raises(UnknownRunError):
        writer.compose(resume="nope", engine=ScriptedEngine())


@pytest.mark.parametrize("instruction, words", [("", None), ("   ", None), ("ok", 0), ("ok", -5), ("ok", 100001)])
def test_bad_input_is_rejected_before_any_call(instruction, words):
    engine = ScriptedEngine()
    with pytest.raises(UsageError):
        writer.compose(instruction, words=words, engine=engine)
    assert engine.requests == []


def test_missing_output_folder_is_rejected_before_any_call(tmp_path):
    engine = ScriptedEngine()
    with pytest.raises(UsageError):
        writer.compose("Write about tea.", engine=engine, output=tmp_path / "no" / "x.md")
    assert engine.requests == []


def test_plan_api_returns_a_repaired_plan():
    plan = writer.plan("Write about tea.", words=2000, engine=ScriptedEngine(plan_reply=PLAN))
    assert plan.total_words == 2000 and plan.target_source == "option"




def test_candidates_are_scored_stored_and_the_best_kept():
    """Three drafts per section; the checklist judge prefers the one whose text mentions 'kettle'."""
    drafts = {"n": 0}

    def reply(req):
        schema = req.json_schema
        if schema is not None and "items" in schema["properties"]:  # checklist judge
            n = schema["properties"]["items"]["minItems"]
            doc = req.messages[-1].content
            level = 1.0 if "A kettle." in doc.split("Response:")[-1] else 0.25
            return json.dumps({"items": [{"reason": "ok", "score": level}] * n})
        if schema is not None:
            return json.dumps(PLAN)
        drafts["n"] += 1
        words = int(req.min_tokens / TOKENS_PER_WORD)
        return prose(words - 1, seed=drafts["n"]) + (" A kettle." if drafts["n"] % 3 == 2 else " A pot.")

    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(reply=reply), candidates=3)
    rows = Store().candidates(result.run_id)
    assert len(rows) == 9 and [r.candidate for r in rows[:3]] == [0, 1, 2]
    for index in range(3):
        group = [r for r in rows if r.section_index == index]
        chosen = [r for r in group if r.chosen]
        assert len(chosen) == 1 and chosen[0].text.endswith("kettle.")
        assert set(chosen[0].scores) == {"length", "rules", "checklist"}
        assert chosen[0].score == max(r.score for r in group)
        assert result.sections[index].text == chosen[0].text


def test_candidates_out_of_range_is_a_usage_error():
    with pytest.raises(UsageError):
        writer.compose("Write about tea.", engine=ScriptedEngine(), candidates=9)


def test_looping_drafts_are_cut_and_continued_not_padded():
    loop = " The kettle sings a song that never ends in this house."
    n = iter(range(1000))

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN)
        if req.continue_final:
            return " " + prose(int(req.min_tokens / TOKENS_PER_WORD) + 5, seed=next(n))
        return prose(40, seed=next(n)) + loop * 30

    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(reply=reply))
    for section in result.sections:
        assert section.text.count("never ends in this house") <= 1
        assert section.words >= 0.85 * result.plan.sections[section.index].words
    assert {"extend", "continue"} & {c.stage for c in Store().calls(result.run_id)}


def test_extender_lengthens_short_drafts_and_records_roles():
    """Self-Lengthen: the first half is enriched, two thirds of that kept, the rest continued from a prefill."""
    seen = {"enrich": 0, "guided": 0, "write": 0}
    enriched = []  # the Extender's rewrites of first halves

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN)
        if len(req.messages) == 1:
            seen["write"] += 1
            return prose(100, seed=seen["write"])  # the Generator writes a third of the budget
        assert req.messages[0].role == "user" and req.messages[1].role == "assistant"
        last = req.messages[-1]
        if last.role == "user":
            assert "Rewrite what you wrote above" in last.content and req.messages[-2].role == "assistant"
            seen["enrich"] += 1
            lead = req.messages[-2].content.split(". ")[0]
            enriched.append(lead + ". " + prose(150, seed=100 + seen["enrich"]))  # keeps the opening sentence
            return enriched[-1]
        assert req.continue_final and last.role == "assistant"
        if any(e.startswith(last.content) for e in enriched):  # the kept two thirds of a rewrite
            seen["guided"] += 1
            ask = req.messages[-2]
            assert "Write a longer, more detailed version of what you wrote above" in ask.content
            assert req.messages[-3].role == "assistant"  # the whole draft guides the continuation
            return " " + prose(int(req.min_tokens / TOKENS_PER_WORD) + 10, seed=200 + seen["guided"])
        return " " + prose(int(req.min_tokens / TOKENS_PER_WORD) + 10, seed=300 + seen["write"])  # plain

    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(reply=reply))
    assert seen["enrich"] >= 3 and seen["guided"] >= 3
    store = Store()
    generators = store.role_records(result.run_id, "generator")
    extenders = store.role_records(result.run_id, "extender")
    assert len(generators) == 3 and len(extenders) >= 3
    assert all(e.output_words > e.input_words for e in extenders)
    for k, (section, planned) in enumerate(zip(result.sections, result.plan.sections)):
        assert 0.9 * planned.words <= section.words <= 1.1 * planned.words
        # the kept prefix is two thirds of the enriched first half
        assert " ".join(prose(150, seed=101 + k).split()[:20]) in section.text


def _conversation(messages: list[dict]) -> str:
    """A conversation as one string, in order, the way a prefix cache sees the rendered prompt."""
    return "".join(f"\n<{m['role']}>\n{m['content']}" for m in messages)


def test_every_follow_up_call_extends_a_conversation_the_engine_already_saw():
    """The Extender's calls and plain continuations follow up the conversation their draft answers, also after
    an earlier micro-iteration, so the engine's prefix cache holds all of a follow-up but its request (and the
    kept rewrite). Each follow-up's conversation up to its draft is a prefix of an earlier call's prompt+output."""
    seeds = iter(range(1000, 2000))  # a new seed for every reply: none says an earlier one again (that is cut)

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN)
        if req.continue_final:
            return " " + prose(max(8, int(req.min_tokens / TOKENS_PER_WORD) // 3), seed=next(seeds))
        return prose(60, seed=next(seeds))  # short drafts and rewrites: two micro-iterations, then continuation

    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(reply=reply))
    calls = Store().calls(result.run_id)
    seen: list[str] = []
    rounds = {}
    for c in calls:
        if c.stage in ("extend", "continue") and c.template is not None:  # not the document's final top-up
            if c.template == "writer/extend_continue.j2":
                shared = c.messages[:-2]  # the draft; then the request and the kept rewrite
            elif c.template == "writer/extend.j2":
                shared = c.messages[:-1]  # the draft's first half; then the request
            else:
                shared = c.messages  # the whole draft, continued
            assert any(s.startswith(_conversation(shared)) for s in seen), (c.stage, c.template, len(c.messages))
            rounds[c.section_index] = max(rounds.get(c.section_index, 0), len(c.messages))
        after = "" if c.params.get("continue_final") else "\n<assistant>\n"
        seen.append(_conversation(c.messages) + after + c.output)
    assert {c.template for c in calls} >= {"writer/extend.j2", "writer/extend_continue.j2"}
    assert "continue" in {c.stage for c in calls}
    assert max(rounds.values()) >= 5  # a second micro-iteration follows up the first one's continuation








def test_a_one_section_target_is_written_without_a_planning_call():
    """Under ~525 words the plan is one section whose point is the instruction: compose skips the model's plan
    (it only restated the instruction) and the section prompt does not repeat the instruction as its focus."""
    from planners.base import ONE_SECTION_NOTE

    engine = ScriptedEngine(plan_reply=PLAN)
    result = writer.compose("Write a 300-word note about tea.", engine=engine)
    stages = [c.stage for c in Store().calls(result.run_id)]
    assert "plan" not in stages and stages[0] == "write"
    assert [s.main_point for s in result.plan.sections] == ["Write a 300-word note about tea."]
    assert result.plan.repairs == [ONE_SECTION_NOTE] and result.plan.sections[0].words == 300
    prompt = engine.requests[0].messages[0].content
    assert prompt.startswith("Write a 300-word note about tea.") and "Write it in about 300 words." in prompt
    assert 270 <= result.words <= 330

    longer = writer.compose("Write a 700-word note about tea.", engine=ScriptedEngine(plan_reply=PLAN))
    assert Store().calls(longer.run_id)[0].stage == "plan"
    assert len(writer.plan("Write a 300-word note about tea.", engine=ScriptedEngine(plan_reply=PLAN)).sections) > 1


def test_a_story_is_written_in_sequence_on_any_engine():
    """Parallel drafting from the plan alone gives each section of a story its own set-up and people."""
    from writer.pipeline.memory.steps import default_mode

    assert default_mode("Write a 2500-word ghost story in the first person.", concurrent=True) == "sequential"
    assert default_mode("Write a 2000-word article about public libraries.", concurrent=True) == "parallel"
    assert default_mode("Write a 2000-word article about public libraries.", concurrent=False) == "sequential"

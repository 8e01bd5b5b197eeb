"""The L2MAC memory: stored program, file store, control unit (checks, re-runs, context budget, resume)."""

import json

import pytest
from scripted_engine import ScriptedEngine, prompt_words, prose
from typer.testing import CliRunner

import writer
from writer.artifacts import Plan, PlannedSection
from writer.cli import app
from writer.engines.batching import BatchingEngine
from writer.pipeline.context import TOKENS_PER_WORD
from writer.pipeline.memory import compile_steps
from writer.pipeline.memory.checks import check_section, copied_share, keywords
from writer.pipeline.memory.passes import accept_stitch, drop_repeated_sentences, split_opening, trim_to_total
from writer.pipeline.memory.summaries import extractive_summary, parse_memory
from writer.store import Store
from writer.text.lengths import count_words

PLAN = {"sections": [{"title": "Origins", "main_point": "Where tea began", "words": 300},
                     {"title": "Trade", "main_point": "How tea travelled", "words": 400},
                     {"title": "Today", "main_point": "Tea now", "words": 300}]}


def long_plan(n: int, words: int = 500) -> Plan:
    return Plan(instruction="Write a very long history of tea. " * 5, target_words=n * words,
                sections=[PlannedSection(title=f"Chapter {i} on the harbour trade",
                                         main_point=f"How the tea clippers of decade {i} raced to London " * 3,
                                         words=words) for i in range(n)])


# the instruction registry

def test_program_orders_section_instructions_then_document_passes():
    plan = Plan(instruction="x", target_words=1000, sections=[PlannedSection(**s) for s in PLAN["sections"]])
    ops = [(i.op, i.section_index) for i in compile_steps(plan, "sequential")]
    assert ops == [("write", 0), ("extend", 0), ("check", 0), ("summarise", 0),
                   ("write", 1), ("extend", 1), ("check", 1), ("summarise", 1),
                   ("write", 2), ("extend", 2), ("check", 2), ("consistency", None)]
    ops = [(i.op, i.section_index) for i in compile_steps(plan, "parallel")]
    assert ("summarise", 0) not in ops and ops[-3:] == [("stitch", 1), ("stitch", 2), ("consistency", None)]
    assert [i.seq for i in compile_steps(plan, "parallel")] == list(range(len(ops)))


# context assembly





# checks

def test_checks_catch_short_long_looping_copied_and_off_topic_sections():
    section = PlannedSection(title="Trade routes", main_point="How tea travelled by caravan and clipper", words=100)
    on_topic = "Tea travelled along trade routes by caravan and later by clipper. " + prose(88, seed=1)
    assert check_section(on_topic, section).passed
    assert "too short" in check_section(on_topic[:200], section).failures[0]
    assert "too long" in check_section(on_topic + " " + prose(60, seed=2), section).failures[0]
    looping = "Tea travelled along trade routes by caravan and clipper. " + "The caravan moved slowly over the hills. " * 12
    assert any("repeats itself" in f for f in check_section(looping, section).failures)
    assert any("earlier sections" in f for f in check_section(on_topic, section, earlier=on_topic).failures)
    off = check_section(prose(100, seed=3), section)
    assert any("strays from its main point" in f and "caravan" in f for f in off.failures)
    assert keywords(section) == ["trade", "routes", "travelled", "caravan", "clipper"]
    assert copied_share(prose(100, seed=4), prose(100, seed=5)) < 0.05


# summaries and facts

def test_summaries_keep_only_what_the_section_supports():
    text = "Mei Lin opened a tea house in Canton. Her brother Wei sailed to Lisbon with the first crates."
    raw = json.dumps({"summary": "Mei Lin opens a tea house in Canton while Wei sails to Lisbon.",
                      "names": ["Mei Lin", "Wei", "Napoleon"],
                      "facts": ["Mei Lin opened a tea house in Canton.", "The moon is made of cheese."],
                      "open_threads": ["Whether Wei reaches Lisbon"]})
    summary, found = parse_memory(raw, text)
    assert summary.startswith("Mei Lin") and found["names"] == ["Mei Lin", "Wei"]
    assert found["facts"] == ["Mei Lin opened a tea house in Canton."]
    bad, _ = parse_memory(json.dumps({"summary": "Dragons dragons everywhere flying over mountains tonight.",
                                      "names": [], "facts": [], "open_threads": []}), text)
    assert bad is None
    assert parse_memory("not json", text)[0] is None
    assert extractive_summary(text).startswith("Mei Lin opened") and "Lisbon" in extractive_summary(text)


# document passes

def test_repeated_sentences_are_dropped_from_later_sections():
    a = "The clipper left Canton at dawn with tea. It raced the monsoon south."
    b = "The clipper left Canton at dawn with tea. In London the auction waited for it."
    texts, removed = drop_repeated_sentences([a, b])
    assert removed == [0, 1] and texts[0] == a and texts[1] == "In London the auction waited for it."
    listed = "At the docks:\n- The clipper left Canton at dawn with tea.\n- Porters unloaded crates all night."
    texts, removed = drop_repeated_sentences([a, listed])
    assert removed == [0, 1] and texts[1] == "At the docks:\n- Porters unloaded crates all night."  # still a list


def test_trim_to_total_cuts_the_sections_most_over_budget():
    texts = [prose(100, seed=1), prose(300, seed=2), prose(100, seed=3)]
    out = trim_to_total(texts, [100, 200, 100], 420)
    assert count_words(out[0]) == 100 and count_words(out[2]) == 100 and count_words(out[1]) <= 220


def test_stitch_rewrites_are_accepted_only_when_they_keep_the_opening():
    opening, rest = split_opening("First paragraph about the tea auction in London.\n\nSecond paragraph.")
    assert opening.startswith("First") and rest == "Second paragraph."
    good = "After the voyage, the first paragraph about the tea auction in London followed."
    assert accept_stitch(opening, good, "The ship reached the Thames.") is None
    assert "words" in accept_stitch(opening, "Short.", "x")
    assert accept_stitch(opening, "Completely different words about dragons and castles in the sky tonight.", "x")


def test_a_stitched_opening_ends_at_a_full_sentence_and_stays_in_its_paragraph():
    from writer.calls import CallRecorder
    from writer.pipeline.memory.passes import stitch
    from writer.text.defects import Place

    previous = "The first public libraries opened in the towns of the north, paid for by subscriptions."
    short = ("Town libraries lent books to every reader who asked for them. They were paid for by the town.\n\n"
             "Later, libraries lent records and films as well.")
    # a rewrite stopped by its token cap breaks off mid-sentence: it is cut back to its last full sentence
    capped = ("After those subscriptions, town libraries lent books to every reader who asked for them. "
              "They were paid for by the town. In the")
    engine = ScriptedEngine()
    engine.enqueue(capped)
    [(text, note)] = stitch(CallRecorder(engine), "Write about libraries.", [(1, previous, "Towns", short)],
                            [Place(index=1, count=3)])
    assert "rewritten" in note and "In the" not in text
    assert text.split("\n\n")[0].endswith("paid for by the town.") and text.endswith("films as well.")
    # a reply that has no full sentence keeps the original opening
    engine.enqueue("After those subscriptions town libraries lent books to every reader who asked for them and")
    [(text, note)] = stitch(CallRecorder(engine), "Write about libraries.", [(1, previous, "Towns", short)],
                            [Place(index=1, count=3)])
    assert text == short and "kept original opening" in note
    # an opening cut from a long first paragraph is put back into that paragraph, not split off as its own
    streets = "mill bridge market river chapel harbour station garden castle orchard quarry forge".split()
    long_first = ("Town libraries lent books to every reader who asked for them. "
                  + " ".join(f"A branch opened on {s.title()} Street in year {k} of the scheme." for k, s in enumerate(streets))
                  + "\n\nLater, libraries lent records and films as well.")
    opening, rest = split_opening(long_first)
    engine.enqueue("After those subscriptions, " + opening[0].lower() + opening[1:])
    [(text, note)] = stitch(CallRecorder(engine), "Write about libraries.", [(1, previous, "Towns", long_first)],
                            [Place(index=1, count=3)])
    assert "rewritten" in note and text.count("\n\n") == 1 and "Mill Street" in text.split("\n\n")[0]


# the control unit through compose

def test_failing_checks_rerun_the_section_with_feedback_and_keep_the_best():
    attempts = {"n": 0}

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN)
        if req.continue_final:
            return " " + prose(int(req.min_tokens / TOKENS_PER_WORD) + 5, seed=500 + len(engine.requests))
        attempts["n"] += 1
        words = int(req.min_tokens / TOKENS_PER_WORD) + 5
        if "was rejected: strays" in req.messages[0].content:  # the second attempt is told why the first failed
            return f"The story turns to {prompt_words(req.messages[0].content)}. " + prose(words, seed=attempts["n"])
        return prose(words, seed=attempts["n"])  # off topic

    engine = ScriptedEngine(reply=reply, on_topic=False)
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine)
    store = Store()
    writes = [c for c in store.calls(result.run_id) if c.stage == "write"]
    assert [c.section_index for c in writes] == [0, 0, 1, 1, 2, 2]
    assert "rejected: strays from its main point" in writes[1].messages[0]["content"]
    checks = [r for r in store.steps(result.run_id) if r.op == "check"]
    assert all(r.status == "done" and r.attempts == 2 and r.note.startswith("passed") for r in checks)
    assert all(s.text.startswith("The story turns to") for s in result.sections)


def test_reruns_are_bounded_and_the_best_attempt_is_kept():
    engine = ScriptedEngine(plan_reply=PLAN, on_topic=False)
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine)
    store = Store()
    assert [c.section_index for c in store.calls(result.run_id) if c.stage == "write"] == [0, 0, 1, 1, 2, 2]
    checks = [r for r in store.steps(result.run_id) if r.op == "check"]
    assert all(r.status == "done" and r.note.startswith("kept best of 2 attempts") for r in checks)
    assert len(result.sections) == 3 and abs(result.words - 1000) <= 100


def test_memory_reads_and_writes_are_recorded_and_shown():
    result = writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(plan_reply=PLAN))
    store = Store()
    program = {r.seq: r for r in store.steps(result.run_id)}
    events = store.memory_events(result.run_id)
    write_third = next(seq for seq, r in program.items() if r.op == "write" and r.section_index == 2)
    reads = {e.name for e in events if e.seq == write_third and e.action == "read"}
    assert {"plan", "summary/0", "summary/1", "facts", "section/0", "section/1"} <= reads
    written = {(e.name, program[e.seq].op) for e in events if e.action == "write"}
    assert {("draft/0", "write"), ("draft/0", "extend"), ("section/0", "check"), ("summary/0", "summarise"),
            ("facts", "summarise")} <= written
    facts = json.loads(store.read_file(result.run_id, "facts"))
    assert facts["facts"] and all(f["section"] in (0, 1) for f in facts["facts"])
    shown = CliRunner().invoke(app, ["runs", "show", result.run_id, "--memory"])
    assert shown.exit_code == 0 and "summarise" in shown.output and "summary/0" in shown.output
    as_json = json.loads(CliRunner().invoke(app, ["runs", "show", result.run_id, "--memory", "--json"]).output)
    assert [p["op"] for p in as_json["steps"]][-1] == "consistency"
    assert all(p["status"] == "done" for p in as_json["steps"])


def test_a_crash_mid_program_resumes_at_the_failed_instruction():
    class Crash(Exception):
        pass

    state = {"crash": True}

    def reply(req):
        if req.json_schema is not None and "summary" in req.json_schema["properties"]:
            if state["crash"] and "Trade" in req.messages[0].content:
                raise Crash("engine died while summarising section 2")
            return json.dumps({"summary": "", "names": [], "facts": [], "open_threads": []})
        if req.json_schema is not None:
            return json.dumps(PLAN)
        return prose(int(req.min_tokens / TOKENS_PER_WORD) + 5, seed=len(engine.requests))

    engine = ScriptedEngine(reply=reply)
    with pytest.raises(Crash):
        writer.compose("Write a 1000-word essay about tea.", engine=engine)
    store = Store()
    run = store.list_runs()[0]
    pending = [(r.op, r.section_index) for r in store.steps(run.id) if r.status == "pending"]
    assert pending[0] == ("summarise", 1) and len(store.sections(run.id)) == 2
    state["crash"] = False
    result = writer.compose(resume=run.id, engine=engine)
    assert [c.section_index for c in store.calls(run.id) if c.stage == "write"] == [0, 1, 2]
    assert len(result.sections) == 3 and all(r.status == "done" for r in store.steps(run.id))
    assert store.read_file(run.id, "summary/1")  # the extractive fallback, since the model's summary was empty


# parallel mode

def test_parallel_mode_fans_out_batches_and_stitches():
    inner = ScriptedEngine(plan_reply=PLAN)
    engine = BatchingEngine(inner, window_s=0.3)
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine, mode="parallel")
    store = Store()
    assert store.get_run(result.run_id).options["mode"] == "parallel"
    assert engine.batches[1] == 3  # the three sections' first drafts went to the engine as one batch
    stages = [c.stage for c in store.calls(result.run_id)]
    assert stages.count("write") == 3 and stages.count("stitch") == 2 and "summarise" not in stages
    stitch_prompt = next(c for c in store.calls(result.run_id) if c.stage == "stitch").messages[0]["content"]
    assert "The previous part of the text ends like this" in stitch_prompt
    assert [s.index for s in result.sections] == [0, 1, 2] and abs(result.words - 1000) <= 100
    # no section saw the text of another while drafting
    writes = [c for c in store.calls(result.run_id) if c.stage == "write"]
    assert all("The text so far ends like this" not in c.messages[0]["content"] for c in writes)


def test_unknown_mode_is_a_usage_error():
    result = CliRunner().invoke(app, ["compose", "Write about tea.", "--mode", "sideways"])
    assert result.exit_code == 2 and "--mode must be one of sequential, parallel" in result.output


def test_a_section_that_breaks_off_mid_sentence_ends_at_its_last_full_sentence():
    from writer.pipeline.drafting import fit_length

    whole = "Libraries lend books. They also lend tools and seeds to their members."
    assert fit_length(whole + " It is important to remember that libraries are,", 400) == whole
    fragment = "one long clause that never ends because the model was cut off at its limit and kept going on"
    assert fit_length("Short. " + fragment, 400) == "Short. " + fragment  # cutting would lose most of it

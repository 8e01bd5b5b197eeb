"""Instruction synthesis: a weak (scripted) model in, N valid distinct instructions with exact lengths out."""

import json
import re
from collections import Counter

import pytest
from scripted_engine import ScriptedEngine

from datasets_out.dedupe import keep_unique
from writer.dataset.instructions import (
    CATEGORIES,
    MAX_ROUNDS,
    check,
    clean,
    parse_reply,
    read_topics,
    synthesize,
    write_instructions,
)
from writer.dataset.length_requirements import (
    BUCKETS,
    LENGTH_STYLES,
    add_length,
    bucket_of,
    length_schedule,
    strip_length,
)
from writer.errors import UsageError
from writer.text.lengths import parse_target_words

TOPICS = ["the history of tea", "urban beekeeping", "volcanoes and the people who live near them"]


def asked(req) -> tuple[str, str]:
    """(topic, category) as the prompt states them."""
    prompt = req.messages[0].content
    topic = re.search(r"about this topic: (.*)", prompt).group(1).strip()
    category = re.search(r"ask a writer for (?:an? )?(.*?) about this topic", prompt).group(1)
    return topic, category


ANGLES = ("for curious children", "from a farmer's point of view", "for a city council meeting",
          "as a travel diary", "comparing past and present", "for first-year students")


def good_reply(req) -> str:
    """A decent model: three on-topic instructions, varying with the request's seed."""
    topic, category = asked(req)
    start = (req.seed or 0) % len(ANGLES)
    picks = [ANGLES[(start + i) % len(ANGLES)] for i in range(3)]
    return json.dumps({"instructions": [f"Write a {category} about {topic} {angle}." for angle in picks]})


def check_records(records, n):
    assert len(records) == n
    for r in records:
        assert set(r) == {"instruction", "length", "category", "topic", "source"}
        found = parse_target_words(r["instruction"])
        assert found is not None and found.words == r["length"], r
        assert r["source"] in ("model", "template")
    texts = [r["instruction"] for r in records]
    assert keep_unique(texts) == list(range(len(texts))), "exact or near duplicates in the output"


def test_good_model_gives_exactly_n_spread_over_categories_and_buckets():
    engine = ScriptedEngine(reply=good_reply)
    report = synthesize(engine, TOPICS, 20, seed=3)
    check_records(report.records, 20)
    assert report.from_model == 20 and report.from_template == 0
    assert Counter(r["category"] for r in report.records) == Counter({c: 2 for c in CATEGORIES})
    assert {bucket_of(r["length"]) for r in report.records} == set(range(len(BUCKETS)))
    assert all(300 <= r["length"] <= 20000 for r in report.records)
    # one batched generate call per round, every request under the JSON schema, each with its own seed
    assert report.rounds >= 1
    assert all(req.json_schema is not None for req in engine.requests)
    assert len({req.seed for req in engine.requests}) == len(engine.requests)


def test_never_more_than_n_and_all_buckets_from_eight():
    for n in (1, 3, 8):
        report = synthesize(ScriptedEngine(reply=good_reply), TOPICS, n, seed=n)
        check_records(report.records, n)
        if n >= 8:
            assert {bucket_of(r["length"]) for r in report.records} == set(range(len(BUCKETS)))


def test_one_generate_call_per_round():
    calls = []

    class Counting(ScriptedEngine):
        def generate(self, requests):
            calls.append(len(requests))
            return super().generate(requests)

    report = synthesize(Counting(reply=lambda req: "not json at all"), TOPICS, 6, seed=0)
    assert report.rounds == MAX_ROUNDS == len(calls)
    assert all(c > 1 for c in calls)


def test_garbage_model_is_filled_with_marked_templates():
    report = synthesize(ScriptedEngine(reply=lambda req: '{"instructions": ["Sure! Here you go:'), TOPICS, 12, seed=1)
    check_records(report.records, 12)
    assert report.from_template == 12 and report.from_model == 0
    assert all(r["source"] == "template" for r in report.records)
    assert report.rounds == MAX_ROUNDS
    assert sum(report.rejected.values()) > 0
    assert len({r["category"] for r in report.records}) == 10


def test_broken_json_is_salvaged():
    def truncated(req):
        topic, category = asked(req)
        return '{"instructions": ["Write a %s about %s for a school magazine.", "Write a %s ab' % (category, topic, category)

    report = synthesize(ScriptedEngine(reply=truncated), TOPICS, 5, seed=0)
    check_records(report.records, 5)
    assert report.from_model == 5


def test_duplicates_are_removed_and_templates_make_up_the_rest():
    def repetitive(req):
        topic, _ = asked(req)
        same = f"Write an essay about {topic} for a general audience."
        near = f"Write an essay about {topic} for a general audience today."
        return json.dumps({"instructions": [same, same, near]})

    report = synthesize(ScriptedEngine(reply=repetitive), TOPICS, 10, seed=2)
    check_records(report.records, 10)
    assert report.from_model == len(TOPICS)  # one per topic survives
    assert report.from_template == 10 - len(TOPICS)
    assert report.rejected["duplicate"] > 0


def test_stated_lengths_are_replaced_by_ours():
    def with_lengths(req):
        topic, category = asked(req)
        return json.dumps({"instructions": [f"Write a 777-word {category} about {topic} for tourists.",
                                            f"Write a {category} about {topic} in about 1,234 words for kids.",
                                            f"Write a {category} of at least 55 words about {topic}."]})

    report = synthesize(ScriptedEngine(reply=with_lengths), TOPICS, 9, seed=4)
    check_records(report.records, 9)
    assert report.from_model == 9
    for r in report.records:
        assert not re.search(r"\b(777|1,234|55)\b", r["instruction"]), r
        assert len(re.findall(r"\bwords?\b", r["instruction"])) == 1, r


def test_off_topic_copies_and_chatter_are_rejected():
    def bad(req):
        topic, category = asked(req)
        example = re.search(r'\{"instructions": \["(.*?)"\]\}', req.messages[0].content).group(1)
        return json.dumps({"instructions": [example,
                                            "Write a poem about the ocean and the moon at night.",
                                            "I am a helpful assistant and I like talking.",
                                            "Tea",
                                            f"1. \"Write a {category} about {topic} for retired sailors.\""]})

    report = synthesize(ScriptedEngine(reply=bad), TOPICS, 6, seed=5)
    check_records(report.records, 6)
    model = [r for r in report.records if r["source"] == "model"]
    assert model and all("retired sailors" in r["instruction"] and not r["instruction"].startswith(("1", '"'))
                          for r in model)
    for reason in ("example_copy", "off_topic", "not_instruction", "too_short"):
        assert report.rejected.get(reason, 0) > 0, (reason, report.rejected)
    assert not any("lighthouse" in r["instruction"] or "ocean" in r["instruction"] for r in report.records)


def test_deterministic_for_a_seed():
    a = synthesize(ScriptedEngine(reply=good_reply), TOPICS, 15, seed=7).records
    b = synthesize(ScriptedEngine(reply=good_reply), TOPICS, 15, seed=7).records
    c = synthesize(ScriptedEngine(reply=good_reply), TOPICS, 15, seed=8).records
    assert a == b and a != c


def test_calls_are_logged_with_the_stage(store):
    from sqlalchemy import select

    from writer.store import CallRow

    synthesize(ScriptedEngine(reply=good_reply), TOPICS, 4, seed=0, store=store)
    with store.Session() as s:
        rows = s.scalars(select(CallRow)).all()
    assert rows and all(r.stage == "instructions" and r.template == "dataset/instructions.j2" for r in rows)


def test_progress_and_bad_arguments():
    seen = []
    synthesize(ScriptedEngine(reply=good_reply), TOPICS, 4, on_progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (4, 4)
    with pytest.raises(UsageError):
        synthesize(ScriptedEngine(reply=good_reply), [], 4)
    with pytest.raises(UsageError):
        synthesize(ScriptedEngine(reply=good_reply), TOPICS, 4, lengths=(500, 400))
    assert synthesize(ScriptedEngine(reply=good_reply), TOPICS, 0).records == []


def test_custom_categories_and_length_range():
    report = synthesize(ScriptedEngine(reply=good_reply), TOPICS, 8, seed=1, categories=("poem", "essay"),
                        lengths=(1000, 3000))
    check_records(report.records, 8)
    assert Counter(r["category"] for r in report.records) == {"poem": 4, "essay": 4}
    assert all(1000 <= r["length"] <= 3000 for r in report.records)
    assert {bucket_of(r["length"]) for r in report.records} == {1, 2}


# ---------------------------------------------------------------- pieces

@pytest.mark.parametrize("seed", range(20))
def test_length_schedule_covers_buckets_with_natural_numbers(seed):
    import random

    values = length_schedule(8, (300, 20000), random.Random(seed))
    assert Counter(bucket_of(v) for v in values) == {0: 2, 1: 2, 2: 2, 3: 2}
    for v in values:
        assert 300 <= v <= 20000
        assert v % (50 if v < 1000 else 100 if v < 5000 else 500) == 0, v


@pytest.mark.parametrize("words", [300, 450, 800, 1000, 1100, 3000, 8000, 11000, 18500, 20000])
@pytest.mark.parametrize("style", LENGTH_STYLES)
def test_every_phrasing_parses_back_exactly(words, style):
    text = add_length("Write an essay about the history of tea.", words, style)
    assert parse_target_words(text).words == words, text
    if style == "adjective":
        article = "an" if words in (800, 8000, 11000, 18500) else "a"  # "an eight hundred", "an eleven thousand"
        assert text.startswith(f"Write {article} {words:,}-word essay" if words >= 10000 else
                               f"Write {article} {words}-word essay"), text


def test_question_instructions_get_a_separate_length_sentence():
    assert add_length("Can you write a story about tea?", 500, "in_about") is None
    assert add_length("Can you write a story about tea?", 500, "at_least").endswith("at least 500 words long.")


@pytest.mark.parametrize("text, expected", [
    ("Write a 500-word essay on tea.", "Write an essay on tea."),
    ("Write an essay of about 2,000 words on tea.", "Write an essay on tea."),
    ("Write an essay on tea in no more than 300 words.", "Write an essay on tea."),
    ("Compose a 5-page report on tea", "Compose a report on tea"),
    ("Write an essay on tea.", "Write an essay on tea."),
])
def test_strip_length(text, expected):
    assert strip_length(text) == expected


@pytest.mark.parametrize("raw, expected", [
    ('1. "Write a story about tea."', "Write a story about tea."),
    ("- Write a story about tea.", "Write a story about tea."),
    ("  “Write a story about tea.”  ", "Write a story about tea."),
    ('Write a story called "Tea"', 'Write a story called "Tea"'),
])
def test_clean(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize("candidate, reason", [
    ("", "empty"),
    ("Tea time", "too_short"),
    ("Write an essay about " + "tea " * 70, "too_long"),
    ("Write an essay for curious teenagers about the last lighthouse keeper on a remote island, "
     "focusing on one vivid detail.", "example_copy"),
    ("Write an essay about the stock market crash.", "off_topic"),
    ("The history of tea is very long and interesting.", "not_instruction"),
    ("Write two thousand words about tea.", "stated_length"),
    ("Write an essay about the history of Chinese teas for students.", None),
])
def test_check_reasons(candidate, reason):
    assert check(candidate, "the history of tea", "essay")[0] == reason


def test_parse_reply_variants():
    assert parse_reply('{"instructions": ["a b c d"]}') == ["a b c d"]
    assert parse_reply('["x y z w"]') == ["x y z w"]
    assert parse_reply('{"instructions": ["one", "tw') == ["one"]
    assert parse_reply("nothing here") is None


# ---------------------------------------------------------------- files

def test_read_topics(tmp_path):
    path = tmp_path / "topics.txt"
    path.write_text("# seed topics\n\nthe history of tea\n  urban beekeeping  \nThe history of tea\n")
    assert read_topics(path) == ["the history of tea", "urban beekeeping"]


def test_read_topics_errors(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        read_topics(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n   \n")
    with pytest.raises(UsageError, match="no topics"):
        read_topics(empty)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    with pytest.raises(UsageError, match="not UTF-8"):
        read_topics(binary)
    with pytest.raises(UsageError) as error:
        read_topics(tmp_path)  # a folder, not a file
    assert "\n" not in str(error.value)


def test_write_instructions_roundtrip_and_missing_folder(tmp_path):
    records = synthesize(ScriptedEngine(reply=good_reply), TOPICS, 5, seed=0).records
    out = tmp_path / "instructions.jsonl"
    write_instructions(out, records)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records
    assert not list(tmp_path.glob("*.partial"))  # no temp file left
    with pytest.raises(UsageError, match="does not exist"):
        write_instructions(tmp_path / "nope" / "out.jsonl", records)

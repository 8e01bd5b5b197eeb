import json
from pathlib import Path

import pytest
from scripted_engine import prose

from writer.text.defects import remove_defects
from writer.text.lengths import DEFAULT_WORDS, count_words, parse_target_words, resolve_target, trim_to_words


@pytest.mark.parametrize("instruction, words", [
    ("Write a 3000-word essay on rivers.", 3000),
    ("Write a 3,000 word essay on rivers.", 3000),
    ("An essay of about 1200 words on tea.", 1200),
    ("Summarise this in 300 words or less.", 300),
    ("The content should be no less than 200 words.", 200),
    ("at least 400 words please", 400),
    ("Write between 800 and 1000 words on jazz.", 900),
    ("Write 800-1000 words on jazz.", 900),
    ("A 1.5k word story", 1500),
    ("a 10k-word report", 10000),
    ("Write two thousand words about owls.", 2000),
    ("Write five hundred words about owls.", 500),
    ("帮我写一篇文章，不少于4000字。", 4000),
    ("Write a 50-page novel about a quest.", 10000),
    ("Write 12000 words of an article", 12000),
    ("write it in approximately 150 words", 150),
    ("Uber Driver Interview Script, around 600 words", 600),
    ("Write a 200 words abstract", 200),
    ("Write a 400 word story", 400),
    ("Help me write a teaching plan of no less than 2000 words.", 2000),
])
def test_parses_length_phrasings(instruction, words):
    found = parse_target_words(instruction)
    assert found is not None and found.words == words and found.source == "instruction"


@pytest.mark.parametrize("instruction", [
    "Write a list of 15 emojis relating to various emotions",
    "Describe the 3 stages of mitosis",
    "Tell me about the year 1916 in Vienna",
    "",
])
def test_no_length_when_none_is_stated(instruction):
    assert parse_target_words(instruction) is None


def test_longbench_write_prompts_match_their_required_length():
    rows = [json.loads(line) for line in (Path(__file__).parent / "fixtures/longbench_write_en.jsonl").open()]
    stated = [r for r in rows if parse_target_words(r["prompt"]) is not None]
    assert len(stated) >= 59
    assert all(parse_target_words(r["prompt"]).words == r["length"] for r in stated)


def test_resolve_target_priority():
    assert resolve_target("a 3000-word essay", 700).words == 700
    assert resolve_target("a 3000-word essay", None).source == "instruction"
    default = resolve_target("Tell me about tides.", None)
    assert (default.words, default.source) == (DEFAULT_WORDS, "default")


@pytest.mark.parametrize("instruction, words", [
    # LongBench-Write's one prompt without a stated length expects 300 words
    ("Write a list of 15 emojis relating to various emotions, and for each emoji-emotion, write a dialog line for "
     "Nick Wilde for Zootopia where he is demonstrating that emotion", 300),
    ("Write a haiku about autumn.", 20), ("Write a tweet announcing our new coffee shop.", 40),
    ("Write a cover letter for a junior data analyst job.", 350), ("Give me 10 tips for better sleep.", 800),
    ("Write an essay on whether cities should ban cars.", 1000), ("Write a short essay on cats.", 500),
    ("Write a short story about a robot who paints.", 1200), ("Write a detailed report on the 2008 crisis.", 4000),
    ("Write a novella about a lighthouse keeper.", 20000),
])
def test_an_unstated_length_is_estimated_from_the_task(instruction, words):
    target = resolve_target(instruction, None)
    assert (target.words, target.source) == (words, "estimate") and target.phrase


def test_count_words_english_and_cjk():
    assert count_words("Hello world, it's 2024!") == 4
    assert count_words("你好世界") == 4
    assert count_words("Hello 你好 world") == 4
    assert count_words("  -- * ") == 0
    assert count_words("well-known state-of-the-art") == 2


def test_end_at_sentence_drops_a_trailing_fragment_only_when_enough_remains():
    from writer.text.lengths import end_at_sentence

    assert end_at_sentence("One two three. Four five six", 2) == "One two three."
    assert end_at_sentence("One two three. Four five six", 5) == "One two three. Four five six"
    assert end_at_sentence("One. Two.", 1) == "One. Two."
    assert end_at_sentence('He said "hi." and then', 1) == 'He said "hi."'
    assert end_at_sentence("no sentence end at all", 1) == "no sentence end at all"


def test_trim_and_clean():
    text = "One two three. Four five six. Seven eight nine."
    assert trim_to_words(text, 7) == "One two three. Four five six."
    assert trim_to_words("word " * 50, 10).split() == ["word"] * 10
    assert remove_defects("## Heading\n\nBody text.\n\nMore text.").text == "Body text.\n\nMore text."
    assert count_words(trim_to_words(prose(500), 300)) <= 300
    listed = "Steps:\n- Boil the water.\n- Warm the pot.\n\nThen steep it. Pour it out."
    assert trim_to_words(listed, 10) == "Steps:\n- Boil the water.\n- Warm the pot.\n\nThen steep it."

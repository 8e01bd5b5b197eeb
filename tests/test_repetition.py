from pathlib import Path

import pytest

from writer.text.repetition import cut_loop, loop_start

PROSE = sorted((Path(__file__).parent / "fixtures" / "prose").glob("*.md"))


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.stem)
def test_no_false_positive_on_real_prose(path):
    text = path.read_text()
    assert loop_start(text) is None
    assert cut_loop(text) == text


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.stem)
def test_repeated_sentence_loop_is_cut_where_it_starts(path):
    text = path.read_text().strip()
    sentence = "The reader will surely remember this moment for a very long time."
    looped = text + " " + sentence + (" " + sentence) * 5
    assert cut_loop(looped) == text + " " + sentence


def test_phrase_cycling_inside_one_endless_sentence_is_cut():
    head = "Tea spread along the old caravan routes and"
    looped = head + " and then the tea went on and on to the west" * 6
    cut = cut_loop(looped)
    assert cut.startswith(head) and cut.count("went on and on to the west") == 2


def test_short_repeated_sentences_are_not_loops():
    text = "Yes. No. Yes. No. It was late. It was late."
    assert loop_start(text) is None


def test_a_run_of_emoji_is_a_loop():
    """After a refusal the 0.5B wrote 900 tokens of one emoji: the guard counts symbols as words."""
    head = "I'm happy to help! 🌟 🚀"
    cut = cut_loop(head + " 🌍" * 60)
    assert cut.startswith(head) and cut.count("🌍") < 12


def test_emoji_and_typographic_punctuation_in_prose_are_not_loops():
    text = ("We planted the beds in spring — tomatoes, beans and squash 🌱. By June the beans had climbed the fence "
            "… and the squash had taken the path 🌱. “Next year,” my neighbour said, “plant less squash.” 🌱")
    assert loop_start(text) is None

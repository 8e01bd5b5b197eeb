"""Section prompts stay within the model's window however long the document grows."""

import pytest
from scripted_engine import ScriptedEngine, prose

from writer.artifacts import Plan, PlannedSection, WrittenSection
from writer.pipeline.context import OMITTED, SectionBudget, SectionMemory, section_prompt, tail_text
from writer.text.genre import narrative


def long_plan(n: int) -> Plan:
    return Plan(instruction="Write a 20000-word history of the bicycle.", target_words=n * 500,
                sections=[PlannedSection(title=f"Chapter {i}", main_point=f"Events of decade {i}", words=500)
                          for i in range(n)])


def written(n: int, words: int = 800) -> list[WrittenSection]:
    return [WrittenSection(index=i, title=f"Chapter {i}", text=prose(words, seed=i), words=words) for i in range(n)]


def test_prompt_fits_the_window_for_a_long_document():
    engine = ScriptedEngine(context_window=2048)
    plan = long_plan(40)
    budget = SectionBudget.for_words(500)
    for index in (0, 1, 20, 39):
        prompt = section_prompt(plan, index, written(index), engine, budget, history_tokens=4096)
        assert engine.count_tokens(prompt) + budget.max_tokens <= engine.context_window
        assert f"Chapter {index}" in prompt


def test_history_keeps_the_most_recent_text():
    engine = ScriptedEngine()
    sections = written(5, words=300)
    tail = tail_text(sections, engine, budget_tokens=300)
    assert tail.startswith(OMITTED)
    assert tail.endswith(sections[-1].text[-200:])  # the end of the text is what is kept
    assert "## Chapter 0" not in tail
    assert engine.count_tokens(tail) <= 300 + engine.count_tokens(OMITTED) + 10


def test_history_cap_is_respected_even_with_room_to_spare():
    engine = ScriptedEngine(context_window=100_000)
    prompt = section_prompt(long_plan(10), 9, written(9), engine, SectionBudget.for_words(500), history_tokens=256)
    assert engine.count_tokens(prompt) < 256 + 1500


def test_budget_brackets_the_word_target():
    b = SectionBudget.for_words(1000)
    # the model ends its section itself: held to at least three quarters of the budget, at most a quarter over
    assert b.min_tokens == 975 and 1600 <= b.max_tokens <= 1700


@pytest.mark.parametrize("window", [8192, 4096])
def test_context_stays_within_the_window_for_a_20000_word_document(window):
    engine = ScriptedEngine(context_window=window)
    plan = long_plan(40)
    written = [WrittenSection(index=i, title=s.title, text=prose(s.words, seed=i), words=s.words)
               for i, s in enumerate(plan.sections)]
    memory = SectionMemory(summaries=[(i, prose(80, seed=100 + i)) for i in range(40)],
                           facts={"names": [f"Captain{i}" for i in range(30)],
                                  "facts": [{"section": i, "text": prose(20, seed=200 + i)} for i in range(40)],
                                  "open_threads": [prose(12, seed=300 + i) for i in range(10)]})
    for index in (0, 1, 20, 39):
        budget = SectionBudget.for_words(plan.sections[index].words)
        mem = SectionMemory(summaries=memory.summaries[:index], facts=memory.facts, feedback="too short")
        prompt = section_prompt(plan, index, written[:index], engine, budget, history_tokens=1024, memory=mem)
        assert engine.count_tokens(prompt) + budget.max_tokens <= window
        assert f"Write section {index + 1}," in prompt and "rejected: too short" in prompt
        if index:
            assert "What the earlier sections said" in prompt and f"Section {index}: " in prompt  # newest kept
            assert "Names used so far" in prompt


def test_memory_is_capped_by_memory_tokens():
    engine = ScriptedEngine()
    plan = long_plan(30)
    memory = SectionMemory(summaries=[(i, prose(80, seed=i)) for i in range(29)])
    budget = SectionBudget.for_words(500)
    small = section_prompt(plan, 29, [], engine, budget, memory=memory, memory_tokens=200)
    large = section_prompt(plan, 29, [], engine, budget, memory=memory, memory_tokens=2000)
    assert small.count("\nSection ") < large.count("\nSection ")
    assert "Section 29: " in small  # the most recent summary is the last one dropped


def test_a_story_is_asked_to_go_on_and_an_article_not_to_introduce_its_subject_again():
    engine = ScriptedEngine(context_window=4096)
    budget = SectionBudget.for_words(300)
    story = Plan(instruction="Write a 1200-word ghost story in the first person.", target_words=1200,
                 sections=[PlannedSection(title=f"Night {i}", main_point=f"What happens on night {i}", words=300)
                           for i in range(4)])
    middle = section_prompt(story, 1, written(1, 300), engine, budget)
    assert "Do not start the story again" in middle and "Do not end the story" in middle
    assert "bring the story to its end" in section_prompt(story, 3, written(3, 300), engine, budget)
    article = long_plan(4)
    prompt = section_prompt(article, 1, written(1, 300), engine, budget)
    assert "Do not introduce the subject again" in prompt and "the story" not in prompt


@pytest.mark.parametrize(("instruction", "story"), [
    ("Write a extremely scary ghost story in the first person, about 2500 words.", True),
    ("A zombie virus breaks out in a small town. Write a 5000-word story about a group of survivors.", True),
    ("Write a fairy tale for children about a fox and a crow.", True),
    ("Write a review of the novel Middlemarch.", False),
    ("Write an essay on the history of the short story.", False),
    ("Write a 2000-word article about the history of public libraries.", False),
])
def test_stories_are_told_from_other_writing(instruction, story):
    assert narrative(instruction) is story

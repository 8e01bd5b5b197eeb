"""Section prompts stay within the model's window however long the document grows."""

from scripted_engine import ScriptedEngine, prose

from writer.artifacts import Plan, PlannedSection, WrittenSection
from writer.pipeline.context import OMITTED, SectionBudget, section_prompt, tail_text


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

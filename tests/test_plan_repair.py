import json

import pytest

from planners.agentwrite import AgentWritePlanner, plan_schema
from planners.repair import MAX_SECTION_WORDS, MIN_SECTION_WORDS, allocate, repair_plan, section_count_bounds
from scripted_engine import ScriptedEngine
from writer.calls import CallRecorder
from writer.lengths import TargetLength

INSTRUCTION = "Write an essay about the history of tea."


def sec(title, point="", words=300):
    return {"title": title, "main_point": point or f"About {title}", "words": words}


def check(sections, target):
    assert sum(s.words for s in sections) == target
    low, high = section_count_bounds(target)
    assert low <= len(sections) <= high
    if target >= MIN_SECTION_WORDS:
        assert all(MIN_SECTION_WORDS <= s.words <= MAX_SECTION_WORDS for s in sections)
    titles = [s.title.lower() for s in sections]
    assert len(set(titles)) == len(titles)
    assert all(s.title and s.main_point for s in sections)


@pytest.mark.parametrize("target", [100, 150, 400, 601, 1000, 2000, 3500, 10000, 20000])
@pytest.mark.parametrize("raw", [
    [],
    [sec("Intro", words=50)],
    [sec("Intro"), sec("Intro"), sec("Intro")],  # the small model's favourite
    [sec("A", words=5000), sec("B", words=10), sec("C", words=0)],
    [sec(f"Part {i}", words=100) for i in range(200)],
    [{"title": "", "main_point": "", "words": 100}, sec("Only")],
    ["not a dict", sec("Real")],
])
def test_repair_always_yields_a_valid_plan(raw, target):
    sections, repairs = repair_plan(INSTRUCTION, target, raw)
    check(sections, target)


def test_repair_keeps_a_good_plan_unchanged():
    raw = [sec("Origins", words=400), sec("Trade", words=300), sec("Today", words=300)]
    sections, repairs = repair_plan(INSTRUCTION, 1000, raw)
    assert [s.words for s in sections] == [400, 300, 300]
    assert repairs == []


def test_repair_keeps_proportions_when_rescaling():
    raw = [sec("A", words=200), sec("B", words=400), sec("C", words=200)]
    sections, repairs = repair_plan(INSTRUCTION, 1600, raw)
    assert [s.words for s in sections] == [400, 800, 400]
    assert any("rebalanced" in r for r in repairs)


def test_repair_fills_missing_fields_and_drops_duplicates():
    raw = [{"title": "", "main_point": "Why tea spread along trade routes", "words": 300},
           {"title": "Ceremony", "main_point": "", "words": 300},
           sec("ceremony!")]
    sections, repairs = repair_plan(INSTRUCTION, 700, raw)
    assert sections[0].title == "Why tea spread along trade routes"
    assert sections[1].main_point == "Ceremony"
    assert len(sections) == 2
    assert any("duplicate" in r for r in repairs)


def test_a_section_repeated_many_times_is_one_repair_note():
    raw = [sec("Origins"), sec("Trade")] + [sec("Ceremony")] * 60  # a small model looping in its plan JSON
    sections, repairs = repair_plan(INSTRUCTION, 10000, raw)
    assert [s.title for s in sections][:3] == ["Origins", "Trade", "Ceremony"]
    assert [r for r in repairs if "duplicate" in r] == ["dropped duplicate section 'Ceremony' (59 copies)"]


def test_targets_over_600_get_at_least_two_sections():
    sections, _ = repair_plan(INSTRUCTION, 650, [sec("Everything", words=650)])
    assert len(sections) == 2


def test_conclusion_stays_last_when_sections_are_added():
    sections, _ = repair_plan(INSTRUCTION, 5000, [sec("Intro"), sec("Conclusion")])
    assert sections[-1].title == "Conclusion"
    assert len(sections) >= 5


@pytest.mark.parametrize("weights, total, expected_sum", [([1, 1, 1], 1000, 1000), ([1, 10], 1200, 1200),
                                                          ([5, 1, 1, 1], 2000, 2000)])
def test_allocate_sums_exactly_within_bounds(weights, total, expected_sum):
    parts = allocate([float(w) for w in weights], total, 150, 1000)
    assert sum(parts) == expected_sum
    assert all(150 <= p <= 1000 for p in parts)


def test_planner_uses_the_engine_then_repairs():
    reply = {"sections": [sec("Origins", words=900), sec("Origins", words=900), sec("Trade", words=10)]}
    engine = ScriptedEngine(plan_reply=reply)
    plan, raw = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(1200, "option"))
    assert json.loads(raw) == reply
    check(plan.sections, 1200)
    assert engine.requests[0].json_schema == plan_schema(engine.requests[0].json_schema["properties"]["sections"]["maxItems"])
    assert plan.repairs


def test_planner_falls_back_when_reply_is_unusable():
    engine = ScriptedEngine(plan_reply='{"sections": [{"title": "trunc')
    plan, _ = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(2000, "option"))
    assert len(engine.requests) == 2  # one retry
    check(plan.sections, 2000)
    assert "unusable" in plan.repairs[0]

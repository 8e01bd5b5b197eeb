import json

import pytest
from scripted_engine import ScriptedEngine

from planners.agentwrite import AgentWritePlanner, parse_sections, plan_schema
from planners.repair import (
    MAX_SECTION_WORDS,
    MIN_SECTION_WORDS,
    allocate,
    repair_plan,
    section_count_bounds,
    suggested_sections,
    usable_sections,
)
from writer.calls import CallRecorder
from writer.text.lengths import TargetLength

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


@pytest.mark.parametrize("title", ["> The Haunting", ">The Haunting", "## The Haunting", "1. The Haunting",
                                   "**The Haunting**", "- The Haunting", '"The Haunting"'])
def test_markdown_around_a_planned_title_is_removed(title):
    """The 1.5B wrote quote marks before every title of a story plan ('>The Haunting of the Old Oak'); the
    heading over the section would show them."""
    sections, repairs = repair_plan(INSTRUCTION, 700, [sec(title), sec("Trade")])
    assert sections[0].title == "The Haunting"
    assert "section 1: title cleaned of Markdown marks or a numbered label" in repairs


@pytest.mark.parametrize("title", ["C# in the 2020s", "2020: a year of tea", "The 1990s"])
def test_a_title_with_marks_inside_it_is_kept(title):
    sections, repairs = repair_plan(INSTRUCTION, 700, [sec(title), sec("Trade")])
    assert sections[0].title == title and not any("Markdown" in r for r in repairs)


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
    items = engine.requests[0].json_schema["properties"]["sections"]
    assert engine.requests[0].json_schema == plan_schema(items["maxItems"], suggested_sections(1200))
    assert plan.repairs


def test_planner_falls_back_when_reply_is_unusable():
    engine = ScriptedEngine(plan_reply='{"sections": [{"title": "trunc')
    plan, _ = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(2000, "option"))
    assert len(engine.requests) == 3  # one colder retry, then the follow-up asking for the sections
    check(plan.sections, 2000)
    assert "unusable" in plan.repairs[0] and any("last resort" in r for r in plan.repairs)


def follow_up_engine(first: list[dict], second: list[dict]) -> ScriptedEngine:
    """A planner model that gives `first` and, asked for the missing sections, `second`."""
    return ScriptedEngine(reply=lambda req: json.dumps({"sections": first if len(req.messages) == 1 else second}))


WHOLE = [sec("How tea reached Europe", "Portuguese and Dutch traders brought tea to Lisbon and Amsterdam."),
         sec("The clipper races", "Fast ships such as the Cutty Sark raced the new harvest to London."),
         sec("Tea and empire", "Britain grew tea in India and Ceylon to break China's monopoly."),
         sec("Afternoon tea", "Anna, Duchess of Bedford, made a meal of tea and cake in the 1840s."),
         sec("Tea bags and what came after", "Tea bags, iced tea and bubble tea changed how tea is drunk today.")]


@pytest.mark.parametrize("first", [
    [{"title": "...", "main_point": "...", "words": 400}],  # the prompt's example copied
    [sec("Tea", "A history of tea.", words=2000)],  # one section
    WHOLE[:2],  # too few
], ids=["copied-example", "one-section", "too-few"])
def test_too_few_usable_sections_are_asked_for_again_not_filled(first):
    engine = follow_up_engine(first, WHOLE)
    plan, raw = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(1800, "option"))
    assert len(engine.requests) == 2
    follow = engine.requests[1]
    assert [m.role for m in follow.messages] == ["user", "assistant", "user"]  # it sees what it gave
    assert follow.json_schema["properties"]["sections"]["minItems"] == suggested_sections(1800)
    assert [s.title for s in plan.sections] == [s["title"] for s in WHOLE]  # no generic filler
    assert not any("generic" in r for r in plan.repairs) and "asked for the rest" in " ".join(plan.repairs)
    check(plan.sections, 1800)
    assert "..." not in engine.requests[0].messages[0].content  # nothing in the prompt to copy


def test_too_few_sections_after_the_follow_up_are_each_divided_into_their_own():
    """The 0.5B gave three sections for 2,000 words, twice: each long one is divided, not filled."""
    chapters = [sec("How tea reached Europe", "Traders brought tea to Lisbon and Amsterdam.", 1000),
                sec("Tea and empire", "Britain grew tea in India and Ceylon.", 1000),
                sec("Tea today", "Tea bags, iced tea and bubble tea.", 1000)]

    def reply(req):
        prompt = req.messages[0].content
        if "One section of it is" not in prompt:
            return json.dumps({"sections": chapters})
        title = prompt.split('One section of it is "')[1].split('"')[0]
        m = req.json_schema["properties"]["sections"]["minItems"]
        return json.dumps({"sections": [sec(f"{title}, stage {'abcd'[j]}", f"Stage {'abcd'[j]} of {title}.")
                                        for j in range(m)]})

    engine = ScriptedEngine(reply=reply)
    plan, _ = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(2000, "option"))
    divisions = [r.messages[0].content for r in engine.requests[2:]]
    assert len(divisions) == 3
    assert 'One section of it is "Tea and empire": Britain grew tea in India and Ceylon.' in divisions[1]
    assert "Divide it into 2 shorter sections" in divisions[1] and "How tea reached" not in divisions[1]
    assert [s.title for s in plan.sections] == [f"{c['title']}, stage {x}" for c in chapters for x in "ab"]
    assert "divided 3 of 3 section(s) into their own sections: 6 in all" in plan.repairs
    assert not any("generic" in r for r in plan.repairs)
    check(plan.sections, 2000)


def test_a_complete_plan_needs_no_follow_up():
    engine = follow_up_engine(WHOLE, [])
    plan, _ = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(1800, "option"))
    assert len(engine.requests) == 1 and len(plan.sections) == 5


def test_parse_sections_keeps_the_complete_sections_of_a_cut_reply():
    origins, trade = sec("Origins", "Tea began in China."), sec("Trade", "Tea crossed the seas.")
    full = {"sections": [origins, trade]}
    assert parse_sections(json.dumps(full)) == full["sections"]
    text = json.dumps(full, separators=(",", ":"))
    assert parse_sections(text[:-12]) == [origins, {"title": "Trade", "main_point": "Tea crossed the seas."}]
    assert parse_sections(text[:text.rindex(',"words"')]) == [origins, {"title": "Trade", "main_point": "Tea crossed the seas."}]
    assert parse_sections(text[:text.rindex('"main_point"')]) == [origins]  # no main point: dropped
    assert parse_sections(text[:text.rindex("the seas")]) == [origins]  # main point cut mid-sentence: dropped
    assert parse_sections('{"sections":[') == [] and parse_sections("") == [] and parse_sections("[1, 2]") == []
    assert parse_sections('{"sections":[{"title":"A"}, 7, {"title":"B"}]') == [{"title": "A"}]


def test_a_plan_that_starts_repeating_itself_is_cut_and_completed_by_the_repair():
    """The 135M model repeats one section until max_tokens; the watched request stops at the repeat."""
    looping = [sec("Origins", "How tea was first drunk in China."), sec("Trade", "How the tea trade crossed the world.")]
    looping += [sec("Tea today", "How people drink tea in many countries today.")] * 40
    engine = ScriptedEngine(plan_reply=json.dumps({"sections": looping}, separators=(",", ":")), watch_loops=True)
    plan, raw = AgentWritePlanner(CallRecorder(engine)).plan_flat(INSTRUCTION, TargetLength(5000, "option"))

    # cut, not retried; then asked for more; then each of the three sections asked to be divided
    assert engine.requests[0].stop_on_loop and len(engine.requests) == 2 + 3
    assert raw.count("Tea today") == 1  # the engine stopped at the first repeat
    check(plan.sections, 5000)
    assert [s.title for s in plan.sections[:3]] == ["Origins", "Trade", "Tea today"]
    # the follow-up and the division looped the same way: filled to the fewest sections 5,000 words allow, and
    # says so
    assert ("asked to divide 3 section(s) into their own sections; the replies gave no more distinct sections"
            in plan.repairs)
    assert len(plan.sections) == 5 and plan.sections[-1].title == "Conclusion"
    assert plan.repairs[0] == "planner reply stopped where it started repeating itself; kept its 3 complete section(s)"
    assert any("last resort" in r for r in plan.repairs)


def test_placeholder_sections_and_numbered_copies_are_dropped():
    """The 135M model's 5,000-word plan was 30 sections of "Title N": "Title N" (the prompt's example)."""
    placeholders = [{"title": f"Title {i}", "main_point": f"Title {i}", "words": 357} for i in range(1, 31)]
    sections, repairs = repair_plan(INSTRUCTION, 5000, placeholders + [sec("Tea houses", "Where people met to drink tea.")])
    check(sections, 5000)
    assert not any(s.title.startswith("Title") for s in sections) and sections[0].title == "Tea houses"
    assert "dropped 30 placeholder section(s) ('Title 1', 'Title 2', 'Title 3', ...)" in repairs

    numbered = [sec(f"Origins {i}", f"About the origins {i}") for i in range(5)]
    sections, repairs = repair_plan(INSTRUCTION, 2000, numbered)
    assert [s.title for s in sections].count("Origins 0") == 1 and not any(s.title == "Origins 1" for s in sections)
    assert "dropped duplicate section 'Origins 1'" in repairs

    steps = [sec("Step 1", "Choose the leaves."), sec("Step 2", "Heat the water."), sec("Step 3", "Let it steep.")]
    sections, _ = repair_plan(INSTRUCTION, 1200, steps)  # numbered titles with their own points are kept
    assert [s.title for s in sections] == ["Step 1", "Step 2", "Step 3"]


def test_a_long_plan_is_made_in_parts_then_their_sections_at_once():
    parts = [sec(f"Part {name}", f"What the {name} part covers.", words=2000) for name in ("one", "two", "three", "four", "five")]

    def reply(req):
        prompt = req.messages[0].content
        if "First divide it into" in prompt:
            return json.dumps({"sections": parts})
        k = int(prompt.split("Plan part ")[1].split(",")[0])
        m = req.json_schema["properties"]["sections"]["minItems"]
        words = "green black white oolong puer matcha chai rooibos sencha assam darjeeling earl".split()
        nth = ["first", "second", "third", "fourth", "fifth"][k - 1]
        return json.dumps({"sections": [sec(f"Section {k}.{j} {words[j]}", f"The {nth} part on {words[j]} tea.")
                                        for j in range(1, m + 1)]})

    engine = ScriptedEngine(reply=reply)
    plan, raw = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(10000, "option"))
    assert len(engine.requests) == 1 + 5  # the parts, then one request per part (sent as one batch)
    titles = [s.title for s in plan.sections]
    assert titles[0].startswith("Section 1.1 ") and titles[-1].startswith("Section 5.")
    assert len(plan.sections) == sum(r.json_schema["properties"]["sections"]["minItems"] for r in engine.requests[1:])
    assert plan.repairs[0].startswith("planned in 5 parts") and not any("generic" in r for r in plan.repairs)
    check(plan.sections, 10000)


def test_parts_that_repeat_their_own_titles_are_followed_up_before_any_filler():
    """The 0.5B model's 10,000-word handbook: each part's sections were the three parts' titles again, so the
    dedupe left 3 sections of 25 and the repair added fillers. Now the model is shown what it has and asked for
    the whole list first."""
    parts = [sec("Welcome", "Greeting new volunteers.", words=3000), sec("Animal care", "Feeding and cleaning.",
             words=4000), sec("Safety", "Handling animals safely.", words=3000)]
    topics = ("arrival tour rules schedule feeding cleaning walking grooming medicine kennels cats dogs rabbits "
              "adoption events fundraising bites gloves fire exits lifting records contacts thanks goodbye").split()

    def reply(req):
        prompt = req.messages[-1].content
        if "First divide it into" in prompt:
            return json.dumps({"sections": parts})
        if "Plan part " in prompt:
            return json.dumps({"sections": parts})  # the parts' own titles, again
        m = req.json_schema["properties"]["sections"]["minItems"]
        return json.dumps({"sections": [sec(f"The {w} guide", f"What a volunteer needs to know about {w}.")
                                        for w in topics[:m]]})

    engine = ScriptedEngine(reply=reply)
    plan, _ = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(10000, "option"))
    assert len(engine.requests) == 1 + 3 + 1  # the parts, their sections, then the follow-up
    assert any(r.startswith("the parts gave 3 usable section(s) of") for r in plan.repairs)
    assert not any("generic" in r for r in plan.repairs) and len(plan.sections) >= 20
    check(plan.sections, 10000)


def test_an_introduction_goes_first_and_a_conclusion_last():
    sections, repairs = repair_plan(INSTRUCTION, 1200, [sec("Trade", "How tea moved."), sec("Conclusion", "The end."),
                                                        sec("Introduction", "Why tea."), sec("Today", "Tea now.")])
    assert [s.title for s in sections] == ["Introduction", "Trade", "Today", "Conclusion"]
    assert "moved sections into reading order: an opening first, a background next, a close last" in repairs


def test_a_background_section_follows_the_introduction():
    sections, _ = repair_plan(INSTRUCTION, 1500, [sec("Introduction", "Why tea."), sec("Trade", "How tea moved."),
                                                  sec("Background", "Where tea grew first."), sec("Conclusion", "The end.")])
    assert [s.title for s in sections] == ["Introduction", "Background", "Trade", "Conclusion"]


def test_a_main_point_written_as_a_paragraph_is_cut_to_its_first_whole_sentences():
    paragraph = ("Tea reached London in the 1650s through Dutch traders. Coffee houses sold it as a tonic. "
                 "By 1700 it was sold by grocers, and the East India Company began shipping it in bulk,")
    items, repairs = usable_sections([sec("Arrival", paragraph)])
    assert items[0]["main_point"] == "Tea reached London in the 1650s through Dutch traders. Coffee houses sold it as a tonic."
    assert repairs == ["section 1: main point cut to its first whole sentences"]
    one = "Tea reached London in the 1650s through Dutch traders."
    assert usable_sections([sec("Arrival", one)]) == ([{"title": "Arrival", "main_point": one, "words": 300}], [])



@pytest.mark.parametrize("point, matter", [
    ("The article will be about refugee problems in Sudan, focusing on the challenges refugees face.",
     "Refugee problems in Sudan, focusing on the challenges refugees face."),
    ("The article will cover the history, culture and economy of Sudan and South Sudan.",
     "The history, culture and economy of Sudan and South Sudan."),
    ("In this section, we will discuss how tea reached London.", "How tea reached London."),
])
def test_a_main_point_saying_what_the_piece_will_do_keeps_what_it_is_about(point, matter):
    """The 0.5B planned "The article will be about ...", and its introduction, quoting it, announced the article
    ("The piece will be divided into two sections ...") instead of writing it."""
    items, repairs = usable_sections([sec("Background", point)])
    assert items[0]["main_point"] == matter
    assert repairs == ["section 1: main point said what the piece will do; kept what it is about"]
    for kept in ("The Nile covers much of Sudan.", "The article covers.", "Tea covers the hills of Assam."):
        assert usable_sections([sec("Background", kept)])[0][0]["main_point"] == kept


def test_back_matter_and_a_second_close_are_dropped_and_recorded():
    """The 0.5B planned a travel guide as Introduction, History, Culture, Lifestyle, References, Appendices,
    Contact, Conclusion, Summary: the pipeline would write made-up references and addresses, and close twice."""
    titles = ["Introduction", "History", "Culture", "Lifestyle", "References", "Appendices", "Contact",
              "Conclusion", "Summary"]
    sections, repairs = repair_plan("A Hong Kong travel guide, approximately 3000 words", 3000,
                                    [sec(t, f"What a visitor should know about {t.lower()} in Hong Kong.")
                                     for t in titles])
    assert [s.title for s in sections] == ["Introduction", "History", "Culture", "Lifestyle", "Conclusion"]
    assert sum(s.words for s in sections) == 3000
    for dropped in ("'References': back matter", "'Appendices': back matter", "'Contact': back matter",
                    "'Summary': a second close"):
        assert any(dropped in r for r in repairs), repairs
    assert not any("generic" in r for r in repairs)


@pytest.mark.parametrize("title", ["Sources of Funding", "Contact with Europe", "A Summary of the Evidence",
                                   "Glossary", "Notes on Brewing", "Indexing the Collection"])
def test_titles_that_only_start_like_back_matter_are_kept(title):
    items, repairs = usable_sections([sec("Opening"), sec(title), sec("Closing Thoughts")])
    assert [i["title"] for i in items] == ["Opening", title, "Closing Thoughts"] and not repairs


def test_the_follow_up_asks_again_when_dropped_back_matter_leaves_too_few():
    """A reply whose sections are mostly back matter is short of sections: the model is asked for the rest."""
    first = json.dumps({"sections": [sec("The First Tea Houses", "How tea houses began in Tang China."),
                                     sec("References"), sec("Bibliography"), sec("Index"), sec("Appendix A")]})
    full = json.dumps({"sections": [sec(t, f"How {t.lower()} shaped the history of tea.") for t in
                                    ["The First Tea Houses", "Tea on the Silk Road", "The Dutch Trade",
                                     "Tea in Britain", "Plantations in India", "Tea Today"]]})
    replies = iter([first, full])
    engine = ScriptedEngine(reply=lambda req: next(replies))
    plan, _ = AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(2000, "instruction"))
    assert [s.title for s in plan.sections][:2] == ["The First Tea Houses", "Tea on the Silk Road"]
    assert not any(s.title in ("References", "Bibliography", "Index", "Appendix A") for s in plan.sections)
    assert any("asked for the rest" in r for r in plan.repairs)


def test_a_lead_shared_by_several_titles_is_dropped_and_numbered_labels_too():
    """The 1.5B titled five sections of a story "The Last Chapter: ..."; the headings would repeat it. Numbered
    labels differ from title to title, and go as labels."""
    raw = [sec("The Outbreak"), sec("The Long Night: The Siege"), sec("The Long Night: The Bridge")]
    sections, repairs = repair_plan(INSTRUCTION, 900, raw)
    assert [s.title for s in sections] == ["The Outbreak", "The Siege", "The Bridge"]
    assert "dropped 'The Long Night' shared by 2 titles" in repairs
    raw = [sec("The Outbreak"), sec("The Last Chapter: The Siege"), sec("The Last Chapter: The Bridge")]
    assert [s.title for s in repair_plan(INSTRUCTION, 900, raw)[0]] == ["The Outbreak", "The Siege", "The Bridge"]
    numbered = [sec("Chapter 1: The Storm"), sec("Chapter 2: The Letters")]
    assert [s.title for s in repair_plan(INSTRUCTION, 900, numbered)[0]] == ["The Storm", "The Letters"]


def test_a_story_is_planned_as_one_story_told_in_order():
    engine = ScriptedEngine(plan_reply={"sections": [sec("The Knock"), sec("The Letters"), sec("The Crossing")]})
    AgentWritePlanner(CallRecorder(engine)).plan("Write a 900-word story about a lighthouse keeper.",
                                                 TargetLength(900, "instruction"))
    prompt = engine.requests[0].messages[0].content
    assert "sections of one story, told in order" in prompt and "naming the story's characters" in prompt
    AgentWritePlanner(CallRecorder(engine)).plan(INSTRUCTION, TargetLength(900, "instruction"))
    assert "one story" not in engine.requests[-1].messages[0].content


@pytest.mark.parametrize(("title", "plain"), [
    ("The Second Chapter 2: The First Line of Escape", "The First Line of Escape"),
    ("The Beginning of the Chapter 1: A Zombie Virus Breaks Out", "A Zombie Virus Breaks Out"),
    ("Chapter 1: The Storm", "The Storm"), ("Part II - The Letters", "The Letters"), ("Act One: Arrival", "Arrival"),
    ("Part of the Problem: Why Fees Rose", "Part of the Problem: Why Fees Rose"), ("Chapter 3", "Chapter 3"),
])
def test_a_numbered_label_before_a_planned_title_is_removed(title, plain):
    """The 0.5B's story plans: 'The Second Chapter 2: The First Line of Escape'. Headings are the titles."""
    sections, _ = repair_plan(INSTRUCTION, 700, [sec(title), sec("Trade")])
    assert sections[0].title == plain


def test_titles_that_differ_only_by_an_apostrophe_are_duplicates():
    """The 0.5B's plan for an introduction to pandas had "Panda's Social Behavior" and "Pandas' Social Behavior"."""
    raw = [sec("Panda's Social Behavior"), sec("What Pandas Eat"), sec("Pandas' Social Behavior")]
    sections, repairs = repair_plan("Write a 1000 words introduction about panda", 900, raw)
    assert [s.title for s in sections].count("Panda's Social Behavior") == 1
    assert "Pandas' Social Behavior" not in [s.title for s in sections]
    assert any("duplicate section \"Pandas' Social Behavior\"" in r for r in repairs)


def test_a_main_point_about_the_piece_itself_gives_way_to_the_title():
    """The 0.5B's plan of a wedding speech: every main point was about "the piece", and so was every section."""
    raw = [sec("Gratitude to Our Parents", "The piece is a soon-to-be-married individual who has been preparing a "
               "piece of writing for a future period."),
           sec("Our Future Together", "The future of the piece is promising, with the piece being a well-researched "
               "and well-written work."),
           sec("A Piece of Cake", "How the wedding cake, a piece of our grandmother's recipe book, was baked.")]
    sections, repairs = repair_plan("Prepare an 800-word wedding speech.", 900, raw)
    points = {s.title: s.main_point for s in sections}
    assert points["Gratitude to Our Parents"] == "Gratitude to Our Parents"
    assert points["Our Future Together"] == "Our Future Together"
    assert points["A Piece of Cake"].startswith("How the wedding cake")
    assert sum("main point was about the piece itself" in r for r in repairs) == 2

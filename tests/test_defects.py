"""The defect checks: each kind found and cut on crafted texts, prose that resembles them left alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from writer.text.defects import Place, banned_words, count_document, feedback, find_defects, remove_defects

FIXTURES = Path(__file__).parent / "fixtures" / "prose"
TITLES = ("Before the Public Library", "Subscription Libraries", "The Public Libraries Act", "Carnegie's Libraries")
INSTRUCTION = "Write a 2000-word article about the history of public libraries."
P1 = ("Andrew Carnegie paid for more than two thousand library buildings between 1883 and 1929. His grants came with "
      "a condition: the town had to provide the site and fund books and staff every year.")
P2 = ("Inside those buildings, open stacks let readers browse for themselves. A patron no longer had to ask a clerk "
      "for each title, and librarians began to choose books for curiosity as well as for duty.")


def placed(index: int, titles: tuple[str, ...], instruction: str, **kw) -> Place:
    """Section `index` of a document with these `titles`, written for `instruction`."""
    return Place(index=index, count=len(titles), title=titles[index], instruction=instruction,
                 other_titles=tuple(t for i, t in enumerate(titles) if i != index), **kw)


def middle(index: int = 1, **kw) -> Place:
    return placed(index, tuple(kw.pop("titles", TITLES)), INSTRUCTION, **kw)


def kinds(text: str, place: Place | None = None, earlier: str = "") -> Counter:
    return Counter(f.kind for f in find_defects(text, place or middle(3), earlier))


def flagged(before: str, proses: tuple[str, ...], place: Place, sep: str = " ") -> list[str]:
    """Those of `proses`, each written after `before`, in which the checks find anything: prose that only resembles
    a defect must give none."""
    return [prose for prose in proses if kinds(f"{before}{sep}{prose}", place)]


@pytest.mark.parametrize("line", ["### Carnegie's Money", "**Carnegie's Money**", "Title: The History of Libraries",
                                  "<<The Carnegie Era>>", "Carnegie's Libraries", "The Carnegie Era"])
def test_a_leading_title_or_heading_line_is_cut(line):
    cleaned = remove_defects(f"{line}\n\n{P1}\n\n{P2}", middle(3))
    assert cleaned.text == f"{P1}\n\n{P2}"
    assert cleaned.found == Counter(heading=1) and not cleaned.left


@pytest.mark.parametrize("heading", ["#### Open stacks", "Section 5: Open stacks", "**Open stacks:**"])
def test_an_inner_sub_heading_is_cut_and_its_text_kept(heading):
    cleaned = remove_defects(f"{P1}\n\n{heading}\n\n{P2}", middle(3))
    assert cleaned.text == f"{P1}\n\n{P2}"
    assert cleaned.found == Counter(heading=1)


@pytest.mark.parametrize("label", ["Section 2: Subscription Libraries and the Idea of Free Access",
                                   "### Part 3: The Public Libraries Act", "The Public Libraries Act"])
def test_a_label_of_another_section_cuts_the_rest(label):
    """A model that labels the next section has started writing the rest of the document."""
    cleaned = remove_defects(f"{P1}\n\n{label}\n\n{P2}", middle(3))
    assert cleaned.text == P1
    assert cleaned.found == Counter(heading=1)


def test_a_closing_overall_paragraph_is_a_conclusion_only_at_a_section_end():
    closing = "Overall, Carnegie's libraries are a complex and fascinating part of history that shaped many towns."
    assert remove_defects(f"{P1}\n\n{P2}\n\n{closing}", middle(1)).found == Counter(conclusion=1)
    assert kinds(f"{P1}\n\n{closing}\n\n{P2}", middle(1)) == Counter()  # mid-section: a summing-up sentence
    assert kinds(f"{P1}\n\n{P2}\n\n{closing}", middle(3)) == Counter()  # the last section may close


def test_a_conclusion_before_the_last_section_is_cut_but_the_last_may_conclude():
    closing = "In conclusion, Carnegie's libraries changed how towns thought about reading and about themselves."
    text = f"{P1}\n\n{P2}\n\n{closing}"
    assert remove_defects(text, middle(1)).text == f"{P1}\n\n{P2}"
    assert remove_defects(text, middle(1)).found == Counter(conclusion=1)
    assert kinds(text, middle(3)) == Counter()


@pytest.mark.parametrize("second", [
    "In summary, public libraries have a rich history that spans over a century.",
    "Overall, Carnegie's libraries are a complex and fascinating part of history that shaped many towns."])
def test_the_last_section_closing_a_second_time_loses_the_second_close(second):
    """The 0.5B's libraries article ended "In conclusion, ..." and then "In summary, ..." again."""
    first = "In conclusion, Carnegie's libraries changed how towns thought about reading and about themselves."
    cleaned = remove_defects(f"{P1}\n\n{first}\n\n{second}", middle(3))
    assert cleaned.text == f"{P1}\n\n{first}" and cleaned.found == Counter(conclusion=1)
    assert kinds(f"{P1}\n\n{P2}\n\n{second}", middle(3)) == Counter()  # one close, however it opens
    assert kinds(f"{first}\n\n{P1}\n\n{P2}", middle(3)) == Counter()


@pytest.mark.parametrize("remark", [
    "Sure! Here is the next section of the article:",
    "I hope this helps! Let me know if you would like any changes.",
    "This is a very well-written article. However, I do have one suggestion for improvement.",
    "The past part concludes with this paragraph:",
    "(Word count: 350)",
    "I hope this article has helped you understand the history of public libraries, and I hope you find it "
    "informative and entertaining. If you have any questions or need further information, feel free to ask.",
    "To learn more about public libraries, you can visit the websites of the American Library Association or read "
    "books on the subject.",
    "The piece is now about twice as long as it was before. The introduction has been divided into two parts. The "
    "article then provides an overview of the causes, including the role of towns and their councils.",
    'In section 2, "Subscription Libraries", the piece continues the discussion about libraries. It provides an '
    "overview of the subscription era. The article then covers the first public libraries.",
    "This is the first section of the article. It then goes on to describe the history of public libraries.",
    "The article is 400 words long, and it covers a wide range of topics. It provides a summary of the article.",
    "This is the last section of the 400 planned article. Please let me know if you need any further assistance. "
    "I'm here to help!",
])
def test_remarks_about_the_text_are_cut(remark):
    for text in (f"{remark}\n\n{P1}\n\n{P2}", f"{P1}\n\n{P2}\n\n{remark}", f"{P1}\n\n{remark}\n\n{P2}"):
        cleaned = remove_defects(text, middle(1))
        assert cleaned.text == f"{P1}\n\n{P2}", text
        assert cleaned.found == Counter(chatter=1)


def test_a_meta_opening_sentence_is_cut_from_its_paragraph():
    text = f"In this section, we will explore how Carnegie changed libraries. {P1}"
    cleaned = remove_defects(text, middle(1))
    assert cleaned.text == P1 and cleaned.found == Counter(chatter=1)


def test_an_echo_of_the_prompt_is_cut():
    prompt = (f"{INSTRUCTION}\n\nWrite section 4, \"Carnegie's Libraries\" (about 350 words): Andrew Carnegie funded "
              "more than 2,500 library buildings between 1883 and 1929, on condition that towns paid for their upkeep.")
    echo = ("Carnegie's Libraries: Andrew Carnegie funded more than 2,500 library buildings between 1883 and 1929, "
            "on condition that towns paid for their upkeep.")
    cleaned = remove_defects(f"{echo}\n\n{P1}\n\n{P2}", middle(3, prompt=prompt))
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found == Counter(echo=1)
    scaffold = remove_defects(f"{P1}\n\nNow write section 5, \"The Digital Library\" (about 300 words).", middle(3))
    assert scaffold.text == P1 and scaffold.found == Counter(echo=1)
    extender = remove_defects(f"{P1}\n\nHere's a longer, more detailed version of what it already says:\n\n{P2}",
                              middle(3))
    assert extender.text == f"{P1}\n\n{P2}" and sum(extender.found.values()) == 1


@pytest.mark.parametrize("tail", [
    "Compute the derivative of the function f(x) = x^3 + 2x^2 + 3x + 4 using the power rule.",
    "```python\nimport os\nprint(os.listdir('.'))\n```",
    "Question: What is the capital of France?\nAnswer: Paris.",
    "What specific types of books did early libraries keep? How did they store and manage their collections?",
    "[Your Name]\n[Your Contact Information]\n[Your Company Name]\n[Your Website]",
])
def test_off_task_text_is_cut_with_everything_after_it(tail):
    after = "" if tail.endswith("?") else f"\n\n{P2}"  # questions count only where the section ends
    cleaned = remove_defects(f"{P1}\n\n{tail}{after}", middle(1))
    assert cleaned.text == P1 and cleaned.found == Counter(off_task=1)


def test_a_closing_rhetorical_question_stays():
    text = f"{P1}\n\nWhat would a town be without its library?"
    assert kinds(text, middle(1)) == Counter()


@pytest.mark.parametrize("instruction", ["Write a tutorial with Python code examples about files.",
                                         "As a Java expert blogger, write a post about hot-pluggable AOP in Spring."])
def test_code_is_not_off_task_in_a_piece_about_programming(instruction):
    text = f"{P1}\n\n```python\nimport os\n```"
    assert kinds(text, Place(index=0, count=2, instruction=instruction)) == Counter()


def test_sentences_from_earlier_sections_are_cut_keeping_the_rest():
    repeat = "His grants came with a condition: the town had to provide the site and fund books and staff every year."
    text = f"Librarians soon opened the stacks. {repeat}\n\n{P2}"
    cleaned = remove_defects(text, middle(2), earlier=P1)
    assert cleaned.text == f"Librarians soon opened the stacks.\n\n{P2}"
    assert cleaned.found == Counter(repeated=1)


def test_an_opening_that_restarts_the_topic_is_cut():
    restart = "Public libraries have been a cornerstone of our society since ancient times."
    text = f"{restart} {P1}\n\n{P2}"
    cleaned = remove_defects(text, middle(2), earlier="Public libraries are younger than most people think.")
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found == Counter(restart=1)
    assert kinds(text, middle(0)) == Counter()  # the first section may introduce


def test_lists_keep_their_lines_when_something_is_cut():
    text = ("### Warning signs\n\nWatch for these signs:\n- **Intimidation**: the dog stares and stiffens.\n"
            "- **Animal defence**: it guards food or toys.\n\nIn conclusion, learn the signs early.")
    cleaned = remove_defects(text, middle(1))
    assert cleaned.text == ("Watch for these signs:\n\n- **Intimidation**: the dog stares and stiffens.\n"
                            "- **Animal defence**: it guards food or toys.")  # the blank line before the list: pandoc needs it


@pytest.mark.parametrize("name", ["bread.md", "libraries.md", "tides.md"])
def test_real_prose_has_no_defects(name):
    text = (FIXTURES / name).read_text()
    assert count_document(text, instruction="Write an article.") == Counter()


@pytest.mark.parametrize("prose", [
    "Here the river bends twice before it reaches the sea, and the town grew up on the inner curve.",
    "Overall, the reforms worked: by 1900 most towns had a reading room.",
    "Find a quiet corner, open the book, and let the first page decide whether you stay.",
    "In short sentences, the guide explains each step.",
    "The Carnegie grants, in summary form, asked three things of a town.",
])
def test_prose_that_resembles_a_defect_stays(prose):
    text = f"{P1}\n\n{prose}\n\n{P2}"
    assert kinds(text, middle(1), earlier="Some earlier text about reading rooms.") == Counter(), prose


def test_numbered_heading_lines_over_paragraphs_are_cut_but_numbered_steps_stay():
    text = f"1. Carnegie's Money\n\n{P1}\n\n2. Open Stacks\n\n{P2}"
    assert remove_defects(text, middle(1)).text == f"{P1}\n\n{P2}"
    steps = "1. Choose the leaves.\n2. Heat the water.\n3. Let it steep."
    assert kinds(f"{P1}\n\n{steps}", middle(1)) == Counter()


def test_our_prompt_copied_as_a_lead_in_line_is_cut():
    prompt = f"{INSTRUCTION}\n\nWrite section 2, \"Subscription Libraries\", in about 300 words: How members paid."
    place = Place(index=1, count=4, title=TITLES[1], other_titles=(TITLES[0], TITLES[2], TITLES[3]),
                  instruction=INSTRUCTION, prompt=prompt)
    text = f"{P1}\nWrite a 2000-word article about the history of public libraries:\n{P2}"
    assert "2000-word" not in remove_defects(text, place).text
    assert kinds(f"{P1} The next section, which comes after this one, covers fees.", middle(1))["echo"] == 1


def test_stray_characters_of_another_script_are_dropped_from_english_text():
    glitch = "Tides shape the movement,隆 and the erosion of coasts."
    assert remove_defects(f"{P1}\n\n{glitch}", middle(1)).text == f"{P1}\n\nTides shape the movement, and the erosion of coasts."
    chinese = Place(index=0, count=1, instruction="写一篇关于潮汐的文章。")
    assert remove_defects(glitch, chinese).text == glitch


def test_a_poem_keeps_its_short_lines():
    poem = "The lamp is lit\nThe page is turned\nThe reader stays\nUntil the night has burned"
    place = Place(index=0, count=1, instruction="Write a poem about reading at night.")
    assert kinds(f"{poem}\n\n{poem.upper()}", place) == Counter()


def test_count_document_splits_at_the_plan_headings():
    doc = (f"## Origins\n\n{P1}\n\nIn conclusion, that was the start.\n\n## The Carnegie Era\n\n### Money\n\n{P2}\n\n"
           "In conclusion, the last section may conclude.\n")
    assert count_document(doc, instruction=INSTRUCTION) == Counter(conclusion=1, heading=1)


@pytest.mark.parametrize("lead", [
    "Sure, here is the edited version of the paragraph with all necessary edits:",
    "Here's the revised text:",
    "Certainly!",
    "Below is the expanded section.",
    "This edited version adds more detail:",
    "Here is section 3 of the article, about 300 words:",
])
def test_leading_announcements_are_cut(lead):
    assert remove_defects(f"{lead}\n\n{P1}\n\n{P2}", middle(1)).text == f"{P1}\n\n{P2}"


@pytest.mark.parametrize("prose", [
    "Here is where the story of the press begins: in Mainz, around 1450.",
    "Sure enough, the printers moved to Venice within a generation.",
    "This is the version of events most historians accept, though some dispute the dates, and the argument "
    "has gone on for a long time among scholars of the early modern book trade in Europe and beyond it:",
    "Let me be clear about one thing.",
])
def test_prose_that_resembles_chatter_stays(prose):
    assert kinds(f"{prose}\n\n{P1}", middle(1)) == Counter(), prose


def test_feedback_names_every_kind_left_for_the_model():
    left = find_defects(f"{P1}\n\nCompute the derivative of f(x) = x^2 using the power rule.", middle(1))
    message = feedback(left)
    assert message.startswith("it contained text about something else") and "derivative" in message


def test_banned_words_stay_within_vllms_limit():
    titles = tuple(f"A long planned section title number {k}" for k in range(30))
    words = banned_words(Place(index=3, count=31, other_titles=titles))
    assert "Section" in words and "In conclusion" in words and len(words) <= 64  # vLLM: 128 token sequences
    assert banned_words(Place(index=0, count=1)) == []  # a one-section text may have a title and conclude


def test_a_sentence_left_pointing_at_a_cut_opening_goes_with_it():
    earlier = "The Library of Congress was founded in 1800 to serve the members of Congress in Washington."
    text = (f"{earlier} It was designed to be a resource for the government. Town libraries spread across the "
            "country after 1850, paid for by local taxes and by gifts.")
    cleaned = remove_defects(text, middle(1), earlier=earlier)
    assert cleaned.text == "Town libraries spread across the country after 1850, paid for by local taxes and by gifts."
    # after a cut heading the paragraph is whole: its "They" has the section's title to lean on
    text = "### Night hunters\n\nThey fly without a sound. Owls hunt voles, mice and beetles in the fields at dusk."
    assert remove_defects(text, middle(1)).text == ("They fly without a sound. Owls hunt voles, mice and beetles in "
                                                    "the fields at dusk.")


def test_a_section_describing_itself_is_chatter():
    # from a compose: the whole second section described a section instead of being one
    text = ("This section introduces the history of public libraries, including their origins and evolution. It covers "
            "the founding of libraries in ancient civilizations. The rise of libraries was fuelled by the need for "
            "books. It also includes examples of libraries, such as the New York Library. This section provides a "
            "comprehensive overview of the history of public libraries. Finally, it concludes by providing insights "
            f"into the role of libraries.\n\n{P1}")
    assert remove_defects(text, middle(1)).text == P1
    prose = f"The park lies north of the river. It covers forty acres and includes a reading room.\n\n{P1}"
    assert kinds(prose, middle(1)) == Counter()  # "It covers" alone describes a place, not the piece


def test_an_opening_that_copies_the_previous_sections_main_point_is_cut():
    point = ("The history of public libraries can be traced back to ancient civilizations, where libraries were "
             "established to preserve and distribute knowledge.")
    copied = ("Early public libraries can be traced back to ancient civilizations, where libraries were established "
              "to preserve and distribute knowledge.")
    place = middle(2, previous_point=point)
    cleaned = remove_defects(f"{copied} {P1}\n\n{P2}", place)
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found == Counter(echo=1)
    assert kinds(f"{copied} {P1}", middle(2)) == Counter()  # a point no prompt showed is the section's own


def test_an_opening_about_the_previous_section_is_cut():
    titles = ("Introduction", "The Rise of Public Libraries", "The Modern Era of Public Libraries", "Conclusion")
    place = middle(2, titles=titles, previous_title=titles[1])
    opening = "The rise of public libraries was a significant historical event that began in the 19th century."
    cleaned = remove_defects(f"{opening} It was a period of growing cities. {P1}\n\n{P2}", place)
    assert cleaned.text == f"{P1}\n\n{P2}"  # the pronoun sentence after it goes too
    own = "The rise of public libraries led straight into the modern era, when the state paid for them."
    assert kinds(f"{own} {P1}", place) == Counter()  # it leads with this section's own subject as well


def test_a_sentence_said_again_in_the_same_section_with_a_word_changed_is_cut():
    first = ("Public libraries have also made progress in their access to technology, allowing them to serve people "
             "of all abilities and to provide access to information and resources online.")
    again = first.replace("access to technology", "use of technology")
    cleaned = remove_defects(f"{first} {again}\n\n{P2}", middle(1))
    assert cleaned.text == f"{first}\n\n{P2}" and cleaned.found == Counter(repeated=1)
    parallel = ("He paid for the building and the books in Pittsburgh. He paid for the building and the staff in "
                "Allegheny City.")
    assert kinds(f"{parallel}\n\n{P2}", middle(1)) == Counter()  # parallel sentences are style, not a loop


def test_a_later_section_copying_the_instruction_loses_that_sentence():
    instruction = ("Please provide a detailed description of dinosaurs, including their characteristics, life cycle, "
                   "species diversity, habitats, and the main reasons for their extinction on Earth.")
    copied = ("Here's a detailed description of dinosaurs, including their characteristics, life cycle, species "
              "diversity, habitats, and the main reasons for their extinction on Earth.")
    place = Place(index=2, count=4, title="Extinction", instruction=instruction)
    assert remove_defects(f"{P1} {copied}\n\n{P2}", place).text == f"{P1}\n\n{P2}"


def test_a_numbered_list_is_counted_again_after_a_cut_item():
    repeat = "His grants came with a condition: the town had to provide the site and fund books and staff every year."
    text = (f"Key points:\n\n1. Andrew Carnegie paid for the buildings.\n\n2. Towns paid for books.\n\n3. {repeat}\n\n"
            "4. Open stacks followed.")
    assert remove_defects(text, middle(2), earlier=P1).text == (
        "Key points:\n\n1. Andrew Carnegie paid for the buildings.\n\n2. Towns paid for books.\n\n"
        "3. Open stacks followed.")


def test_a_list_whose_first_item_was_cut_starts_at_one_and_no_bare_marker_ends_a_section():
    from writer.text.lengths import end_at_sentence

    repeat = "His grants came with a condition: the town had to provide the site and fund books and staff every year."
    text = f"These include:\n\n1. {repeat}\n\n2. Libraries in the United States lend books."
    assert remove_defects(text, middle(2), earlier=P1).text == (
        "These include:\n\n1. Libraries in the United States lend books.")
    assert end_at_sentence("Libraries lend books to everyone.\n\n2. Libraries in the", 3) == (
        "Libraries lend books to everyone.")


def test_the_piece_announcing_itself_is_cut_wherever_the_sentence_is():
    """From a 0.5B report on refugees: an introduction saying what "the article aims to" do, a later section ending
    its first paragraph with "In this piece, we will explore ...", and a close opening with "The piece will cover"."""
    aims = f"{P1} The article aims to provide an overview of these issues and how they affect local communities."
    cleaned = remove_defects(f"{aims}\n\n{P2}", middle(0))
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found == Counter(chatter=1)
    will = f"{P1} In this piece, we will explore the background of library funding and the measures taken."
    assert remove_defects(f"{will}\n\n{P2}", middle(1)).text == f"{P1}\n\n{P2}"
    cover = f"The piece will cover the background of these grants, including their causes and impacts. {P2}"
    assert remove_defects(f"{P1}\n\n{cover}", middle(2)).text == f"{P1}\n\n{P2}"


@pytest.mark.parametrize("prose", [
    "The guide will cover the entrance fee for the whole group, and lunch is served at the harbour.",
    "The text will appear on the screen once the reader taps the page.",
    "Her essay aims at nothing less than a new history of the town.",
])
def test_prose_about_guides_and_texts_is_not_the_piece_announcing_itself(prose):
    assert kinds(f"{P1} {prose}\n\n{P2}", middle(1)) == Counter(), prose


def test_the_document_describing_what_it_offers_its_reader_is_chatter():
    """From a 0.5B travel guide to Hong Kong (planned by the 1.5B): a section opening by describing the "Hong
    Kong History section", another ending with a paragraph about what "the travel guide provides readers"."""
    section = ("The Hong Kong History section begins by introducing the city to the reader, setting the tone for the "
               "rest of the guide.")
    assert remove_defects(f"{P1}\n\n{section}\n\n{P2}", middle(1)).text == f"{P1}\n\n{P2}"
    about = ("Travel Guide: The travel guide provides readers with information on the history of Hong Kong. The guide "
             "is designed to be easy to read and navigate, with clear headings.")
    cleaned = remove_defects(f"{P1}\n\n{P2}\n\n{about}", middle(2))
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found["chatter"] >= 1


def test_a_table_of_contents_in_prose_is_chatter():
    """The 0.5B's "Background" section of the README's library article listed the sections instead of writing one."""
    toc = ("In the second section, we focus on the background of the history of public libraries.\n\n"
           "In the sixth section, we end our analysis of the history of public libraries.")
    assert remove_defects(f"{P1}\n\n{toc}\n\n{P2}", middle(1)).text == f"{P1}\n\n{P2}"
    told = "In the second part of the war, we lost the harbour and most of the fleet."
    assert kinds(f"{P1} {told}\n\n{P2}", middle(1)) == Counter()


@pytest.mark.parametrize("prose", [
    "The museum provides readers with a quiet room on the first floor.",
    "The harbour section of the walk begins at the ferry pier.",
    "The brass section begins with a low fanfare before the strings come in.",
    "Our guide was designed to be used by children, the curator said.",
])
def test_prose_about_sections_and_guides_is_not_chatter(prose):
    assert kinds(f"{P1} {prose}\n\n{P2}", middle(1)) == Counter(), prose


def test_our_last_section_instruction_said_back_is_an_echo():
    text = f"{P1}\n\nThis is the last section: bring the piece to a close.\n\n{P2}"
    cleaned = remove_defects(text, middle(3))
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found == Counter(echo=1)


def test_a_section_starting_in_lower_case_is_capitalised():
    """The 0.5B began its first section " refugees in Sudan and South Sudan have been facing ..."."""
    assert remove_defects(" refugees in Sudan have faced hunger for years. " + P1, middle(0)).text.lstrip().startswith(
        "Refugees in Sudan")
    assert remove_defects("iPhone sales rose that year. " + P1, middle(0)).text.startswith("iPhone sales")


def test_a_paragraph_describing_the_story_is_chatter():
    """A 0.5B ghost story ended a middle section with a paragraph about the story instead of the story."""
    about = ("This story provides a more detailed account of the ghosts' behavior and the reasons why they are hiding "
             "in the house. It also gives Alex the opportunity to confront the ghosts. The story explores themes such "
             "as power, courage, and resilience. The story also touches on the dangers of living in a haunted house. "
             "The story ends with Alex returning to the safe house.")
    assert remove_defects(f"{P1}\n\n{P2}\n\n{about}", middle(1)).text == f"{P1}\n\n{P2}"
    told = ('"The story ends with the king asleep," Grandmother said, and closed the book. We begged for another, '
            "but she only laughed and sent us up the stairs to bed.")
    assert kinds(f"{P1}\n\n{told}", middle(1)) == Counter()


STORY = "Write a 600-word story about a lighthouse keeper who leaves his post."
GUIDE = "A Hong Kong Travel Guide, approximately 3000 words"
EARLIER_STORY = "Tomas had kept the Gull Rock light for thirty years, and the supply boat had never been late."
STORY_P = ("Tomas read the letters at the kitchen table while Ana dried her boots by the stove. His sister had written "
           "every spring, and in each letter she asked whether he would ever come home.")


def story_place(index: int, count: int = 4) -> Place:
    return Place(index=index, count=count, title="The Letters", instruction=STORY)


def test_a_written_story_has_no_defects():
    text = (FIXTURES / "keeper_story.md").read_text()
    assert count_document(text, instruction=STORY) == Counter()


@pytest.mark.parametrize("opening", [
    "In a small town nestled in the hills, there lived a young girl named Lily who loved the sea.",
    "In the heart of the forest, there stood a tree older than the village.",
    "Once upon a time, a keeper lived alone on a rock.",
    "In ancient Egypt, there lived a group of scribes who kept the royal records.",
    "In a faraway land, there was a city built on the backs of turtles.",
])
def test_a_later_section_that_sets_the_story_up_again_is_re_run(opening):
    """Cutting the opening would leave a paragraph that goes on from the new set-up: the section is written again."""
    found = find_defects(f"{opening} {STORY_P}\n\n{P2}", story_place(2), earlier=EARLIER_STORY)
    assert [(f.kind, f.cuttable) for f in found] == [("restart", False)]
    assert kinds(f"{opening} {STORY_P}", story_place(0)) == Counter()  # the first section sets it up


def test_a_story_opening_that_goes_on_is_kept():
    for opening in ("In the morning, there was a knock at the door.", "In the harbour, the fishermen stopped work."):
        assert kinds(f"{opening} {STORY_P}", story_place(2), earlier=EARLIER_STORY) == Counter(), opening


def test_a_later_section_worded_as_an_earlier_paragraph_opened_is_a_restart():
    earlier = "In the heart of the old forest stood a hollow oak. The narrator had passed it every day."
    text = f"In the heart of the old forest the wind rose. {STORY_P}"
    assert kinds(text, story_place(2), earlier=earlier) == Counter(restart=1)
    assert kinds(f"In the heart of winter the wind rose. {STORY_P}", story_place(2), earlier=earlier) == Counter()


GUIDE_PLACE = Place(index=2, count=8, title="Geography", instruction=GUIDE)
GUIDE_EARLIER = "Hong Kong sits at the mouth of the Pearl River."


@pytest.mark.parametrize("restart", [
    "Hong Kong is a vibrant city with a rich history.",
    "Hong Kong, a city in southern China, is a fascinating place to visit.",
    "Hong Kong is an island located in Southeast Asia, bordered by the Pearl River.",
    "Welcome to Hong Kong, a bustling metropolis of Asia.",
])
def test_an_article_that_introduces_its_subject_again_is_cut(restart):
    """From a 0.5B travel guide: later sections opened by defining Hong Kong again in praise, placing it on the
    map again or welcoming the reader to it, as if each were the guide's first page."""
    cleaned = remove_defects(f"{restart} {P1}\n\n{P2}", GUIDE_PLACE, GUIDE_EARLIER)
    assert cleaned.found == Counter(restart=1) and cleaned.text == f"{P1}\n\n{P2}"
    assert kinds(f"{restart} {P1}", Place(index=0, count=8, instruction=GUIDE)) == Counter()  # the first may


LIBRARIES = "Write a 2000-word article about the history of public libraries."


@pytest.mark.parametrize("restart", [
    "Public libraries have a long history dating back to the 19th century, with the first in Boston.",
    "The history of public libraries has been a long and fascinating story, spanning thousands of years.",
    "Public libraries have a history of over a century, spanning from ancient Egypt to modern-day America.",
])
def test_a_later_section_that_tells_the_subjects_history_again_is_cut(restart):
    """From the README's 2000-word article on the 0.5B: three later sections each opened on the whole history."""
    place = Place(index=3, count=6, title="Technology and Innovation", instruction=LIBRARIES)
    cleaned = remove_defects(f"{restart} {P1}\n\n{P2}", place, earlier="Carnegie built libraries.")
    assert cleaned.found == Counter(restart=1) and cleaned.text == f"{P1}\n\n{P2}"


def test_a_sentence_template_filled_in_a_third_time_is_a_loop():
    """From the same article: "The library also had a library of ..." eight times in one paragraph."""
    template = ["The library also had a library of online libraries that were designed for visitors.",
                "The library also had a library of social media platforms that were designed for visitors.",
                "The library also had a library of research stations that were designed for researchers.",
                "The library also had a library of visitor centers that were designed for visitors."]
    cleaned = remove_defects(f"{P1}\n\n{' '.join(template)}", middle(1))
    assert cleaned.found == Counter(repeated=2) and cleaned.text == f"{P1}\n\n{' '.join(template[:2])}"
    centuries = ("In the 19th century, the city paid for reading rooms in every ward. In the 20th century, the city "
                 "paid for branch libraries in the suburbs. In the 21st century, the city paid for laptops and wifi.")
    assert kinds(f"{P1}\n\n{centuries}", middle(1)) == Counter()


@pytest.mark.parametrize("prose", [
    "Victoria Harbour is a stunning sight at night.",  # its parts may be praised: the guide is not about them
    "Lantau is an island located west of the harbour, twice the size of Hong Kong Island.",
    "\"Welcome to Hong Kong,\" the officer said, and stamped the passport.",
    "Welcome to the night market: bring cash and patience.",
])
def test_an_article_may_praise_place_or_welcome_its_parts(prose):
    assert kinds(f"{prose} {P1}", GUIDE_PLACE, GUIDE_EARLIER) == Counter()


def test_a_refusal_is_chatter_and_a_character_refusing_is_not():
    refusal = ("I'm sorry, but I cannot assist with that request. If you have any other questions or need help with "
               "anything else, feel free to ask.")
    cleaned = remove_defects(f"{P1}\n\n{refusal}\n\n{P2}", middle(1))
    assert cleaned.text == f"{P1}\n\n{P2}" and cleaned.found == Counter(chatter=1)
    assert not flagged(P1, (
        "\"I'm sorry, but I can't help you,\" the librarian said, and closed the ledger.",
        "I cannot help but admire the people who built them.",
        "Unfortunately, I was unable to continue the climb."), middle(1), sep="\n\n")


def test_a_story_ended_before_its_last_section_is_a_conclusion():
    ending = "And so, the end of the story was over. They lived happily ever after."
    assert remove_defects(f"{STORY_P}\n\n{ending}", story_place(1)).found == Counter(conclusion=1)
    assert kinds(f"{STORY_P}\n\n{ending}", story_place(3)) == Counter()  # the last section ends it


@pytest.mark.parametrize("label", ["Introduction:", "Panda:", "**Background:**"])
def test_a_label_line_over_the_text_is_a_heading(label):
    place = Place(index=1, count=4, title="Diet", instruction="Write a 4000 words introduction about panda")
    assert kinds(f"{label}\n\n{P1}\n\n{P2}", place) == Counter(heading=1), label


def test_a_lead_in_to_a_list_is_prose():
    place = Place(index=1, count=4, title="Starters", instruction="Write an article about baking bread.")
    for lead in ("Ingredients:", "The steps are:", "You will need:"):
        assert kinds(f"{P1}\n\n{lead}\n\n- flour\n- water\n- salt", place) == Counter(), lead


def test_a_long_title_line_in_two_parts_is_a_heading():
    title = "Walking in Spirit in Relationships: Building Stronger and More Fulfilling Relationships with Others"
    assert kinds(f"{title}\n\n{P1}\n\n{P2}", middle(1)) == Counter(heading=1)
    sentence = "Walking in spirit in relationships: building stronger bonds takes time and a little patience"
    assert kinds(f"{sentence}\n\n{P1}\n\n{P2}", middle(1)) == Counter()


def test_the_instructions_length_said_in_the_text_is_an_echo():
    place = Place(index=5, count=8, title="Safety", instruction=GUIDE)
    text = (f"{P1} The Hong Kong Travel Guide, approximately 3000 words, includes references to relevant sources. "
            f"The ferry costs a few dollars.")
    assert kinds(text, place) == Counter(echo=1)
    assert kinds(f"{P1} The governor's letter ran to 300 words.", place) == Counter()


@pytest.mark.parametrize("meta", [
    "The first section provides some background information about the town and the zombies.",
    "We continue this section with a brief summary of the government's policies.",
    "In section 2, \"Panda's Body\", I will continue with more detailed information about the panda.",
    "The work also addresses the broader topic of mammalian anatomy.",
    "The Hong Kong Travel Guide is a comprehensive guide that covers various aspects of Hong Kong.",
    "Now, we have section 6, \"Hong Kong Transportation\": this covers the trams.",
    "The piece is written in 2000 words, one at a time.",
    "The piece concludes by summarizing the key points covered and reiterating the purpose of the guide.",
    "The piece ends with a call to action, such as visiting the Hong Kong website.",
    "Next, the purpose of the travel guide is discussed.",
    "The reader is asked about the importance of visiting Hong Kong.",
    "This chapter ends with a call to action for further exploration and innovation.",
    "Now, this is about twice as long: it provides a rich collection of resources.",
    "This is a very comprehensive and detailed version of the article.",
    "The article covers a wide range of subjects, including literature and science fiction.",
])
def test_a_section_announcing_where_it_sits_is_cut(meta):
    cleaned = remove_defects(f"{P1} {meta}\n\n{P2}", middle(1))
    assert cleaned.text == f"{P1}\n\n{P2}", meta


@pytest.mark.parametrize("prose", [
    "The first section of the bridge opened in 1932.",
    "We continue to learn from their records.",
    "The work of the harbour pilots is dangerous and poorly paid.",
    "The course covers various aspects of nursing, from wound care to records.",
    "The road ends with a steep climb to the gate.",
    "Next, the dough is left to rise for an hour.",
    "The reader is left to wonder whether the keeper ever returned.",
])
def test_prose_about_sections_and_work_stays(prose):
    assert kinds(f"{P1} {prose}\n\n{P2}", middle(1)) == Counter(), prose


def test_a_phrase_said_twice_in_one_sentence_is_a_loop():
    """From a 0.5B story's last line; the rest of the sentence is no better than the loop, so it goes whole."""
    loop = "She went to see her family again and went to see her family again."
    cleaned = remove_defects(f"{P1}\n\n{P2} {loop}", middle(1))
    assert cleaned.found == Counter(repeated=1) and cleaned.text == f"{P1}\n\n{P2}"
    assert not flagged(P1, (
        "It was the best of times, it was the worst of times, it was the age of wisdom.",
        "The road to the harbour and the road to the mill both ran past the old church gate.",
        "Read the letter twice, then read the letter again when the house is quiet."), middle(1))


CARE_TITLES = ("Introduction", "Root Canal Treatment Procedure", "Key Points of Postoperative Care",
               "Important Considerations for Patients")
CARE = "Please provide detailed information about root canal treatment, including its aftercare. 1200 words."
CARE_P = ("A root canal removes the infected pulp from inside a tooth. The dentist numbs the area, opens the crown "
          "and cleans the canals with fine files before filling them.")
CARE_LIST = "1. Take the painkillers you were given.\n2. Chew on the other side for a few days."


def care(index: int) -> Place:
    return placed(index, tuple(CARE_TITLES), CARE)


def test_a_lead_in_naming_another_section_cuts_the_rest_and_its_own_stays():
    """The 0.5B's introduction went on into every later section, each behind a lead-in line."""
    text = f"{CARE_P}\n\nKey points of postoperative care include:\n\n{CARE_LIST}"
    cleaned = remove_defects(text, care(0))
    assert cleaned.text == CARE_P and cleaned.found == Counter(heading=1)
    assert kinds(text, care(2)) == Counter()  # that section's own lead-in
    assert kinds(f"{CARE_P}\n\nAfter the appointment, the key points are:\n\n{CARE_LIST}", care(0)) == Counter()


def test_a_list_item_labelled_conclusion_is_a_conclusion_before_the_last_section():
    items = ("- **Procedure**: the dentist cleans and fills the canals.\n"
             "- **Conclusion**: The process can be daunting, but it is done safely.\n"
             "- **Aftercare**: avoid chewing on that side for a few days.")
    cleaned = remove_defects(f"{CARE_P}\n\n{items}", care(1))
    assert cleaned.found == Counter(conclusion=1) and "Conclusion" not in cleaned.text and "Aftercare" in cleaned.text
    assert kinds(f"{CARE_P}\n\n{items}", care(3)) == Counter()


@pytest.mark.parametrize("sign_off", [
    "Thank you for reading my passage! I hope that the shorter and more detailed version meets your needs. Goodbye!",
    "I hope this helps. Let me know if you have any other questions.",
])
def test_a_sign_off_inside_a_paragraph_is_cut_to_the_paragraph_end(sign_off):
    cleaned = remove_defects(f"{CARE_P} {sign_off}\n\n{CARE_LIST}", care(3))
    assert cleaned.text == f"{CARE_P}\n\n{CARE_LIST}" and cleaned.found == Counter(chatter=1)


def test_advice_and_speech_that_sound_like_a_sign_off_stay():
    assert not flagged(CARE_P, (
        "Feel free to ask your dentist about anything that worries you.",
        "\"Thank you for reading to me,\" the boy said, and closed the book.",
        "Let me know if you have any pain, the dentist said, and she wrote her number on the card."), care(3))
    email = Place(index=0, count=1, title="", instruction="Write a 300-word email to a client about a late delivery.")
    assert kinds(f"{CARE_P} Please let me know if you have any questions.", email) == Counter()


def test_the_reply_calling_itself_a_summary_is_chatter():
    meta = ("This summary provides a comprehensive overview of the risks of root canal treatment. It also offers "
            "information about aftercare. By following these steps, patients can heal well.")
    cleaned = remove_defects(f"{CARE_P}\n\n{meta}", care(3))
    assert cleaned.text == CARE_P and cleaned.found == Counter(chatter=1)


SUDAN = "write a 800 words report about refugee problems in Sudan and South Sudan"
SUDAN_P = ("More than a million people have crossed from Sudan into Chad since April 2023. Most are women and children, "
           "and many arrive with nothing but what they carried across the border.")


def sudan(index: int, count: int = 2) -> Place:
    return placed(index, ("Introduction", "Background", "Responses")[:count], SUDAN)


def test_an_introduction_announcing_the_article_instead_of_writing_it_is_chatter():
    """The 0.5B's whole introduction, quoting a main point that said "The article will be about ..."."""
    plan = ("The article will be about refugee problems in Sudan and South Sudan. The piece will be divided into two "
            "sections, \"Introduction\" and \"Detailed Solutions\". In the \"Introduction\", we will explore the "
            "historical background of the crisis. Finally, we will conclude with a summary of the progress made.")
    more = ("This article will be written in 2 sections, one at a time, and will cover the history. We will also "
            "provide examples of successful relief efforts. We hope that this article will be helpful to those "
            "interested in refugee problems. If you have any questions or need further assistance with the article, "
            "feel free to ask!")
    cleaned = remove_defects(f"{plan}\n\n{SUDAN_P}\n\n{more}", sudan(0))
    assert cleaned.text == SUDAN_P and cleaned.found["chatter"] == 2
    assert not flagged(SUDAN_P, (
        "We will also need more funding if the camps are to stay open through the rains.",
        "In the \"Jungle\" camp, we will find three clinics and a school.",
        "Finally, we will need to count who has arrived."), sudan(0))


def test_a_close_right_after_a_summing_up_paragraph_in_the_last_section_is_a_second_close():
    summing_up = "Overall, addressing these challenges requires a comprehensive approach from governments and agencies."
    close = "In conclusion, refugee problems in Sudan and South Sudan are significant challenges."
    last = "Finally, we need to provide more funding for the agencies that run the camps in Chad."
    cleaned = remove_defects(f"{SUDAN_P}\n\n{summing_up}\n\n{close}", sudan(1))
    assert cleaned.text == f"{SUDAN_P}\n\n{summing_up}" and cleaned.found == Counter(conclusion=1)
    assert kinds(f"{SUDAN_P}\n\n{last}\n\n{close}", sudan(1)) == Counter()  # the last point of a list, then the close
    assert kinds(f"{summing_up}\n\n{SUDAN_P}\n\n{close}", sudan(1)) == Counter()  # a summing-up further back


def test_a_template_loop_is_found_behind_connectives():
    """ "We need to provide more ...", "Moreover, we need to provide more ...", "Finally, we need to provide more ..." """
    text = ("We need to provide more education and healthcare to refugees in the camps. "
            "Moreover, we need to provide more resources for refugees from various institutions. "
            "Finally, we need to provide more funding for refugees from various organizations.")
    assert kinds(text, sudan(1)) == Counter(repeated=1)


def test_a_last_section_describing_the_report_instead_of_ending_it_is_chatter():
    """The 0.5B's last section of the Sudan report, built on a leftover "It also explores ..." sentence."""
    described = ("It also explores the history and economy of these countries. The reader will gain a deeper "
                 "appreciation for the country's history. Finally, the section will conclude by summarizing the key "
                 "points of the report. This report will be valuable for policymakers and refugees.")
    closing = ("In conclusion, the piece provides a comprehensive understanding of the situation. It highlights the "
               "importance of education. Overall, the piece serves as a valuable resource for anyone interested in "
               "learning more about refugee issues.")
    cleaned = remove_defects(f"{described}\n\n{SUDAN_P}\n\n{closing}", sudan(1))
    assert cleaned.text == SUDAN_P and cleaned.found == Counter(chatter=2)
    assert not flagged(SUDAN_P, (
        "It also covers forty acres of the old camp, which the agencies share.",
        "The section of the road near the border is closed in the rains.",
        "The reader of the ration cards will find three names on most of them."), sudan(1))


def test_a_description_of_the_piece_left_at_the_start_of_a_section_is_chatter():
    cleaned = remove_defects(f"It also explores the history of the camps in Chad.\n\n{SUDAN_P}", sudan(1))
    assert cleaned.text == SUDAN_P and cleaned.found == Counter(chatter=1)


PANDAS = "Write a 4000 words introduction about panda"
PANDA_P = ("Giant pandas live in the bamboo forests of Sichuan, Shaanxi and Gansu, high in the mountains of central "
           "China. An adult eats twelve to thirty-eight kilograms of bamboo a day and spends most of its waking hours "
           "feeding, because its gut digests little of what it eats.")


def panda(index: int, count: int = 3) -> Place:
    return placed(index, ("Introduction to Pandas", "What Pandas Eat", "Pandas and People")[:count], PANDAS)


def test_the_document_or_its_parts_as_the_subject_of_a_sentence_is_chatter():
    """From the 0.5B's 4,000-word introduction to pandas: paragraphs describing the introduction and its sections."""
    described = ("This introduction provides a basic overview of panda biology, describing their habitats. By focusing "
                 "on the scientific aspects of the topic, the introduction ensures that readers receive accurate "
                 "information. It also allows readers to understand the key points. Finally, by emphasizing the "
                 "importance of learning more about pandas, the introduction helps readers appreciate them.")
    outline = ("They are also known for their strong diet. Finally, it concludes with a statement about the importance "
               "of pandas. The subsequent sections then provide additional details about how pandas are found. These "
               "sections also provide context. The final section ends with a statement about conservation. The "
               "introduction and each of its sections provide readers with a comprehensive overview of pandas.")
    note = ("Note: This introduction assumes that the reader is familiar with pandas' diet. If they don't know these "
            "topics, they may need to consult additional information before reading this introduction. To learn more "
            "about pandas, readers may want to refer to books and documentaries. Additionally, they may want to visit "
            "national parks. Overall, this introduction provides a basic overview of pandas and their role in nature.")
    draft = ("Note: This introduction is just a draft, and there may be errors or inconsistencies in it. Let me know if "
             "you need further assistance! 🌟")
    cleaned = remove_defects(f"{PANDA_P}\n\n{draft}\n\n{described}", panda(0))
    assert cleaned.text == PANDA_P and cleaned.found["chatter"] >= 2 and not cleaned.left
    for paragraph in (outline, note):
        cleaned = remove_defects(f"{PANDA_P}\n\n{paragraph}", panda(1))
        assert cleaned.text == PANDA_P and cleaned.found == Counter(chatter=1), paragraph
    assert not flagged(PANDA_P, (
        "The introduction of bamboo farming provides the pandas with a second source of food.",
        "These sections of the reserve are closed to visitors in spring.",
        "The final section of the trail ends at a feeding station above the river.",
        "Keepers say the first paragraphs of a panda's life, the weeks in the den, decide how it grows.",
        "Readers of the old Chinese texts will find pandas called 'iron-eating beasts'.",
        "We will continue to plant bamboo along the corridors."), panda(1))


def test_a_paragraph_that_goes_on_about_what_we_will_write_and_signs_off_is_chatter():
    """The 0.5B's sixth section opened with a paragraph about itself and a reply to its user."""
    reply = ("We will now continue by discussing the benefits of pandas in nature. We will also end by mentioning some "
             "of the most popular pandas species. We will use more detail to provide a more comprehensive overview. "
             "We will encourage readers to read the entire article for a fuller understanding. We hope that this "
             "information will be helpful to readers. If there is anything else I can assist you with, please let me "
             "know! Please feel free to share any additional details you may have. Thank you! 🌟")
    cleaned = remove_defects(f"{reply}\n\n{PANDA_P}", panda(1))
    assert cleaned.text == PANDA_P and cleaned.found == Counter(chatter=1)
    assert not flagged(PANDA_P, ("\"Thank you!\" the keeper called after the visitors.",
                                 "Feel the bark of the bamboo: it is harder than it looks."), panda(1))


def test_a_replacement_character_from_a_cut_emoji_is_removed():
    """The 0.5B ended a continuation "Thank you! 🌟\ufffd": two tokens of an emoji, the second never completed."""
    cleaned = remove_defects(f"{PANDA_P} 🌟\ufffd\n\n{PANDA_P.replace('Giant', 'Red')}", panda(1))
    assert "\ufffd" not in cleaned.text and "🌟" in cleaned.text


SPEECH = "You are a soon-to-be-married individual, please prepare a 800-word speech: words of gratitude to parents."
SPEECH_P = ("Mum and Dad, you drove me to every swimming lesson at six in the morning and never once said you were "
            "tired. Whatever I know about keeping a promise, I learned by watching the two of you keep yours.")


def speech(index: int, count: int = 3) -> Place:
    return placed(index, ("Thank You, Mum and Dad", "Anna", "The Years Ahead")[:count], SPEECH)


def test_a_speech_planned_aloud_or_about_the_piece_is_chatter():
    """The 0.5B's wedding speech: its sections said what the speech would say, and went on about "the piece"."""
    planned = ("In the first paragraph, we will express gratitude to our parents. We will say something like, \"I am "
               "grateful for the support I have received.\" This will be followed by a brief statement about our "
               "future prospects.")
    extender = ("I'll also include some additional details and examples to make it more engaging and informative. I'll "
                "also include some future prospects for the piece, such as career opportunities.")
    moves = ("Next, the piece moves on to the parent and partner's future. I'll also include a detailed plan for the "
             "future. I'll also include some examples of their future plans.")
    opening = ("The piece is a soon-to-be-married individual. They have decided to write a piece of writing for a "
               "future period.")
    research = ("The piece of research aims to evaluate the speech. The piece of research also examines the "
                "history of the families.")  # the 1,200-word Harvard report's opening, said of this speech
    for paragraph in (planned, extender, moves, opening, research):
        cleaned = remove_defects(f"{SPEECH_P}\n\n{paragraph}", speech(1))
        assert cleaned.text == SPEECH_P and cleaned.found["chatter"] >= 1 and not cleaned.left, paragraph
    assert not flagged(SPEECH_P, (
        "Dad gave me a piece of advice I have kept ever since: never go to bed angry.",
        "Anna and I will say our vows in the garden where her grandparents said theirs.",
        "Next year we will include both families in the Christmas trip."), speech(1))
    story = Place(index=1, count=3, title="The Board", instruction="Write a story about a chess prodigy.")
    assert kinds(f"{SPEECH_P} She moved the piece to e4 and waited. The clock ticked on.", story) == Counter()

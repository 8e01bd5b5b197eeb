"""Paragraphs the model separated by a single line break are made Markdown paragraphs; nothing else moves."""

from writer.text.defects import Place, remove_defects
from writer.text.lengths import count_words
from writer.text.paragraphs import separate_paragraphs


def test_prose_lines_that_end_a_sentence_become_paragraphs():
    text = ("The Library of Congress opened in 1800.\nIt lent books to members of Congress.\n"
            "Its first books burned in 1814.")
    assert separate_paragraphs(text) == text.replace("\n", "\n\n")


def test_hard_wrapped_prose_stays_one_paragraph():
    text = "The Library of Congress opened in 1800 and lent\nits books to the members of Congress."
    assert separate_paragraphs(text) == text


def test_lists_get_a_blank_line_before_and_after_and_keep_their_items_together():
    text = "Libraries lend:\n- books\n- seeds and tools\n  for a week\n1. first\n2. second\nThat was the list."
    assert separate_paragraphs(text) == ("Libraries lend:\n\n- books\n- seeds and tools\n  for a week\n1. first\n"
                                         "2. second\n\nThat was the list.")


def test_tables_quotes_headings_and_code_are_left_as_they_are():
    text = ("| year | books |\n|---|---|\n| 1800 | 740 |\n> A quote.\n> Its second line.\n"
            "```\nprint('a.')\nprint('b.')\n```")
    assert separate_paragraphs(text) == text


def test_defect_removal_separates_paragraphs_without_changing_a_word():
    text = "Subscription libraries came first.\nTown libraries followed them.\nThen came the branch libraries."
    cleaned = remove_defects(text, Place(index=1, count=3, instruction="Write about libraries."))
    assert cleaned.text.count("\n\n") == 2 and count_words(cleaned.text) == count_words(text)

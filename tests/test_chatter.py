"""The chatter filter: model remarks around the prose go, prose that looks a bit like them stays."""

import pytest

from writer.chatter import strip_chatter
from writer.drafting import clean_draft


@pytest.mark.parametrize("lead", [
    "Sure, here is the edited version of the paragraph with all necessary edits:",
    "Here's the revised text:",
    "Certainly!",
    "Below is the expanded section.",
    "This edited version adds more detail:",
])
def test_leading_announcements_are_removed(lead):
    assert strip_chatter(f"{lead}\n\nThe press changed Europe.\nIt spread fast.") == \
        "The press changed Europe.\nIt spread fast."


@pytest.mark.parametrize("trail", ["I hope this helps!", "Let me know if you want more detail.",
                                   "Your contribution should now be complete. I will make it one extra line."])
def test_trailing_offers_are_removed(trail):
    assert strip_chatter(f"The press changed Europe.\n\n{trail}") == "The press changed Europe."


@pytest.mark.parametrize("prose", [
    "Here is where the story of the press begins: in Mainz, around 1450.",
    "Sure enough, the printers moved to Venice within a generation.",
    "This is the version of events most historians accept, though some dispute the dates, and the argument "
    "has gone on for a long time among scholars of the early modern book trade in Europe and beyond it:",
    "Let me be clear about one thing.",
])
def test_prose_that_resembles_chatter_stays(prose):
    text = f"{prose}\n\nMore text follows here."
    assert strip_chatter(text) == text


def test_clean_draft_drops_chatter_and_headings_together():
    assert clean_draft("Sure, here is the section:\n\n## Origins\n\nBody text.\n\nI hope this helps!") == "Body text."

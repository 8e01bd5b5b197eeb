"""Whether an instruction asks for a story: the one distinction the section prompts and checks need.

A story's later sections must go on with the same narrator, characters and place, and only its
last section may end it; an article's later sections must not introduce the subject again. The
two fail differently ("In a small town nestled in the hills, there lived ..." opening the fifth
section of a zombie story; "Hong Kong is a vibrant city ..." opening the fifth of a guide), so the
prompt words its request for each, and the restart check looks for each.

Lexical, like every check: a story word ("story", "tale", "fable", "novel", ...) that no
expository word comes before ("a review of the novel", "an essay on the short story").
"""

from __future__ import annotations

import re

__all__ = ["narrative"]

_STORY = re.compile(r"\b(?:stor(?:y|ies)|tales?|fables?|fairy[ -]tales?|novels?|novellas?|fiction|fanfic(?:tion)?|"
                    r"screenplay|saga|legend|myth|parable)\b", re.IGNORECASE)
_EXPOSITORY = re.compile(r"\b(?:essays?|articles?|reports?|reviews?|analys[ie]s|summar(?:y|ies)|guides?|posts?|blogs?|"
                         r"introductions?|overviews?|explanations?|speech|letters?|e-?mails?|outlines?|critiques?|"
                         r"history|lessons?|lectures?|papers?|studies|study|descriptions?)\b", re.IGNORECASE)


def narrative(instruction: str) -> bool:
    """Whether `instruction` asks for a story (its first story word comes before any expository word)."""
    story = _STORY.search(instruction)
    if story is None:
        return False
    expository = _EXPOSITORY.search(instruction)
    return expository is None or expository.start() > story.start()

"""Paragraph breaks the model meant: prose lines that each end a sentence become paragraphs.

Small models often separate paragraphs with a single newline. Markdown joins such lines into one
paragraph, so the rendered document shows one wall of text where the model wrote four paragraphs,
and the passes that work paragraph by paragraph (stitching an opening, trimming at a paragraph end)
see one paragraph too. A line break after a finished sentence, between two prose lines, is made a
blank line; a line that stops mid-sentence (hard-wrapped prose) is left joined to the next. Lists,
tables, quotes, headings and code are left as they are; a list placed right under a prose line gets
a blank line before it (pandoc's Markdown needs one to see a list there), and prose right under a
list's last item a blank line after it (else Markdown folds it into that item).
"""

from __future__ import annotations

import re

_STRUCTURED = re.compile(r"\s*(?:[-*+]\s|\d+[.)]\s|>|\||#|```|~~~)|\s{4}")
_LIST_ITEM = re.compile(r"\s*(?:[-*+]\s|\d+[.)]\s)")
_ENDS_SENTENCE = re.compile(r"[.!?:\"”’)*]\s*$")


def separate_paragraphs(text: str) -> str:
    """`text` with a blank line wherever a prose line that ends a sentence is followed by another prose line, or
    a prose line is followed by a list; everything else, words included, as it was."""
    lines = text.split("\n")
    out: list[str] = []
    fenced = False
    for k, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        out.append(line)
        if fenced or k + 1 == len(lines):
            continue
        following = lines[k + 1]
        if not line.strip() or not following.strip():
            continue
        prose_next = not _STRUCTURED.match(following) and not following[:1].isspace()
        if _LIST_ITEM.match(line):
            if prose_next:  # unindented prose after a list item: Markdown would fold it into the item
                out.append("")
        elif _STRUCTURED.match(line) or line[:1].isspace():  # a table, quote, heading, or a list item's own lines
            continue
        elif _LIST_ITEM.match(following) or (prose_next and _ENDS_SENTENCE.search(line)):
            out.append("")
    return "\n".join(out)

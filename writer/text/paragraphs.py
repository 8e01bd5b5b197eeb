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


_NUMBERED_ITEM = re.compile(r"^(\s*)(\d{1,3})([.)])(\s)", re.MULTILINE)


def renumber_lists(text: str) -> str:
    """`text` with each numbered list counted again from its first number, for after a cut took an item out
    ("1. 2. 3. 5. 6." becomes "1. 2. 3. 4. 5."; one under a lead-in line ending in ":" from 1). A list is a run of numbered lines at one indent, with only
    blank lines or their own continuation lines between them; one whose numbers do not go up (every item "1.",
    as Markdown allows) is left as it is."""
    items = list(_NUMBERED_ITEM.finditer(text))
    runs: list[list[re.Match]] = []
    for m in items:
        run = runs[-1] if runs else None
        if run and m.group(1) == run[-1].group(1) and _same_list(text[run[-1].end():m.start()], m.group(1)):
            run.append(m)
        else:
            runs.append([m])
    out, at = [], 0
    for run in runs:
        numbers = [int(m.group(2)) for m in run]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            continue
        # a list under its lead-in ("These include:") starts at 1: a first item at 2 means item 1 was cut
        first = 1 if text[:run[0].start()].rstrip().endswith(":") else numbers[0]
        if len(run) < 2 and first == numbers[0]:
            continue
        for k, m in enumerate(run):
            out.append(text[at:m.start(2)])
            out.append(str(first + k))
            at = m.end(2)
    out.append(text[at:])
    return "".join(out)


def _same_list(between: str, indent: str) -> bool:
    """Whether the text between two numbered items keeps them in one list: the first item's own lines (indented
    deeper, or prose of its paragraph) and blank lines, but no paragraph of prose at the list's own indent."""
    paragraphs = [p for p in re.split(r"\n\s*\n", between) if p.strip()]
    return len(paragraphs) <= 1  # the rest of the first item's paragraph only

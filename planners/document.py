"""The plan of `writer extend`: the user's own document cut into parts, each to be lengthened.

A document is cut at its headings (any level); a part is a heading block (the heading lines
as written, with any heading that has no text of its own before the next) and the text under
it. Text before the first heading is a part without a heading. A part longer than twice
PART_WORDS, or a document with no headings, is cut further at paragraph boundaries into parts
of about PART_WORDS words. Each part becomes a planned section whose budget is its share of
the new length, in proportion to its own, so every part grows by the same factor; its main
point is its first sentence. Headings are kept byte for byte (`document_text(headings=...)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planners.repair import allocate
from prompts import render
from writer.artifacts import Plan, PlannedSection
from writer.errors import UsageError
from writer.text.lengths import MAX_WORDS, PARAGRAPH_BREAK, SENTENCE_END, count_words, trim_to_words

__all__ = ["Part", "split_document", "extension_plan", "PART_WORDS"]

PART_WORDS = 300
INSTRUCTION_TEMPLATE = "planner/extend_instruction.j2"
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)")


@dataclass(frozen=True)
class Part:
    heading: str  # the heading lines as written ("" for none)
    text: str  # the text under them, as written

    @property
    def title(self) -> str:
        """The text of its last heading line ("" for none)."""
        lines = [line for line in self.heading.splitlines() if line.strip()]
        return re.sub(r"#+\s*$", "", _HEADING.sub("", lines[-1])).strip() if lines else ""


def _paragraph_parts(heading: str, text: str, part_words: int) -> list[Part]:
    """`text` in parts of about `part_words` words at paragraph boundaries, the first under `heading`."""
    paragraphs = [p for p in PARAGRAPH_BREAK.split(text.strip()) if p.strip()]
    groups: list[list[str]] = []
    size = 0
    for para in paragraphs:
        n = count_words(para)
        if groups and size < part_words and size + n <= part_words * 1.5:
            groups[-1].append(para)
            size += n
        else:
            groups.append([para])
            size = n
    if len(groups) > 1 and sum(count_words(p) for p in groups[-1]) < part_words // 3:  # a short tail joins the last
        groups[-2] += groups.pop()
    return [Part(heading if k == 0 else "", "\n\n".join(g)) for k, g in enumerate(groups)] or [Part(heading, "")]


def split_document(text: str, part_words: int = PART_WORDS) -> list[Part]:
    """The parts of `text` (see the module docstring)."""
    blocks: list[tuple[list[str], list[str]]] = [([], [])]  # (heading lines, text lines)
    for line in text.replace("\r\n", "\n").splitlines():
        if _HEADING.match(line):
            if any(t.strip() for t in blocks[-1][1]) or not blocks[-1][0] and len(blocks) > 1:
                blocks.append(([], []))
            elif blocks[-1][1]:  # blank lines between two headings stay between them
                blocks[-1][0].extend(blocks[-1][1])
                blocks[-1][1].clear()
            blocks[-1][0].append(line)
        else:
            blocks[-1][1].append(line)
    parts: list[Part] = []
    for heading_lines, text_lines in blocks:
        heading, body = "\n".join(heading_lines).strip(), "\n".join(text_lines).strip()
        if not heading and not body:
            continue
        if count_words(body) > 2 * part_words or (len(blocks) == 1 and count_words(body) > part_words * 1.5):
            parts += _paragraph_parts(heading, body, part_words)
        else:
            parts.append(Part(heading, body))
    return parts


def _main_point(text: str) -> str:
    first = SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]
    return trim_to_words(first, 40)


def extension_plan(text: str, words: int, name: str = "the document") -> tuple[Plan, list[Part]]:
    """The plan that lengthens `text` to `words` words, and its parts (one per planned section). UsageError when
    the text is empty or already that long."""
    parts = split_document(text)
    have = sum(count_words(p.text) for p in parts)
    if not have:
        raise UsageError(f"{name} has no text to extend")
    if words <= have:
        raise UsageError(f"words must be more than the {have} words {name} already has, got {words}", option="words")
    if words > MAX_WORDS:
        raise UsageError(f"words must be at most {MAX_WORDS}, got {words}", option="words")
    sizes = [count_words(p.text) for p in parts]
    filled = sorted(n for n in sizes if n)
    weights = [float(n or filled[len(filled) // 2]) for n in sizes]  # a heading with no text gets a median part
    budgets = allocate(weights, words, 1, words)
    first = next((p.heading.strip().splitlines()[0] for p in parts if p.heading.strip()), "")
    title = re.sub(r"#+\s*$", "", _HEADING.sub("", first)).strip() or name
    sections = [PlannedSection(title=p.title or f"Part {k + 1}", main_point=_main_point(p.text) or p.title or title,
                               words=b) for k, (p, b) in enumerate(zip(parts, budgets))]
    instruction = render(INSTRUCTION_TEMPLATE, title=title, words=words)
    return Plan(instruction=instruction, target_words=words, target_source="option", sections=sections,
                repairs=[f"split into {len(parts)} part(s) of {have} words; each lengthened by "
                         f"{words / have:.2f}x"]), parts

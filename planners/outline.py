"""The user's own outline (`writer compose --plan FILE`): a plan made by hand instead of by the planner.

Two forms. JSON as `writer plan` prints it (edited by hand), or just {"sections": [...]} or a
list of sections; a section needs a title, its main point and words are optional. Or a
Markdown outline:

    # The history of tea            <- optional: the document's title
    A short history for a general audience.   <- optional: the instruction

    ## Origins (300 words)          <- a section; "(N words)" is optional
    Where and when tea was first drunk.       <- optional: its main point (any lines until the next ##)

    ## Trade
    How tea travelled, by caravan and by clipper. (400 words)

The sections are kept as given, in their order: nothing is merged, added or moved (the
planner's repair would). Only the budgets are repaired: missing ones get the median of those
given, and all are scaled to the target, keeping the user's proportions; each repair is a note
on the plan. A file that cannot be read as an outline is one `UsageError` naming the line
(Markdown) or the field (JSON).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from planners.repair import complete_plan
from prompts import render
from writer.artifacts import Plan
from writer.errors import UsageError
from writer.text.lengths import MAX_WORDS, TargetLength, parse_target_words, resolve_target

__all__ = ["Outline", "load_outline", "parse_markdown_outline", "parse_json_plan", "outline_of", "user_plan"]

INSTRUCTION_TEMPLATE = "planner/outline_instruction.j2"
_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:\s+|$)(.*?)\s*#*\s*$")
_WORDS = re.compile(r"\(\s*(?:about\s+|~\s*)?(\d[\d,]*)\s*words?\s*\)", re.IGNORECASE)
_BAD_WORDS = re.compile(r"\(([^()]*)\bwords?\s*\)", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
SECTION_FIELDS = ("title", "main_point", "words")
PLAN_FIELDS = ("instruction", "target_words", "target_source", "sections", "repairs", "title")


@dataclass
class Outline:
    """What an outline file says: its sections (dicts of title, main_point, words or None), and what it says
    about the whole document, where it says it."""

    sections: list[dict]
    title: str | None = None
    instruction: str | None = None
    target_words: int | None = None
    raw: str = ""
    notes: list[str] = field(default_factory=list)


def _error(where: str, problem: str) -> UsageError:
    return UsageError(f"plan {where}: {problem}", option="plan")


def _word_count(text: str, where: str) -> tuple[str, int | None]:
    """`text` without its "(N words)" and N (None when it gives none)."""
    m = _WORDS.search(text)
    if m is None:
        bad = _BAD_WORDS.search(text)
        if bad:
            raise _error(where, f"cannot read the word count {bad.group(0)!r}; write it as (300 words)")
        return text, None
    n = int(m.group(1).replace(",", ""))
    if not 0 < n <= MAX_WORDS:
        raise _error(where, f"a section's word count must be between 1 and {MAX_WORDS}, got {n}")
    return (text[:m.start()] + text[m.end():]).strip(), n


def parse_markdown_outline(text: str, name: str = "outline") -> Outline:
    """Read a Markdown outline (see the module docstring). `name` is the file, for error messages."""
    title, title_line, intro, sections = None, 0, [], []
    current: dict | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{name} line {number}"
        m = _HEADING.match(line)
        level = len(m.group(1)) if m else 0
        if level == 1:
            if title is not None:
                raise _error(where, f"a second '# ' title (the first is on line {title_line}); sections are "
                                    "'## Title' lines")
            if sections:
                raise _error(where, "the '# ' title must come before the sections")
            title, title_line = m.group(2).strip(), number
            if not title:
                raise _error(where, "the '# ' title is empty")
            continue
        if level == 2:
            heading, words = _word_count(m.group(2).strip(), where)
            if not heading:
                raise _error(where, "a section heading has no title")
            for earlier in sections:
                if earlier["title"].lower() == heading.lower():
                    raise _error(where, f"section title {heading!r} repeats line {earlier['line']}")
            current = {"title": heading, "main_point": [], "words": words, "line": number}
            sections.append(current)
            continue
        if level > 2 and current is None:
            raise _error(where, f"a '{m.group(1)} ' heading before the first '## ' section")
        body = (m.group(2) if level else _BULLET.sub("", line)).strip()
        if not body:
            continue
        if current is None:
            intro.append(body)
            continue
        body, words = _word_count(body, where)
        if words is not None:
            if current["words"] is not None and current["words"] != words:
                raise _error(where, f"a second word count ({words}) for section {current['title']!r}, which says "
                                    f"{current['words']} on line {current['line']}")
            current["words"] = words
        if body:
            current["main_point"].append(body)
    if not sections:
        raise _error(name, "has no sections; start each with a '## Title' line")
    items = [{"title": s["title"], "main_point": " ".join(s["main_point"]) or s["title"], "words": s["words"]}
             for s in sections]
    about = " ".join(intro)
    instruction = f"{title}: {about}" if title and about else about or None
    return Outline(items, title=title, instruction=instruction, raw=text)


def _field_error(path: str, problem: str, name: str) -> UsageError:
    return _error(f"{name} field {path}", problem)


def _positive(value, path: str, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_WORDS:
        raise _field_error(path, f"must be a whole number of words between 1 and {MAX_WORDS}, got {value!r}", name)
    return value


def _text(value, path: str, name: str, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _field_error(path, "is missing or empty", name)
        return None
    if not isinstance(value, str):
        raise _field_error(path, f"must be text, got {type(value).__name__}", name)
    return " ".join(value.split())


def parse_json_plan(text: str, name: str = "plan.json") -> Outline:
    """Read a JSON plan: `writer plan`'s output, {"sections": [...]}, or a list of sections."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(f"{name} line {exc.lineno}", f"not valid JSON ({exc.msg}, column {exc.colno})") from None
    if isinstance(data, list):
        data = {"sections": data}
    if not isinstance(data, dict):
        raise _error(name, f"must be a JSON object with \"sections\", got {type(data).__name__}")
    unknown = [k for k in data if k not in PLAN_FIELDS]
    if unknown:
        raise _field_error(unknown[0], f"is not a plan field (fields: {', '.join(PLAN_FIELDS)})", name)
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        raise _field_error("sections", "must be a non-empty list of sections", name)
    items, seen = [], {}
    for k, raw in enumerate(sections):
        path = f"sections[{k}]"
        if not isinstance(raw, dict):
            raise _field_error(path, f"must be an object with a title, got {type(raw).__name__}", name)
        unknown = [f for f in raw if f not in SECTION_FIELDS]
        if unknown:
            raise _field_error(f"{path}.{unknown[0]}", f"is not a section field (fields: {', '.join(SECTION_FIELDS)})",
                               name)
        title = _text(raw.get("title"), f"{path}.title", name, required=True)
        if title.lower() in seen:
            raise _field_error(f"{path}.title", f"{title!r} repeats sections[{seen[title.lower()]}].title", name)
        seen[title.lower()] = k
        point = _text(raw.get("main_point"), f"{path}.main_point", name, required=False) or title
        items.append({"title": title, "main_point": point, "words": _positive(raw.get("words"), f"{path}.words", name)})
    return Outline(items, title=_text(data.get("title"), "title", name, required=False),
                   instruction=_text(data.get("instruction"), "instruction", name, required=False),
                   target_words=_positive(data.get("target_words"), "target_words", name), raw=text)


def load_outline(path: str | Path) -> Outline:
    """Read the outline in `path`: JSON for .json (or a file that starts with `{` or `[`), else Markdown."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise _error(str(path), "no such file" if not path.exists() else "is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(str(path), f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "["):
        return parse_json_plan(text, path.name)
    return parse_markdown_outline(text, path.name)


def outline_of(plan: Plan) -> Outline:
    """A `Plan` object passed to the API, as an outline (its budgets are repaired like a file's)."""
    return Outline([s.model_dump() for s in plan.sections], title=plan.title, instruction=plan.instruction,
                   target_words=plan.target_words, raw=plan.model_dump_json(indent=2))


def _target(outline: Outline, instruction: str, words: int | None) -> TargetLength:
    """The document's length: --words, else the instruction's own, else the plan's target_words, else what the
    sections' budgets add up to (a missing one counted at the median of the others), else as compose guesses."""
    if words is not None:
        return TargetLength(words, "option")
    stated = parse_target_words(instruction)
    if stated is not None:
        return stated
    if outline.target_words:
        return TargetLength(outline.target_words, "plan")
    given = sorted(s["words"] for s in outline.sections if s["words"])
    if given:
        missing = len(outline.sections) - len(given)
        return TargetLength(sum(given) + missing * given[len(given) // 2], "plan")
    return resolve_target(instruction, None)


def user_plan(outline: Outline, instruction: str | None = None, words: int | None = None) -> Plan:
    """The plan a run writes from `outline`: its sections in order, budgets repaired to the target (each repair
    a note in `repairs`). The instruction is `instruction`, else the outline's (a Markdown outline's title and the
    paragraph under it), else its title, else one naming its sections."""
    instruction = ((instruction or "").strip() or outline.instruction or outline.title
                   or render(INSTRUCTION_TEMPLATE, titles=[s["title"] for s in outline.sections]))
    target = _target(outline, instruction, words)
    if target.words > MAX_WORDS:
        raise UsageError(f"plan budgets add up to {target.words} words, more than {MAX_WORDS}", option="plan")
    if target.words < len(outline.sections):
        raise UsageError(f"plan has {len(outline.sections)} sections for {target.words} words; give at least one "
                         "word a section", option="plan")
    notes = list(outline.notes)
    missing = [str(k + 1) for k, s in enumerate(outline.sections) if not s["words"]]
    if missing and len(missing) < len(outline.sections):
        notes.append(f"section{'s' if len(missing) > 1 else ''} {', '.join(missing)} had no word count; "
                     f"gave {'each' if len(missing) > 1 else 'it'} the median of the others")
    elif missing:
        notes.append(f"no section had a word count; shared {target.words} words among them")
    sections, repairs = complete_plan(instruction, target.words, outline.sections, keep_sections=True)
    if len(missing) == len(outline.sections):  # the note above says it
        repairs = [r for r in repairs if not r.startswith("rebalanced budgets")]
    return Plan(instruction=instruction, target_words=target.words, target_source=target.source, sections=sections,
                repairs=notes + repairs, title=outline.title)

"""Deterministic plan repair: whatever the model wrote, the plan that comes out is usable.

Small models write plans with empty, placeholder ("Title 7": "Title 7", "...") or duplicated
sections and budgets that do not add up. The repair (1) fills or drops empty and placeholder
sections and strips Markdown marks and numbered labels around titles ("> Title", "## Title",
"Chapter 2: Title"), and a lead several titles share, (2) drops duplicates,
also those that differ only in their numbers, (3) brings the section count within what the
target allows (150-1000 words a section as in AgentWrite, at least 2 sections above 600 words),
adding generic sections only as a last resort (the planner first asks the model for the missing
ones), and (4) rebalances budgets so they sum exactly to the target, keeping the model's
proportions where it gave any.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from writer.artifacts import PlannedSection
from writer.text.defects import OUR_PIECE

MIN_SECTION_WORDS = 150
MAX_SECTION_WORDS = 1000

# Extra sections when the model gave too few: distinct angles on the same instruction.
FILLER_ANGLES = [
    ("Background and context", "Set out the background and context the reader needs for: {instruction}"),
    ("Key ideas in detail", "Explain the central ideas in detail, with specifics, for: {instruction}"),
    ("Examples and cases", "Give concrete examples, cases or scenes that illustrate: {instruction}"),
    ("Challenges and counterpoints", "Discuss difficulties, tensions or opposing views related to: {instruction}"),
    ("Practical implications", "Describe practical consequences, steps or lessons of: {instruction}"),
    ("Further developments", "Develop the subject further with new details and turns for: {instruction}"),
    ("Wider significance", "Relate the subject to its wider significance for: {instruction}"),
    ("Conclusion", "Bring the text to a satisfying close, drawing its threads together, for: {instruction}"),
]


def section_count_bounds(target_words: int) -> tuple[int, int]:
    """Fewest and most sections a target allows."""
    low = max(1, math.ceil(target_words / MAX_SECTION_WORDS))
    if target_words > 600:
        low = max(low, 2)
    high = max(low, target_words // MIN_SECTION_WORDS)
    return low, high


def suggested_sections(target_words: int) -> int:
    """A good section count to ask the planner for (~350 words a section)."""
    low, high = section_count_bounds(target_words)
    return min(high, max(low, round(target_words / 350)))


def _norm(text: str) -> str:
    """Lower case, punctuation out; apostrophes dropped, so "Panda's Social Behavior" and "Pandas' Social Behavior"
    (two sections of the 0.5B's plan for an introduction to pandas) are the same title."""
    return re.sub(r"[^a-z0-9\u4e00-\u9fff]+", " ", re.sub(r"['’]", "", text.lower())).strip()


_PLACEHOLDER = re.compile(r"(title|section|part|chapter|heading|main point|point|topic)?")


def _shape(text: str) -> str:
    """A title or main point without its numbers: "Title 7" and "Title 8" have the same shape."""
    return " ".join(re.sub(r"[0-9]+", " ", _norm(text)).split())


def _clean(text) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


# Markdown a model puts around a title: quote and heading marks, list bullets and numbers, bold or code marks
_TITLE_MARKS = re.compile(r"^(?:[>#*+`_\-]+\s*|\d{1,2}[.)]\s+)+|[*`_]+$")


_ORDINAL = r"(?:\d+|[ivx]+|one|two|three|four|five|six|seven|eight|nine|ten|first|second|third|fourth|fifth|sixth|" \
           r"seventh|eighth|ninth|tenth|final|last)"
# A numbered label before the title itself: "Chapter 1: ", "Part II - ", "The Second Chapter 2: ", "The Beginning of
# the Chapter 1: " (the 0.5B's story plans); the document's headings are its titles, numbered by their order
_LABEL_LEAD = re.compile(rf"^[^:]{{0,40}}?\b(?:(?:chapter|part|section|act|scene)\s+{_ORDINAL}|{_ORDINAL}\s+"
                         rf"(?:chapter|part|section|act|scene))\b[^:]{{0,12}}?\s*(?::|\s-|\s–|\s—)\s+(?=\S)",
                         re.IGNORECASE)


def plain_title(title: str) -> str:
    """A planned title without the Markdown a model wrapped it in ("> The Haunting", "## Origins", "1. Origins",
    "**Origins**") and without a numbered label before it ("Chapter 1: The Storm"): the heading writer puts over
    it would show them."""
    bare = _TITLE_MARKS.sub("", title).strip().strip('"').strip()
    return _LABEL_LEAD.sub("", bare).strip() or bare


def _as_int(value) -> int | None:
    try:
        number = int(float(str(value).replace(",", "").split()[0]))
    except (ValueError, IndexError):
        return None
    return number if number > 0 else None


def allocate(weights: list[float], total: int, low: float, high: float) -> list[int]:
    """Integers proportional to `weights`, each within [low, high] where possible, summing to `total`."""
    n = len(weights)
    shares = [0.0] * n
    free = list(range(n))
    remaining = float(total)
    while free:
        weight_sum = sum(weights[i] for i in free) or 1.0
        tentative = {i: remaining * weights[i] / weight_sum for i in free}
        # Fix the sections over the ceiling first, then those under the floor, then rescale the rest.
        clamped = {i: high for i, v in tentative.items() if v > high}
        if not clamped:
            clamped = {i: low for i, v in tentative.items() if v < low}
        if not clamped:
            for i, v in tentative.items():
                shares[i] = v
            break
        for i, v in clamped.items():
            shares[i] = v
            remaining -= v
            free.remove(i)
    floors = [math.floor(s) for s in shares]
    short = total - sum(floors)
    order = sorted(range(n), key=lambda i: shares[i] - floors[i], reverse=True)
    step = 1 if short >= 0 else -1
    for k in range(abs(short)):
        floors[order[k % n]] += step
    return floors


def usable_sections(raw_sections) -> tuple[list[dict], list[str]]:
    """The planner's sections that can be written from: empty, placeholder ("Title 7", "...") and duplicate
    sections dropped, missing titles or main points taken from each other. Returns the sections (dicts with
    title, main_point, words or None) and what was changed."""
    repairs: list[str] = []
    items: list[dict] = []
    for k, raw in enumerate(raw_sections if isinstance(raw_sections, list) else []):
        if not isinstance(raw, dict):
            repairs.append(f"dropped section {k + 1}: not an object")
            continue
        title, point = _clean(raw.get("title")), _clean(raw.get("main_point") or raw.get("main point"))
        plain = plain_title(title)
        if plain != title:
            title = plain
            repairs.append(f"section {k + 1}: title cleaned of Markdown marks or a numbered label")
        if not title and not point:
            repairs.append(f"dropped section {k + 1}: empty")
            continue
        if not title:
            title = " ".join(point.split()[:6])
            repairs.append(f"section {k + 1}: title taken from its main point")
        if not point:
            point = title
            repairs.append(f"section {k + 1}: main point taken from its title")
        brief = brief_point(point)
        if brief != point:
            repairs.append(f"section {k + 1}: main point cut to its first whole sentences")
        matter = point_matter(brief)
        if matter != brief:
            brief = matter
            repairs.append(f"section {k + 1}: main point said what the piece will do; kept what it is about")
        elif OUR_PIECE.search(brief):
            # "The piece is a soon-to-be-married individual ..." (the 0.5B's plan of a wedding speech): quoted in the
            # section prompt, a point about the text itself has the model write about "the piece" instead of writing it
            brief = title
            repairs.append(f"section {k + 1}: main point was about the piece itself; the title stands for it")
        items.append({"title": title, "main_point": brief, "words": _as_int(raw.get("words"))})

    repairs += _drop_shared_prefix(items)
    unique, seen_titles, seen_points, seen_shapes, dropped, placeholders = [], set(), set(), set(), {}, []
    for item in items:
        t, p = _norm(item["title"]), _norm(item["main_point"])
        shape = (_shape(item["title"]), _shape(item["main_point"]))
        if _PLACEHOLDER.fullmatch(shape[0]) and _PLACEHOLDER.fullmatch(shape[1]):
            placeholders.append(item["title"])
            continue
        if t in seen_titles or p in seen_points or shape in seen_shapes:
            dropped[item["title"]] = dropped.get(item["title"], 0) + 1
            continue
        seen_titles.add(t)
        seen_points.add(p)
        seen_shapes.add(shape)
        unique.append(item)
    unique, unwritable = _writable(unique)
    repairs += unwritable
    if placeholders:
        repairs.append(f"dropped {len(placeholders)} placeholder section(s) ({', '.join(map(repr, placeholders[:3]))}"
                       + (", ...)" if len(placeholders) > 3 else ")"))
    # one note per repeated title: a looping model can repeat a section dozens of times
    repairs += [f"dropped duplicate section {title!r}" + (f" ({n} copies)" if n > 1 else "")
                for title, n in dropped.items()]
    return unique, repairs


def _drop_shared_prefix(items: list[dict]) -> list[str]:
    """Titles without a lead before a colon that several of them share ("The Last Chapter: The Escape", "The Last
    Chapter: The Siege", from the 1.5B's plan of a story): as headings, the lead would repeat down the document.
    Numbered leads differ ("Chapter 1: ...", "Chapter 2: ...") and stay. Changes `items` in place."""
    leads = Counter(item["title"].split(": ", 1)[0] for item in items if ": " in item["title"].strip(": "))
    repairs = []
    for lead, n in leads.items():
        if n < 2:
            continue
        for item in items:
            if item["title"].startswith(lead + ": "):
                item["title"] = item["title"][len(lead) + 2:].strip()
        repairs.append(f"dropped {lead!r} shared by {n} titles")
    return repairs


_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)")
POINT_SENTENCES = 2  # a main point is one sentence; a small model writes a paragraph there, cut at its limit


def brief_point(point: str) -> str:
    """A main point as a brief: its first POINT_SENTENCES whole sentences, without the fragment a reply cut at the
    schema's length limit ends with ("... known for its extensive book,"). A point with no whole sentence stays."""
    ends = [m.end() for m in _SENTENCE_END.finditer(point)]
    if not ends:
        return point
    if len(ends) <= POINT_SENTENCES and ends[-1] == len(point.rstrip()):
        return point
    return point[:ends[min(len(ends), POINT_SENTENCES) - 1]].strip()


# A main point that says what the piece will do ("The article will be about refugee problems in Sudan, ..."): a section
# prompt quoting it has the model announce the article instead of writing it (the 0.5B's whole introduction was "The
# article will be about ... The piece will be divided into two sections ... we will explore ..."). What follows the
# lead is the matter, and stays.
_POINT_META = re.compile(
    r"^\W*(?:in this (?:section|article|part|chapter|essay|piece|guide|report),? (?:we|i) (?:will |shall )?"
    r"(?:discuss|explore|cover|describe|examine|introduce|look at|explain|outline|present)"
    r"|(?:the|this) (?:article|essay|piece|section|part|chapter|report|guide|paper|post|introduction) (?:will )?"
    r"(?:be about|covers?|discuss(?:es)?|explores?|describes?|introduces?|examines?|explains?|outlines?|presents?|"
    r"focus(?:es)? on|looks? at|provides? (?:an? |the reader with an? )?(?:overview|introduction|summary) of))\s+(?=\w)",
    re.IGNORECASE)


def point_matter(point: str) -> str:
    """A main point without a lead saying what the piece will do (`_POINT_META`): "The article will cover the history
    of Sudan" -> "The history of Sudan". A point that is all lead stays."""
    m = _POINT_META.match(point)
    if m is None or len(point[m.end():].split()) < 3:
        return point
    rest = point[m.end():]
    return rest[0].upper() + rest[1:]


# Sections of a book's apparatus, not of its prose: the pipeline writes prose under each title, so a "References"
# section is made-up citations and a "Contact" section a made-up address (the 0.5B planned "References",
# "Appendices" and "Contact" into a travel guide). A glossary is prose of a kind, and stays.
_BACK_MATTER = re.compile(
    r"(references?|bibliography|works cited|sources|citations|notes|endnotes|footnotes|index|appendix|appendices"
    r"|appendix [a-z0-9]+|contacts?|contact (us|information|details|info)|acknowledge?ments?|about the authors?"
    r"|table of contents|contents|further reading|references and further reading|useful links|links)")


def _writable(items: list[dict]) -> tuple[list[dict], list[str]]:
    """The sections without back matter (`_BACK_MATTER`) and without a second close: one section concludes (the
    0.5B planned "Conclusion" and then "Summary"); the first close is kept, later ones are dropped."""
    kept, repairs, closed = [], [], False
    for item in items:
        title = _norm(item["title"])
        if _BACK_MATTER.fullmatch(title):
            repairs.append(f"dropped section {item['title']!r}: back matter, not prose")
            continue
        if _CLOSING.match(title):
            if closed:
                repairs.append(f"dropped section {item['title']!r}: a second close")
                continue
            closed = True
        kept.append(item)
    return kept, repairs


_OPENING = re.compile(r"^(introduction|prologue|overview|opening|preface)\b")
_CLOSING = re.compile(r"^(conclusions?|closing|final thoughts|summary|epilogue|in conclusion|wrapping up)\b")
_BACKGROUND = re.compile(r"^(the )?(historical )?(background|context)\b")


def _opening_first_close_last(items: list[dict]) -> list[dict]:
    """An introduction the model placed later goes first, a background section right after it (the 0.5B placed
    "Background" fourth of five), a conclusion it placed earlier goes last."""
    opening = [i for i in items if _OPENING.match(_norm(i["title"]))]
    closing = [i for i in items if _CLOSING.match(_norm(i["title"])) and i not in opening]
    background = [i for i in items if _BACKGROUND.match(_norm(i["title"])) and i not in opening + closing]
    rest = [i for i in items if i not in opening and i not in closing and i not in background]
    return opening + background + rest + closing


def complete_plan(instruction: str, target_words: int, items: list[dict], min_sections: int | None = None,
                  keep_sections: bool = False) -> tuple[list[PlannedSection], list[str]]:
    """Usable sections (`usable_sections`) made into a plan the target allows: too many merged, too few filled
    with generic sections (the last resort: the planner is asked for the missing ones first), budgets
    rebalanced to sum to the target. `min_sections` raises the fewest sections kept.

    `keep_sections` (a user's own outline): the sections stay as they are, in their order, and only the budgets
    change: missing ones get the median of those given, then all are scaled to sum to the target, keeping the
    user's proportions (no 150-1000 word bounds: the user chose them)."""
    repairs: list[str] = []
    if not keep_sections:  # parts planned one by one may each bring a close
        items, repairs = _writable(list(items))
    unique = list(items) if keep_sections else _opening_first_close_last(list(items))
    if unique != list(items):
        repairs.append("moved sections into reading order: an opening first, a background next, a close last")
    seen_titles = {_norm(i["title"]) for i in unique}
    low, high = section_count_bounds(target_words)
    low = min(high, max(low, min_sections or 0))
    if len(unique) > high and not keep_sections:
        repairs.append(f"merged {len(unique)} sections down to {high}")
        unique = unique[: high - 1] + [unique[-1]] if high > 1 else unique[:1]
    if len(unique) < low and not keep_sections:
        want = low
        fillers = [a for a in FILLER_ANGLES if _norm(a[0]) not in seen_titles]
        # Long targets need more sections than there are angles: go round again, numbered.
        rounds = 2
        while len(fillers) < want:
            fillers += [(f"{t} ({rounds})", p) for t, p in FILLER_ANGLES if t != "Conclusion"]
            rounds += 1
        closes = bool(unique) and _norm(unique[-1]["title"]).startswith(("conclusion", "closing", "final"))
        if not closes:  # the piece still needs a close: the last filler is the conclusion
            conclusion = [a for a in fillers if a[0] == "Conclusion"]
            fillers = [a for a in fillers if a[0] != "Conclusion"]
            fillers = fillers[:want - len(unique) - len(conclusion)] + conclusion
        added = 0
        while len(unique) < want:
            title, point = fillers.pop(0)
            filler = {"title": title, "main_point": point.format(instruction=_clean(instruction)[:300]), "words": None}
            unique.insert(len(unique) - 1 if closes else len(unique), filler)
            added += 1
        repairs.append(f"added {added} generic section(s) to reach {len(unique)} (last resort: the planner gave too "
                       "few usable sections)")

    given = [i["words"] for i in unique if i["words"]]
    default = sorted(given)[len(given) // 2] if given else target_words / len(unique)
    if keep_sections:
        budgets = allocate([float(i["words"] or default) for i in unique], target_words, 1, target_words)
    else:
        weights = [float(min(MAX_SECTION_WORDS, max(MIN_SECTION_WORDS, i["words"] or default))) for i in unique]
        budgets = allocate(weights, target_words, min(MIN_SECTION_WORDS, target_words / len(unique)),
                           MAX_SECTION_WORDS)
    if [i["words"] for i in unique] != budgets:
        stated = sum(i["words"] or 0 for i in unique)
        repairs.append(f"rebalanced budgets from {stated} to {target_words} words")
    sections = [PlannedSection(title=i["title"], main_point=i["main_point"], words=b) for i, b in zip(unique, budgets)]
    return sections, repairs


def repair_plan(instruction: str, target_words: int, raw_sections: list,
                min_sections: int | None = None) -> tuple[list[PlannedSection], list[str]]:
    """Make a usable plan from whatever the planner produced (`usable_sections`, then `complete_plan`).
    Returns the sections and what was changed."""
    items, repairs = usable_sections(raw_sections)
    sections, more = complete_plan(instruction, target_words, items, min_sections)
    return sections, repairs + more

"""What a section must pass before it is committed: length, no loops, no copying, on its point, no defects.

Each check returns a failure message written for the model: the control unit feeds it back
into the prompt when it re-runs the section. The on-point check is lexical: the section must
use a share of the content words of its title and main point (matched on their first five
letters, so "trading" matches "trade"). It is cheap, needs no model, and catches the failure
small models actually have: drifting onto another topic or back into an earlier section.
Defects (`writer.text.defects`: headings, early conclusions, chatter, echoes, off-task text,
repeats, restarts) are cut from drafts before the check; one still there could not be cut
cleanly, and fails the section.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from writer.artifacts import PlannedSection
from writer.text.citations import Citation, failed_share
from writer.text.defects import Place, feedback, find_defects
from writer.text.lengths import LONG, SHORT, count_words
from writer.text.repetition import NGRAM, loop_start
from writer.text.words import STOPWORDS, TASK_WORDS, stem, tokens

MIN_ON_POINT = 0.34  # share of the main point's keywords the section must use
MAX_COPIED = 0.2  # share of a section's 8-grams that may already appear in earlier sections
MAX_FAILED_CITATIONS = 0.5  # a draft with more of its citations failing than this is written again



def keywords(section: PlannedSection) -> list[str]:
    """Content words of the section's title and main point, lowercased, in order, unique."""
    seen: list[str] = []
    for w in tokens(f"{section.title} {section.main_point}"):
        if len(w) >= 4 and w.isalpha() and w not in STOPWORDS and w not in TASK_WORDS and w not in seen:
            seen.append(w)
    return seen


def missing_keywords(text: str, section: PlannedSection) -> list[str]:
    stems = {stem(w) for w in tokens(text)}
    return [k for k in keywords(section) if stem(k) not in stems]


def copied_share(text: str, earlier: str) -> float:
    """Share of `text`'s 8-word sequences that already occur in `earlier`."""
    words = tokens(text)
    grams = [tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
    if not grams or not earlier:
        return 0.0
    before_words = tokens(earlier)
    before = {tuple(before_words[i:i + NGRAM]) for i in range(len(before_words) - NGRAM + 1)}
    return sum(g in before for g in grams) / len(grams)


@dataclass
class CheckResult:
    failures: list[str] = field(default_factory=list)
    words: int = 0
    defects_left: Counter = field(default_factory=Counter)

    @property
    def passed(self) -> bool:
        return not self.failures

    def badness(self, budget: int) -> tuple[int, float]:
        """Sort key among attempts: fewer failures first, then closer to the budget."""
        return len(self.failures), abs(self.words - budget) / max(budget, 1)


def check_section(text: str, section: PlannedSection, earlier: str = "", place: Place | None = None) -> CheckResult:
    """Run every check on a section draft; `earlier` is the text of the sections before it, `place` where the
    section sits (for the defect checks)."""
    result = CheckResult(words=count_words(text))
    if result.words < SHORT * section.words:
        result.failures.append(f"too short: {result.words} words of the {section.words} planned")
    elif result.words > LONG * section.words:
        result.failures.append(f"too long: {result.words} words of the {section.words} planned")
    start = loop_start(text)
    if start is not None:
        result.failures.append(f"repeats itself from: \"{text[start:start + 80].strip()}\"")
    if copied_share(text, earlier) > MAX_COPIED:
        result.failures.append("repeats text from earlier sections; say something new")
    wanted = keywords(section)
    missing = missing_keywords(text, section)
    if wanted and (len(wanted) - len(missing)) / len(wanted) < MIN_ON_POINT:
        result.failures.append(f"strays from its main point; it must be about: {', '.join(missing[:6])}")
    left = find_defects(text, place, earlier) if place is not None else []
    if left:
        result.defects_left = Counter(f.kind for f in left)
        result.failures.append(feedback(left))
    return result


def citation_failure(citations: list[Citation]) -> str | None:
    """The failure for a draft most of whose citations do not hold (None when most hold, or there are none).
    Those that fail are dropped from the text either way; this asks for a draft that cites properly."""
    if failed_share(citations) <= MAX_FAILED_CITATIONS:
        return None
    bad = [c for c in citations if not c.supported]
    shown = "; ".join(f"[{c.number}] {c.reason}" for c in bad[:3])
    return (f"{len(bad)} of its {len(citations)} citations do not hold ({shown}); cite only the numbered passages, "
            "and only for what they say")

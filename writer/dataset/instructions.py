"""Instruction synthesis (Self-Lengthen / AgentWrite style): writing instructions with explicit lengths.

The model writes instructions for seed topics, one (topic, category) pair per request, under a
JSON schema and *without* a length; the code adds the length, so every length is exact and
`parse_target_words` reads it back. The model is assumed weak (it repeats, copies the prompt's
example, drifts off topic, breaks JSON), so the pipeline does the quality work: each candidate is
cleaned and validated, duplicates (exact and near) are dropped, a few bounded rounds ask again for
the pairs still short, and template instructions fill whatever is still missing. Lengths are
spread over LongBench-Write's buckets (<500, 500-2k, 2k-4k, >4k) and their phrasing is varied
(`writer.dataset.length_requirements`).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datasets_out.dedupe import keep_unique, normalize
from prompts import render
from writer.atomic import write_atomic
from writer.calls import CallRecorder
from writer.dataset.length_requirements import LENGTH_STYLES, length_schedule, noun_phrase, strip_length, with_length
from writer.engines.base import ChatRequest, Engine, Message
from writer.errors import UsageError
from writer.text.lengths import parse_target_words
from writer.text.words import content_words, stem, tokens

TEMPLATE = "dataset/instructions.j2"
STAGE = "instructions"

# Roughly LongBench-Write / LongWriter-6k's mix of long-output tasks.
CATEGORIES = ("story", "essay", "report", "article", "guide", "speech", "letter", "review",
              "blog post", "lecture notes")

MAX_ROUNDS = 4
PER_REQUEST = 3          # instructions asked for in one request: few, so topics spread over many requests
OVERSHOOT = 1.5          # ask for this many times the missing count, since many candidates get rejected
MIN_INSTRUCTION_WORDS, MAX_INSTRUCTION_WORDS = 4, 60

# Example topics for the prompt, each with a marker phrase: a candidate containing the marker
# (when the real topic does not) copied the example instead of writing for the topic.
EXAMPLES = (("the last lighthouse keeper on a remote island", "lighthouse keeper"),
            ("how honeybees choose a new home", "honeybees"),
            ("the history of the bicycle", "bicycle"))

# Template phrasings: (verb, adjective before the category, rest); "{topic}" is filled in.
TEMPLATE_PHRASINGS = (
    ("Write", "", "about {topic}."),
    ("Compose", "detailed", "on {topic}."),
    ("Draft", "", "that explores {topic}."),
    ("Prepare", "", "examining {topic} for a general audience."),
    ("Create", "engaging", "centred on {topic}."),
    ("Produce", "thoughtful", "discussing {topic}."),
    ("Write", "", "for newcomers that explains {topic}."),
    ("Compose", "", "that reflects on {topic} from a personal angle."),
)

# Words that make a text read as a request to write something; a candidate with none of them
# is a statement or chatter, not an instruction.
_REQUEST_WORDS = set("""write compose draft create prepare produce tell describe explain imagine craft develop
deliver discuss argue analyze analyse review outline pen present compare explore persuade summarize summarise
narrate give share reflect evaluate recount investigate convince introduce teach document examine detail
chronicle profile critique portray depict""".split())


_LEADING_JUNK = re.compile(r"^\s*(?:(?:\d+|[a-zA-Z])[.):]\s+|[-*•·]\s*|#+\s*|instruction\s*\d*\s*:\s*)+", re.I)
_QUOTES = "\"'“”‘’`«»"

ProgressFn = Callable[[int, int], None]


@dataclass
class SynthesisReport:
    """What `synthesize` produced and why candidates were dropped (reason -> count)."""

    records: list[dict]
    from_model: int = 0
    from_template: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rounds: int = 0


@dataclass
class _Candidate:
    base: str          # the instruction without any length
    topic: str
    category: str
    source: str        # "model" or "template"


# ---------------------------------------------------------------- input and output files

def read_topics(path: Path) -> list[str]:
    """Seed topics, one per non-empty line; lines starting with # are comments; exact repeats dropped."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"topics file not found: {path}")
    data = path.read_bytes()
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"topics file is not UTF-8 text: {path}") from None
    topics, seen = [], set()
    for line in text.splitlines():
        topic = line.strip()
        if not topic or topic.startswith("#") or topic.lower() in seen:
            continue
        seen.add(topic.lower())
        topics.append(topic)
    if not topics:
        raise UsageError(f"topics file has no topics (one per line): {path}")
    return topics


def write_instructions(path: Path, records: list[dict]) -> None:
    """Write records as JSONL atomically, so a crash never leaves half a file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"folder does not exist: {path.parent}")
    write_atomic(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))


# ---------------------------------------------------------------- candidate cleaning and checks

def clean(text: str) -> str:
    """Strip numbering, bullets, surrounding quotes and extra white space from a model's candidate."""
    text = " ".join(str(text).split())
    for _ in range(3):
        before = text
        text = _LEADING_JUNK.sub("", text).strip()
        while len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
        if text[:1] in _QUOTES and text and text.count(text[0]) % 2:
            text = text[1:].strip()
        if text[-1:] in _QUOTES and text and text.count(text[-1]) % 2:
            text = text[:-1].strip()
        if text == before:
            break
    return text


def _content_words(text: str) -> set[str]:
    content = {stem(w) for w in content_words(text)}
    return content or {stem(w) for w in tokens(text)}


def example_for(topic: str) -> tuple[str, str]:
    """The prompt's example topic and its marker: the first example that shares no word with `topic`."""
    words = _content_words(topic)
    for example, marker in EXAMPLES:
        if not (_content_words(example) & words):
            return example, marker
    return EXAMPLES[0]


def example_instruction(category: str, example_topic: str) -> str:
    return f"Write {noun_phrase(category)} for curious teenagers about {example_topic}, focusing on one vivid detail."


def check(candidate: str, topic: str, category: str) -> tuple[str | None, str]:
    """(reason it is rejected or None, the cleaned instruction without a length)."""
    text = clean(candidate)
    if not text:
        return "empty", text
    stripped = strip_length(text)
    if stripped is None:
        return "stated_length", text
    text = stripped
    n = len(text.split())
    if n < MIN_INSTRUCTION_WORDS:
        return "too_short", text
    if n > MAX_INSTRUCTION_WORDS:
        return "too_long", text
    example_topic, marker = example_for(topic)
    norm = normalize(text)
    if norm == normalize(example_instruction(category, example_topic)) or (
            normalize(marker) in norm and normalize(marker) not in normalize(topic)):
        return "example_copy", text
    words = set(tokens(text))
    if not words & _REQUEST_WORDS:
        return "not_instruction", text
    if not ({stem(w) for w in words} & _content_words(topic)):
        return "off_topic", text
    return None, text[0].upper() + text[1:]


def parse_reply(text: str) -> list[str] | None:
    """The candidate strings in a reply; salvages quoted strings from broken or truncated JSON. None: nothing."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        data = None
    if isinstance(data, dict):
        data = data.get("instructions", list(data.values()))
    if isinstance(data, str):
        data = [data]
    if isinstance(data, list):
        items = [item for item in data if isinstance(item, str)]
        return items or None
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', text or "")
    items = []
    for s in strings:
        try:
            s = json.loads(f'"{s}"')
        except json.JSONDecodeError:
            continue
        if s.strip().lower() not in ("instructions", "instruction"):
            items.append(s)
    return items or None


def instructions_schema(k: int) -> dict:
    return {
        "type": "object",
        "properties": {"instructions": {"type": "array", "minItems": 1, "maxItems": k,
                                        "items": {"type": "string", "minLength": 10, "maxLength": 300}}},
        "required": ["instructions"],
        "additionalProperties": False,
    }


def build_request(topic: str, category: str, seed: int, k: int = PER_REQUEST) -> ChatRequest:
    example_topic, _ = example_for(topic)
    prompt = render(TEMPLATE, k=k, topic=topic, a_category=noun_phrase(category),
                    example_topic=example_topic,
                    example_json=json.dumps({"instructions": [example_instruction(category, example_topic)]}))
    return ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=60 + 70 * k,
                       temperature=0.9, seed=seed, json_schema=instructions_schema(k))


# ---------------------------------------------------------------- synthesis

def pair_order(topics: Sequence[str], categories: Sequence[str], rng: random.Random) -> list[tuple[str, str]]:
    """Every (topic, category) pair once, round-robin over categories, each category walking its own
    shuffle of the topics: the first requests already cover every category and many topics."""
    queues = []
    for _ in categories:
        queue = list(topics)
        rng.shuffle(queue)
        queues.append(queue)
    return [(queues[c][t], categories[c]) for t in range(len(topics)) for c in range(len(categories))]


def template_candidates(pairs: Sequence[tuple[str, str]]):
    """Template instructions: every pair in turn with a rotating phrasing, then the next phrasing."""
    for shift in range(len(TEMPLATE_PHRASINGS)):
        for j, (topic, category) in enumerate(pairs):
            verb, adjective, rest = TEMPLATE_PHRASINGS[(j + shift) % len(TEMPLATE_PHRASINGS)]
            text = f"{verb} {noun_phrase(category, adjective)} {rest.format(topic=topic.rstrip(' .'))}"
            yield _Candidate(text[0].upper() + text[1:], topic, category, "template")


class _Pool:
    """Accepted candidates, unique by their length-free text (exact and near duplicates dropped)."""

    def __init__(self, rejected: Counter):
        self.items: list[_Candidate] = []
        self.rejected = rejected

    def add(self, new: list[_Candidate]) -> list[_Candidate]:
        """Add the new candidates that duplicate neither the pool nor an earlier new one; returns them.

        One `keep_unique` pass over pool + batch: call it once per batch, not per candidate."""
        if not new:
            return []
        texts = [c.base for c in self.items] + [c.base for c in new]
        keep = set(keep_unique(texts))
        added = [c for i, c in enumerate(new, start=len(self.items)) if i in keep]
        self.rejected["duplicate"] += len(new) - len(added)
        self.items.extend(added)
        return added

    def remove(self, drop: list[_Candidate]) -> None:
        ids = {id(c) for c in drop}
        self.items = [c for c in self.items if id(c) not in ids]


def _balanced(items: list[_Candidate], categories: Sequence[str], n: int,
              counts: Counter | None = None) -> list[_Candidate]:
    """Up to n candidates, each taken from the category chosen least so far (ties: category order);
    within a category in pool order."""
    by_cat: dict[str, list[_Candidate]] = defaultdict(list)
    for c in items:
        by_cat[c.category].append(c)
    counts = Counter(counts or {})
    out: list[_Candidate] = []
    while len(out) < n:
        open_ = [cat for cat in categories if by_cat[cat]]
        if not open_:
            break
        cat = min(open_, key=lambda c: counts[c])
        out.append(by_cat[cat].pop(0))
        counts[cat] += 1
    return out


def _choose(items: list[_Candidate], categories: Sequence[str], n: int) -> list[_Candidate]:
    """Model instructions first (balanced over categories), then templates for the categories still short."""
    chosen = _balanced([c for c in items if c.source == "model"], categories, n)
    return chosen + _balanced([c for c in items if c.source == "template"], categories, n - len(chosen),
                              Counter(c.category for c in chosen))


def synthesize(engine: Engine, topics: list[str], n: int, *, seed: int = 0, store=None,
               categories: Sequence[str] = CATEGORIES, lengths: tuple[int, int] = (300, 20000),
               on_progress: ProgressFn | None = None) -> SynthesisReport:
    """At most `n` distinct instructions with explicit lengths for `topics` (fewer only if even the
    templates run out). `on_progress(done, n)` is called after each model round and at the end."""
    topics = list(dict.fromkeys(t.strip() for t in topics if t and t.strip()))
    categories = list(dict.fromkeys(c.strip() for c in categories if c and c.strip()))
    if not topics:
        raise UsageError("no topics given")
    if not categories:
        raise UsageError("no categories given")
    lo, hi = lengths
    if not (1 <= lo <= hi):
        raise UsageError(f"bad length range {lo}..{hi}: need 1 <= low <= high")
    rejected: Counter = Counter()
    if n <= 0:
        return SynthesisReport(records=[], rejected={})

    rng = random.Random(seed)
    pairs = pair_order(topics, categories, rng)
    schedule = length_schedule(n, (lo, hi), rng)
    styles = [rng.choice(LENGTH_STYLES) for _ in range(n)]
    call = CallRecorder(engine, store)
    pool = _Pool(rejected)

    # Model rounds: ask for pairs still short of their share, least-asked first, new seeds each round.
    per_pair = max(1, math.ceil(n / len(pairs)))
    got: Counter = Counter()
    asked: Counter = Counter()
    rounds = 0
    while rounds < MAX_ROUNDS and len(pool.items) < n:
        missing = n - len(pool.items)
        wanted = max(1, math.ceil(OVERSHOOT * missing / PER_REQUEST))
        open_pairs = sorted((p for p in pairs if got[p] < per_pair), key=lambda p: asked[p])
        open_pairs = open_pairs or list(pairs)
        batch = [open_pairs[i % len(open_pairs)] for i in range(wanted)]
        requests = [build_request(topic, cat, seed=(seed * 1_000_003 + rounds * 100_003 + i) % 2**31)
                    for i, (topic, cat) in enumerate(batch)]
        completions = call(STAGE, requests, template=TEMPLATE)
        rounds += 1
        accepted = []
        for (topic, cat), completion in zip(batch, completions):
            asked[(topic, cat)] += 1
            items = parse_reply(completion.text)
            if items is None:
                rejected["bad_json"] += 1
                continue
            for item in items:
                reason, base = check(item, topic, cat)
                if reason:
                    rejected[reason] += 1
                else:
                    accepted.append(_Candidate(base, topic, cat, "model"))
        got.update((c.topic, c.category) for c in pool.add(accepted))
        if on_progress is not None:
            on_progress(min(len(pool.items), n), n)

    # Assemble: balance categories, add lengths, drop near-duplicate finals; fill from templates.
    templates = template_candidates(pairs)
    while True:
        if len(pool.items) < n:
            _fill(pool, templates, n)
        chosen = _choose(pool.items, categories, n)
        finals, unusable = [], []
        for c in chosen:
            text = with_length(c.base, schedule[len(finals)], styles[len(finals)])
            if text is None:
                unusable.append(c)
            else:
                finals.append((c, text, schedule[len(finals)]))
        keep = set(keep_unique([text for _, text, _ in finals]))
        dupes = [c for i, (c, _, _) in enumerate(finals) if i not in keep]
        if not unusable and not dupes:
            break
        rejected["length_unparsable"] += len(unusable)
        rejected["duplicate"] += len(dupes)
        pool.remove(unusable + dupes)
    records = [{"instruction": text, "length": words, "category": c.category, "topic": c.topic, "source": c.source}
               for c, text, words in finals]
    for r in records:  # the contract with `writer dataset generate --words-field length`
        assert parse_target_words(r["instruction"]).words == r["length"], r
    if on_progress is not None:
        on_progress(len(records), n)
    return SynthesisReport(records=records, from_model=sum(r["source"] == "model" for r in records),
                           from_template=sum(r["source"] == "template" for r in records),
                           rejected={k: v for k, v in sorted(rejected.items()) if v}, rounds=rounds)


def _fill(pool: _Pool, templates, n: int) -> None:
    """Add template instructions to the pool until it holds n (or the templates run out)."""
    while len(pool.items) < n:
        batch = [c for c, _ in zip(templates, range(2 * (n - len(pool.items))))]
        if not batch:
            return
        pool.add(batch)

"""The summarise instruction: a section's summary and the facts it establishes, kept in memory.

The model fills a JSON schema (constrained decoding, so the reply always parses). What it
returns is then checked against the section, because a small model invents freely: a name
is kept only if it occurs in the section, a fact only if most of its content words do, and a
summary must be a sensible length and must not loop. When the summary fails, an extractive
one (the section's first and last sentences) is stored instead, and the event says so.
"""

from __future__ import annotations

import json

from prompts import render
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message
from writer.text.lengths import SENTENCE_END, count_words, trim_to_words
from writer.text.repetition import loop_start
from writer.text.words import stem, tokens

SUMMARISE_TEMPLATE = "memory/summarise.j2"
SECTION_WORDS_SHOWN = 700  # the summariser sees at most this much of a section
MAX_TOKENS = 280

# Tight bounds: the longest reply the schema allows (~230 tokens) fits MAX_TOKENS, so a reply is never cut
# off mid-JSON, and a looping summary costs little.
SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": 300},
        "names": {"type": "array", "items": {"type": "string", "maxLength": 24}, "maxItems": 5},
        "facts": {"type": "array", "items": {"type": "string", "maxLength": 90}, "maxItems": 3},
        "open_threads": {"type": "array", "items": {"type": "string", "maxLength": 70}, "maxItems": 2},
    },
    "required": ["summary", "names", "facts", "open_threads"],
    "additionalProperties": False,
}


def extractive_summary(text: str, max_words: int = 60) -> str:
    """The first and last sentences of `text`, at most `max_words` words."""
    sentences = [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]
    if not sentences:
        return ""
    picked = sentences[:1] + (sentences[-1:] if len(sentences) > 1 else [])
    return trim_to_words(" ".join(picked), max_words)


def grounded(claim: str, text: str, share: float = 0.6) -> bool:
    """Whether most content words of `claim` (4+ letters) occur in `text`."""
    words = {stem(w) for w in tokens(text)}
    content = [stem(w) for w in tokens(claim) if len(w) >= 4]
    return bool(content) and sum(w in words for w in content) / len(content) >= share


def parse_memory(raw: str, text: str) -> tuple[str | None, dict]:
    """The checked summary (None when unusable) and the grounded names, facts and threads."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return None, {"names": [], "facts": [], "open_threads": []}
    if not isinstance(data, dict):
        return None, {"names": [], "facts": [], "open_threads": []}
    summary = str(data.get("summary") or "").strip()
    ok = 5 <= count_words(summary) <= 90 and loop_start(summary) is None and grounded(summary, text, 0.5)
    lowered = text.lower()
    names = [n.strip() for n in data.get("names") or [] if isinstance(n, str) and n.strip()
             and n.strip().lower() in lowered]
    facts = [f.strip() for f in data.get("facts") or [] if isinstance(f, str) and grounded(f, text)]
    threads = [t.strip() for t in data.get("open_threads") or [] if isinstance(t, str) and grounded(t, text, 0.5)]
    return (summary if ok else None), {"names": names, "facts": facts, "open_threads": threads}


def summarise(call: CallRecorder, title: str, text: str, index: int) -> tuple[str, dict, bool]:
    """Summary, grounded facts, and whether the model's summary was used (False: extractive fallback)."""
    shown = trim_to_words(text, SECTION_WORDS_SHOWN)
    request = ChatRequest(messages=[Message(role="user", content=render(SUMMARISE_TEMPLATE, title=title, text=shown))],
                          max_tokens=MAX_TOKENS, temperature=0.2, json_schema=SCHEMA)
    raw = call("summarise", [request], template=SUMMARISE_TEMPLATE, section_index=index)[0].text
    summary, found = parse_memory(raw, text)
    if summary is None:
        return extractive_summary(text), found, False
    return summary, found, True

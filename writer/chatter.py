"""Assistant chatter around the prose: "Sure, here is the edited version:", "I hope this helps!".

Small chat models wrap what they write in remarks addressed to the user. In a document they
read as glitches, so drafts and Extender rewrites are cleaned of them: leading lines that
announce the text and trailing lines that offer more help. Only short lines that match these
shapes are removed, so prose that merely starts with "Here" stays.
"""

from __future__ import annotations

import re

MAX_WORDS = 30  # a chatter line is a short remark, not a paragraph of prose
_LEAD = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok|absolutely|great)\b[!,.]?\s*)?"
    r"(?:(?:here\s+is|here's|here\s+are|below\s+is|this\s+is)\b.*(?:version|text|paragraph|section|essay|article|"
    r"draft|rewrite|revision|continuation|response)\b.*[:.!]?\s*$"
    r"|(?:sure|certainly|of course|okay|absolutely)\b[!,.]?\s*$"
    r"|.*\b(?:edited|revised|rewritten|expanded|updated|improved)\s+version\b.*:\s*$)",
    re.IGNORECASE)
_TRAIL = re.compile(
    r"^\s*(?:i hope (?:this|that|it) helps|let me know if|feel free to|is there anything else|"
    r"your contribution should|i will make it|if you (?:need|want|would like) (?:any|more|further))",
    re.IGNORECASE)


def _is_lead(line: str) -> bool:
    return len(line.split()) <= MAX_WORDS and bool(_LEAD.match(line))


def _is_trail(line: str) -> bool:
    return len(line.split()) <= MAX_WORDS and bool(_TRAIL.match(line))


def strip_chatter(text: str) -> str:
    """`text` without leading announcements and trailing offers of help (blank lines around them too)."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or _is_lead(lines[0])):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _is_trail(lines[-1])):
        lines.pop()
    return "\n".join(lines).strip()

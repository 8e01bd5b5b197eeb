"""Document-level passes over finished sections: stitching boundaries and the consistency pass.

Stitching (parallel mode, where each section was drafted without seeing the one before):
the model rewrites a section's opening paragraph so it follows on from the previous section's
ending. A rewrite is kept only if it keeps the opening's length and content, does not loop,
does not copy the previous ending and cites no source the opening did not; otherwise the
original opening stays. A revised section (`writer revise`) is stitched at both ends without
touching its neighbours: its opening after the section before, and its closing paragraph
(`stitch_endings`) before the section after.

Consistency (every mode, last): sentences that repeat an earlier section word for word are
removed (small models restate), then the document's total length is brought within
tolerance of the target: a short document has its shortest sections continued, a long
one has its longest sections trimmed at sentence boundaries.
"""

from __future__ import annotations

from prompts import render
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message, Sampling
from writer.pipeline.context import TOKENS_PER_WORD
from writer.pipeline.memory.checks import copied_share
from writer.pipeline.memory.summaries import grounded
from writer.text.citations import cited_numbers
from writer.text.defects import Place, banned_words, blocks, clean, cut_spans, find_defects, sentence_spans
from writer.text.lengths import count_words, end_at_sentence, trim_to_words
from writer.text.repetition import loop_start

STITCH_TEMPLATE = "memory/stitch.j2"
STITCH_ENDING_TEMPLATE = "memory/stitch_ending.j2"
TAIL_WORDS = 120  # how much of the previous section the stitcher sees
OPENING_WORDS = 120  # longest opening it rewrites
# A rewrite keeps what the paragraph says, so it samples cooler than drafting (Sampling()'s 0.7).
REWRITE_SAMPLING = Sampling(temperature=0.5)


def split_opening(text: str) -> tuple[str, str]:
    """The opening (first paragraph, or its first sentences up to OPENING_WORDS // 2) and the rest of `text`,
    the rest exactly as written (its line breaks kept: a list stays a list)."""
    text = text.strip()
    paragraphs = blocks(text)
    if not paragraphs:
        return "", ""
    first = paragraphs[0]
    if count_words(first.text(text)) <= OPENING_WORDS and len(paragraphs) > 1:
        return first.text(text), text[paragraphs[1].start:]
    spans = sentence_spans(text, first.lines[0][0], first.lines[0][1])
    end = spans[0][1] if spans else first.lines[0][1]
    for s, e in spans[1:]:
        if count_words(text[:e]) > OPENING_WORDS // 2:
            break
        end = e
    return text[:end].strip(), text[end:].strip()


def _gap(text: str, head: str, tail: str) -> str:
    """What joins `head` and `tail` again once one is rewritten: a paragraph break where `text` (their stripped
    concatenation) had a line break between them, else a space, so an opening or closing cut from the middle of a
    long paragraph goes back into that paragraph instead of being split off from it."""
    text = text.strip()
    return "\n\n" if "\n" in text[len(head):len(text) - len(tail)] else " "


def tail_words(text: str, words: int = TAIL_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[-words:])


def _rewrite_request(prompt: str, n: int, place: Place) -> ChatRequest:
    return ChatRequest(stop_on_loop=True, messages=[Message(role="user", content=prompt)],
                       max_tokens=int(n * TOKENS_PER_WORD * 1.6) + 32, min_tokens=int(n * TOKENS_PER_WORD * 0.7),
                       bad_words=banned_words(place), **REWRITE_SAMPLING.model_dump())


def stitch_requests(instruction: str, pairs: list[tuple[str, str, str]], places: list[Place],
                    style: str = "") -> list[ChatRequest]:
    """One request per (previous text, title, section text) boundary."""
    requests = []
    for (previous, title, text), place in zip(pairs, places):
        opening, _ = split_opening(text)
        prompt = render(STITCH_TEMPLATE, instruction=instruction, previous_tail=tail_words(previous), title=title,
                        opening=opening, style=style)
        requests.append(_rewrite_request(prompt, count_words(opening), place))
    return requests


SENTENCE_ENDS = ".!?\"”)*"


def rewritten_paragraph(completion: str, place: Place, earlier: str) -> str:
    """The first paragraph of a stitch rewrite, cleaned of defects and cut back to its last full sentence: a
    rewrite stopped by its token cap ("... for the people. In the") would otherwise break the paragraph off."""
    paragraph = clean([completion], place, earlier)[0][0].split("\n\n")[0].strip()
    return end_at_sentence(paragraph, 1)


def accept_stitch(opening: str, rewrite: str, previous: str) -> str | None:
    """Why `rewrite` cannot replace `opening`, or None when it can."""
    n, m = count_words(opening), count_words(rewrite)
    if opening.rstrip()[-1:] in SENTENCE_ENDS and rewrite.rstrip()[-1:] not in SENTENCE_ENDS:
        return "rewrite ends mid-sentence"
    if not 0.7 * n <= m <= 1.8 * n + 10:
        return f"rewrite has {m} words for an opening of {n}"
    if loop_start(rewrite) is not None:
        return "rewrite loops"
    if copied_share(rewrite, tail_words(previous)) > 0.25:
        return "rewrite copies the previous ending"
    if not grounded(opening, rewrite, 0.5):
        return "rewrite drops what the opening said"
    if set(cited_numbers(rewrite)) - set(cited_numbers(opening)):
        return "rewrite cites a source the opening did not"
    return None


def stitch(call: CallRecorder, instruction: str, boundaries: list[tuple[int, str, str, str]],
           places: list[Place], style: str = "") -> list[tuple[str, str]]:
    """Rewrite the openings at `boundaries` (index, previous text, title, text) in one batch; `places` say where
    each section sits, for the defect checks the rewrite must pass too.
    Returns (new text, note) per boundary; the text is unchanged where the rewrite was rejected."""
    if not boundaries:
        return []
    requests = stitch_requests(instruction, [(p, t, x) for _, p, t, x in boundaries], places, style)
    out = []
    completions = call("stitch", requests, template=STITCH_TEMPLATE)
    for (index, previous, _, text), completion, place in zip(boundaries, completions, places):
        opening, rest = split_opening(text)
        rewrite = rewritten_paragraph(completion.text, place, previous)
        reason = accept_stitch(opening, rewrite, previous)
        if reason is None:
            out.append(((rewrite + _gap(text, opening, rest) + rest).strip(),
                        f"opening rewritten ({count_words(opening)} -> {count_words(rewrite)} words)"))
        else:
            out.append((text, f"kept original opening: {reason}"))
    return out


def split_closing(text: str) -> tuple[str, str]:
    """The rest and the closing (last paragraph, or its last sentences up to OPENING_WORDS // 2) of `text`, the
    rest exactly as written."""
    text = text.strip()
    paragraphs = blocks(text)
    if not paragraphs:
        return "", ""
    last = paragraphs[-1]
    if count_words(last.text(text)) <= OPENING_WORDS and len(paragraphs) > 1:
        return text[:last.start].rstrip(), last.text(text)
    start, end = last.lines[-1]
    spans = sentence_spans(text, start, end)
    begin = spans[-1][0] if spans else start
    for s, _ in reversed(spans[:-1]):
        if count_words(text[s:]) > OPENING_WORDS // 2:
            break
        begin = s
    return text[:begin].rstrip(), text[begin:].strip()


def stitch_ending(call: CallRecorder, instruction: str, text: str, next_title: str, following: str, place: Place,
                  style: str = "") -> tuple[str, str]:
    """Rewrite the closing paragraph of `text` (a revised section) so it leads into `following`, the next
    section (titled `next_title`), which is left as it is. Returns the new text and a note; the text is unchanged
    where the rewrite was rejected."""
    rest, closing = split_closing(text)
    if not closing:
        return text, "kept original closing: nothing to rewrite"
    head, _ = split_opening(following)
    prompt = render(STITCH_ENDING_TEMPLATE, instruction=instruction, closing=closing, next_title=next_title,
                    next_head=head, style=style)
    completion = call("stitch", [_rewrite_request(prompt, count_words(closing), place)],
                      template=STITCH_ENDING_TEMPLATE, section_index=place.index)[0]
    rewrite = rewritten_paragraph(completion.text, place, rest)
    reason = accept_stitch(closing, rewrite, head)
    if reason is not None:
        return text, f"kept original closing: {reason}"
    return (rest + _gap(text, rest, closing) + rewrite).strip(), f"closing rewritten ({count_words(closing)} -> {count_words(rewrite)} words)"


def drop_repeated_sentences(texts: list[str]) -> tuple[list[str], list[int]]:
    """Remove sentences already written in an earlier section (`writer.text.defects`' "repeated" check), each text's
    line structure kept. Returns the texts and how many sentences each lost."""
    out, removed = [], []
    for k, text in enumerate(texts):
        earlier = "\n\n".join(out)
        repeats = [f for f in find_defects(text, Place(index=k, count=len(texts)), earlier) if f.kind == "repeated"]
        out.append(cut_spans(text, [(f.start, f.end) for f in repeats]) if repeats else text)
        removed.append(len(repeats))
    return out, removed


def trim_to_total(texts: list[str], budgets: list[int], total: int) -> list[str]:
    """Trim the sections furthest over their budget until the document is at most `total` words."""
    texts = list(texts)
    excess = sum(count_words(t) for t in texts) - total
    for k in sorted(range(len(texts)), key=lambda k: budgets[k] - count_words(texts[k])):
        if excess <= 0:
            break
        over = count_words(texts[k]) - budgets[k]
        if over <= 0:
            break
        cut = min(over, excess)
        before = count_words(texts[k])
        texts[k] = trim_to_words(texts[k], before - cut)
        excess -= before - count_words(texts[k])
    return texts

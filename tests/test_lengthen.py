"""The Self-Lengthen Extender: split points, kept rewrites, and follow-ups that fit the window."""

from scripted_engine import ScriptedEngine, prose

from writer.pipeline.lengthen import first_two_thirds, split_half
from writer.text.lengths import count_words


def test_split_half_and_two_thirds():

    a, b = split_half("One two three.\n\nFour five six.\n\nSeven eight nine.\n\nTen eleven twelve.")
    assert a == "One two three.\n\nFour five six." and b.startswith("Seven")
    a, b = split_half("One two three. Four five six. Seven eight nine. Ten eleven twelve.")
    assert a == "One two three. Four five six." and b == "Seven eight nine. Ten eleven twelve."
    assert count_words(first_two_thirds(prose(90, seed=2))) <= 60
    # cut from the draft as written: a list keeps its line breaks, so the first half is a prefix of the draft
    listed = "Tips:\n1. Water early.\n2. Mulch well.\n3. Prune in winter.\n4. Feed in spring."
    a, b = split_half(listed)
    assert listed.startswith(a) and a.count("\n") == 2 and b == "3. Prune in winter.\n4. Feed in spring."


def test_extender_leaves_a_draft_whose_follow_up_would_not_fit_the_window():
    """The Extender's continuation carries the section prompt, the draft and the kept rewrite; a draft too long
    for that in the engine's window is left to plain continuation, the others are still extended."""
    from writer.calls import CallRecorder
    from writer.engines.base import Message
    from writer.pipeline.lengthen import Thread, extend
    from writer.text.defects import Place

    engine = ScriptedEngine(context_window=1024)
    messages = [Message(role="user", content="Write about tea. " * 40)]
    fits, too_long = prose(60, seed=1), prose(300, seed=2)
    out = extend(CallRecorder(engine), [Thread(messages, fits), Thread(messages, too_long)], messages, 300, Place())
    assert out[1] is None and count_words(out[0].text) > 60
    assert len(engine.requests) == 2 and all(too_long not in m.content for r in engine.requests for m in r.messages)

    # a thread whose earlier turns leave no room starts again from the section prompt
    history = [*messages, Message(role="assistant", content=prose(400, seed=3)), Message(role="user", content="More.")]
    engine.requests.clear()
    out = extend(CallRecorder(engine), [Thread(history, fits)], messages, 300, Place())
    assert count_words(out[0].text) > 60 and out[0].messages[0] == messages[0] and len(out[0].messages) == 3
    assert [len(r.messages) for r in engine.requests] == [3, 4]


def test_a_continuation_that_only_loops_is_pushed_once_then_left():
    """The 0.5B, continued after a loop was cut, wrote the same sentence again three times: a continuation
    whose words are all cut gained nothing, so the next one penalises repeats more, and after two in a row the
    draft is left to the check instead of spending more calls."""
    from writer.calls import CallRecorder
    from writer.engines.base import Message, Sampling
    from writer.pipeline.drafting import STUCK_REPETITION_PENALTY, lengthen
    from writer.text.defects import Place

    draft = prose(200, seed=4)
    last = draft.rsplit(". ", 1)[0].rsplit(". ", 1)[-1] + "."  # the draft's second-last sentence, said again
    engine = ScriptedEngine(reply=lambda req: " " + last)
    messages = [Message(role="user", content="Write about tea.")]
    texts, cut = lengthen(CallRecorder(engine), messages, [draft], 300, Place(), Sampling())  # no Extender
    continues = [r for r in engine.requests if r.continue_final]
    assert len(continues) == 2  # not MAX_CONTINUATIONS
    assert continues[0].repetition_penalty == Sampling().repetition_penalty
    assert continues[1].repetition_penalty == STUCK_REPETITION_PENALTY
    assert texts == [draft]  # the repeated sentence was cut as a loop each time


def test_a_continuation_that_adds_text_keeps_going():
    from writer.calls import CallRecorder
    from writer.engines.base import Message, Sampling
    from writer.pipeline.drafting import MAX_CONTINUATIONS, lengthen
    from writer.text.defects import Place

    seeds = iter(range(50, 60))
    engine = ScriptedEngine(reply=lambda req: " " + prose(20, seed=next(seeds)))
    texts, _ = lengthen(CallRecorder(engine), [Message(role="user", content="Write about tea.")],
                        [prose(200, seed=4)], 300, Place(), Sampling())
    continues = [r for r in engine.requests if r.continue_final]
    assert len(continues) == MAX_CONTINUATIONS and count_words(texts[0]) == 200 + 20 * MAX_CONTINUATIONS
    assert all(r.repetition_penalty == Sampling().repetition_penalty for r in continues)

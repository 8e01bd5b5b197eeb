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

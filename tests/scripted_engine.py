"""A scripted engine for fast unit tests: deterministic replies, every request recorded.

Replies a test queued with `enqueue` come first, in order (as simonw/llm's MockModel does);
then a test's `reply` function; then defaults: plan requests (a JSON schema) get `plan_reply`,
summarise requests (a schema with "summary") a summary quoting the section, and other requests
prose of `words_per_call` words (default: halfway between the request's min_tokens and
max_tokens). Default prose opens with the content words of its prompt, as an on-topic model
would use them, so the control unit's on-point check passes unless a test wants otherwise
(`on_topic=False`). Nothing here reads the prompt's wording: a changed template changes no reply.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from writer.engines.base import ChatRequest, Completion, Engine
from writer.pipeline.context import TOKENS_PER_WORD
from writer.text.repetition import loop_start
from writer.text.words import content_words

VOCABULARY = ("garden river lantern harbor winter market teacher village library mountain orchard "
              "bridge journey letter season window meadow engine candle story painter sailor forest "
              "quiet bright patient careful ancient narrow gentle steady sudden golden distant hidden "
              "walks builds remembers carries follows explains gathers watches shapes opens mends").split()


def prose(words: int, seed: int = 0) -> str:
    """`words` words of sentence-shaped text that never repeats a sentence or an 8-word run."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < words:
        length = min(rng.randint(8, 14), words - len(out))
        sentence = [rng.choice(VOCABULARY) for _ in range(length)]
        sentence[0] = sentence[0].capitalize()
        sentence[-1] += "."
        out.extend(sentence)
    return " ".join(out)


def prompt_words(prompt: str, seed: int = 0, limit: int = 150) -> str:
    """The prompt's distinct content words (4+ letters) that scripted prose does not use itself (the text so far,
    quoted in a prompt, is made of VOCABULARY), shuffled by `seed`: never a run of the prompt, and not the same
    sentence in two sections."""
    words = sorted({w for w in content_words(prompt) if len(w) >= 4 and w.isalpha()} - set(VOCABULARY))
    random.Random(seed).shuffle(words)
    return ", ".join(words[:limit])


def summary_reply(prompt: str) -> str:
    """A grounded JSON summary of the section quoted in a summarise prompt."""
    body = prompt.split(":\n", 1)[-1]
    words = body.split()
    return json.dumps({"summary": " ".join(words[:25]) + ".", "names": [w for w in words[:40] if w.istitle()][:2],
                       "facts": [" ".join(words[5:15]) + "."], "open_threads": []})


class ScriptedEngine(Engine):
    name = "scripted"
    model_id = "scripted-model"

    def __init__(self, plan_reply: str | dict | None = None, words_per_call: int | None = None,
                 context_window: int = 8192, reply: Callable[[ChatRequest], str] | None = None,
                 on_topic: bool = True, watch_loops: bool = False,
                 letters: Callable[[ChatRequest], dict[str, float]] | None = None):
        self.plan_reply = plan_reply if isinstance(plan_reply, str) or plan_reply is None else json.dumps(plan_reply)
        self.words_per_call = words_per_call
        self.context_window = context_window
        self.reply = reply
        self.on_topic = on_topic
        self.watch_loops = watch_loops  # honour stop_on_loop as the real engines do: cut at the loop, finish "loop"
        self.letters = letters  # a request's `choices` scored, as an engine with logprobs does: {choice: logprob}
        self.reports_logprobs = letters is not None
        self.requests: list[ChatRequest] = []
        self.queue: list[str] = []
        self.closed = False

    def enqueue(self, *texts: str) -> "ScriptedEngine":
        """Replies for the next requests, in order, before any other rule applies."""
        self.queue.extend(texts)
        return self

    def generate(self, requests: list[ChatRequest]) -> list[Completion]:
        out = []
        for req in requests:
            self.requests.append(req)
            topic = (prompt_words(req.messages[0].content, seed=len(self.requests))
                     if self.on_topic and len(req.messages) == 1 else "")  # a first reply
            lead = f"The story turns to {topic}. " if topic else ""
            if self.queue:
                text = self.queue.pop(0)
            elif self.reply is not None:
                text = self.reply(req)
                text = lead + text if req.json_schema is None else text
            elif req.json_schema is not None and "summary" in req.json_schema.get("properties", {}):
                text = summary_reply(req.messages[0].content)
            elif req.json_schema is not None:
                text = self.plan_reply or json.dumps({"sections": []})
            else:
                # a model that writes to its budget: halfway between the request's token bounds
                middle = (req.min_tokens + req.max_tokens) / 2 if req.min_tokens else req.min_tokens
                words = self.words_per_call or max(1, int(max(middle, 20) / TOKENS_PER_WORD))
                text = lead + prose(max(1, words - len(lead.split())), seed=len(self.requests))
            finish, cut = "stop", loop_start(text) if self.watch_loops and req.stop_on_loop else None
            if cut is not None:
                text, finish = text[:cut].rstrip(), "loop"
            scored = self.letters(req) if self.letters is not None and req.choices else {}
            out.append(Completion(text=text, prompt_tokens=sum(self.count_tokens(m.content) for m in req.messages),
                                  completion_tokens=self.count_tokens(text), finish_reason=finish, seconds=0.01,
                                  choice_logprobs=scored))
        return out

    def count_tokens(self, text: str) -> int:
        return max(1, int(len(text.split()) * 1.3))

    def close(self) -> None:
        self.closed = True

"""The engine contract: chat generation over a batch of conversations, plus token counting.

Every engine (in-process vLLM, an OpenAI-compatible server, the scripted engine of the
tests) implements `generate` over a list of `ChatRequest`s and returns one `Completion`
per request, in order. Batching is the point: vLLM schedules the whole list together.
"""

from __future__ import annotations

import abc
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class Sampling(BaseModel):
    """How prose is sampled: one typed object handed from the control unit down to every prose request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    repetition_penalty: float = Field(1.05, gt=0)


class ChatRequest(BaseModel):
    """One conversation to complete, with its own sampling options.

    `continue_final`: the last message is an assistant prefill that the model continues
    (the text returned is only the continuation). `json_schema`: constrain the reply to
    JSON matching this schema. `stop_on_loop`: the engine may stop generating where the text
    starts looping (`writer.text.repetition`) and return it cut there, finish_reason "loop"; engines
    that cannot watch a generation ignore it (callers cut loops afterwards anyway). `bad_words`:
    words (token sequences) the model may not generate, as vLLM's `bad_words`; engines that cannot
    ban words ignore it (the defect checks catch what they let through). `choices`: short answers
    ("A", "B") to score: the completion's `choice_logprobs` holds how likely the model was to begin
    its reply with each (engines that cannot report log-probabilities leave it empty).
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[Message]
    max_tokens: int = Field(512, ge=1)
    min_tokens: int = Field(0, ge=0)
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    repetition_penalty: float = Field(1.0, gt=0)
    stop: list[str] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    continue_final: bool = False
    seed: int | None = None
    stop_on_loop: bool = False
    bad_words: list[str] = Field(default_factory=list)
    choices: list[str] = Field(default_factory=list)


class Completion(BaseModel):
    """What an engine returns for one request."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # prompt tokens served from the engine's prefix cache (not computed again)
    finish_reason: str | None = None
    seconds: float = 0.0
    choice_logprobs: dict[str, float] = Field(default_factory=dict)  # for a request with `choices`


TOP_LOGPROBS = 20  # alternatives an engine asks for at a scored position; a choice outside them gets the lowest


def score_choices(top: dict[str, float], choices: list[str]) -> dict[str, float]:
    """Each choice's log-probability as the reply's first token, from the `top` alternatives an engine returned
    ({token text: logprob}). A token counts for a choice when its text, stripped, begins the choice ("t" and "tie"
    for "tie", " A" for "A"); several such tokens add up. A choice none of them begins gets the lowest logprob
    returned, an upper bound on its own."""
    if not top:
        return {}
    floor = min(top.values())
    scores = {}
    for choice in choices:
        matched = [lp for token, lp in top.items() if token.strip() and choice.startswith(token.strip())]
        scores[choice] = math.log(sum(math.exp(lp) for lp in matched)) if matched else floor
    return scores


class Engine(abc.ABC):
    """A chat model behind one batch call. Subclasses set `name`, `model_id`, `context_window`."""

    name: str = "engine"
    model_id: str = ""
    context_window: int = 8192
    # True when `generate` may be called from several threads at once and batches their requests
    # itself (vLLM's continuous batching, an OpenAI-compatible server); otherwise callers that run
    # concurrently wrap the engine in `BatchingEngine`.
    concurrent: bool = False
    # True when a request's `choices` come back scored (`Completion.choice_logprobs`): vLLM and OpenAI-compatible
    # servers report log-probabilities; callers skip scoring requests on an engine that cannot.
    reports_logprobs: bool = False

    @abc.abstractmethod
    def generate(self, requests: list[ChatRequest]) -> list[Completion]:
        """Complete every request; results in request order."""

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` for this engine's model. Default: a conservative estimate."""
        return max(1, (len(text) + 2) // 3)

    def close(self) -> None:
        """Free the engine's resources (processes, GPU memory, connections)."""

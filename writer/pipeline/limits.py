"""What an instruction must be to plan from, checked before any engine starts.

An instruction needs words: one of emoji or punctuation alone gives the planner nothing to plan
from (a model handed "🌱🌱🌱" writes about anything), so it is refused.

An instruction is quoted in every prompt of a run (the plan's, each section's, the checks'),
beside the plan, the text so far and the reply. One that takes more than `INSTRUCTION_SHARE` of
the model's context window leaves too little for the rest, so it is refused, naming the limit,
before the engine loads (minutes on a CPU). It is not shortened: a brief cut to fit would drop,
unseen, part of what the user asked for. The engine is not loaded yet, so its tokenizer is not
there: tokens are estimated from characters and words, on the high side (`estimate_tokens`).
"""

from __future__ import annotations

import math

from writer.errors import UsageError
from writer.text.lengths import count_words

__all__ = ["INSTRUCTION_SHARE", "estimate_tokens", "check_instruction"]

INSTRUCTION_SHARE = 0.5  # of the context window
CHARS_PER_TOKEN = 4  # English prose under the registered models' tokenizers: about 4.5
TOKENS_PER_WORD = 4 / 3  # about 1.25 measured (writer.pipeline.context); a CJK character counts as a word


def estimate_tokens(text: str) -> int:
    """Tokens `text` takes, estimated without a tokenizer (slightly more than the registered models count)."""
    return math.ceil(max(len(text) / CHARS_PER_TOKEN, count_words(text) * TOKENS_PER_WORD))


def check_instruction(instruction: str, window: int | None = None, model: str | None = None) -> None:
    """UsageError (one line) for an instruction with no words, or too long for a `window`-token model."""
    if count_words(instruction) == 0:
        raise UsageError("the instruction has no words to plan from (only symbols or emoji); say what to write")
    if not window:
        return
    limit = int(window * INSTRUCTION_SHARE)
    tokens = estimate_tokens(instruction)
    if tokens > limit:
        who = f"{model}'s" if model else "the model's"
        raise UsageError(f"the instruction is too long: about {tokens:,} tokens ({len(instruction):,} characters), "
                         f"and an instruction may use at most half of {who} {window:,}-token context window "
                         f"({limit:,} tokens, about {limit * CHARS_PER_TOKEN:,} characters); shorten it")

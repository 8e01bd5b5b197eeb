"""Engine calls go through a `CallRecorder`: it runs the batch and logs every call to the store.

Keeping this in one place means no stage can call the engine without the call being
recorded (prompt, parameters, output, tokens, time), and progress displays get one hook.
"""

from __future__ import annotations

from collections.abc import Callable

from writer.engines.base import ChatRequest, Completion, Engine
from writer.store import Store


class CallRecorder:
    """Runs engine batches for one run and records them."""

    def __init__(self, engine: Engine, store: Store | None = None, run_id: str | None = None,
                 on_call: Callable[[str, list[Completion]], None] | None = None):
        self.engine = engine
        self.store = store
        self.run_id = run_id
        self.on_call = on_call

    def __call__(self, stage: str, requests: list[ChatRequest], *, template: str | None = None,
                 section_index: int | None = None) -> list[Completion]:
        completions = self.engine.generate(requests)
        if self.store is not None:
            self.store.log_calls(self.run_id, stage, requests, completions, engine=self.engine.name,
                                 model=self.engine.model_id, section_index=section_index, template=template)
        if self.on_call is not None:
            self.on_call(stage, completions)
        return completions

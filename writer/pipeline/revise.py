"""One revision of a finished run (`writer revise`): a section rewritten, the document written out again.

The API (`writer.api.revise`) checks the request and builds the engine; `revise_run` has the
revision unit (`writer.pipeline.memory.revision`) rewrite the section, then writes the whole
document again (atomically, in the run's format) to the run's output file. The run stays
"done" throughout: its document is whole before, during and after, and a revision that fails
leaves its steps pending, to be finished by asking for it again.
"""

from __future__ import annotations

import time

from writer.artifacts import ComposeResult
from writer.calls import CallRecorder
from writer.engines.base import Engine
from writer.events import CallDone, OnEvent, ignore
from writer.exporters import write_document
from writer.pipeline.memory.revision import RevisionUnit
from writer.store import Store

__all__ = ["revise_run"]


def revise_run(store: Store, run_id: str, engine: Engine, index: int, instruction: str | None = None, *,
               output_path: str | None = None, on_event: OnEvent = ignore) -> ComposeResult:
    """Rewrite section `index` of finished run `run_id` on `engine` (or finish the revision of it left pending),
    and write the document to `output_path` (default: the run's output file, if it has one)."""
    run = store.get_run(run_id)
    opts = run.options or {}
    started = time.perf_counter()
    recorder = CallRecorder(engine, store, run_id,
                            on_call=lambda stage, completions: on_event(CallDone(stage, completions)))
    unit = RevisionUnit(store, recorder, run_id, mode=opts.get("mode", "sequential"),
                        candidates=opts.get("candidates", 1), on_event=on_event)
    unit.start(index, instruction)
    unit.run_revision(index)
    text, words = store.document(run_id)
    output_path = output_path or run.output_path
    if output_path:
        write_document(output_path, text, opts.get("format"))
    store.update_run(run_id, words=words, output_path=output_path,
                     seconds=run.seconds + time.perf_counter() - started)
    return store.load_result(run_id)

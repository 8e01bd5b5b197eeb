"""L2MAC-style stored-program memory for long documents.

- `steps`: the stored program (L2MAC's instruction registry), a plan compiled into ordered steps;
- `files`: the file store (drafts, summaries, established facts), every read and write recorded;
- `checks`: what a finished section must pass;
- `summaries`: the summarise instruction (summary plus facts, grounded in the text);
- `passes`: the document-level stitching and consistency passes;
- `control`: the control unit that runs the program, checks results and re-runs what fails.
"""

from writer.pipeline.memory.control import ControlUnit
from writer.pipeline.memory.steps import compile_steps

__all__ = ["ControlUnit", "compile_steps"]

"""The compose pipeline, one document: the workflow graph, the section writer (Generator, Extender, context), the memory."""

"""The user's sources (`writer compose --source`): files read into numbered passages, and a BM25 index over them.

`documents` reads .md/.txt/.pdf/.docx files and folders of them and chunks them at paragraph
boundaries; `index` finds the passages relevant to a section. A run stores its passages
(`Store.save_sources`), so a resumed or revised run never reads the files again.
"""

from writer.sources.documents import SOURCE_SUFFIXES, chunk_text, load_sources, read_source, source_files
from writer.sources.index import SourceIndex

__all__ = ["SOURCE_SUFFIXES", "SourceIndex", "chunk_text", "load_sources", "read_source", "source_files"]

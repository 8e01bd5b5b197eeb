"""The exporter contract: a finished document's Markdown written to a file in one format."""

from __future__ import annotations

import abc
from pathlib import Path

__all__ = ["Exporter"]


class Exporter(abc.ABC):
    """Writes a document (Markdown: `# title`, `## section` headings, a references list) in one format."""

    format: str = ""  # the name `--format` takes
    suffixes: tuple[str, ...] = ()  # the file extensions that mean this format

    @abc.abstractmethod
    def export(self, markdown: str, path: Path, title: str) -> None:
        """Write `markdown` to `path` (a temporary file the caller renames into place). `title` names the
        document where the format needs a title and the text has none (EPUB metadata, the HTML page title)."""

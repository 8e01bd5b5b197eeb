"""Markdown out: the document as it is (also for .txt)."""

from __future__ import annotations

from pathlib import Path

from writer.exporters.base import Exporter

__all__ = ["MarkdownExporter"]


class MarkdownExporter(Exporter):
    format = "md"
    suffixes = (".md", ".markdown", ".txt")

    def export(self, markdown: str, path: Path, title: str) -> None:
        path.write_text(markdown, encoding="utf-8")

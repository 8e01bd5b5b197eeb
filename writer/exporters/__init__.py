"""Exporters: the finished document written as Markdown, Word, HTML or EPUB (`writer compose -o doc.docx`).

A name -> class registry like the engines' (`writer.registry`): the built-ins below, plugins under
the `writer.exporters` entry-point group. The format comes from `--format`, else from the output
file's extension; an unknown one is one `UsageError` before anything runs. Every format is written
atomically (`writer.atomic`): a temporary file beside the output, then a rename.
"""

from __future__ import annotations

from pathlib import Path

from writer.atomic import write_atomic
from writer.errors import UsageError
from writer.exporters.base import Exporter
from writer.registry import Registry

__all__ = ["EXPORTERS", "Exporter", "FORMAT_SUFFIXES", "output_format", "write_document"]

EXPORTERS = Registry("format", "writer.exporters", {
    "md": "writer.exporters.markdown:MarkdownExporter",
    "docx": "writer.exporters.pandoc:DocxExporter",
    "html": "writer.exporters.pandoc:HtmlExporter",
    "epub": "writer.exporters.pandoc:EpubExporter",
})
FORMAT_SUFFIXES = {".md": "md", ".markdown": "md", ".txt": "md", ".docx": "docx", ".html": "html", ".htm": "html",
                   ".epub": "epub"}


def output_format(path: str | Path | None, fmt: str | None = None) -> str:
    """The format to write `path` in: `fmt` if given (a registered name), else the one its extension names.
    UsageError for an unknown format or extension, and for a format other than md with no file to write to."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        EXPORTERS.check(fmt)
        if path is None and fmt != "md":
            raise UsageError(f"format {fmt} needs an output file (--output)", option="format")
        return fmt
    if path is None:
        return "md"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMAT_SUFFIXES:
        raise UsageError(f"output {Path(path).name}: unknown extension {suffix or '(none)'}; use "
                         f"{', '.join(FORMAT_SUFFIXES)} or name a format with --format "
                         f"({', '.join(EXPORTERS.names())})", option="output")
    return FORMAT_SUFFIXES[suffix]


def write_document(path: str | Path, markdown: str, fmt: str | None = None, title: str | None = None) -> Path:
    """Write the document `markdown` to `path` in `fmt` (default: from the extension), atomically."""
    path = Path(path)
    exporter: Exporter = EXPORTERS.load(output_format(path, fmt))()
    return write_atomic(path, lambda tmp: exporter.export(markdown, tmp, title or path.stem))

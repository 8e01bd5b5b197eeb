"""Word, HTML and EPUB through pandoc (the `pypandoc-binary` wheel ships it: nothing to install on the host).

Pandoc reads the document as Markdown, so the title (`# `), the section headings (`## `) and the
references list come out as the format's own title and headings (Word's Heading 1 and 2
styles, HTML's h1/h2, EPUB's table of contents). Inline citations `[3]` stay as written: with
no link definitions, pandoc leaves bracketed numbers as text.
"""

from __future__ import annotations

from pathlib import Path

from writer.errors import WriterError
from writer.exporters.base import Exporter

__all__ = ["PandocExporter", "DocxExporter", "HtmlExporter", "EpubExporter"]


class PandocExporter(Exporter):
    """Converts with pandoc to `pandoc_format`."""

    pandoc_format = ""

    def arguments(self, markdown: str, title: str) -> list[str]:
        return ["--standalone"]

    def export(self, markdown: str, path: Path, title: str) -> None:
        import pypandoc

        try:
            pypandoc.convert_text(markdown, self.pandoc_format, format="markdown", outputfile=str(path),
                                  extra_args=self.arguments(markdown, title))
        except (RuntimeError, OSError) as exc:  # pandoc missing or failing: the run itself is fine
            raise WriterError(f"pandoc could not write {self.format}: {str(exc).strip().splitlines()[-1]}") from None


class DocxExporter(PandocExporter):
    format = "docx"
    suffixes = (".docx",)
    pandoc_format = "docx"


class HtmlExporter(PandocExporter):
    format = "html"
    suffixes = (".html", ".htm")
    pandoc_format = "html"

    def arguments(self, markdown: str, title: str) -> list[str]:
        return ["--standalone", f"--metadata=pagetitle:{title}"]


class EpubExporter(PandocExporter):
    format = "epub"
    suffixes = (".epub",)
    pandoc_format = "epub"

    def arguments(self, markdown: str, title: str) -> list[str]:
        titled = markdown.lstrip().startswith("# ")
        # an EPUB needs a title; chapters at the sections (## ), under the document's own # title
        return ["--standalone", "--split-level=2"] + ([] if titled else [f"--metadata=title:{title}"])

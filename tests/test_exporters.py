"""Output formats (`-o doc.docx|.html|.epub|.md`, `--format`): pandoc through pypandoc-binary, the title,
headings and references list intact; an unknown extension is one error line before anything runs."""

import zipfile

import docx
import pytest
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import writer
from writer.cli import app
from writer.errors import UsageError
from writer.exporters import output_format, write_document
from writer.store import Store

runner = CliRunner()

DOC = "# Tea\n\n## Origins\n\nTea began in China [1].\n\n## Trade\n\nIt travelled.\n\n## References\n\n" \
      "[1] notes.md: \"Tea was first drunk in China\"\n"


def test_the_format_comes_from_the_extension_or_the_option():
    assert output_format("a.docx") == "docx" and output_format("a.HTML") == "html" and output_format("a.txt") == "md"
    assert output_format(None) == "md" and output_format("a.out", "epub") == "epub"
    with pytest.raises(UsageError, match="unknown extension .pdf"):
        output_format("a.pdf")
    with pytest.raises(UsageError, match="unknown format 'pdf'"):
        output_format("a.docx", "pdf")
    with pytest.raises(UsageError, match="format docx needs an output file"):
        output_format(None, "docx")


def test_docx_html_and_epub_keep_title_headings_and_references(tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    write_document(tmp_path / "tea.docx", DOC)
    paragraphs = docx.Document(str(tmp_path / "tea.docx")).paragraphs
    assert [(p.style.name, p.text) for p in paragraphs if p.style.name.startswith("Heading")] == [
        ("Heading 1", "Tea"), ("Heading 2", "Origins"), ("Heading 2", "Trade"), ("Heading 2", "References")]
    assert "Tea began in China [1]." in [p.text for p in paragraphs]
    write_document(tmp_path / "tea.html", DOC)
    html = (tmp_path / "tea.html").read_text()
    assert '<h1 id="tea">Tea</h1>' in html and "<h2 id=\"references\">References</h2>" in html
    write_document(tmp_path / "tea.epub", DOC)
    with zipfile.ZipFile(tmp_path / "tea.epub") as epub:
        text = " ".join(epub.read(n).decode() for n in epub.namelist() if n.endswith(".xhtml"))
    assert "Origins" in text and "Tea began in China [1]." in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tea.docx", "tea.epub", "tea.html"]  # no temp file left


def test_compose_writes_the_format_and_resume_can_write_another(tmp_path):
    plan = {"sections": [{"title": "Origins", "main_point": "Where tea began", "words": 300},
                         {"title": "Trade", "main_point": "How tea travelled", "words": 400}]}
    result = writer.compose("Write a 700-word essay about tea.", engine=ScriptedEngine(plan_reply=plan),
                            output=tmp_path / "tea.docx")
    headings = [p.text for p in docx.Document(str(tmp_path / "tea.docx")).paragraphs
                if p.style.name.startswith("Heading")]
    assert headings == ["Origins", "Trade"]
    again = writer.compose(resume=result.run_id, output=tmp_path / "tea.html")
    assert again.output_path == str(tmp_path / "tea.html") and "<h2" in (tmp_path / "tea.html").read_text()
    writer.compose(resume=result.run_id, output=tmp_path / "tea.out", format="md")
    assert (tmp_path / "tea.out").read_text() == result.text


def test_cli_an_unknown_extension_is_one_error_line_before_anything_runs(tmp_path):
    result = runner.invoke(app, ["compose", "Write about owls.", "--words", "300", "-o", str(tmp_path / "owls.pdf")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --output owls.pdf: unknown extension .pdf; use .md, .markdown, .txt, .docx, .html, .htm, .epub or name "
        "a format with --format (md, docx, html, epub)"]
    result = runner.invoke(app, ["compose", "Write about owls.", "--words", "300", "--format", "docx"])
    assert result.exit_code == 2 and "--format docx needs an output file" in result.stderr
    assert Store().list_runs() == []

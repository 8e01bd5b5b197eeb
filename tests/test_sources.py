"""Sources (`compose --source`): reading and chunking files, BM25 retrieval, the prompt budget, citations checked
and stored, the references list, and runs that resume without the files."""

import re

import docx
import pytest
from scripted_engine import ScriptedEngine, prose
from typer.testing import CliRunner

import writer
from writer.artifacts import Plan, PlannedSection
from writer.cli import app
from writer.errors import UsageError
from writer.pipeline.context import SectionBudget, section_prompt
from writer.sources import SourceIndex, chunk_text, load_sources
from writer.store import Store
from writer.text.lengths import count_words

runner = CliRunner()

TEA = ("Tea was first drunk in China, where legend says the emperor Shen Nong tasted leaves that fell into "
       "boiling water. The Tang dynasty writer Lu Yu wrote the Classic of Tea about brewing it.")
TRADE = ("Dutch traders brought tea to Europe in 1610. Clipper ships later raced from Canton to London with the "
         "new harvest, and the fastest cargo fetched the best price at auction.")
COFFEE = "Coffee grows on the highlands of Ethiopia, where goats are said to have found its berries."


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF with `text` in its text layer."""
    content = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def sources_folder(tmp_path):
    folder = tmp_path / "sources"
    (folder / "deep").mkdir(parents=True)
    (folder / "a_tea.md").write_text(f"# Tea\n\n{TEA}\n")
    (folder / "deep" / "b_trade.txt").write_text(TRADE + "\n")
    (folder / "c_coffee.pdf").write_bytes(pdf_bytes(COFFEE))
    word = docx.Document()
    word.add_paragraph("Milk tea is popular in Hong Kong, where it is strained through a cloth bag.")
    word.save(str(folder / "d_milk.docx"))
    (folder / "picture.png").write_bytes(b"\x89PNG")  # not a source type: skipped in a folder
    return folder


def test_chunks_are_about_120_to_200_words_at_paragraph_ends():
    paragraphs = [prose(70, seed=k) for k in range(9)]
    chunks = chunk_text("\n\n".join(paragraphs))
    assert all(120 <= count_words(c) <= 260 for c in chunks), [count_words(c) for c in chunks]  # a short tail joins
    assert all(c.split("\n\n")[0] in paragraphs for c in chunks)  # a chunk starts where a paragraph does
    long = chunk_text(prose(700, seed=1))  # one endless paragraph: cut at sentence ends
    assert len(long) >= 4 and all(count_words(c) <= 200 for c in long)
    assert chunk_text("## Heading\n\nShort text.") == ["Heading\n\nShort text."]


def test_a_folder_of_md_txt_pdf_and_docx_is_read_in_path_order(tmp_path):
    passages = load_sources([sources_folder(tmp_path)])
    assert [p.number for p in passages] == [1, 2, 3, 4]
    assert [p.path.rsplit("/", 1)[1] for p in passages] == ["a_tea.md", "c_coffee.pdf", "d_milk.docx", "b_trade.txt"]
    assert "Shen Nong" in passages[0].text and "Ethiopia" in passages[1].text and "Hong Kong" in passages[2].text
    assert [p.document for p in passages] == [1, 2, 3, 4]


@pytest.mark.parametrize("make, problem", [
    (lambda d: d / "missing.md", "no such file or folder"),
    (lambda d: (d / "notes.rtf").write_text("x") and d / "notes.rtf", "unsupported file type .rtf"),
    (lambda d: (d / "empty.md").write_text("  \n\n") and d / "empty.md", "has no text"),
    (lambda d: (d / "latin.txt").write_bytes(b"caf\xe9 \xff") and d / "latin.txt", "not UTF-8 text"),
    (lambda d: (d / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here") and d / "broken.pdf", "cannot be read as PDF"),
    (lambda d: (d / "broken.docx").write_bytes(b"not a zip") and d / "broken.docx", "cannot be read as DOCX"),
    (lambda d: (d / "none").mkdir() or d / "none", "folder has no"),
])
def test_a_bad_source_is_one_usage_error_naming_it(tmp_path, make, problem):
    path = make(tmp_path)
    with pytest.raises(UsageError) as caught:
        load_sources([path])
    assert caught.value.option == "source" and str(path) in str(caught.value) and problem in str(caught.value)


def test_bm25_retrieves_the_passage_about_the_section(tmp_path):
    passages = load_sources([sources_folder(tmp_path)])
    index = SourceIndex(passages)
    assert index.search("A history of tea. Trade: how traders brought tea to Europe by clipper")[0].text.startswith(
        "Dutch traders")
    assert index.search("Coffee origins in Ethiopia")[0].number == 2
    assert index.search("quantum chromodynamics") == []


def test_passages_are_budgeted_into_the_section_prompt(tmp_path):
    passages = load_sources([sources_folder(tmp_path)])
    plan = Plan(instruction="Write about tea.", target_words=600,
                sections=[PlannedSection(title="Tea", main_point="Tea", words=600)])
    engine = ScriptedEngine()
    full = section_prompt(plan, 0, [], engine, SectionBudget.for_words(600), sources=passages)
    assert all(f"[{p.number}] ({p.path.rsplit('/', 1)[1]}) {' '.join(p.text.split())}" in full for p in passages)
    engine.context_window = 1200  # room for about one passage
    tight = section_prompt(plan, 0, [], engine, SectionBudget.for_words(600), sources=passages,
                           sources_tokens=60)
    assert "[1] (" in tight and "[2] (" not in tight
    assert engine.count_tokens(tight) + SectionBudget.for_words(600).max_tokens <= 1200


def citing_reply(req):
    """A section that cites the first passage it was shown (supported), the second one on a sentence it does not
    support, and a number that is no passage."""
    prompt = req.messages[0].content
    shown = re.findall(r"^\[(\d+)\] \(", prompt, re.M)
    if req.json_schema is not None or not shown or len(req.messages) > 1:
        return prose(60, seed=len(prompt))
    first = re.search(rf"^\[{shown[0]}\] \(.*?\) (.*)$", prompt, re.M).group(1)
    supported = " ".join(first.split()[:14]).rstrip(".,") + f" [{shown[0]}]."
    unsupported = f"Purple giraffes juggle umbrellas on Saturn [{shown[-1]}]." if len(shown) > 1 else ""
    return f"{supported} {unsupported} Wild claims abound here [99]. " + prose(120, seed=len(prompt))


def test_compose_cites_checks_stores_and_lists_references(tmp_path):
    folder = sources_folder(tmp_path)
    engine = ScriptedEngine(reply=citing_reply)
    plan = Plan(instruction="Write about the history of tea.", target_words=400,
                sections=[PlannedSection(title="Origins", main_point="Tea in China, Shen Nong and Lu Yu", words=200),
                          PlannedSection(title="Trade", main_point="Dutch traders and clipper ships to London",
                                         words=200)])
    result = writer.compose(engine=engine, plan=plan, sources=[folder], mode="sequential")
    store = Store()
    citations = store.citations(result.run_id)
    assert {c.supported for c in citations} == {True, False}
    assert any(c.number == 99 and c.path is None and c.reason == "not a source" for c in citations)
    assert any(not c.supported and c.reason == "passage does not support the sentence" for c in citations)
    assert all(c.passage for c in citations if c.supported)
    body, references = result.text.split("## References\n\n")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited and 99 not in cited and "giraffes juggle umbrellas on Saturn." in body  # the bad marker dropped
    listed = {int(n) for n in re.findall(r"^\[(\d+)\] ", references, re.M)}
    assert listed == cited
    assert all(p.path in references for p in store.sources(result.run_id) if p.number in cited)
    assert result.words == sum(s.words for s in result.sections) + 2  # the headings count, the references do not
    shown = [r.messages[0].content for r in engine.requests if "Write section 2" in r.messages[0].content][0]
    assert shown.index("[4] (") < shown.index("Write section 2")  # the trade passage retrieved for "Trade"


def test_most_citations_failing_reruns_the_section_with_feedback(tmp_path):
    folder = sources_folder(tmp_path)
    drafts = iter(["Purple giraffes juggle [1]. Moons sing loudly [2]. " + prose(160, seed=1),
                   TEA.split(".")[0] + " [1]. " + prose(170, seed=2)])
    engine = ScriptedEngine(reply=lambda req: next(drafts) if "Write it in about" in req.messages[0].content
                            and len(req.messages) == 1 else prose(40, seed=3))
    result = writer.compose("Write about tea in China.", words=200, engine=engine, sources=[folder])
    writes = [r.messages[0].content for r in engine.requests if "Write it in about" in r.messages[0].content
              and len(r.messages) == 1]
    assert len(writes) == 2 and "2 of its 2 citations do not hold" in writes[1]
    assert "[1]" in result.sections[0].text and "giraffes" not in result.sections[0].text


def test_a_run_with_sources_resumes_without_the_files(tmp_path):
    folder = sources_folder(tmp_path)
    calls = {"n": 0}

    def reply(req):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("engine died")
        return citing_reply(req)

    plan = Plan(instruction="Write about tea.", target_words=400,
                sections=[PlannedSection(title="Origins", main_point="Tea in China", words=200),
                          PlannedSection(title="Trade", main_point="Traders and clippers", words=200)])
    with pytest.raises(RuntimeError):
        writer.compose(engine=ScriptedEngine(reply=reply), plan=plan, sources=[folder], mode="sequential")
    for f in folder.rglob("*"):
        if f.is_file():
            f.write_text("changed")
    run = Store().list_runs()[0]
    result = writer.compose(resume=run.id, engine=ScriptedEngine(reply=citing_reply))
    assert "## References" in result.text and "changed" not in result.text
    assert Store().get_run(run.id).options["sources"] == [str(folder)]


def test_cli_a_missing_source_is_one_error_line(tmp_path):
    result = runner.invoke(app, ["compose", "Write about tea.", "--source", str(tmp_path / "nope.md")])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert lines == [f"error: --source {tmp_path / 'nope.md'}: no such file or folder"]
    assert Store().list_runs() == []  # nothing ran

"""`writer extend`: the user's document cut at its headings (or paragraphs), each part lengthened with the
Extender and continuation, headings kept as written, stored as a resumable run."""

import pytest
from scripted_engine import ScriptedEngine, prose
from typer.testing import CliRunner

from planners.document import extension_plan, split_document
from writer import api
from writer.cli import app
from writer.errors import UsageError
from writer.store import Store
from writer.text.lengths import count_words

runner = CliRunner()

DOC = f"""# A garden year

## Spring
{prose(60, seed=1)}

{prose(40, seed=2)}

### Late spring
{prose(50, seed=3)}

## Summer

### Early summer
{prose(100, seed=4)}
"""


def test_a_document_is_cut_at_its_headings_and_headings_are_kept_as_written():
    parts = split_document(DOC)
    assert [p.heading for p in parts] == ["# A garden year\n\n## Spring", "### Late spring",
                                          "## Summer\n\n### Early summer"]  # a heading with no text joins the next
    assert [count_words(p.text) for p in parts] == [100, 50, 100]
    assert [p.title for p in parts] == ["Spring", "Late spring", "Early summer"]
    plan, _ = extension_plan(DOC, 500)
    assert [s.words for s in plan.sections] == [200, 100, 200] and plan.target_words == 500
    assert '"A garden year"' in plan.instruction


def test_a_document_without_headings_is_cut_into_parts_of_about_300_words():
    text = "\n\n".join(prose(100, seed=k) for k in range(9))
    parts = split_document(text)
    assert [count_words(p.text) for p in parts] == [300, 300, 300] and {p.heading for p in parts} == {""}
    assert "\n\n".join(p.text for p in parts) == text  # nothing lost or rewritten


def test_extend_reaches_the_length_keeps_headings_and_is_a_run(tmp_path):
    path = tmp_path / "garden.md"
    path.write_text(DOC)
    engine = ScriptedEngine()
    result = api.extend(path, words=500, engine=engine, output=tmp_path / "long.md", mode="sequential")
    assert abs(result.words - 500) / 500 <= 0.1, result.words
    text = (tmp_path / "long.md").read_text()
    for heading in ("# A garden year\n\n## Spring\n\n", "### Late spring\n\n", "## Summer\n\n### Early summer\n\n"):
        assert heading in text
    store = Store()
    run = store.get_run(result.run_id)
    assert run.options["kind"] == "extend" and run.status == "done"
    assert store.read_file(result.run_id, "original/1").startswith(prose(50, seed=3)[:40])
    ops = [s["op"] for s in api.get_memory(result.run_id)["steps"]]
    assert ops.count("original") == 3 and "write" not in ops and "stitch" not in ops
    assert {"extend", "continue"} & {c.stage for c in store.calls(result.run_id)}
    assert "plan" not in {c.stage for c in store.calls(result.run_id)}


def test_extend_keeps_the_original_wording_where_it_does_not_extend(tmp_path):
    """A small extension needs no Extender: each part is kept as written and the consistency pass continues the
    ones furthest short, after the author's last word."""
    path = tmp_path / "garden.md"
    path.write_text(DOC)
    result = api.extend(path, words=270, engine=ScriptedEngine(), mode="sequential")
    originals = [p.text for p in split_document(DOC)]
    assert all(s.text.startswith(o) for s, o in zip(result.sections, originals))
    assert "extend" not in {c.stage for c in Store().calls(result.run_id)}
    assert abs(result.words - 270) / 270 <= 0.1


def test_an_interrupted_extend_resumes(tmp_path):
    path = tmp_path / "garden.md"
    path.write_text(DOC)
    calls = {"n": 0}

    def reply(req):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("engine died")
        return prose(80, seed=calls["n"])

    with pytest.raises(RuntimeError):
        api.extend(path, words=500, engine=ScriptedEngine(reply=reply), mode="sequential")
    path.write_text("changed")  # the run stored the document
    run = Store().list_runs()[0]
    result = api.extend(resume=run.id, engine=ScriptedEngine())
    assert result.text.startswith("# A garden year\n\n## Spring\n\n") and "changed" not in result.text


@pytest.mark.parametrize("args, message", [
    (["extend", "nope.md", "--words", "600"], "cannot extend nope.md: no such file"),
    (["extend", "{doc}"], "--words is required"),
    (["extend", "{doc}", "--words", "100"], "--words must be more than the 250 words garden.md already has"),
])
def test_extend_refuses_what_it_cannot_do_in_one_line(tmp_path, args, message):
    doc = tmp_path / "garden.md"
    doc.write_text(DOC)
    result = runner.invoke(app, [a.replace("{doc}", str(doc)) for a in args])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {message}"), line


def test_extend_of_an_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.md").write_text("# Only a title\n")
    with pytest.raises(UsageError, match="has no text to extend"):
        api.extend(tmp_path / "empty.md", words=300, engine=ScriptedEngine())

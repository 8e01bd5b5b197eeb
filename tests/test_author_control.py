"""`--style` in every prompt, stored with the run; the new options together in parallel and sequential mode, on
resume, and on the OpenAI-compatible engine."""

import json

import docx
import pytest
from scripted_engine import ScriptedEngine, prose
from test_openai_engine import FakeServer, server  # noqa: F401 - the fixture
from test_sources import citing_reply, sources_folder

import writer
from writer import api
from writer.store import Store

STYLE = "for 12-year-olds, second person, friendly"
PLAN = {"sections": [{"title": "Origins", "main_point": "Where tea began in China", "words": 300},
                     {"title": "Trade", "main_point": "How Dutch traders and clippers carried tea", "words": 400},
                     {"title": "Today", "main_point": "How tea is drunk now", "words": 300}]}


def prompts(engine, template_words: str) -> list[str]:
    return [m.content for r in engine.requests for m in r.messages if m.role == "user" and template_words in m.content]


def test_style_goes_into_the_plan_every_section_the_extender_and_the_stitcher():
    engine = ScriptedEngine(plan_reply=PLAN, words_per_call=80)  # short drafts: the Extender runs
    result = writer.compose("Write a 1000-word essay about tea.", engine=engine, style=STYLE, mode="parallel")
    plan_prompt = engine.requests[0].messages[0].content
    assert f"It is to be written in this style: {STYLE}." in plan_prompt
    sections = prompts(engine, "Write section")
    assert len(sections) >= 3 and all(f"Write in this style: {STYLE}." in p for p in sections)
    extender = prompts(engine, "about twice as long") + prompts(engine, "longer, more detailed version")
    assert extender and all(f"Keep to this style: {STYLE}." in p for p in extender)
    stitcher = prompts(engine, "Rewrite that opening paragraph")
    assert len(stitcher) == 2 and all(STYLE in p for p in stitcher)
    assert Store().get_run(result.run_id).options["style"] == STYLE


def test_a_resumed_run_keeps_its_style():
    calls = {"n": 0}

    def reply(req):
        if req.json_schema is not None:
            return json.dumps(PLAN) if "sections" in req.json_schema["properties"] else "{}"
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("engine died")
        return prose(300, seed=calls["n"])

    with pytest.raises(RuntimeError):
        writer.compose("Write a 1000-word essay about tea.", engine=ScriptedEngine(reply=reply), style=STYLE,
                       mode="sequential")
    engine = ScriptedEngine()
    writer.compose(resume=Store().list_runs()[0].id, engine=engine)
    assert all(f"Write in this style: {STYLE}." in p for p in prompts(engine, "Write section"))


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_outline_sources_style_and_docx_together(tmp_path, mode):
    outline = tmp_path / "outline.md"
    outline.write_text("# Tea\n\n## Origins (200 words)\nTea in China, Shen Nong and Lu Yu.\n\n"
                       "## Trade (200 words)\nDutch traders and clipper ships to London.\n")
    engine = ScriptedEngine(reply=citing_reply)
    result = writer.compose(engine=engine, plan=outline, sources=[sources_folder(tmp_path)], style=STYLE,
                            output=tmp_path / "tea.docx", mode=mode)
    assert [s.title for s in result.sections] == ["Origins", "Trade"]
    headings = [p.text for p in docx.Document(str(tmp_path / "tea.docx")).paragraphs
                if p.style.name.startswith("Heading")]
    assert headings == ["Tea", "Origins", "Trade", "References"]
    revised = api.revise(result.run_id, 1, "simpler words", engine=engine)
    assert revised.sections[1].text == result.sections[1].text
    assert all(STYLE in p for p in prompts(engine, "Write section"))


def test_the_new_options_on_the_openai_engine(server, tmp_path):  # noqa: F811 - the fixture
    FakeServer.reply = ("Tea was first drunk in China, where the emperor Shen Nong tasted leaves [1]. "
                        + " ".join(prose(300, seed=7).split()))
    outline = tmp_path / "outline.md"
    outline.write_text("## Origins (150 words)\nTea in China.\n\n## Trade (150 words)\nTraders and clippers.\n")
    result = writer.compose("Write about tea.", engine="openai", base_url=server, plan=outline,
                            sources=[sources_folder(tmp_path)], style=STYLE, output=tmp_path / "tea.html")
    assert Store().get_run(result.run_id).status == "done"
    sent = [m["content"] for b in FakeServer.bodies for m in b.get("messages", []) if m["role"] == "user"]
    assert not any("Plan it as" in c for c in sent)  # the outline is the plan
    assert any(f"Write in this style: {STYLE}." in c and "Passages from the sources" in c for c in sent)
    assert "<h2 id=\"origins\">Origins</h2>" in (tmp_path / "tea.html").read_text()
    assert "[1]" in result.text and "## References" in result.text

"""Author control on the real engine (vLLM CPU + SmolLM2-135M): the user's outline, sources with citations,
one section revised, a text extended, a .docx out. Small word counts: CI runs these on two slow cores."""

from __future__ import annotations

import json
import re

import docx
import pytest
from typer.testing import CliRunner

from writer.cli import app
from writer.store import Store
from writer.text.citations import supports
from writer.text.lengths import count_words

pytestmark = pytest.mark.engine
runner = CliRunner()

OUTLINE = """# Keeping bees

## Choosing a hive (90 words)
Why a beginner picks a wooden box hive and where to put it in the garden.

## Feeding the colony (90 words)
What bees eat through the year and when a beekeeper gives them sugar syrup.

## Taking the honey (90 words)
How the frames are lifted, the wax caps cut off and the honey spun out.
"""


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_compose_from_a_markdown_outline_keeps_its_titles_in_a_docx(embedded_engine, tmp_path):
    outline = tmp_path / "bees.md"
    outline.write_text(OUTLINE)
    out = tmp_path / "bees.docx"
    info = json.loads(cli("compose", "--plan", str(outline), "-o", str(out), "--json").stdout)
    titles = ["Choosing a hive", "Feeding the colony", "Taking the honey"]
    result = Store().load_result(info["run_id"])
    assert [s.title for s in result.sections] == titles
    assert "plan" not in {c.stage for c in Store().calls(info["run_id"])}
    paragraphs = docx.Document(str(out)).paragraphs  # it opens, with the title and the headings in order
    assert [p.text for p in paragraphs if p.style.name.startswith("Heading")] == ["Keeping bees", *titles]
    assert sum(count_words(p.text) for p in paragraphs if not p.style.name.startswith("Heading")) > 150


def test_compose_from_two_sources_cites_only_them(embedded_engine, tmp_path):
    (tmp_path / "hives.md").write_text(
        "A beehive holds about fifty thousand bees in summer. The queen lays up to two thousand eggs a day, and "
        "worker bees live for about six weeks.\n\nBees make honey from flower nectar, which they carry home and "
        "dry by fanning their wings.\n")
    (tmp_path / "wax.txt").write_text(
        "Beeswax comes from glands on the bodies of young worker bees. Beekeepers melt old comb to make candles, "
        "and the wax burns with a clean, bright flame.\n")
    out = tmp_path / "bees.md"
    info = json.loads(cli("compose", "Write a short article about honey bees, their hives and their wax.",
                          "--words", "260", "--source", str(tmp_path / "hives.md"), "--source",
                          str(tmp_path / "wax.txt"), "-o", str(out), "--json").stdout)
    store = Store()
    passages = {p.number: p for p in store.sources(info["run_id"])}
    assert {p.path for p in passages.values()} == {str(tmp_path / "hives.md"), str(tmp_path / "wax.txt")}
    text = out.read_text()
    body, _, references = text.partition("## References\n\n")
    cited = {int(n) for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", body) for n in re.split(r"\s*,\s*", group)}
    assert cited <= set(passages)  # every [n] left in the text is one of the two files' passages
    listed = {int(n): rest for n, rest in re.findall(r"^\[(\d+)\] (.*)$", references, re.M)}
    assert set(listed) == cited and all(rest.startswith(passages[n].path) for n, rest in listed.items())
    prompts = [c.messages[0]["content"] for c in store.calls(info["run_id"], "write")]
    assert prompts and all("[1] (" in p and "cite it by its number in brackets" in p for p in prompts)
    for c in store.citations(info["run_id"]):  # every citation the model made is stored, with its verdict
        if c.number in passages:
            assert c.passage == passages[c.number].text and c.supported == supports(c.passage, c.sentence)
        else:
            assert c.path is None and not c.supported


def test_revise_changes_only_the_chosen_section_and_the_output_file(embedded_engine, tmp_path):
    outline = tmp_path / "bees.md"
    outline.write_text(OUTLINE)
    out = tmp_path / "bees.md.out.md"
    info = json.loads(cli("compose", "--plan", str(outline), "--words", "180", "-o", str(out), "--json").stdout)
    before = Store().load_result(info["run_id"])
    written = out.read_text()
    cli("revise", info["run_id"], "--section", "2", "--instruction", "more concrete examples")
    after = Store().load_result(info["run_id"])
    assert [s.text for s in after.sections][0::2] == [s.text for s in before.sections][0::2]  # 1 and 3 untouched
    assert after.sections[1].text != before.sections[1].text
    assert out.read_text() == after.text != written
    versions = json.loads(cli("runs", "show", info["run_id"], "--json").stdout)["versions"]
    assert [(v["section"], v["version"]) for v in versions] == [(2, 1), (2, 2)]


def test_extend_a_300_word_text_to_600_words(embedded_engine, tmp_path):
    paragraphs = [
        "Honey bees live in colonies of many thousands. Each colony has one queen, a few hundred drones and a "
        "great many workers. The workers do almost everything: they clean the cells, feed the young, build wax "
        "comb and guard the entrance against wasps and robbers from other hives.",
        "In spring the colony grows fast. The queen lays eggs in the comb, and after three weeks new workers "
        "come out of their cells. Older workers fly out to gather nectar and pollen from fruit trees, "
        "dandelions and clover, and they tell each other where the flowers are by dancing on the comb.",
        "Nectar becomes honey inside the hive. The bees pass it from mouth to mouth, store it in wax cells and "
        "fan it with their wings until most of the water is gone. Then they seal each cell with a thin cap of "
        "wax, and the honey keeps for years without spoiling.",
        "A beekeeper takes only the honey the colony can spare. She lifts out the heavy frames, cuts off the wax "
        "caps with a warm knife and spins the frames in an extractor, so the comb can go back to the bees and be "
        "filled again before the summer ends, with a little left over for winter.",
        "Winter is the hardest time for a colony. The bees cluster together in a tight ball on the comb and "
        "shiver their flight muscles to keep the queen warm. They eat the honey they stored in summer, and on "
        "a sunny day a few of them fly out for a moment to clean themselves before going back inside.",
        "Bees matter far beyond the hive. As they move from flower to flower they carry pollen, and many fruit "
        "and vegetable crops depend on them. Apples, almonds, cherries and squash would all be scarce without "
        "bees, which is why farmers often rent hives from beekeepers when their orchards bloom.",
    ]
    text = "\n\n".join(paragraphs) + "\n"
    assert 280 <= count_words(text) <= 320
    source = tmp_path / "bees.txt"
    source.write_text(text)
    out = tmp_path / "longer.md"
    info = json.loads(cli("extend", str(source), "--words", "600", "-o", str(out), "--json").stdout)
    words = count_words(out.read_text())
    assert info["words"] == words and abs(words - 600) / 600 <= 0.1, words
    assert Store().get_run(info["run_id"]).options["kind"] == "extend"

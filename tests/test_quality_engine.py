"""The default model end to end: a document that reads as one document (CI always runs these).

The plan must be the model's own (no generic filler section), and no section may keep a
heading of its own, conclude before the last one, talk about the text or echo our prompts. The
defect checks that cut such text are unit-tested on crafted texts (tests/test_defects.py); here the
real default model writes. Length is not asserted: the 0.5B model often cannot fill a 900-word
article on a subject it knows little of (its sections loop and the loops are cut); S_l is measured
over LongBench-Write by bench/length.py, and the documents' quality by bench/quality.py.
"""

from __future__ import annotations

import pytest

import writer
from writer.text.defects import Place, find_defects

pytestmark = pytest.mark.engine

INSTRUCTION = "Write a 900-word article explaining how ocean tides work, for curious teenagers."


def test_a_compose_with_the_default_model_reads_as_one_document(default_engine, store):
    result = writer.compose(INSTRUCTION, engine=default_engine, store=store)
    plan = result.plan
    assert len(plan.sections) >= 2
    assert not any("generic" in note for note in plan.repairs), plan.repairs
    assert result.words > 0
    titles = tuple(s.title for s in plan.sections)
    earlier = ""
    for k, section in enumerate(result.sections):
        place = Place(index=k, count=len(result.sections), title=section.title,
                      other_titles=tuple(t for t in titles if t != section.title), instruction=INSTRUCTION)
        left = [f.kind for f in find_defects(section.text, place, earlier)]
        assert not {"heading", "conclusion", "chatter", "echo"} & set(left), (k, left, section.text[:300])
        earlier += "\n\n" + section.text
    # the only headings in the document are the plan's own
    heading_lines = [line for line in result.text.splitlines() if line.lstrip().startswith("#")]
    assert heading_lines == [f"## {t}" for t in titles]

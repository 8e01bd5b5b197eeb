"""Typed artefacts the stages hand each other: plans, sections, documents, results."""

from __future__ import annotations

from pydantic import BaseModel, Field

from writer.text.lengths import count_words


class PlannedSection(BaseModel):
    """One step of an AgentWrite plan: what to write and how long."""

    title: str
    main_point: str
    words: int = Field(ge=1)


class Plan(BaseModel):
    """An instruction's plan: ordered sections whose budgets sum to the target."""

    instruction: str
    target_words: int
    target_source: str = "option"
    sections: list[PlannedSection]
    repairs: list[str] = Field(default_factory=list, description="What the deterministic repair changed.")
    title: str | None = Field(None, description="The document's title (a user outline's `# Title`), its first line.")

    @property
    def total_words(self) -> int:
        return sum(s.words for s in self.sections)


class WrittenSection(BaseModel):
    """A finished section as stored, with what the defect checks (`writer.text.defects`) found while writing it
    (all cut, unless also counted in `defects_left`)."""

    index: int
    title: str
    text: str
    words: int
    defects: dict[str, int] = Field(default_factory=dict)
    defects_left: dict[str, int] = Field(default_factory=dict)


class Passage(BaseModel):
    """A chunk of one of the user's source files (`--source`). `number` is what the text cites, `[number]`:
    the passage's place among all the run's passages, so the same passage has the same number everywhere."""

    number: int = Field(ge=1)
    path: str  # the file, as the user named it (a folder's files: the folder joined with the file's own path)
    document: int = Field(ge=1)  # which source file, in the order given
    chunk: int = Field(ge=0)  # which chunk of that file
    text: str


EXCERPT_WORDS = 25  # of a passage, in the references list


def document_text(sections: list[WrittenSection], title: str | None = None, references: list[Passage] = (),
                  headings: list[str] | None = None) -> str:
    """The document: its title if it has one, then the sections in order, each under its title when there are
    several, then the references list of the passages it cites. `headings` replaces the titles: each section's
    heading lines as the user wrote them ("" for none; `writer extend` keeps a document's own). Only the sections
    count towards its length (`body_words`)."""
    if not sections:
        return ""
    parts = [f"# {title.strip()}"] if title and title.strip() else []
    if headings is not None:
        parts += [f"{headings[k].strip()}\n\n{s.text.strip()}" if k < len(headings) and headings[k].strip()
                  else s.text.strip() for k, s in enumerate(sections)]
    elif len(sections) == 1:
        parts.append(sections[0].text.strip())
    else:
        parts += [f"## {s.title}\n\n{s.text.strip()}" for s in sections]
    if references:
        parts.append("## References\n\n" + "\n\n".join(f"[{p.number}] {p.path}: \"{excerpt(p.text)}\""
                                                       for p in references))
    return "\n\n".join(p for p in parts if p) + "\n"


def excerpt(text: str, words: int = EXCERPT_WORDS) -> str:
    """The first `words` words of `text` on one line, "..." where it was cut."""
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def body_words(sections: list[WrittenSection], headings: list[str] | None = None) -> int:
    """The document's length as its target counts it: the sections and their headings, not the title or the
    references list."""
    return count_words(document_text(sections, headings=headings))


class Stats(BaseModel):
    """Counters of one compose run."""

    words: int = 0
    sections: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, served from the engine's prefix cache
    output_tokens: int = 0
    calls: int = 0

    @property
    def output_tokens_per_second(self) -> float:
        return self.output_tokens / self.seconds if self.seconds > 0 else 0.0


class ComposeResult(BaseModel):
    """What `writer.compose` returns."""

    run_id: str
    instruction: str
    text: str
    plan: Plan | None
    sections: list[WrittenSection]
    stats: Stats
    output_path: str | None = None

    @property
    def words(self) -> int:
        return self.stats.words


class RunInputs(BaseModel):
    """What the user gave a run besides its instruction and length, stored with it so a resumed or revised run
    has the same: their own plan (`--plan`), sources (`--source`), style (`--style`), output format (`--format`),
    and for `writer extend` their text."""

    plan: Plan | None = None
    plan_raw: str = ""  # the plan file as the user wrote it
    sources: list[Passage] = Field(default_factory=list)
    source_paths: list[str] = Field(default_factory=list)
    style: str | None = None
    format: str | None = None
    kind: str = "compose"  # or "extend"
    originals: list[str] = Field(default_factory=list)  # extend: each part's text, as written
    headings: list[str] | None = None  # extend: each part's heading lines, as written

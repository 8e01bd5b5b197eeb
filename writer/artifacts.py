"""Typed artefacts the stages hand each other: plans, sections, documents, results."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


def document_text(sections: list[WrittenSection]) -> str:
    """The document: sections in order, each under its title when there are several."""
    if not sections:
        return ""
    if len(sections) == 1:
        return sections[0].text.strip() + "\n"
    return "\n\n".join(f"## {s.title}\n\n{s.text.strip()}" for s in sections) + "\n"


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

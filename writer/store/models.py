"""SQLAlchemy tables of the store: runs, plans, planned sections, written sections, engine calls.

Types are portable (no SQLite-only features) so a Postgres WRITER_DB_URL works through
the same code.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class Run(Base):
    """One compose: the instruction, the target, the engine, and how far it got."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instruction: Mapped[str] = mapped_column(Text)
    target_words: Mapped[int] = mapped_column(Integer)
    target_source: Mapped[str] = mapped_column(String(16), default="option")
    engine: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="created")  # created/writing/done/failed/interrupted
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    output_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    words: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the process writing it now (`writer.pipeline.liveness`): None when no process has it
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(Text, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    plans: Mapped[list["PlanRow"]] = relationship(back_populates="run", order_by="PlanRow.id")


class PlanRow(Base):
    """A plan as the planner returned it (`raw`) and what the repair changed."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    raw: Mapped[str] = mapped_column(Text, default="")
    repairs: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    run: Mapped[Run] = relationship(back_populates="plans")
    sections: Mapped[list["PlanSectionRow"]] = relationship(order_by="PlanSectionRow.index")


class PlanSectionRow(Base):
    __tablename__ = "plan_sections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    main_point: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer)


class SectionRow(Base):
    """A finished section's text. One per (run, index): writing it again is never needed."""

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("run_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer)
    defects: Mapped[dict] = mapped_column(JSON, default=dict)  # kind -> count found while writing it
    defects_left: Mapped[dict] = mapped_column(JSON, default=dict)  # kind -> count still in the text
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CallRow(Base):
    """One engine call: rendered prompt, parameters, output, token counts and time."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    stage: Mapped[str] = mapped_column(String(32))
    section_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    template: Mapped[str | None] = mapped_column(String(128), nullable=True)
    template_hash: Mapped[str | None] = mapped_column(String(16), nullable=True)  # of the template's source
    messages: Mapped[list] = mapped_column(JSON)
    params: Mapped[dict] = mapped_column(JSON)
    output: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)  # of prompt_tokens, from the prefix cache
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    engine: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JudgmentRow(Base):
    """One judge's verdict on a text (a run's document when `run_id` is set): score, details, or the error."""

    __tablename__ = "judgments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    judge: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CandidateRow(Base):
    """One of N drafts of a section (`--candidates N`), with its judge scores and whether it was kept."""

    __tablename__ = "candidates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    section_index: Mapped[int] = mapped_column(Integer)
    candidate: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    chosen: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoleRecord(Base):
    """What a Self-Lengthen role was given and produced for a section: the Generator (prompt -> draft) or the
    Extender (shorter draft -> longer text). Kept as training material for Generator/Extender data."""

    __tablename__ = "role_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    section_index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    input_text: Mapped[str] = mapped_column(Text)
    output_text: Mapped[str] = mapped_column(Text)
    input_words: Mapped[int] = mapped_column(Integer)
    output_words: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StepRow(Base):
    """One step of a run's stored program (L2MAC's instruction registry; "step" here, since "instruction" is
    what the user asked for): what to do, to which section, and how it went. The control unit runs them in
    `seq` order and resumes from the first not done."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(16))  # write/extend/check/summarise/stitch/consistency
    section_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/done/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)  # why the last check failed
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # what the last execution did
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class MemoryFileRow(Base):
    """A named file of a run's memory (L2MAC's file store): drafts, summaries, the established facts."""

    __tablename__ = "memory_files"
    __table_args__ = (UniqueConstraint("run_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(64))  # draft/3, summary/3, facts
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class MemoryEventRow(Base):
    """One read or write of run memory by an instruction, so a run can be inspected afterwards."""

    __tablename__ = "memory_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the instruction's seq
    action: Mapped[str] = mapped_column(String(8))  # read/write
    name: Mapped[str] = mapped_column(String(64))  # plan, section/2, summary/1, facts, draft/3
    words: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRow(Base):
    """A dataset job: many documents composed from one instructions file (`writer dataset generate`)."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the job's name
    source: Mapped[str] = mapped_column(Text)  # the instructions file it was made from
    engine: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # samples, concurrency, words_field, judges, ...
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # [{"line": n, "error": "..."}]
    status: Mapped[str] = mapped_column(String(16), default="created")  # created/running/done/stopped
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the process working on it now
    host: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # working time over all sessions
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class JobItemRow(Base):
    """One document of a job: instruction line x sample number, and the compose run that writes it.

    (job_id, line, sample) is unique, and an item has at most one run: that is what makes a
    killed job resume with no lost and no duplicated documents.
    """

    __tablename__ = "job_items"
    __table_args__ = (UniqueConstraint("job_id", "line", "sample"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)  # 1-based line number in the instructions file
    sample: Mapped[int] = mapped_column(Integer)  # 0 .. samples-1
    instruction: Mapped[str] = mapped_column(Text)
    required_words: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)  # the line's other fields, kept for export
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/running/done/failed
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    words: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # judge name -> 0-100, plus "score" (their mean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class SourceRow(Base):
    """One passage of a run's sources (`--source`), as read when the run was made: resuming or revising the run
    never reads the files again. `number` is what the text cites, `[number]`."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("run_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    document: Mapped[int] = mapped_column(Integer)  # which source file, in the order given
    chunk: Mapped[int] = mapped_column(Integer)  # which passage of that file
    text: Mapped[str] = mapped_column(Text)


class CitationRow(Base):
    """One `[n]` a section cited, the sentence it was on, the passage, and whether the passage supports it
    (those that did not were dropped from the text). `version` is the section's version (1: as composed)."""

    __tablename__ = "citations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    section_index: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    sentence: Mapped[str] = mapped_column(Text)
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: the number is no passage
    passage: Mapped[str | None] = mapped_column(Text, nullable=True)
    supported: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SectionVersionRow(Base):
    """A version of a finished section (`writer revise`): version 1 is the section as the run wrote it, each
    revision adds the next. Nothing is overwritten; the `sections` table holds the newest."""

    __tablename__ = "section_versions"
    __table_args__ = (UniqueConstraint("run_id", "index", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    index: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer)
    instruction: Mapped[str | None] = mapped_column(Text, nullable=True)  # what the revision was asked to change
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # what its checks found
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

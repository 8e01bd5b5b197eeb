"""The store: every run, plan, section and engine call, in one SQLAlchemy database.

SQLite in the user data dir by default; WRITER_DB_URL selects another database (e.g.
`postgresql+psycopg://user@host/writer`). Schema changes are numbered migrations applied
when the store is opened.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import create_engine, func, inspect, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine as SQLEngine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from prompts import template_hash
from writer.artifacts import (
    ComposeResult,
    Passage,
    Plan,
    PlannedSection,
    Stats,
    WrittenSection,
    body_words,
    document_text,
)
from writer.config import db_url
from writer.engines.base import ChatRequest, Completion
from writer.errors import UnknownJobError, UnknownRunError, UsageError
from writer.store.models import (
    Base,
    CallRow,
    CandidateRow,
    CitationRow,
    JobItemRow,
    JobRow,
    JudgmentRow,
    MemoryEventRow,
    MemoryFileRow,
    PlanRow,
    PlanSectionRow,
    RoleRecord,
    Run,
    SchemaVersion,
    SectionRow,
    SectionVersionRow,
    SourceRow,
    StepRow,
    utcnow,
)
from writer.text.lengths import count_words

__all__ = ["Store", "Run", "CallRow", "CandidateRow", "JudgmentRow", "RoleRecord", "StepRow", "MemoryFileRow",
           "MemoryEventRow", "JobRow", "JobItemRow", "SourceRow", "CitationRow", "SectionVersionRow"]


def _migration_1(bind: SQLEngine) -> None:
    for table in ("runs", "plans", "plan_sections", "sections", "calls"):
        Base.metadata.tables[table].create(bind, checkfirst=True)


def _migration_2(bind: SQLEngine) -> None:
    JudgmentRow.__table__.create(bind, checkfirst=True)


def _migration_3(bind: SQLEngine) -> None:
    CandidateRow.__table__.create(bind, checkfirst=True)


def _migration_4(bind: SQLEngine) -> None:
    RoleRecord.__table__.create(bind, checkfirst=True)


def _migration_5(bind: SQLEngine) -> None:
    for row in (StepRow, MemoryFileRow, MemoryEventRow):
        row.__table__.create(bind, checkfirst=True)


def _migration_6(bind: SQLEngine) -> None:
    for row in (JobRow, JobItemRow):
        row.__table__.create(bind, checkfirst=True)


def _migration_7(bind: SQLEngine) -> None:
    """calls.cached_tokens: how much of each prompt the engine's prefix cache served."""
    if "cached_tokens" not in {c["name"] for c in inspect(bind).get_columns("calls")}:
        with bind.begin() as conn:
            conn.execute(sql_text("ALTER TABLE calls ADD COLUMN cached_tokens INTEGER DEFAULT 0"))


def _migration_8(bind: SQLEngine) -> None:
    """sections.defects and sections.defects_left: what the defect checks found in each section, and left."""
    have = {c["name"] for c in inspect(bind).get_columns("sections")}
    with bind.begin() as conn:
        for column in ("defects", "defects_left"):
            if column not in have:
                conn.execute(sql_text(f"ALTER TABLE sections ADD COLUMN {column} JSON"))


def _migration_9(bind: SQLEngine) -> None:
    """The stored program's table is `steps` (it was `instructions`, a word that also means the user's request)."""
    tables = set(inspect(bind).get_table_names())
    if "instructions" in tables and "steps" not in tables:
        with bind.begin() as conn:
            conn.execute(sql_text("ALTER TABLE instructions RENAME TO steps"))


def _migration_10(bind: SQLEngine) -> None:
    """calls.template_hash: which version of its prompt template each call was rendered from."""
    if "template_hash" not in {c["name"] for c in inspect(bind).get_columns("calls")}:
        with bind.begin() as conn:
            conn.execute(sql_text("ALTER TABLE calls ADD COLUMN template_hash VARCHAR(16)"))


def _migration_11(bind: SQLEngine) -> None:
    """Author control: a run's source passages, the citations its sections made, and section versions."""
    for row in (SourceRow, CitationRow, SectionVersionRow):
        row.__table__.create(bind, checkfirst=True)


def _migration_12(bind: SQLEngine) -> None:
    """runs.pid, runs.host, runs.heartbeat_at: which process is writing a run, and when it last said so
    (`writer.pipeline.liveness`), so a run whose process died shows as interrupted."""
    have = {c["name"] for c in inspect(bind).get_columns("runs")}
    with bind.begin() as conn:
        for column in ("pid", "host", "heartbeat_at"):
            if column not in have:
                kind = Run.__table__.c[column].type.compile(dialect=bind.dialect)
                conn.execute(sql_text(f"ALTER TABLE runs ADD COLUMN {column} {kind}"))


MIGRATIONS: list[Callable[[SQLEngine], None]] = [_migration_1, _migration_2, _migration_3, _migration_4,
                                                 _migration_5, _migration_6, _migration_7, _migration_8, _migration_9,
                                                 _migration_10, _migration_11, _migration_12]


class Store:
    """Typed access to the database. Each method is its own transaction."""

    def __init__(self, url: str | None = None):
        self.url = url or db_url()
        kwargs = {"connect_args": {"timeout": 60}} if self.url.startswith("sqlite") else {"pool_pre_ping": True}
        try:
            self.engine = create_engine(self.url, **kwargs)
        except Exception as exc:  # bad URL or missing driver
            raise UsageError(f"cannot open store {self.url!r}: {_first_line(exc)}") from None
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()

    def _migrate(self) -> None:
        """Apply the migrations this store lacks. Threads of one process take turns; another process migrating
        the same new store at the same moment makes a step fail ("already exists"), which is retried: the
        second look finds that step applied."""
        with _MIGRATING:
            for attempt in range(5):
                try:
                    self._apply_migrations()
                    return
                except (OperationalError, ProgrammingError, IntegrityError) as exc:
                    if not _migration_race(exc) or attempt == 4:
                        raise UsageError(f"cannot open store {self.url!r}: {_first_line(exc.orig or exc)}") from None
                    time.sleep(0.2 * (attempt + 1))
                except DBAPIError as exc:  # unreachable server, unopenable file
                    raise UsageError(f"cannot open store {self.url!r}: {_first_line(exc.orig or exc)}") from None

    def _apply_migrations(self) -> None:
        if not inspect(self.engine).has_table("schema_version"):
            SchemaVersion.__table__.create(self.engine, checkfirst=True)
        with self.Session.begin() as s:
            applied = set(s.scalars(select(SchemaVersion.version)))
        for number, migration in enumerate(MIGRATIONS, start=1):
            if number not in applied:
                migration(self.engine)
                with self.Session.begin() as s:
                    s.add(SchemaVersion(version=number))

    # runs
    def create_run(self, instruction: str, target_words: int, target_source: str, engine: str, model: str,
                   options: dict | None = None) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self.Session.begin() as s:
            s.add(Run(id=run_id, instruction=instruction, target_words=target_words, target_source=target_source,
                      engine=engine, model=model, options=options or {}))
        return run_id

    def get_run(self, run_id: str) -> Run:
        with self.Session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise UnknownRunError(f"no run with id {run_id!r} in {self.url}")
            return run

    def list_runs(self, limit: int = 50) -> Sequence[Run]:
        with self.Session() as s:
            return s.scalars(select(Run).order_by(Run.created_at.desc()).limit(limit)).all()

    def load_result(self, run_id: str) -> ComposeResult:
        """A run as a ComposeResult: the text so far, plan, sections, and token counts from its call log."""
        run = self.get_run(run_id)
        plan = self.load_plan(run_id)
        sections = self.sections(run_id)
        text, words = self.document(run_id, sections) if plan else ("", 0)
        calls = self.call_stats(run_id)
        stats = Stats(words=words, sections=len(sections), seconds=run.seconds, calls=calls.calls,
                      prompt_tokens=calls.prompt_tokens, cached_tokens=calls.cached_tokens,
                      output_tokens=calls.output_tokens)
        return ComposeResult(run_id=run_id, instruction=run.instruction, text=text, plan=plan, sections=sections,
                             stats=stats, output_path=run.output_path)

    def document(self, run_id: str, sections: list[WrittenSection] | None = None) -> tuple[str, int]:
        """The run's document as Markdown (its title, sections, references list) and its length in words (the
        sections alone: `body_words`)."""
        run = self.get_run(run_id)
        opts = run.options or {}
        sections = self.sections(run_id) if sections is None else sections
        headings = opts.get("headings")
        references = []
        if opts.get("sources"):
            from writer.text.citations import cited_numbers

            cited = {n for s in sections for n in cited_numbers(s.text)}
            references = [p for p in self.sources(run_id) if p.number in cited]
        text = document_text(sections, title=opts.get("title"), references=references, headings=headings)
        return text, body_words(sections, headings)

    def claim_run(self, run_id: str, seen: tuple, pid: int | None, host: str | None) -> bool:
        """Record (`pid`, `host`, now) as the run's writer if its (pid, host, heartbeat_at) is still `seen`: a
        compare-and-set, so of two processes claiming one run at once only one wins. Returns whether this did."""
        with self.Session.begin() as s:
            query = update(Run).where(Run.id == run_id)
            for column, value in zip((Run.pid, Run.host, Run.heartbeat_at), seen):
                query = query.where(column.is_(None) if value is None else column == value)
            done = s.execute(query.values(pid=pid, host=host, heartbeat_at=utcnow() if pid else None,
                                          updated_at=utcnow()))
            return done.rowcount == 1

    def beat(self, run_id: str, pid: int, host: str) -> bool:
        """Refresh the heartbeat of a run that (`pid`, `host`) writes; False if another process took it over."""
        with self.Session.begin() as s:
            done = s.execute(update(Run).where(Run.id == run_id, Run.pid == pid, Run.host == host)
                             .values(heartbeat_at=utcnow(), updated_at=Run.updated_at))
            return done.rowcount == 1

    def update_run(self, run_id: str, **fields) -> None:
        with self.Session.begin() as s:
            run = s.get(Run, run_id)
            for key, value in fields.items():
                setattr(run, key, value)
            run.updated_at = utcnow()

    # plans
    def save_plan(self, run_id: str, plan: Plan, raw: str = "") -> None:
        with self.Session.begin() as s:
            row = PlanRow(run_id=run_id, raw=raw, repairs=list(plan.repairs))
            s.add(row)
            s.flush()
            for i, sec in enumerate(plan.sections):
                s.add(PlanSectionRow(plan_id=row.id, index=i, title=sec.title, main_point=sec.main_point,
                                     words=sec.words))

    def load_plan(self, run_id: str) -> Plan | None:
        with self.Session() as s:
            run = s.get(Run, run_id)
            row = s.scalars(select(PlanRow).where(PlanRow.run_id == run_id).order_by(PlanRow.id.desc())).first()
            if run is None or row is None:
                return None
            return Plan(
                instruction=run.instruction, target_words=run.target_words, target_source=run.target_source,
                sections=[PlannedSection(title=p.title, main_point=p.main_point, words=p.words) for p in row.sections],
                repairs=list(row.repairs or []), title=(run.options or {}).get("title"),
            )

    # sections
    def save_section(self, run_id: str, section: WrittenSection) -> WrittenSection:
        """Store a finished section; if one is already stored for that index, keep and return it."""
        existing = self.get_section(run_id, section.index)
        if existing is not None:
            return existing
        with self.Session.begin() as s:
            s.add(SectionRow(run_id=run_id, index=section.index, title=section.title, text=section.text,
                             words=section.words, defects=dict(section.defects), defects_left=dict(section.defects_left)))
        return section

    def get_section(self, run_id: str, index: int) -> WrittenSection | None:
        with self.Session() as s:
            row = s.scalars(select(SectionRow).where(SectionRow.run_id == run_id, SectionRow.index == index)).first()
            return _section(row) if row else None

    def sections(self, run_id: str) -> list[WrittenSection]:
        with self.Session() as s:
            rows = s.scalars(select(SectionRow).where(SectionRow.run_id == run_id).order_by(SectionRow.index))
            return [_section(r) for r in rows]

    def replace_section(self, run_id: str, index: int, text: str, defects: dict | None = None) -> WrittenSection:
        """Overwrite a stored section's text (the stitching and consistency passes edit finished sections);
        `defects` adds to the counts found in it."""
        with self.Session.begin() as s:
            row = s.scalars(select(SectionRow).where(SectionRow.run_id == run_id, SectionRow.index == index)).one()
            row.text, row.words = text, count_words(text)
            if defects:
                found = dict(row.defects or {})
                for kind, n in defects.items():
                    found[kind] = found.get(kind, 0) + n
                row.defects = found
            return _section(row)

    # engine calls
    def log_calls(self, run_id: str | None, stage: str, requests: list[ChatRequest], completions: list[Completion],
                  engine: str = "", model: str = "", section_index: int | None = None,
                  template: str | None = None) -> None:
        with self.Session.begin() as s:
            for req, comp in zip(requests, completions):
                params = req.model_dump(exclude={"messages"})
                s.add(CallRow(run_id=run_id, stage=stage, section_index=section_index, template=template,
                              template_hash=template_hash(template) if template else None,
                              messages=[m.model_dump() for m in req.messages], params=params, output=comp.text,
                              prompt_tokens=comp.prompt_tokens, completion_tokens=comp.completion_tokens,
                              cached_tokens=comp.cached_tokens,
                              finish_reason=comp.finish_reason, seconds=comp.seconds, engine=engine, model=model))

    def calls(self, run_id: str, stage: str | None = None) -> Sequence[CallRow]:
        with self.Session() as s:
            query = select(CallRow).where(CallRow.run_id == run_id)
            if stage is not None:
                query = query.where(CallRow.stage == stage)
            return s.scalars(query.order_by(CallRow.id)).all()

    def call_stats(self, run_id: str) -> Stats:
        with self.Session() as s:
            n, prompt, cached, output = s.execute(
                select(func.count(CallRow.id), func.coalesce(func.sum(CallRow.prompt_tokens), 0),
                       func.coalesce(func.sum(CallRow.cached_tokens), 0),
                       func.coalesce(func.sum(CallRow.completion_tokens), 0)).where(CallRow.run_id == run_id)
            ).one()
        return Stats(calls=n, prompt_tokens=prompt, cached_tokens=cached, output_tokens=output)

    # judgments
    def save_judgment(self, run_id: str | None, judge: str, score: float | None, details: dict | None = None,
                      error: str | None = None) -> int:
        """Store one judge's verdict (score and details, or the error); returns the row id."""
        with self.Session.begin() as s:
            row = JudgmentRow(run_id=run_id, judge=judge, score=score, details=details or {}, error=error)
            s.add(row)
            s.flush()
            return row.id

    def judgments(self, run_id: str | None) -> Sequence[JudgmentRow]:
        """Stored verdicts for `run_id` (None: those on texts without a run), oldest first."""
        with self.Session() as s:
            where = JudgmentRow.run_id.is_(None) if run_id is None else JudgmentRow.run_id == run_id
            return s.scalars(select(JudgmentRow).where(where).order_by(JudgmentRow.id)).all()

    # section candidates
    def save_candidates(self, run_id: str, section_index: int, candidates: list[dict]) -> None:
        """Store every candidate draft of a section: dicts with text, words, scores, score, chosen."""
        with self.Session.begin() as s:
            for k, c in enumerate(candidates):
                s.add(CandidateRow(run_id=run_id, section_index=section_index, candidate=k, text=c["text"],
                                   words=c["words"], scores=c["scores"], score=c["score"], chosen=c["chosen"]))

    def candidates(self, run_id: str) -> Sequence[CandidateRow]:
        with self.Session() as s:
            query = select(CandidateRow).where(CandidateRow.run_id == run_id)
            return s.scalars(query.order_by(CandidateRow.section_index, CandidateRow.candidate)).all()

    # Self-Lengthen role records
    def save_role_records(self, run_id: str, section_index: int, records: list[dict]) -> None:
        """Store Generator/Extender records: dicts with role, input, output."""
        with self.Session.begin() as s:
            for r in records:
                s.add(RoleRecord(run_id=run_id, section_index=section_index, role=r["role"], input_text=r["input"],
                                 output_text=r["output"], input_words=count_words(r["input"]),
                                 output_words=count_words(r["output"])))

    def role_records(self, run_id: str, role: str | None = None) -> Sequence[RoleRecord]:
        with self.Session() as s:
            query = select(RoleRecord).where(RoleRecord.run_id == run_id)
            if role is not None:
                query = query.where(RoleRecord.role == role)
            return s.scalars(query.order_by(RoleRecord.id)).all()

    # the stored program (L2MAC's instruction registry): a run's steps
    def save_steps(self, run_id: str, steps: list[dict]) -> None:
        """Store a compiled program: dicts with seq, op, section_index. A run's steps are saved once."""
        with self.Session.begin() as s:
            if s.scalars(select(StepRow.id).where(StepRow.run_id == run_id)).first() is not None:
                return
            for step in steps:
                s.add(StepRow(run_id=run_id, seq=step["seq"], op=step["op"], section_index=step["section_index"]))

    def add_steps(self, run_id: str, steps: list[dict]) -> None:
        """Append steps to a run's program (a revision's: `writer revise`); their seqs follow the program's."""
        with self.Session.begin() as s:
            for step in steps:
                s.add(StepRow(run_id=run_id, seq=step["seq"], op=step["op"], section_index=step["section_index"]))

    def steps(self, run_id: str) -> Sequence[StepRow]:
        with self.Session() as s:
            return s.scalars(select(StepRow).where(StepRow.run_id == run_id)
                             .order_by(StepRow.seq)).all()

    def update_step(self, run_id: str, seq: int, **fields) -> None:
        with self.Session.begin() as s:
            row = s.scalars(select(StepRow).where(StepRow.run_id == run_id,
                                                         StepRow.seq == seq)).one()
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

    # the file store (run memory)
    def write_file(self, run_id: str, name: str, content: str) -> None:
        with self.Session.begin() as s:
            row = s.scalars(select(MemoryFileRow).where(MemoryFileRow.run_id == run_id,
                                                        MemoryFileRow.name == name)).first()
            if row is None:
                s.add(MemoryFileRow(run_id=run_id, name=name, content=content))
            else:
                row.content, row.version, row.updated_at = content, row.version + 1, utcnow()

    def read_file(self, run_id: str, name: str) -> str | None:
        with self.Session() as s:
            return s.scalars(select(MemoryFileRow.content).where(MemoryFileRow.run_id == run_id,
                                                                 MemoryFileRow.name == name)).first()

    def files(self, run_id: str) -> Sequence[MemoryFileRow]:
        with self.Session() as s:
            return s.scalars(select(MemoryFileRow).where(MemoryFileRow.run_id == run_id)
                             .order_by(MemoryFileRow.id)).all()

    def log_memory(self, run_id: str, seq: int | None, action: str, name: str, words: int) -> None:
        with self.Session.begin() as s:
            s.add(MemoryEventRow(run_id=run_id, seq=seq, action=action, name=name, words=words))

    def memory_events(self, run_id: str) -> Sequence[MemoryEventRow]:
        with self.Session() as s:
            return s.scalars(select(MemoryEventRow).where(MemoryEventRow.run_id == run_id)
                             .order_by(MemoryEventRow.id)).all()

    # dataset jobs
    def create_job(self, job_id: str, source: str, engine: str, model: str, options: dict, items: list[dict],
                   skipped: list[dict]) -> None:
        """Store a new job and all its items (dicts with line, sample, instruction, required_words, category,
        extra) in one transaction: a job exists with every item or not at all."""
        with self.Session.begin() as s:
            if s.get(JobRow, job_id) is not None:
                raise UsageError(f"a job named {job_id!r} already exists; resume it with `writer dataset resume "
                                 f"{job_id}` or pick another --job name")
            s.add(JobRow(id=job_id, source=source, engine=engine, model=model, options=options, skipped=skipped))
            s.flush()
            s.add_all(JobItemRow(job_id=job_id, **item) for item in items)

    def get_job(self, job_id: str) -> JobRow:
        with self.Session() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise UnknownJobError(f"no job named {job_id!r} in {self.url}")
            return job

    def list_jobs(self) -> Sequence[JobRow]:
        with self.Session() as s:
            return s.scalars(select(JobRow).order_by(JobRow.created_at.desc())).all()

    def update_job(self, job_id: str, **fields) -> None:
        with self.Session.begin() as s:
            job = s.get(JobRow, job_id)
            for key, value in fields.items():
                setattr(job, key, value)
            job.updated_at = utcnow()

    def job_items(self, job_id: str, status: str | Sequence[str] | None = None) -> Sequence[JobItemRow]:
        """A job's items in (line, sample) order, optionally only those with `status` (one or several)."""
        with self.Session() as s:
            query = select(JobItemRow).where(JobItemRow.job_id == job_id)
            if status is not None:
                query = query.where(JobItemRow.status.in_([status] if isinstance(status, str) else list(status)))
            return s.scalars(query.order_by(JobItemRow.line, JobItemRow.sample)).all()

    def job_item(self, item_id: int) -> JobItemRow:
        with self.Session() as s:
            item = s.get(JobItemRow, item_id)
            if item is None:
                raise UsageError(f"no job item {item_id} in {self.url}")
            return item

    def update_item(self, item_id: int, **fields) -> None:
        with self.Session.begin() as s:
            item = s.get(JobItemRow, item_id)
            for key, value in fields.items():
                setattr(item, key, value)
            item.updated_at = utcnow()

    # author control: sources, citations, section versions
    def save_sources(self, run_id: str, passages: list[Passage]) -> None:
        """Store a run's source passages (once: a run's sources never change)."""
        with self.Session.begin() as s:
            if s.scalars(select(SourceRow.id).where(SourceRow.run_id == run_id)).first() is not None:
                return
            s.add_all(SourceRow(run_id=run_id, number=p.number, path=p.path, document=p.document, chunk=p.chunk,
                                text=p.text) for p in passages)

    def sources(self, run_id: str) -> list[Passage]:
        with self.Session() as s:
            rows = s.scalars(select(SourceRow).where(SourceRow.run_id == run_id).order_by(SourceRow.number))
            return [Passage(number=r.number, path=r.path, document=r.document, chunk=r.chunk, text=r.text)
                    for r in rows]

    def save_citations(self, run_id: str, section_index: int, version: int, citations: list[dict]) -> None:
        """Store citations: dicts with sentence, number, path, passage, supported, reason."""
        with self.Session.begin() as s:
            s.add_all(CitationRow(run_id=run_id, section_index=section_index, version=version, **c) for c in citations)

    def citations(self, run_id: str) -> Sequence[CitationRow]:
        with self.Session() as s:
            return s.scalars(select(CitationRow).where(CitationRow.run_id == run_id)
                             .order_by(CitationRow.section_index, CitationRow.version, CitationRow.id)).all()

    def add_section_version(self, run_id: str, index: int, text: str, instruction: str | None = None,
                            note: str | None = None) -> int:
        """Make `text` the newest version of finished section `index`: the section as it was is kept as version 1
        (if no version is stored yet), the new text is stored as the next version and becomes the section's
        text. Returns the new version's number."""
        with self.Session.begin() as s:
            row = s.scalars(select(SectionRow).where(SectionRow.run_id == run_id, SectionRow.index == index)).one()
            last = s.scalars(select(func.max(SectionVersionRow.version)).where(
                SectionVersionRow.run_id == run_id, SectionVersionRow.index == index)).one()
            if last is None:
                s.add(SectionVersionRow(run_id=run_id, index=index, version=1, text=row.text, words=row.words,
                                        created_at=row.created_at))
                last = 1
            s.add(SectionVersionRow(run_id=run_id, index=index, version=last + 1, text=text, words=count_words(text),
                                    instruction=instruction, note=note))
            row.text, row.words = text, count_words(text)
            return last + 1

    def section_versions(self, run_id: str) -> Sequence[SectionVersionRow]:
        with self.Session() as s:
            return s.scalars(select(SectionVersionRow).where(SectionVersionRow.run_id == run_id)
                             .order_by(SectionVersionRow.index, SectionVersionRow.version)).all()

    def section_version(self, run_id: str, index: int) -> int:
        """The number of section `index`'s newest version (1 while it was never revised)."""
        with self.Session() as s:
            last = s.scalars(select(func.max(SectionVersionRow.version)).where(
                SectionVersionRow.run_id == run_id, SectionVersionRow.index == index)).one()
            return last or 1


_MIGRATING = threading.Lock()


def _migration_race(exc: Exception) -> bool:
    """Whether a failed migration step lost a race with another process migrating the same store."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "already exists" in text or "duplicate" in text or "unique constraint" in text or "locked" in text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _section(row: SectionRow) -> WrittenSection:
    return WrittenSection(index=row.index, title=row.title, text=row.text, words=row.words,
                          defects=row.defects or {}, defects_left=row.defects_left or {})

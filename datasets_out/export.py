"""Export a dataset job's documents as training data: SFT, DPO or Self-Lengthen records, JSONL or parquet.

Reads the job's done items and their runs from the store, builds records (`records`), drops what
fails the filters or duplicates another record (`filters`), writes the data file atomically and a
dataset card (`card`) beside it. Every dropped record is counted by reason in the report.

A DPO pair per instruction is the clearest judged preference (`records.choose_pair`): the pairwise
judge's verdict where the job ran it, else the quality/checklist margin, else the length/rules margin,
which the records, the card and the report's note then say. An export that leaves no record writes
nothing and raises `EmptyExportError` naming the filter that removed them and how many.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from datasets_out.card import render_card
from datasets_out.filters import DEDUPE_NGRAM, DEDUPE_THRESHOLD, duplicate_reasons, filter_reason
from datasets_out.records import (
    MODEL_SCORE_JUDGES,
    PAIRWISE,
    Document,
    RolePair,
    choose_pair,
    dpo_record,
    is_lengthening,
    lengthen_record,
    sft_record,
)
from writer.atomic import write_atomic
from writer.errors import EmptyExportError, UsageError
from writer.store import JobRow, Store
from writer.text.lengths import count_words

FORMATS = ("sft", "dpo", "lengthen")
TARGETS = ("jsonl", "parquet")
REASONS = {  # the drop reasons each format reports, in the order they are checked
    "sft": ["no_text", "length_ratio", "min_score", "exact_duplicate", "near_duplicate"],
    "dpo": ["no_text", "no_pair", "length_ratio", "min_score", "exact_duplicate", "near_duplicate"],
    "lengthen": ["no_text", "length_ratio", "min_score", "not_longer", "exact_duplicate", "near_duplicate"],
}


@dataclass
class ExportReport:
    """What an export wrote, and how many would-be records each filter removed."""

    path: Path
    card_path: Path
    records: int
    dropped: dict[str, int] = field(default_factory=dict)
    decided_by: dict[str, int] = field(default_factory=dict)  # DPO: pairs per deciding judges ("quality+checklist")
    note: str | None = None  # something the user should know, e.g. pairs decided by length and rules alone


@dataclass
class _Built:
    records: list[dict]
    words: list[int]  # per record, for the card's length histogram
    scores: list[float | None]  # per record, for the card's score distribution
    units: int = 0  # what the records were built from: documents (sft), instructions (dpo), role pairs
    why_no_pair: Counter = field(default_factory=Counter)  # dpo: "too_few", "small_margin"
    decided_by: Counter = field(default_factory=Counter)


def export_job(store: Store, job_id: str, fmt: str, to: str, out_dir: Path, *, min_score: float | None = None,
               length_ratio: tuple[float, float] | None = None, dedupe: bool = True,
               min_margin: float = 5.0) -> ExportReport:
    """Write `out_dir/{fmt}.{to}` and `out_dir/README.md` for job `job_id`; return what was written.

    Bad arguments raise UsageError; an unknown job UnknownJobError; a result with no record
    EmptyExportError (nothing is written, the folder is not created), naming the filter that removed them.
    """
    _check_args(fmt, to, min_score, length_ratio, min_margin)
    out_dir = _check_out_dir(out_dir)
    job = store.get_job(job_id)

    docs, no_text = _documents(store, job)
    dropped = Counter({"no_text": no_text})
    if fmt == "sft":
        built = _sft(docs, dropped, min_score, length_ratio, dedupe)
    elif fmt == "dpo":
        from writer.dataset.judging import pair_verdicts

        verdicts = pair_verdicts(store, [d.run_id for d in docs])
        built = _dpo(docs, dropped, min_score, length_ratio, dedupe, min_margin, verdicts)
    else:
        built = _lengthen(store, docs, dropped, min_score, length_ratio, dedupe)
    if not built.records:
        raise _empty(job.id, fmt, built, dropped, min_score, length_ratio, min_margin, docs)

    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{fmt}.{to}"
    if to == "jsonl":
        _write_jsonl(path, built.records)
    else:
        _write_parquet(path, built.records, fmt)
    report = ExportReport(path=path, card_path=out_dir / "README.md", records=len(built.records),
                          dropped={reason: dropped[reason] for reason in REASONS[fmt]},
                          decided_by=dict(built.decided_by), note=_note(built) if fmt == "dpo" else None)
    card = render_card(job=job.id, fmt=fmt, filename=path.name, records=report.records, dropped=report.dropped,
                       filters=_filters_used(fmt, min_score, length_ratio, dedupe, min_margin), model=job.model,
                       engine=job.engine, source=job.source, words=built.words, scores=built.scores,
                       decided_by=report.decided_by if fmt == "dpo" else None,
                       judge_model=(job.options or {}).get("judge_model"))
    write_atomic(report.card_path, card)
    return report


def _note(built: _Built) -> str | None:
    """Says when pairs were decided by the rule judges alone: a preference no model judge confirmed."""
    rules_only = sum(n for key, n in built.decided_by.items()
                     if PAIRWISE not in key.split("+") and not set(key.split("+")) & set(MODEL_SCORE_JUDGES))
    if not rules_only:
        return None
    return (f"{rules_only} of {len(built.records)} pairs were chosen by length and rules scores alone (no model "
            f"judge scored those samples); judge with --judges length,rules,quality,pairwise for preferences "
            f"by quality")


def _empty(job: str, fmt: str, built: _Built, dropped: Counter, min_score, length_ratio, min_margin: float,
           docs: list[Document]) -> EmptyExportError:
    """The one line saying which filter left nothing, and how many it removed (library and CLI wording)."""
    if not docs:
        text = f"job {job} has no finished document with text ({dropped['no_text']} done without text)"
        return EmptyExportError(text)
    lines = {"length_ratio": ("length_ratio", "--length-ratio"), "min_score": ("min_score", "--min-score"),
             "min_margin": ("min_margin", "--min-margin")}

    def say(cli: bool) -> str:
        flag = {k: v[1] if cli else v[0] for k, v in lines.items()}
        if fmt == "dpo" and built.why_no_pair and built.units == sum(built.why_no_pair.values()):
            parts = []
            if built.why_no_pair["small_margin"]:
                judged = any(set(d.scores) & set(MODEL_SCORE_JUDGES) for d in docs)
                hint = f"lower {flag['min_margin']}" + ("" if judged else " or judge with --judges quality,pairwise"
                                                        if cli else " or judge with quality or pairwise")
                parts.append((f"{built.why_no_pair['small_margin']} had no pair with a margin of at least "
                              f"{min_margin:g}", hint))
            if built.why_no_pair["too_few"]:
                parts.append((f"{built.why_no_pair['too_few']} had fewer than two scored samples",
                              "generate with --samples 2 or more" if cli else "generate 2 or more samples"))
            if len(parts) == 1 and built.why_no_pair["small_margin"]:
                return (f"0 of {built.units} instructions had a pair with a margin of at least {min_margin:g}: "
                        f"{parts[0][1]}")
            return f"0 of {built.units} instructions had a pair: " + "; ".join(f"{a} ({b})" for a, b in parts)
        what = {"sft": "documents", "dpo": "pairs", "lengthen": "role pairs"}[fmt]
        removed = []
        if dropped["length_ratio"]:
            lo, hi = length_ratio
            removed.append(f"{dropped['length_ratio']} outside {flag['length_ratio']} {lo:g},{hi:g}")
        if dropped["min_score"]:
            removed.append(f"{dropped['min_score']} under {flag['min_score']} {min_score:g}")
        if dropped["not_longer"]:
            removed.append(f"{dropped['not_longer']} Extender pairs not longer than their input")
        dups = dropped["exact_duplicate"] + dropped["near_duplicate"]
        if dups:
            removed.append(f"{dups} duplicates")
        if fmt == "dpo" and built.why_no_pair:
            removed.append(f"{sum(built.why_no_pair.values())} instructions without a pair")
        total = built.units if fmt != "dpo" else built.units - sum(built.why_no_pair.values())
        return f"0 of {total} {what} passed the filters: " + ", ".join(removed or ["nothing to export"])

    return EmptyExportError(say(False), say(True))


# arguments
def _check_args(fmt: str, to: str, min_score: float | None, length_ratio: tuple[float, float] | None,
                min_margin: float) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if to not in TARGETS:
        raise UsageError(f"unknown file type {to!r}; use one of: {', '.join(TARGETS)}")
    if min_score is not None and not (0 <= min_score <= 100):
        raise UsageError(f"min_score must be between 0 and 100, got {min_score}", option="min_score")
    if length_ratio is not None:
        if len(length_ratio) != 2 or not (0 <= length_ratio[0] <= length_ratio[1]):
            raise UsageError(f"the length-ratio window must be two numbers LOW <= HIGH, got {length_ratio}")
    if min_margin < 0:
        raise UsageError(f"the DPO score margin must not be negative, got {min_margin}")


def _check_out_dir(out_dir: Path | str) -> Path:
    """The output folder, checked but not yet created (nothing is made before the job is known)."""
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"output folder is a file: {out_dir}")
    if not out_dir.exists() and not out_dir.parent.is_dir():
        raise UsageError(f"output folder's parent does not exist: {out_dir.parent}")
    return out_dir


def _filters_used(fmt: str, min_score, length_ratio, dedupe: bool, min_margin: float) -> dict:
    filters = {
        "min score": min_score,
        "length ratio window (words / required words, inclusive)":
            None if length_ratio is None else f"{length_ratio[0]} - {length_ratio[1]}",
        "deduplication": (f"exact + near (MinHash on word {DEDUPE_NGRAM}-grams, Jaccard >= {DEDUPE_THRESHOLD}), "
                          "better-scored copy kept") if dedupe else None,
    }
    if fmt == "dpo":
        filters["min chosen - rejected score margin (where no pairwise verdict decides)"] = min_margin
    return filters


# documents
def _documents(store: Store, job: JobRow) -> tuple[list[Document], int]:
    """The job's done documents in (line, sample) order, and how many done items had no text."""
    docs, no_text = [], 0
    for item in store.job_items(job.id, status="done"):
        text = store.load_result(item.run_id).text if item.run_id else ""
        if not text.strip():
            no_text += 1
            continue
        docs.append(Document(job=job.id, model=job.model, line=item.line, sample=item.sample, run_id=item.run_id,
                             instruction=item.instruction, required_words=item.required_words,
                             category=item.category, words=item.words or count_words(text), text=text,
                             scores=dict(item.scores or {}), extra=dict(item.extra or {})))
    return docs, no_text


def _role_pairs(store: Store, run_id: str) -> list[RolePair]:
    """A run's Self-Lengthen records, each with its plan section's title and main point where known."""
    plan = store.load_plan(run_id)
    sections = plan.sections if plan else []
    pairs = []
    for r in store.role_records(run_id):
        sec = sections[r.section_index] if 0 <= r.section_index < len(sections) else None
        pairs.append(RolePair(role=r.role, section_index=r.section_index, input_text=r.input_text,
                              output_text=r.output_text, input_words=r.input_words, output_words=r.output_words,
                              title=sec.title if sec else "", main_point=sec.main_point if sec else ""))
    return pairs


def _unique(items: list, texts: list[str], scores: list[float | None], dropped: Counter, dedupe: bool) -> list:
    """`items` without the duplicates of their texts (better score kept), order unchanged."""
    if not dedupe:
        return items
    reasons = duplicate_reasons(texts, scores)
    dropped.update(reasons.values())
    return [x for i, x in enumerate(items) if i not in reasons]


# formats
def _sft(docs: list[Document], dropped: Counter, min_score, length_ratio, dedupe: bool) -> _Built:
    kept = []
    for doc in docs:
        reason = filter_reason(doc, min_score, length_ratio)
        if reason:
            dropped[reason] += 1
        else:
            kept.append(doc)
    kept = _unique(kept, [d.text for d in kept], [d.score for d in kept], dropped, dedupe)
    return _Built([sft_record(d) for d in kept], [d.words for d in kept], [d.score for d in kept], units=len(docs))


def _dpo(docs: list[Document], dropped: Counter, min_score, length_ratio, dedupe: bool,
         min_margin: float, verdicts: dict | None = None) -> _Built:
    """One pair per instruction line, the clearest judged preference (`choose_pair`); the filters judge the
    chosen document, the rejected one may be bad."""
    choices, why, lines = [], Counter(), 0
    for _, group in groupby(docs, key=lambda d: d.line):
        lines += 1
        choice, no_pair = choose_pair(list(group), verdicts or {}, min_margin)
        if choice is None:
            why[no_pair] += 1
            dropped["no_pair"] += 1
            continue
        reason = filter_reason(choice.chosen, min_score, length_ratio)
        if reason:
            dropped[reason] += 1
        else:
            choices.append(choice)
    choices = _unique(choices, [c.chosen.text for c in choices], [c.chosen.score for c in choices], dropped, dedupe)
    return _Built([dpo_record(c.chosen, c.rejected, c.decided_by, c.verdict) for c in choices],
                  [c.chosen.words for c in choices], [c.chosen.score for c in choices], units=lines,
                  why_no_pair=why, decided_by=Counter("+".join(c.decided_by) for c in choices))


def _lengthen(store: Store, docs: list[Document], dropped: Counter, min_score, length_ratio,
              dedupe: bool) -> _Built:
    """Role pairs of the documents that pass the filters (a failing document drops all its pairs)."""
    kept: list[tuple[Document, RolePair]] = []
    for doc in docs:
        pairs = _role_pairs(store, doc.run_id)
        reason = filter_reason(doc, min_score, length_ratio)
        if reason:
            dropped[reason] += len(pairs)
            continue
        for pair in pairs:
            if is_lengthening(pair):
                kept.append((doc, pair))
            else:
                dropped["not_longer"] += 1
    units = len(kept) + sum(dropped[r] for r in ("length_ratio", "min_score", "not_longer"))
    kept = _unique(kept, [p.output_text for _, p in kept], [d.score for d, _ in kept], dropped, dedupe)
    return _Built([lengthen_record(d, p) for d, p in kept], [p.output_words for _, p in kept],
                  [d.score for d, _ in kept], units=units)


# files
def _write_jsonl(path: Path, records: list[dict]) -> None:
    write_atomic(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))


def _write_parquet(path: Path, records: list[dict], fmt: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(records, schema=parquet_schema(fmt))
    write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def parquet_schema(fmt: str):
    """The fixed parquet schema of a format: the same column types whatever the rows hold (or with none)."""
    import pyarrow as pa

    messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    s, i, f = pa.string(), pa.int64(), pa.float64()
    columns = {
        "sft": [("messages", messages), ("instruction", s), ("required_words", i), ("words", i),
                ("length_ratio", f), ("category", s), ("score", f), ("length_score", f), ("scores_json", s),
                ("extra_json", s), ("job", s), ("line", i), ("sample", i), ("run_id", s), ("model", s)],
        "dpo": [("prompt", messages), ("chosen", messages), ("rejected", messages), ("chosen_score", f),
                ("rejected_score", f), ("margin", f), ("required_words", i), ("chosen_words", i),
                ("rejected_words", i), ("category", s), ("extra_json", s), ("job", s), ("line", i),
                ("chosen_sample", i), ("rejected_sample", i), ("chosen_run_id", s), ("rejected_run_id", s),
                ("model", s), ("decided_by", pa.list_(s)), ("preference_json", s)],
        "lengthen": [("role", s), ("messages", messages), ("input_words", i), ("output_words", i),
                     ("instruction", s), ("category", s), ("score", f), ("job", s), ("line", i), ("sample", i),
                     ("run_id", s), ("section", i), ("model", s)],
    }
    return pa.schema(columns[fmt])

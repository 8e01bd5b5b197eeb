"""A dataset job's judges: which engine they run on, and the pairwise comparisons of each instruction's samples.

The per-document judges (length, rules, quality, checklist) score each document as it is done
(`jobs.process_item`); the model judges among them run on the judge model (`judges.engine`: the
job's `judge_model`, else WRITER_JUDGE_MODEL / config, else the strongest installed model), the
writer's own engine when that is the same model. `pairwise` compares the samples of one instruction
with each other once they are all written (`judge_job_pairs`): every pair not compared yet, both
orders, one engine batch, each verdict stored in the judgments table. The DPO export reads them back
(`pair_verdicts`).
"""

from __future__ import annotations

from judges import PairInput, judge_pairs
from judges.engine import choose_judge_model, judge_engine
from writer.dataset.events import OnJobEvent, PairsJudging, ignore
from writer.engines.base import Engine
from writer.store import JobItemRow, JobRow, Store

__all__ = ["DEFAULT_JUDGES", "PAIRWISE", "document_judges", "job_judge_engine", "pair_verdicts", "judge_job_pairs"]

DEFAULT_JUDGES = ("length", "rules")  # no model needed; add quality,checklist,pairwise with --judges
PAIRWISE = "pairwise"



def document_judges(job: JobRow) -> list[str]:
    """The judges that score each document of `job` on its own (pairwise compares them afterwards)."""
    return [n for n in (job.options or {}).get("judges") or DEFAULT_JUDGES if n != PAIRWISE]


def job_judge_engine(job: JobRow, writer: Engine) -> Engine:
    """The engine the job's model judges run on: the writer's when it is the judge model, else the judge model's
    (one per process, `get_engine`)."""
    return judge_engine(choose_judge_model(model=(job.options or {}).get("judge_model"), writer=writer))


def pair_verdicts(store: Store, run_ids: list[str]) -> dict[frozenset, dict]:
    """The stored pairwise verdicts among `run_ids`: {frozenset of the two runs: details of the latest}."""
    wanted, found = set(run_ids), {}
    for rid in run_ids:
        for row in store.judgments(rid):
            d = row.details or {}
            pair = frozenset((d.get("first_run_id"), d.get("second_run_id")))
            if row.judge == PAIRWISE and row.error is None and len(pair) == 2 and pair <= wanted:
                found[pair] = d
    return found


def judge_job_pairs(store: Store, job_id: str, engine: Engine | None = None,
                    on_event: OnJobEvent | None = None) -> int:
    """Compare, with the pairwise judge, every two done samples of each instruction not compared yet; all
    pairs in one engine batch. Returns how many pairs were judged. `engine`: the judge engine (default: the
    job's judge model)."""
    job = store.get_job(job_id)
    by_line: dict[int, list[JobItemRow]] = {}
    for it in store.job_items(job_id, status="done"):
        if it.run_id:
            by_line.setdefault(it.line, []).append(it)
    pairs, ids, labels = [], [], []
    for line, items in by_line.items():
        known = pair_verdicts(store, [it.run_id for it in items])
        texts = {it.run_id: store.load_result(it.run_id).text for it in items}
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                ra, rb = items[a].run_id, items[b].run_id
                if frozenset((ra, rb)) in known or not texts[ra].strip() or not texts[rb].strip():
                    continue
                pairs.append(PairInput(instruction=items[a].instruction, first=texts[ra], second=texts[rb]))
                ids.append((ra, rb))
                labels.append((f"line {line} sample {items[a].sample + 1}", f"line {line} sample {items[b].sample + 1}"))
    if not pairs:
        return 0
    if engine is None:  # no writer engine here (a Ray job's driver): the judge model's own
        opts = job.options or {}
        settings = opts.get("engine") or {}
        name = settings.get("engine")
        engine = judge_engine(choose_judge_model(name, opts.get("judge_model"),
                                                 settings.get("base_url") if name == "openai" else None))
    (on_event or ignore)(PairsJudging(len(pairs)))
    judge_pairs(pairs, engine=engine, store=store, run_ids=ids, labels=labels)
    return len(pairs)

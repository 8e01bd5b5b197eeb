"""Benchmark: does writer's document read as one document written for its instruction?

A fixed set of 12 LongBench-Write English prompts, three in each length bucket (<500,
500-2k, 2k-4k, >4k words) and across genres, is written three ways with the same model:

- writer: `writer.compose` as a user runs it (plan, sections, memory, checks, Extender);
- single: the model asked once for the whole text (as long as its window allows);
- agentwrite: plain AgentWrite, the published LongWriter recipe: one plain-text plan, then the
  paragraphs one after another, each shown the plan and the text so far; no memory, no checks,
  no Extender (`prompts/baselines/`).

Per document: words, S_l, output tokens per kept word, and the defects the checks of
`writer.text.defects` find in the final text (headings inside sections, conclusions before the last
section, chatter, prompt echoes, off-task text, repeated sentences, restarts). For writer also
what its checks found and cut while writing. Then a pairwise preference by a judge model
(default the strongest registered model, qwen2.5-coder-1.5b) of writer against single and
writer against agentwrite, both orders, counted only when both orders agree
(`judges.pairwise`). Every system samples the same way (`Sampling()`), so the comparison is
of the pipelines. Prints a table and writes bench/results/quality.json.

    .venv/bin/python bench/quality.py [--model NAME] [--judge-model NAME] [--ids 6,14] [--no-judge]
    .venv/bin/python bench/quality.py --plan-model qwen2.5-coder-1.5b --systems writer   # plans on the 1.5B
    .venv/bin/python bench/quality.py --judge-only            # judge the documents the results file holds
    .venv/bin/python bench/quality.py --recount --out bench/results/quality.json   # today's checks, no engine

The documents are written to the results file as soon as they are all written, before the judge
starts, so a run stopped while judging keeps them and `--judge-only` judges them later.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py
PROMPTS = ROOT.parent / "shared" / "benchmarks" / "longbench_write_en.jsonl"
FALLBACK = ROOT / "tests" / "fixtures" / "longbench_write_en.jsonl"
# three per bucket, several genres: news, popular science, stories, forum posts, academic writing
IDS = [6, 14, 16, 20, 28, 32, 37, 41, 44, 49, 50, 52]
SYSTEMS = ("writer", "single", "agentwrite")
_STEP = re.compile(r"paragraph\s+(\d+)\s*[-–:]\s*main point\s*:\s*(.+?)\s*[-–]\s*word count\s*:\s*(\d[\d,]*)",
                   re.IGNORECASE)


def load_prompts(ids: list[int]) -> list[dict]:
    source = PROMPTS if PROMPTS.exists() else FALLBACK
    rows = [json.loads(line) for line in source.open()]
    return [{"id": i, **rows[i]} for i in ids]


def single_shot(engine, prompt: str, words: int, sampling) -> tuple[str, int]:
    """The model asked once for the whole text: as many tokens as the target asks, within the window."""
    from writer.engines.base import ChatRequest, Message

    messages = [Message(role="user", content=prompt)]
    room = engine.context_window - engine.count_tokens(prompt) - 64
    request = ChatRequest(messages=messages, max_tokens=max(64, min(room, int(words * 1.3 * 1.3) + 64)),
                          **sampling.model_dump())
    out = engine.generate([request])[0]
    return out.text.strip(), out.completion_tokens


def agentwrite(engine, prompt: str, words: int, sampling) -> tuple[str, int, int]:
    """LongWriter's AgentWrite as published: plan lines, then each paragraph with the plan and the text so far.
    Returns the text, its output tokens and the number of planned paragraphs."""
    from prompts import render
    from writer.engines.base import ChatRequest, Message

    plan_prompt = render("baselines/agentwrite_plan.j2", instruction=prompt)
    plan = engine.generate([ChatRequest(messages=[Message(role="user", content=plan_prompt)], max_tokens=1500,
                                        **sampling.model_dump())])[0]
    tokens = plan.completion_tokens
    steps = [(m.group(0).strip(), int(m.group(3).replace(",", ""))) for m in _STEP.finditer(plan.text)]
    if not steps:  # the model ignored the format: one paragraph for the whole instruction
        steps = [(f"Paragraph 1 - Main Point: {prompt} - Word Count: {words} words", words)]
    written: list[str] = []
    for step, step_words in steps:
        text = render("baselines/agentwrite_write.j2", instruction=prompt, plan=plan.text.strip(),
                      written="\n\n".join(written), step=step)
        room = engine.context_window - engine.count_tokens(text) - 64
        if room < 64:
            break
        out = engine.generate([ChatRequest(messages=[Message(role="user", content=text)],
                                           max_tokens=min(room, int(min(step_words, 1500) * 1.3 * 1.3) + 32),
                                           **sampling.model_dump())])[0]
        tokens += out.completion_tokens
        written.append(out.text.strip())
    return "\n\n".join(written), tokens, len(steps)


def plan_all(items: list[dict], plan_model: str, concurrency: int) -> dict:
    """writer's plans made on `plan_model` first (`--plan-model`, as `writer compose --plan-model` does for one
    document): all on one engine, `concurrency` at once, closed before the writer's model loads."""
    import writer
    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine
    from writer.engines.batching import shareable
    from writer.store import Store

    store = Store()
    engine = shareable(get_engine(engine_settings(engine="vllm", model=plan_model)))
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        plans = list(pool.map(lambda item: writer.plan(item["prompt"], engine=engine, store=store), items))
    close_engines()
    return {item["id"]: plan for item, plan in zip(items, plans)}


def write_all(items: list[dict], engine, concurrency: int, systems=SYSTEMS, plans: dict | None = None) -> dict:
    """Every prompt written by each system, `concurrency` documents at once sharing the engine; writer from
    `plans` (id: plan) where given."""
    import writer
    from writer.engines.base import Sampling
    from writer.store import Store

    sampling = Sampling()
    store = Store()  # one store for every thread: it is opened (and migrated) once

    def one(item: dict, system: str) -> dict:
        started = time.perf_counter()
        row: dict = {"id": item["id"], "system": system, "required": item["length"]}
        if system == "writer":
            plan = (plans or {}).get(item["id"])
            result = writer.compose(item["prompt"], engine=engine, store=store, plan=plan)
            row.update(text=result.text, output_tokens=result.stats.output_tokens, run_id=result.run_id,
                       sections=len(result.sections), plan_repairs=result.plan.repairs,
                       cut=dict(sum((Counter(s.defects) for s in result.sections), Counter())),
                       left_by_checks=dict(sum((Counter(s.defects_left) for s in result.sections), Counter())))
            row["calls"] = Counter(c.stage for c in store.calls(result.run_id))
        elif system == "single":
            text, tokens = single_shot(engine, item["prompt"], item["length"], sampling)
            row.update(text=text, output_tokens=tokens)
        else:
            text, tokens, steps = agentwrite(engine, item["prompt"], item["length"], sampling)
            row.update(text=text, output_tokens=tokens, sections=steps)
        row["seconds"] = round(time.perf_counter() - started, 1)
        return row

    def guarded(item: dict, system: str) -> dict:
        try:
            return one(item, system)
        except Exception as exc:  # one failed document is reported, it does not stop the benchmark
            traceback.print_exc()
            return {"id": item["id"], "system": system, "required": item["length"], "text": "", "output_tokens": 0,
                    "seconds": 0.0, "error": f"{type(exc).__name__}: {exc}"}

    jobs = [(item, system) for system in systems for item in items]
    jobs.sort(key=lambda j: -j[0]["length"])  # longest first: the pool's tail is short documents
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        rows = list(pool.map(lambda job: guarded(*job), jobs))
    return {(r["id"], r["system"]): r for r in rows}


def score(rows: dict, items: list[dict]) -> None:
    """Words, S_l, tokens per kept word and the defects left in each document, in place."""
    from judges.length import length_score
    from writer.text.defects import count_document
    from writer.text.lengths import count_words

    for item in items:
        for system in systems_in(rows):
            row = rows[(item["id"], system)]
            row["words"] = count_words(row["text"])
            row["s_l"] = round(length_score(item["length"], row["words"]), 1)
            row["tokens_per_word"] = round(row["output_tokens"] / max(1, row["words"]), 2)
            row["defects"] = dict(count_document(row["text"], instruction=item["prompt"]))


def systems_in(rows: dict) -> list[str]:
    """The systems a run wrote (`--systems`), in SYSTEMS order."""
    return [s for s in SYSTEMS if any(key[1] == s for key in rows)]


def baselines_in(rows: dict) -> list[str]:
    """The systems writer is compared with in this run."""
    return [s for s in systems_in(rows) if s != "writer"]


def judge_pairs(rows: dict, items: list[dict], judge_engine) -> list[dict]:
    """writer against each baseline, both orders, on the judge engine."""
    from judges.pairwise import PairInput, compare
    from writer.calls import CallRecorder
    from writer.store import Store

    pairs, keys = [], []
    for item in items:
        for other in baselines_in(rows):
            pairs.append(PairInput(instruction=item["prompt"], first=rows[(item["id"], "writer")]["text"] or "(empty)",
                                   second=rows[(item["id"], other)]["text"] or "(empty)"))
            keys.append((item["id"], other))
    verdicts = compare(pairs, CallRecorder(judge_engine, Store()))
    return [{"id": k[0], "against": k[1], "winner": {"first": "writer", "second": k[1], "tie": "tie"}[v.winner],
             "consistent": v.consistent, "truncated_input": v.truncated_input,
             "orders": [o.model_dump() for o in v.orders]} for k, v in zip(keys, verdicts)]


def bucket(length: int) -> str:
    return "<500" if length < 500 else "500-2k" if length < 2000 else "2k-4k" if length < 4000 else ">4k"


def summarise(rows: dict, items: list[dict], verdicts: list[dict]) -> dict:
    summary: dict = {}
    for system in systems_in(rows):
        mine = [rows[(i["id"], system)] for i in items]
        defects = sum((Counter(r["defects"]) for r in mine), Counter())
        summary[system] = {"s_l": round(sum(r["s_l"] for r in mine) / len(mine), 1),
                           "tokens_per_word": round(sum(r["output_tokens"] for r in mine)
                                                    / max(1, sum(r["words"] for r in mine)), 2),
                           "defects_per_doc": round(sum(defects.values()) / len(mine), 2),
                           "defects": dict(defects), "words": sum(r["words"] for r in mine),
                           "seconds": round(sum(r["seconds"] for r in mine), 1)}
    for other in baselines_in(rows):
        mine = [v for v in verdicts if v["against"] == other]
        decided = [v for v in mine if v["winner"] != "tie"]
        summary[f"writer_vs_{other}"] = {
            "pairs": len(mine), "decided": len(decided), "writer_wins": sum(v["winner"] == "writer" for v in decided),
            "win_rate": round(sum(v["winner"] == "writer" for v in decided) / len(decided), 3) if decided else None}
    return summary


def print_table(rows: dict, items: list[dict], summary: dict, verdicts: list[dict], meta: dict) -> None:
    plans = f" (plans: {meta['plan_model']})" if meta.get("plan_model") else ""
    print(f"\n{meta['date']} · {meta['commit']} · {meta['cpu']} · writer {meta['model']}{plans} · judge "
          f"{meta['judge_model']}")
    print("\n| # | bucket | type | required | system | words | S_l | tok/word | defects left | cut while writing |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for item in items:
        for system in systems_in(rows):
            r = rows[(item["id"], system)]
            left = ", ".join(f"{k} {v}" for k, v in sorted(r["defects"].items())) or "0"
            cut = ", ".join(f"{k} {v}" for k, v in sorted(r.get("cut", {}).items())) if system == "writer" else ""
            print(f"| {item['id']} | {bucket(item['length'])} | {item['type']} | {item['length']} | {system} | "
                  f"{r['words']} | {r['s_l']} | {r['tokens_per_word']} | {left} | {cut} |")
    print("\n| system | S_l | output tokens per kept word | defects per document | seconds (sum) |")
    print("|---|---|---|---|---|")
    for system in systems_in(rows):
        s = summary[system]
        print(f"| {system} | {s['s_l']} | {s['tokens_per_word']} | {s['defects_per_doc']} | {s['seconds']} |")
    if verdicts:
        print("\n| writer against | pairs | decided (both orders agree) | writer wins | win rate |")
        print("|---|---|---|---|---|")
        for other in baselines_in(rows):
            s = summary[f"writer_vs_{other}"]
            print(f"| {other} | {s['pairs']} | {s['decided']} | {s['writer_wins']} | {s['win_rate']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="writer's model (default: the default registered model)")
    parser.add_argument("--judge-model", default="qwen2.5-coder-1.5b", help="the pairwise judge's model")
    parser.add_argument("--ids", default=None, help="comma-separated LongBench-Write prompt indexes")
    parser.add_argument("--concurrency", type=int, default=12, help="documents written at once")
    parser.add_argument("--plan-model", default=None, help="plan writer's documents on this model first")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="systems to write (default: all three)")
    parser.add_argument("--no-judge", action="store_true", help="skip the pairwise preference")
    parser.add_argument("--judge-only", action="store_true", help="judge the documents already in --out")
    parser.add_argument("--recount", action="store_true",
                        help="count the defects in the documents already in --out with today's checks (no engine)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "quality.json"))
    args = parser.parse_args()
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-quality-"))

    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine
    from writer.engines.models import DEFAULT_MODEL

    out = Path(args.out)
    if args.recount:
        recount(out)
        return
    if args.judge_only:
        saved = json.loads(out.read_text())
        meta, rows = saved["meta"], {(r["id"], r["system"]): r for r in saved["documents"]}
        items = load_prompts(sorted({r["id"] for r in saved["documents"]}))
        from bench.machine import stamp

        meta["judged"] = stamp()  # the documents keep the stamp of the run that wrote them
    else:
        ids = [int(x) for x in args.ids.split(",")] if args.ids else IDS
        items = load_prompts(ids)
        model = args.model or DEFAULT_MODEL
        from bench.machine import stamp

        meta = {**stamp(), "model": model, "plan_model": args.plan_model, "judge_model": None}
        started = time.perf_counter()
        systems = [s for s in args.systems.split(",") if s]
        plans = plan_all(items, args.plan_model, args.concurrency) if args.plan_model and "writer" in systems else None
        engine = get_engine(engine_settings(engine="vllm", model=model))
        rows = write_all(items, engine, args.concurrency, systems, plans)
        meta["write_seconds"] = round(time.perf_counter() - started, 1)
        score(rows, items)
        save(out, meta, rows, items, [])
    verdicts: list[dict] = []
    if not args.no_judge:
        if args.judge_model != meta["model"]:
            close_engines()  # free the writer's memory before the judge loads
        meta["judge_model"] = args.judge_model
        started = time.perf_counter()
        verdicts = judge_pairs(rows, items, get_engine(engine_settings(engine="vllm", model=args.judge_model)))
        meta["judge_seconds"] = round(time.perf_counter() - started, 1)
    close_engines()
    summary = save(out, meta, rows, items, verdicts)
    print_table(rows, items, summary, verdicts, meta)
    print(f"\nwrote {out}")


def recount(out: Path) -> None:
    """Print, per system, the defects the stored run counted in its documents and those today's checks count in
    the same texts: how much a change to the checks sees of what the pipeline left. The file is not changed."""
    from writer.text.defects import count_document

    saved = json.loads(out.read_text())
    items = {item["id"]: item for item in load_prompts(sorted({r["id"] for r in saved["documents"]}))}
    print(f"{out.name}: documents written at commit {saved['meta'].get('commit', '?')}")
    print("| system | documents | defects stored | defects now | per document now | kinds now |")
    print("|---|---|---|---|---|---|")
    for system in SYSTEMS:
        docs = [r for r in saved["documents"] if r["system"] == system]
        if not docs:
            continue
        now = Counter()
        for r in docs:
            now.update(count_document(r["text"], instruction=items[r["id"]]["prompt"]))
        stored = sum(sum(r.get("defects", {}).values()) for r in docs)
        kinds = ", ".join(f"{k} {n}" for k, n in now.most_common())
        print(f"| {system} | {len(docs)} | {stored} | {sum(now.values())} | {sum(now.values()) / len(docs):.1f} | {kinds} |")


def save(out: Path, meta: dict, rows: dict, items: list[dict], verdicts: list[dict]) -> dict:
    """Write the results file (replaced whole, so a stopped run leaves the last complete one) and return the
    summary."""
    from writer.atomic import write_atomic

    summary = summarise(rows, items, verdicts)
    out.parent.mkdir(parents=True, exist_ok=True)
    documents = [{**r, "calls": dict(r.get("calls", {}))} for r in rows.values()]
    write_atomic(out, json.dumps({"meta": meta, "summary": summary, "verdicts": verdicts, "documents": documents},
                                 indent=1, ensure_ascii=False))
    return summary

if __name__ == "__main__":
    main()

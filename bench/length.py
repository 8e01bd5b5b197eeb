"""Benchmark: LongBench-Write's length score S_l of `writer compose` on the 60 English prompts.

Composes each prompt (or a subset) with the engine from the prompt alone, as
LongBench-Write gives it to a model (writer reads the length from the prompt; the one prompt
that states none gets the 1000-word default), scores S_l against the prompt's required
`length`, and prints S_l per length bucket
(<500, 500-2k, 2k-4k, >4k words) and overall, with the published anchors. Writes the
per-prompt numbers to bench/results/length.json.

Documents are composed `--concurrency` at a time, in threads sharing one engine that batches
their calls (continuously, for the vLLM engine), so a CPU or GPU engine runs full. Each prompt's
row also records the largest context (prompt + output tokens) any of its calls used, against
the engine's window. Results are written after every document; `--continue` skips prompts
already in the results file, and resumes (keeping their finished sections) the compose runs that
were in flight when the run stopped: their run ids are in the results file under `running`, and
the runs live in `--data-dir` (default: beside `--out`), so a run can be stopped and continued
in a later session. Each prompt's row records the commit (`git describe --dirty`) that wrote it.

The full run asks for 133,550 words: on a 2-core CPU from several hours (an older CPU) down to
about an hour (2 cores with AVX-512 and bf16: the 27 longest prompts took 31 minutes at
`--concurrency 8`); minutes on a GPU server (`--engine openai --base-url ...`). Quick runs
take a subset:

    .venv/bin/python bench/length.py --max-length 500 --limit 6
    .venv/bin/python bench/length.py --ids 0,10,20,30 --mode parallel
    .venv/bin/python bench/length.py --max-length 4000 --shortest-first --concurrency 4 --continue
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py
PROMPTS = ROOT.parent / "shared" / "benchmarks" / "longbench_write_en.jsonl"
FALLBACK = ROOT / "tests" / "fixtures" / "longbench_write_en.jsonl"
BUCKETS = [("<500", 0, 500), ("500-2k", 500, 2000), ("2k-4k", 2000, 4000), (">4k", 4000, 10**9)]
ANCHORS = "published: LongWriter-9B S_l 78.6; LongWriter-9B-DPO overall S 84.0"


def bucket(length: int) -> str:
    return next(name for name, lo, hi in BUCKETS if lo <= length < hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", default=None, help="comma-separated prompt indexes (0-59)")
    parser.add_argument("--max-length", type=int, default=None, help="only prompts requiring at most this many words")
    parser.add_argument("--limit", type=int, default=None, help="at most this many prompts")
    parser.add_argument("--engine", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--mode", default=None, choices=["sequential", "parallel"])
    parser.add_argument("--concurrency", type=int, default=1, help="documents composed at once")
    parser.add_argument("--shortest-first", action="store_true",
                        help="start the shortest prompts first: a sitting that will be stopped finishes the most "
                             "documents (the default, longest first, keeps long documents from running alone at the end)")
    parser.add_argument("--continue", dest="resume", action="store_true", help="skip prompts already in --out")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "length.json"))
    parser.add_argument("--data-dir", default=None,
                        help="where the compose runs are stored (default: OUT's name + '.runs/', kept for --continue)")
    args = parser.parse_args()
    out = Path(args.out)
    data_dir = Path(args.data_dir) if args.data_dir else out.with_suffix(".runs")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WRITER_DATA_DIR"] = str(data_dir.resolve())

    import writer
    from judges.length import length_score
    from writer.engines import close_engines, is_concurrent, resolve_engine
    from writer.engines.batching import shareable
    from writer.store import Store

    source = PROMPTS if PROMPTS.exists() else FALLBACK
    rows = [dict(json.loads(line), id=i) for i, line in enumerate(source.open())]
    if args.ids:
        wanted = {int(x) for x in args.ids.split(",")}
        rows = [r for r in rows if r["id"] in wanted]
    if args.max_length:
        rows = [r for r in rows if r["length"] <= args.max_length]
    rows = rows[: args.limit] if args.limit else rows

    results, running = [], {}  # running: prompt id -> run id of a compose in flight
    if args.resume and out.exists():
        previous = json.loads(out.read_text())
        results = previous["prompts"]
        running = {int(k): v for k, v in previous.get("running", {}).items()}
        rows = [r for r in rows if r["id"] not in {x["id"] for x in results}]
    engine = shareable(resolve_engine(args.engine, args.model, args.base_url))
    mode = args.mode or ("parallel" if is_concurrent(engine) else "sequential")
    store = Store()
    commit = code_version()  # per prompt: a run spread over sittings says which code wrote each document
    running = {k: v for k, v in running.items() if has_run(store, v)}  # runs from another data dir start over
    lock = threading.Lock()

    def started_run(prompt_id: int):
        def on_event(kind: str, data: dict) -> None:
            if kind == "run":
                with lock:
                    running[prompt_id] = data["run_id"]
                    write_results(out, engine, mode, results, None, running)
        return on_event

    def one(r: dict) -> dict:
        resume = running.get(r["id"])
        doc = writer.compose(None if resume else r["prompt"], engine=engine, mode=mode, store=store,
                             resume=resume, on_event=started_run(r["id"]))
        calls = store.calls(doc.run_id)
        return {"id": r["id"], "commit": commit, "required": r["length"], "words": doc.words, "bucket": bucket(r["length"]),
                "s_l": round(length_score(r["length"], doc.words), 2), "run_id": doc.run_id,
                "sections": len(doc.sections), "output_tokens": doc.stats.output_tokens,
                "max_context_tokens": max(c.prompt_tokens + c.completion_tokens for c in calls),
                "seconds": round(store.get_run(doc.run_id).seconds, 1), "resumed": bool(resume)}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        # longest first (unless --shortest-first), so the long documents do not run alone at the end
        order = sorted(rows, key=lambda r: r["length"] if args.shortest_first else -r["length"])
        futures = {pool.submit(one, r): r for r in order}
        for future in as_completed(futures):
            try:
                x = future.result()
            except Exception as exc:  # one failed document is reported, not fatal to the run
                print(f"#{futures[future]['id']:>2} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            with lock:
                results.append(x)
                running.pop(x["id"], None)
                write_results(out, engine, mode, results, None, running)
            print(f"#{x['id']:>2} required {x['required']:>6}  wrote {x['words']:>6}  S_l {x['s_l']:6.1f}  "
                  f"max context {x['max_context_tokens']}/{engine.context_window}  {x['seconds']:.0f} s", flush=True)
    wall = time.perf_counter() - started
    close_engines()
    results.sort(key=lambda x: x["id"])

    table = summarise(results)
    print("| bucket | prompts | S_l |\n|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['n']} | {'-' if row['s_l'] is None else row['s_l']} |")
    print(ANCHORS)
    print(f"mode {mode}, {args.concurrency} documents at once, {wall:.0f} s wall for {len(rows)} prompts this run")
    write_results(out, engine, mode, results, table, running)


def summarise(results: list[dict]) -> dict:
    table = {}
    for name, _, _ in BUCKETS + [("overall", 0, 0)]:
        scores = [x["s_l"] for x in results if name == "overall" or x["bucket"] == name]
        table[name] = {"n": len(scores), "s_l": round(sum(scores) / len(scores), 1) if scores else None}
    return table


def write_results(out: Path, engine, mode: str, results: list[dict], table: dict | None,
                  running: dict[int, str]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"model": engine.model_id, "engine": engine.name, "mode": mode,
                       "table": table or summarise(results), "prompts": sorted(results, key=lambda x: x["id"]),
                       "running": {str(k): v for k, v in sorted(running.items())}}, indent=2) + "\n"
    from writer.pipeline.workflow import write_atomic

    write_atomic(out, text)  # a kill mid-write never leaves a truncated results file


def code_version() -> str:
    """`git describe --always --dirty` of the checkout, or "unknown" outside git."""
    import subprocess

    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def has_run(store, run_id: str) -> bool:
    from writer.errors import UnknownRunError

    try:
        store.get_run(run_id)
    except UnknownRunError:
        return False
    return True


if __name__ == "__main__":
    main()

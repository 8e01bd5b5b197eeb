"""Benchmark: does a dataset job keep the engine busy? The full workflow against raw engine calls.

In one run, on one warm engine:
  (b) `writer dataset generate`'s job runner composes N LongBench-Write instructions, K at a
      time, with the full workflow (plan, memory, Generator/Extender, checks, judges);
  (a) the same number of output tokens as plain engine calls: prose requests of fixed length
      (min_tokens = max_tokens), all handed to the engine at once, so it batches as it likes.
      That is the most the engine can give for those tokens, the bar the workflow is measured against.
Prints output tokens/s of both and their ratio (goal: >= 0.8), documents/hour and words/hour,
and writes bench/results/dataset.json. (b) runs first, so (a) knows how many tokens to make.

It also prints what the engine computed: prompt tokens (less those its prefix cache served) plus
output tokens, per second, and the engine calls the job kept in flight. On the 2-core CPU of
2026-11-28 output tokens/s followed the sequences in flight far more than the share of prompt
(halving the uncached prompt per output token left the ratio as it was), up to ~44 in flight;
88 made no more than 44 did. On a faster 2-core CPU (AVX-512, bf16; raw bar ~440 tok/s) the
job's steady state with 128 in flight made ~315 tok/s: there decoding is bound by reading each
sequence's KV cache, and the job's calls carry longer contexts (~420 tokens) than the raw
requests (~290), see bench/README.md. Use --samples so the job has more documents than
--concurrency, or the pool emptying at the end weighs too.

It also prints the job's rate while its pool was full (from its start until its last document
started: K documents in flight all the time), from the call log, each call's output tokens spread
over its duration. A job of thousands of documents spends nearly all its time so; the whole-run
ratio of a benchmark-sized job also carries one pool emptying at its end, which a long job pays
once.

    .venv/bin/python bench/dataset.py [--limit 24] [--max-length 500] [--concurrency 48] [--samples 4]

The defaults are the latest table's settings (bench/README.md): 88 documents, 48 at once, about an hour on a 2-core CPU
(job and bar together). On a GPU use a K of a few hundred and samples to match.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from datetime import timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py
PROMPTS = ROOT.parent / "shared" / "benchmarks" / "longbench_write_en.jsonl"
FALLBACK = ROOT / "tests" / "fixtures" / "longbench_write_en.jsonl"  # the same 60 prompts, copied into the repo
RAW_REQUEST_TOKENS = 400


def pick_instructions(limit: int, max_length: int) -> list[dict]:
    rows = [json.loads(line) for line in (PROMPTS if PROMPTS.exists() else FALLBACK).read_text().splitlines()
            if line.strip()]
    rows = [r for r in rows if r["length"] <= max_length]
    return [{"instruction": r["prompt"], "length": r["length"], "category": r.get("type")} for r in rows[:limit]]


def _epoch(when) -> float:
    """A stored timestamp as seconds since the epoch (SQLite hands back naive UTC datetimes)."""
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def full_pool(calls, runs, started: float, concurrency: int) -> dict | None:
    """The job's output rate and calls in flight from `started` until its last document started.

    Until then every finished document was replaced at once, so K were in flight all the time.
    Each call's output tokens are spread evenly over its duration (end = when it was logged).
    None when the pool was never full past its first documents (no more documents than K).
    """
    if len(runs) <= concurrency:
        return None
    end = max(_epoch(r.created_at) for r in runs)
    if end - started < 1:
        return None
    tokens = busy = 0.0
    for c in calls:
        stop = _epoch(c.created_at)
        start = stop - c.seconds
        overlap = max(0.0, min(stop, end) - max(start, started))
        if overlap:
            tokens += c.completion_tokens * overlap / c.seconds
            busy += overlap
    span = end - started
    return {"seconds": round(span, 1), "output_tokens": round(tokens), "output_tok_s": round(tokens / span, 2),
            "avg_calls_in_flight": round(busy / span, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=24,
                        help="instructions (documents); several times --concurrency, so the last few do not dominate")
    parser.add_argument("--max-length", type=int, default=500, help="only prompts asking for at most this many words")
    parser.add_argument("--concurrency", type=int, default=48, help="documents composed at once")
    parser.add_argument("--samples", type=int, default=4,
                        help="documents per instruction (as `writer dataset generate --samples`): more documents than "
                             "--concurrency keep the job's pool full until its last K documents")
    parser.add_argument("--model", default=None,
                        help="registered model name, model folder or hub id (default: the default model)")
    parser.add_argument("--engine", default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dataset.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="writer-bench-dataset-"))
    os.environ.setdefault("WRITER_DATA_DIR", str(work / "data"))

    from writer.dataset.jobs import create_job, run_job
    from writer.engines import close_engines, resolve_engine
    from writer.engines.base import ChatRequest, Message
    from writer.store import Store

    engine = resolve_engine(args.engine, args.model, args.base_url)
    engine.generate([ChatRequest(messages=[Message(role="user", content="Say hello.")], max_tokens=8)])  # warm up
    store = Store()
    source = work / "instructions.jsonl"
    rows = pick_instructions(args.limit, args.max_length)
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))

    job, _ = create_job(store, source, out=work / "docs", engine_name=engine.name, model=engine.model_id,
                        concurrency=args.concurrency, samples=args.samples)
    started, started_epoch = time.perf_counter(), time.time()
    status = run_job(store, job, engine)
    workflow_s = time.perf_counter() - started
    tokens = status.output_tokens
    # output tokens of every call the job made, the planner's and the checks' included
    runs = [store.get_run(it.run_id) for it in store.job_items(job) if it.run_id]
    calls = [c for r in runs for c in store.calls(r.id)]
    in_flight = sum(c.seconds for c in calls) / workflow_s  # engine calls running at once, on average
    prompt = sum(c.prompt_tokens for c in calls)
    cached = sum(c.cached_tokens or 0 for c in calls)
    workflow = {"documents": status.counts["done"], "failed": status.counts.get("failed", 0), "words": status.words,
                "output_tokens": tokens, "prompt_tokens": prompt, "cached_prompt_tokens": cached,
                "wall_s": round(workflow_s, 1), "avg_calls_in_flight": round(in_flight, 1),
                "output_tok_s": round(tokens / workflow_s, 2),
                "computed_tok_s": round((prompt - cached + tokens) / workflow_s, 2),
                "docs_per_hour": round(status.counts["done"] * 3600 / workflow_s, 1),
                "words_per_hour": round(status.words * 3600 / workflow_s)}

    n = max(1, math.ceil(tokens / RAW_REQUEST_TOKENS))
    requests = [ChatRequest(messages=[Message(role="user", content=r["instruction"])], max_tokens=RAW_REQUEST_TOKENS,
                            min_tokens=RAW_REQUEST_TOKENS, temperature=0.7, seed=i)
                for i, r in zip(range(n), rows * n)]
    started = time.perf_counter()
    completions = engine.generate(requests)
    raw_s = time.perf_counter() - started
    raw_tokens = sum(c.completion_tokens for c in completions)
    raw_prompt = sum(c.prompt_tokens for c in completions)
    raw_cached = sum(c.cached_tokens for c in completions)
    raw = {"requests": n, "output_tokens": raw_tokens, "prompt_tokens": raw_prompt, "cached_prompt_tokens": raw_cached,
           "wall_s": round(raw_s, 1), "output_tok_s": round(raw_tokens / raw_s, 2),
           "computed_tok_s": round((raw_prompt - raw_cached + raw_tokens) / raw_s, 2)}
    ratio = workflow["output_tok_s"] / raw["output_tok_s"]
    computed_ratio = workflow["computed_tok_s"] / raw["computed_tok_s"]
    pool = full_pool(calls, runs, started_epoch, args.concurrency)
    if pool:
        pool["ratio"] = round(pool["output_tok_s"] / raw["output_tok_s"], 3)
    workflow["full_pool"] = pool
    result = {"engine": engine.name, "model": engine.model_id, "instructions": len(rows),
              "samples": args.samples, "concurrency": args.concurrency, "max_length": args.max_length,
              "workflow": workflow, "raw": raw,
              "throughput_ratio": round(ratio, 3), "computed_ratio": round(computed_ratio, 3)}
    close_engines()

    print(f"\n{len(rows)} LongBench-Write instructions (<= {args.max_length} words) x {args.samples} samples, "
          f"{args.concurrency} at once, "
          f"{engine.name} · {engine.model_id}\n")
    print("| run | output tokens | prompt tokens (cached) | wall s | output tok/s | computed tok/s "
          "| documents/hour | words/hour |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| (a) raw engine calls, {n} x {RAW_REQUEST_TOKENS} tokens | {raw_tokens} | {raw_prompt} ({raw_cached}) | "
          f"{raw['wall_s']} | {raw['output_tok_s']} | {raw['computed_tok_s']} | - | - |")
    print(f"| (b) dataset job, full workflow | {tokens} | {prompt} ({cached}) | {workflow['wall_s']} | "
          f"{workflow['output_tok_s']} | {workflow['computed_tok_s']} | {workflow['docs_per_hour']} | "
          f"{workflow['words_per_hour']} |")
    print(f"\nworkflow / raw output tokens/s: {ratio:.3f} (goal >= 0.80); the job kept {in_flight:.1f} engine calls "
          f"running on average, the raw run {n}")
    print(f"workflow / raw computed tokens/s (prompt not from cache + output): {computed_ratio:.3f}")
    if pool:
        print(f"while the pool was full ({pool['seconds']} s of {workflow['wall_s']}, until the last document "
              f"started): {pool['output_tok_s']} output tok/s, {pool['avg_calls_in_flight']} calls in flight, "
              f"{pool['ratio']:.3f} of the raw rate")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

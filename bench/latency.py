"""Benchmark: how long one `writer compose` takes against what the engine allows, and where the rest goes.

For a 2,000-word and a 10,000-word instruction (`--words` picks others), in one run on one
engine: wall seconds from the first engine call to the document, output tokens, kept words
and kept tokens (the final document's tokens), and the **ideal**: the planning calls' time
plus the kept tokens divided by the engine's raw decode rate at the same number of sequences
in flight as the compose had while writing (its mean concurrency, from the call log: the sum
of its calls' durations over the writing time), measured in the same run with that many plain
requests at once. Reports latency / ideal and output tokens per kept word, and per stage
(plan, write, extend, continue, check re-runs, stitch, summarise): calls, output tokens,
seconds. Prints a table and writes bench/results/latency.json.

    .venv/bin/python bench/latency.py [--model NAME] [--words 2000,10000]
    WRITER_DATA_DIR=DIR .venv/bin/python bench/latency.py --runs RUN_ID,...   # measure finished runs again

Run it on a quiet machine: the ideal and the compose are timed in the same run, but another
process on the cores moves both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py
INSTRUCTIONS = {
    2000: "Write a 2000-word article about the history of public libraries.",
    10000: "Write a 10000-word handbook for new volunteers at an animal shelter.",
}
RAW_TOKENS = 256  # output tokens of each raw request


def raw_rate(engine, sequences: int) -> float:
    """Output tokens/s of `sequences` plain requests decoded at once (short prompts, exactly RAW_TOKENS each)."""
    from writer.engines.base import ChatRequest, Message

    requests = [ChatRequest(messages=[Message(role="user", content=f"Tell a long story about island number {k}.")],
                            max_tokens=RAW_TOKENS, min_tokens=RAW_TOKENS, temperature=0.7, seed=k)
                for k in range(max(1, sequences))]
    engine.generate(requests[:1])  # warm
    started = time.perf_counter()
    outs = engine.generate(requests)
    return sum(o.completion_tokens for o in outs) / (time.perf_counter() - started)


def stage_of(call, attempts: dict) -> str:
    """The call's stage, with a section's second and later `write` calls counted as check re-runs."""
    if call.stage == "write" and call.section_index is not None:
        attempts[call.section_index] += 1
        return "check re-run" if attempts[call.section_index] > 1 else "write"
    return call.stage


def measure(engine, words: int, store, run_id: str | None = None) -> dict:
    """Compose the `words` instruction and measure it; with `run_id`, measure that finished run (its instruction
    and target) instead of composing again: the call log holds every timing but the API call's own."""
    import writer

    instruction = INSTRUCTIONS.get(words, f"Write a {words}-word article about the history of public libraries.")
    started = time.perf_counter()
    if run_id is None:
        result = writer.compose(instruction, engine=engine, store=store)
        wall_total = round(time.perf_counter() - started, 1)
    else:
        result, wall_total = store.load_result(run_id), None
        instruction, words = result.instruction, store.get_run(run_id).target_words
    calls = list(store.calls(result.run_id))
    first = min(c.created_at.timestamp() - c.seconds for c in calls)
    last = max(c.created_at.timestamp() for c in calls)
    wall = max(last - first, 1e-6)
    attempts: dict = defaultdict(int)
    stages: dict = defaultdict(lambda: {"calls": 0, "output_tokens": 0, "seconds": 0.0})
    for c in calls:
        s = stages[stage_of(c, attempts)]
        s["calls"] += 1
        s["output_tokens"] += c.completion_tokens
        s["seconds"] += c.seconds
    plan_calls = [c for c in calls if c.stage == "plan"]
    plan_end = max((c.created_at.timestamp() for c in plan_calls), default=first)
    plan_seconds = plan_end - first
    writing = max(wall - plan_seconds, 1e-6)
    busy = sum(c.seconds for c in calls if c.stage != "plan")
    concurrency = max(1, round(busy / writing))
    kept_tokens = engine.count_tokens(result.text)
    output_tokens = sum(c.completion_tokens for c in calls)
    rate = raw_rate(engine, concurrency)
    ideal = plan_seconds + kept_tokens / rate
    return {"words_target": words, "instruction": instruction, "run_id": result.run_id, "wall_s": round(wall, 1),
            "compose_call_s": wall_total, "plan_s": round(plan_seconds, 1),
            "sections": len(result.sections), "words": result.words, "output_tokens": output_tokens,
            "kept_tokens": kept_tokens, "discarded_tokens": max(0, output_tokens - kept_tokens),
            "tokens_per_kept_word": round(output_tokens / max(1, result.words), 2),
            "mean_concurrency": round(busy / writing, 2), "raw_rate_tok_s": round(rate, 1),
            "ideal_s": round(ideal, 1), "latency_over_ideal": round(wall / ideal, 2),
            "stages": {k: {**v, "seconds": round(v["seconds"], 1)} for k, v in sorted(stages.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registered model, folder or hub id (default: the default)")
    parser.add_argument("--words", default="2000,10000", help="comma-separated targets")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latency.json"))
    parser.add_argument("--runs", default=None,
                        help="comma-separated ids of finished runs (in WRITER_DATA_DIR) to measure instead of composing")
    args = parser.parse_args()
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-latency-"))

    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine
    from writer.engines.models import DEFAULT_MODEL
    from writer.store import Store

    model = args.model or DEFAULT_MODEL
    engine = get_engine(engine_settings(engine="vllm", model=model))
    store = Store()
    if args.runs:
        rows = [measure(engine, 0, store, run_id) for run_id in args.runs.split(",")]
    else:
        rows = [measure(engine, int(w), store) for w in args.words.split(",")]
    close_engines()
    from bench.machine import stamp

    meta = {**stamp(), "model": model}
    print(f"\n{meta['date']} · {meta['commit']} · {meta['cpu']} · {model}\n")
    print("| target | words | sections | wall s | plan s | ideal s | latency / ideal | output tokens | kept tokens "
          "| tokens per kept word | concurrency | raw tok/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['words_target']} | {r['words']} | {r['sections']} | {r['wall_s']} | {r['plan_s']} | "
              f"{r['ideal_s']} | {r['latency_over_ideal']} | {r['output_tokens']} | {r['kept_tokens']} | "
              f"{r['tokens_per_kept_word']} | {r['mean_concurrency']} | {r['raw_rate_tok_s']} |")
    print("\n| target | stage | calls | output tokens | seconds (sum over calls) |")
    print("|---|---|---|---|---|")
    for r in rows:
        for stage, s in r["stages"].items():
            print(f"| {r['words_target']} | {stage} | {s['calls']} | {s['output_tokens']} | {s['seconds']} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

"""Benchmark: the same 3,000-word instruction in sequential and parallel mode, in one run.

Sequential mode is AgentWrite (each section sees the text before it, so sections go to the
engine one at a time); parallel mode drafts every section at once in shared engine batches
and stitches the boundaries. Prints wall seconds, output tokens/s, words, S_l and the
parallel/sequential ratios, and writes bench/results/speed.json.

    .venv/bin/python bench/speed.py [--words 3000] [--model NAME|DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py
INSTRUCTION = "Write a 3000-word guide to starting a community vegetable garden in a city."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=3000)
    parser.add_argument("--model", default=None,
                        help="registered model name, model folder or hub id (default: the default model)")
    parser.add_argument("--engine", default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "speed.json"))
    args = parser.parse_args()
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-bench-"))

    import writer
    from judges.length import length_score
    from writer.engines import close_engines, resolve_engine
    from writer.engines.batching import shareable
    from writer.store import Store

    engine = shareable(resolve_engine(args.engine, args.model, args.base_url))
    store = Store()
    plan = writer.plan(INSTRUCTION, words=args.words, engine=engine, store=store)  # warm-up, and one shared plan
    rows = {}
    for mode in ("sequential", "parallel"):
        run_id = store.create_run(INSTRUCTION, args.words, "option", engine.name, engine.model_id,
                                  options={"mode": mode, "candidates": 1})
        store.save_plan(run_id, plan)  # both modes write the same plan, so only drafting differs
        started = time.perf_counter()
        doc = writer.compose(resume=run_id, engine=engine, store=store)
        seconds = time.perf_counter() - started
        program = store.steps(run_id)
        rows[mode] = {
            "words": doc.words, "sections": len(doc.sections), "s_l": round(length_score(args.words, doc.words), 1),
            "wall_s": round(seconds, 1), "output_tokens": doc.stats.output_tokens,
            "output_tok_s": round(doc.stats.output_tokens / seconds, 2), "calls": doc.stats.calls,
            "section_reruns": sum(max(0, r.attempts - 1) for r in program if r.op == "write"),
            "stitches_kept": sum(1 for r in program if r.op == "stitch" and (r.note or "").startswith("opening rewritten")),
        }
    close_engines()
    seq, par = rows["sequential"], rows["parallel"]
    ratios = {"wall_s": round(par["wall_s"] / seq["wall_s"], 3),
              "output_tok_s": round(par["output_tok_s"] / seq["output_tok_s"], 3)}
    keys = list(seq)
    print(f"target {args.words} words, {len(plan.sections)} planned sections, model {Path(engine.model_id).name}")
    print("| mode | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for mode, row in rows.items():
        print(f"| {mode} | " + " | ".join(str(row[k]) for k in keys) + " |")
    print(f"parallel / sequential: wall {ratios['wall_s']}x, output tokens/s {ratios['output_tok_s']}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": engine.model_id, "engine": engine.name, "target_words": args.words,
                               "modes": rows, "parallel_over_sequential": ratios}, indent=2) + "\n")


if __name__ == "__main__":
    main()

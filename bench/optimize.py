"""Benchmark: the DSPy planner's metric before vs after compilation, on a held-out split of LongBench-Write.

Takes LongBench-Write's English prompts (`../shared/benchmarks/longbench_write_en.jsonl`,
each `{"prompt", "length"}`), keeps those requiring at most `--max-length` words, shuffles
them with `--seed` and splits them into disjoint training and validation sets. Runs
`writer.dspy.optimize.optimize("planner", ...)` once: the uncompiled planner is measured on the
validation prompts, compiled on the training prompts (bootstrap by default), and measured
again, in the same run, on the same engine, at temperature 0. Prints the table and writes
bench/results/optimize.json.

The default metric is the cheap plan-level one (budget, count, coverage, distinct; one
planning call per prompt); `--metric compose` writes and judges each plan (minutes per
prompt on a 2-core CPU). Sized to finish in about 10 minutes on the CI machine:

    .venv/bin/python bench/optimize.py                       # 3 train, 3 validation prompts
    .venv/bin/python bench/optimize.py --train 8 --val 8 --max-demos 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # keep `import judges` on the package, not on bench/judges.py
PROMPTS = ROOT.parent / "shared" / "benchmarks" / "longbench_write_en.jsonl"
FALLBACK = ROOT / "tests" / "fixtures" / "longbench_write_en.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=3, help="training prompts")
    parser.add_argument("--val", type=int, default=3, help="held-out validation prompts")
    parser.add_argument("--max-length", type=int, default=500, help="only prompts requiring at most this many words")
    parser.add_argument("--metric", default="plan", choices=["plan", "compose"])
    parser.add_argument("--optimizer", default="bootstrap", choices=["bootstrap", "mipro"])
    parser.add_argument("--max-demos", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "optimize.json"))
    args = parser.parse_args()
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-bench-"))

    from writer.dspy.optimize import optimize
    from writer.engines import close_engines, resolve_engine

    source = PROMPTS if PROMPTS.exists() else FALLBACK
    rows = [dict(json.loads(line), id=i) for i, line in enumerate(source.open()) if line.strip()]
    rows = [r for r in rows if r["length"] <= args.max_length]
    random.Random(args.seed).shuffle(rows)
    if len(rows) < args.train + args.val:
        sys.exit(f"only {len(rows)} prompts of at most {args.max_length} words; lower --train/--val")
    train, val = rows[: args.train], rows[args.train: args.train + args.val]
    folder = Path(tempfile.mkdtemp(prefix="writer-optimize-"))
    for name, part in (("train", train), ("val", val)):
        with open(folder / f"{name}.jsonl", "w") as f:
            for r in part:
                f.write(json.dumps({"instruction": r["prompt"], "length": r["length"]}) + "\n")

    started = time.perf_counter()
    engine = resolve_engine(args.engine, args.model, args.base_url)
    engine_start = time.perf_counter() - started
    try:
        result = optimize("planner", folder / "train.jsonl", valset=folder / "val.jsonl", optimizer=args.optimizer,
                          out=folder / "planner.program.json", metric=args.metric, engine=engine,
                          threshold=args.threshold, max_demos=args.max_demos, seed=args.seed)
    finally:
        model = engine.model_id
        close_engines()
    program = json.loads(Path(result.out).read_text())
    print(f"\n{source.name}: {len(train)} training prompts (ids {[r['id'] for r in train]}), "
          f"{len(val)} held-out prompts (ids {[r['id'] for r in val]}), lengths <= {args.max_length} words")
    print("| model | optimizer | metric | train | val | demos | before | after | engine calls | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {Path(model).name} | {result.optimizer} | {result.metric} | {result.train} | {result.val} | "
          f"{result.demos} | {result.before:.1f} | {result.after:.1f} | {result.engine_calls} | {result.seconds:.0f} |")
    print("per held-out prompt (before -> after): " + ", ".join(
        f"#{r['id']} {b:.1f} -> {a:.1f}" for r, b, a in zip(val, result.before_scores, result.after_scores)))
    data = {"model": model, "source": str(source.name), "seed": args.seed, "max_length": args.max_length,
            "engine_start_seconds": round(engine_start, 1), "train_ids": [r["id"] for r in train],
            "val_ids": [r["id"] for r in val], "result": result.__dict__,
            "compiled_demos": [{"instruction": d.get("instruction"), "target_words": d.get("target_words"),
                                "sections": d.get("sections")} for d in program["state"]["predict"]["demos"]]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

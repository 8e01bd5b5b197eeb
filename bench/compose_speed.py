"""Benchmark: compose a 2000-word document on the vLLM engine, against the engine's raw decode speed.

Prints engine start seconds, compose seconds, the pipeline's output tokens/s, the same
engine's raw single-sequence decode tokens/s measured in the same run, and their ratio
(the pipeline's efficiency: planning, prompt prefill, continuations and bookkeeping all
count against it). Writes the numbers to bench/results/compose_speed.json.

    .venv/bin/python bench/compose_speed.py [--words 2000] [--model NAME|DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

INSTRUCTION = "Write a 2000-word article about the history and future of public libraries."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--model", default=None,
                        help="registered model name, model folder or hub id (default: the default model)")
    parser.add_argument("--raw-tokens", type=int, default=512)
    args = parser.parse_args()
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-bench-"))

    import writer
    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine
    from writer.engines.base import ChatRequest, Message

    started = time.perf_counter()
    engine = get_engine(engine_settings(engine="vllm", model=args.model))
    start_s = time.perf_counter() - started

    raw_req = ChatRequest(messages=[Message(role="user", content="Write a long story about a lighthouse keeper.")],
                          max_tokens=args.raw_tokens, min_tokens=args.raw_tokens, temperature=0.7)
    engine.generate([raw_req.model_copy(update={"max_tokens": 16, "min_tokens": 16})])  # warm-up
    t = time.perf_counter()
    raw = engine.generate([raw_req])[0]
    raw_tps = raw.completion_tokens / (time.perf_counter() - t)

    t = time.perf_counter()
    result = writer.compose(INSTRUCTION, words=args.words, engine=engine)
    compose_s = time.perf_counter() - t
    pipeline_tps = result.stats.output_tokens / compose_s
    close_engines()

    row = {
        "model": Path(engine.model_id).name,
        "target_words": args.words,
        "words": result.words,
        "sections": len(result.sections),
        "engine_start_s": round(start_s, 1),
        "compose_s": round(compose_s, 1),
        "output_tokens": result.stats.output_tokens,
        "pipeline_output_tok_s": round(pipeline_tps, 2),
        "raw_decode_tok_s": round(raw_tps, 2),
        "efficiency": round(pipeline_tps / raw_tps, 3),
    }
    print("| " + " | ".join(row) + " |")
    print("|" + "---|" * len(row))
    print("| " + " | ".join(str(v) for v in row.values()) + " |")
    out = Path(__file__).parent / "results" / "compose_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()

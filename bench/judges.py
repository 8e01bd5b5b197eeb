"""Benchmark: do the model judges (quality, checklist) prefer good documents over degraded ones, and agree with
the rule metrics and S_l?

Good documents are the real prose fixtures (tests/fixtures/prose/*.md, ~375 words, four
sections each). Each gets three degraded twins: `repetition` (the second half replaced by a
loop of one of its own sentences, same length), `dropped` (two middle sections removed) and
`truncated` (cut mid-sentence at half its words). Every judge scores all texts (each model
judge in one engine batch); for each (good, degraded) pair we record whether the judge ranks
the good one higher, and whether its preference agrees with the rules judge's and S_l's.
Every text is judged against the good document's section titles, so rules' plan coverage
sees dropped and truncated sections.
Prints a table and writes bench/results/judges.json.

    .venv/bin/python bench/judges.py [--judges quality,checklist] [--engine vllm] [--model NAME|DIR] [--base-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # this file is bench/judges.py: keep `import judges` pointing at the package
FIXTURES = ROOT / "tests" / "fixtures" / "prose"
INSTRUCTIONS = {
    "libraries": "Write a 375-word article about the history of public libraries.",
    "tides": "Write a 375-word article explaining ocean tides.",
    "bread": "Write a 375-word article about baking sourdough bread.",
}
DEGRADATIONS = ("repetition", "dropped", "truncated")


def sections(text: str) -> list[str]:
    return [s for s in re.split(r"\n(?=## )", text.strip()) if s.strip()]


def degrade(text: str, kind: str) -> str:
    words = text.split()
    if kind == "repetition":
        half = " ".join(words[: len(words) // 2])
        sentence = re.findall(r"[^.!?]+[.!?]", half)[2].strip()
        loop = []
        while len(" ".join(loop).split()) < len(words) - len(half.split()):
            loop.append(sentence)
        return half + " " + " ".join(loop)
    if kind == "dropped":
        secs = sections(text)
        return "\n\n".join([secs[0], secs[-1]])
    if kind == "truncated":
        return " ".join(words[: len(words) // 2])
    raise ValueError(kind)


def prefer(a: float | None, b: float | None) -> int | None:
    """+1 when a > b, -1 when a < b, 0 on a tie, None when either is missing."""
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", default="quality,checklist", help="model judges to compare")
    parser.add_argument("--engine", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "judges.json"))
    args = parser.parse_args()
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-bench-"))

    from judges import JudgeInput, judge_batch
    from writer.engines import close_engines

    model_judges = [j.strip() for j in args.judges.split(",") if j.strip()]
    names = ["length", "rules", *model_judges]
    docs = {name: (FIXTURES / f"{name}.md").read_text() for name in INSTRUCTIONS}
    samples, keys = [], []
    for name, text in docs.items():
        for kind in ("good", *DEGRADATIONS):
            keys.append((name, kind))
            samples.append(JudgeInput(text=text if kind == "good" else degrade(text, kind),
                                      instruction=INSTRUCTIONS[name], plan_titles=re.findall(r"^## (.+)$", text, re.M)))
    started = time.perf_counter()
    judgments = judge_batch(samples, judges=names, engine=args.engine, model=args.model, base_url=args.base_url)
    seconds = time.perf_counter() - started
    model = judgments[0].judge_model
    close_engines()
    scores = {k: j.scores for k, j in zip(keys, judgments)}
    errors = [{"doc": k[0], "kind": k[1], **e.model_dump(exclude={"replies"})}
              for k, j in zip(keys, judgments) for e in j.errors]

    pairs = []
    for name in docs:
        for kind in DEGRADATIONS:
            good, bad = scores[(name, "good")], scores[(name, kind)]
            pairs.append({"doc": name, "degradation": kind,
                          "good": good, "degraded": bad,
                          "prefers_good": {j: prefer(good[j], bad[j]) for j in names}})

    summary = {}
    for j in names:
        row = {}
        for kind in (*DEGRADATIONS, "all"):
            prefs = [p["prefers_good"][j] for p in pairs if kind in ("all", p["degradation"])]
            valid = [x for x in prefs if x is not None]
            row[kind] = None if not valid else round(sum(x == 1 for x in valid) / len(valid), 3)
        row["ties"] = sum(p["prefers_good"][j] == 0 for p in pairs)
        row["missing"] = sum(p["prefers_good"][j] is None for p in pairs)
        for ref in ("rules", "length"):
            both = [(p["prefers_good"][j], p["prefers_good"][ref]) for p in pairs
                    if p["prefers_good"][j] is not None and p["prefers_good"][ref] is not None]
            row[f"agrees_with_{ref}"] = None if not both else round(sum(a == b for a, b in both) / len(both), 3)
        summary[j] = row

    from rich.console import Console
    from rich.table import Table

    table = Table("judge", *[f"good > {k}" for k in DEGRADATIONS], "good > degraded (all)", "ties", "missing",
                  "agrees w/ rules", "agrees w/ S_l",
                  title=f"{len(pairs)} good/degraded pairs, judge model {Path(model).name if model else '-'}")
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    for j, row in summary.items():
        table.add_row(j, *[fmt(row[k]) for k in DEGRADATIONS], fmt(row["all"]), str(row["ties"]), str(row["missing"]),
                      fmt(row["agrees_with_rules"]), fmt(row["agrees_with_length"]))
    Console(width=150).print(table)
    if errors:
        print(f"{len(errors)} judge errors (reported, not scored): {errors[:3]}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"judge_model": model, "judge_engine": judgments[0].judge_engine,
                               "seconds": round(seconds, 1), "pairs": pairs, "summary": summary, "errors": errors},
                              indent=2) + "\n")
    print(f"wrote {out} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()

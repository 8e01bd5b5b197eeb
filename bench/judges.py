"""Benchmark: can the model judges (quality, checklist, pairwise) tell a good document from its degraded twins?

Good documents are real prose: the fixtures tests/fixtures/prose/*.md, three of ~375 words and two of
1,100-1,600 words, each in sections under `## ` headings. Each gets seven degraded twins (`degrade`):
`loop` (the second half a loop of two of its own sentences), `dropped` (two middle sections removed),
`truncated` (cut mid-sentence at half its words), `shuffled` (sections out of order), `offtopic` (a middle
section replaced by one from another document), `chatter` (a prompt echo, chatter and a closing note
inserted) and `conclusions` (an "In conclusion" paragraph closing every section).

Each model judge runs on every text in one engine batch, on the judge model (`--judge-model`; default:
the strongest installed local model). For every judge and degradation: the share of (good, degraded)
pairs where the good text wins, the ties, the seconds per verdict, and for pairwise (both orders, a
verdict only when they agree) the position consistency. `pairwise-margin` asks each order for the
letter alone and decides by the good text's margin with the judge's lean to a position taken out
(`judges.pairwise`, rule "margin"); it runs first, so its seconds are its own, and `pairwise` after it
(reasons and letters) may find the texts in the engine's prefix cache. `length` and `rules` (no model) are listed for
reference. Then the checklist's calibration: its item scores against graded labels (`LABELS`: good 100,
each degradation by how much of the document it spoils), R² and good-over-degraded share with equal
weights, with weights fitted on all texts, and with weights fitted leaving each document out.

    .venv/bin/python bench/judges.py [--judges quality,checklist,pairwise] [--judge-model NAME] [--docs a,b]
    .venv/bin/python bench/judges.py --write-labels tests/fixtures/checklist_labels.jsonl   # no model
    .venv/bin/python bench/judges.py --markdown bench/results/judges.json                   # bench/README.md's tables

Prints a table and writes bench/results/judges.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # this file is bench/judges.py: keep `import judges` pointing at the package
FIXTURES = ROOT / "tests" / "fixtures" / "prose"
DOCS = {  # name: (instruction, topic as the inserted text names it)
    "libraries": ("Write a 375-word article about the history of public libraries.", "public libraries"),
    "tides": ("Write a 375-word article explaining ocean tides.", "ocean tides"),
    "bread": ("Write a 375-word article about baking sourdough bread.", "sourdough bread"),
    "lighthouses": ("Write a 1,100-word article on the history and workings of lighthouses.", "lighthouses"),
    "composting": ("Write a 1,550-word article explaining how composting works and how to do it well.",
                   "composting"),
}
DEGRADATIONS = ("loop", "dropped", "truncated", "shuffled", "offtopic", "chatter", "conclusions")
# Graded labels for calibration: how much of a reader's document is left (see docs/judges.md).
LABELS = {"good": 100, "conclusions": 65, "chatter": 55, "shuffled": 45, "offtopic": 40, "dropped": 35,
          "truncated": 25, "loop": 0}
MODEL_JUDGES = ("quality", "checklist", "pairwise-margin", "pairwise")
PAIRWISE = ("pairwise-margin", "pairwise")
CATEGORY = "blog"  # every instruction asks for an article


# degradations

def sections(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"\n(?=## )", text.strip()) if s.strip()]


def _title(section: str) -> str:
    return section.splitlines()[0].lstrip("#").strip()


def _word_starts(text: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\S+", text)]


def _loop(text: str) -> str:
    """The first half (to a sentence end), then two of its sentences over and over, to the same length."""
    starts = _word_starts(text)
    end = re.search(r"[.!?](\s|$)", text[starts[len(starts) // 2]:])
    half = text[: starts[len(starts) // 2] + (end.end() if end else 0)].rstrip()
    last_paragraph = half.split("\n\n")[-1]
    sentences = re.findall(r"[^.!?]+[.!?]", last_paragraph)
    pair = " ".join(s.strip() for s in sentences[-2:])
    out, words = [half], len(half.split())
    while words < len(starts):
        out.append(" ".join([pair] * 2))
        words += 2 * len(pair.split())
    return "\n\n".join(out)


def _truncated(text: str) -> str:
    """Cut at about half its words, inside a sentence of a paragraph (never after a full stop or in a heading)."""
    starts = _word_starts(text)
    k = len(starts) // 2
    while k < len(starts) - 1:
        word = text[starts[k - 1]:starts[k]].strip()
        line_start = text.rfind("\n", 0, starts[k]) + 1
        if not re.search(r"[.!?:;,]$", word) and not text[line_start:].startswith("#"):
            break
        k += 1
    return text[: starts[k]].rstrip()


def _conclusion(title: str, topic: str, k: int) -> str:
    phrases = [
        f"In conclusion, {title.lower()} is an important part of understanding {topic}. By keeping these points "
        f"in mind, we can better appreciate why it matters and how it shapes everything else.",
        f"In conclusion, it is clear that {title.lower()} plays a vital role when it comes to {topic}. Overall, "
        f"this shows just how fascinating and important the subject truly is.",
        f"In conclusion, {title.lower()} reminds us that {topic} is a rich and complex subject. Ultimately, "
        f"understanding this helps us see the bigger picture.",
    ]
    return phrases[k % len(phrases)]


def degrade(name: str, text: str, kind: str, docs: dict[str, str]) -> str:
    """The degraded twin `kind` of document `name` (others in `docs` lend the off-topic section)."""
    instruction, topic = DOCS[name]
    secs = sections(text)
    n = len(secs)
    if kind == "loop":
        return _loop(text)
    if kind == "dropped":
        mid = n // 2 - 1
        return "\n\n".join(s for i, s in enumerate(secs) if i not in (mid, mid + 1))
    if kind == "truncated":
        return _truncated(text)
    if kind == "shuffled":
        return "\n\n".join(secs[1::2] + secs[0::2])
    if kind == "offtopic":
        names = list(docs)
        donor = sections(docs[names[(names.index(name) + 1) % len(names)]])
        return "\n\n".join(donor[1] if i == n // 2 else s for i, s in enumerate(secs))
    if kind == "chatter":
        body = [f"Sure! Here is the article you asked for.\n\n{instruction}", secs[0]]
        for i, s in enumerate(secs[1:], start=1):
            if i == n // 2:
                body.append("I hope this gives you a clear picture so far! Let me know if you would like me to "
                            "expand on any of these points before I continue with the next part.")
            body.append(s)
        body.append(f"Note: this article is about {instruction.split('-word')[0].split()[-1]} words long, as "
                    "requested. Feel free to ask if you would like any changes to the tone or the length!")
        return "\n\n".join(body)
    if kind == "conclusions":
        return "\n\n".join(f"{s}\n\n{_conclusion(_title(s), topic, i)}" for i, s in enumerate(secs))
    raise ValueError(kind)


def texts(names: list[str]) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The good documents, and every (document, kind) text, "good" included."""
    docs = {name: (FIXTURES / f"{name}.md").read_text() for name in DOCS}
    out = {}
    for name in names:
        out[(name, "good")] = docs[name]
        for kind in DEGRADATIONS:
            out[(name, kind)] = degrade(name, docs[name], kind, docs)
    return docs, out


def write_labels(path: Path) -> None:
    """The calibration file `writer judge calibrate` reads: one labelled text a line (docs/judges.md)."""
    _, all_texts = texts(list(DOCS))
    lines = [json.dumps({"id": f"{name}/{kind}", "group": name, "human_score": LABELS[kind], "category": CATEGORY,
                         "instruction": DOCS[name][0], "text": text}, ensure_ascii=False)
             for (name, kind), text in all_texts.items()]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path} ({len(lines)} labelled texts)")


# scoring

def prefer(a: float | None, b: float | None) -> int | None:
    """+1 when a > b, -1 when a < b, 0 on a tie, None when either is missing."""
    if a is None or b is None:
        return None
    a, b = float(a), float(b)  # numpy scores (the calibration) as well as plain ones
    return (a > b) - (a < b)


def share(values: list[int | None], want: int = 1) -> float | None:
    valid = [v for v in values if v is not None]
    return None if not valid else round(sum(v == want for v in valid) / len(valid), 3)


def r2(pred, y) -> float:
    import numpy as np

    pred, y = np.asarray(pred, float), np.asarray(y, float)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return round(1 - float(((y - pred) ** 2).sum()) / ss_tot, 3) if ss_tot > 0 else 0.0


def calibration(items: dict[tuple[str, str], list[float]], names: list[str]) -> dict:
    """R² against LABELS and the good-over-degraded share, before and after fitting checklist weights."""
    import numpy as np

    from judges.checklist import fit_weights

    keys = [k for k in items if k[0] in names]
    x = np.array([items[k] for k in keys], float)
    y = np.array([LABELS[k[1]] for k in keys], float)

    def wins(pred: dict) -> float | None:
        return share([prefer(pred[(n, "good")], pred[(n, kind)]) for n in names for kind in DEGRADATIONS
                      if (n, "good") in pred and (n, kind) in pred])

    equal = x @ np.full(x.shape[1], 100 / x.shape[1])
    raw = fit_weights(x, y)
    fitted = x @ raw
    held = np.zeros(len(keys))
    for name in names:  # leave one document (all eight of its texts) out
        test = np.array([k[0] == name for k in keys])
        if test.all():
            held[test] = equal[test]
            continue
        held[test] = x[test] @ fit_weights(x[~test], y[~test])
    as_dict = lambda pred: dict(zip(keys, pred))  # noqa: E731
    return {"texts": len(keys), "labels": LABELS,
            "weights": [round(float(w), 2) for w in raw * 100 / raw.sum()],
            "equal": {"r2": r2(equal, y), "good_wins": wins(as_dict(equal))},
            "fitted_all": {"r2": r2(fitted, y), "good_wins": wins(as_dict(fitted))},
            "fitted_leave_one_document_out": {"r2": r2(held, y), "good_wins": wins(as_dict(held))}}


def markdown(result: dict) -> str:
    """The results as bench/README.md shows them: the judges' table, then the calibration's."""
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    lines = [f"{result['date']}, commit {result['commit']}, {result['cpu']}; judge model {result['judge_model']} "
             f"({result['judge_engine']}); {len(result['documents'])} documents x {len(DEGRADATIONS)} degradations, "
             f"{result['words_per_text']['min']}-{result['words_per_text']['max']} words a text:", "",
             "| judge | " + " | ".join(DEGRADATIONS) + " | all | ties | position consistency | s/verdict | "
             "s/1k words read |", "|---" * (len(DEGRADATIONS) + 6) + "|"]
    for j, row in result["summary"].items():
        lines.append(f"| {j} | " + " | ".join(fmt(row[k]) for k in DEGRADATIONS) + f" | {fmt(row['all'])} | "
                     f"{row['ties']} | {fmt(row.get('position_consistency'))} | {row['seconds_per_verdict']:.1f} | "
                     f"{row['seconds_per_1000_words_read']:.1f} |")
    lean = result["summary"].get("pairwise-margin", {}).get("mean_position_lean")
    if lean is not None:
        lines += ["", f"pairwise-margin: the judge's mean lean towards the text shown first, {lean:+.2f} nats "
                      "(log P(A) - log P(B), averaged over both orders), is what the margin takes out."]
    calib = result.get("calibration")
    if calib:
        lines += ["", f"Checklist calibration on the {calib['texts']} graded labels "
                      f"(tests/fixtures/checklist_labels.jsonl):", "",
                  "| weights | R² | good over degraded |", "|---|---|---|"]
        for what, label in (("equal", "equal (before)"), ("fitted_all", "fitted on all texts (after)"),
                            ("fitted_leave_one_document_out", "fitted leaving each document out")):
            lines.append(f"| {label} | {calib[what]['r2']} | {fmt(calib[what]['good_wins'])} |")
        lines += ["", f"Fitted weights (sum 100): {calib['weights']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", default=",".join(MODEL_JUDGES), help="model judges to test")
    parser.add_argument("--judge-model", default=None, help="judge model (default: the strongest installed)")
    parser.add_argument("--judge-engine", default=None, help="vllm or openai (default: WRITER_ENGINE)")
    parser.add_argument("--judge-base-url", default=None)
    parser.add_argument("--docs", default=",".join(DOCS), help="documents to use (names of tests/fixtures/prose)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "judges.json"))
    parser.add_argument("--write-labels", default=None, help="write the calibration labels file and stop")
    parser.add_argument("--markdown", default=None, help="print a results file as bench/README.md's tables and stop")
    parser.add_argument("--resume", action="store_true", help="skip the judges a killed run finished (OUT.partial.json)")
    args = parser.parse_args()
    if args.write_labels:
        write_labels(Path(args.write_labels))
        return
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return
    os.environ.setdefault("WRITER_DATA_DIR", tempfile.mkdtemp(prefix="writer-bench-"))

    from judges import JudgeInput, judge_batch
    from judges.engine import choose_judge_model, judge_engine
    from judges.pairwise import PairInput, PairVerdict, compare
    from writer.calls import CallRecorder
    from writer.engines import close_engines
    from writer.store import Store

    names = [n.strip() for n in args.docs.split(",") if n.strip()]
    model_judges = [j.strip() for j in args.judges.split(",") if j.strip()]
    _, all_texts = texts(names)
    keys = list(all_texts)
    samples = [JudgeInput(text=all_texts[k], instruction=DOCS[k[0]][0], category=CATEGORY,
                          plan_titles=re.findall(r"^## (.+)$", all_texts[(k[0], "good")], re.M)) for k in keys]
    words = {k: len(t.split()) for k, t in all_texts.items()}
    print(f"{len(names)} documents x {1 + len(DEGRADATIONS)} texts, {sum(words.values())} words", flush=True)

    choice = choose_judge_model(args.judge_engine, args.judge_model, args.judge_base_url)
    print(f"judge model: {choice.label}", flush=True)
    started = time.perf_counter()
    engine = judge_engine(choice)
    start_s = time.perf_counter() - started
    store = Store()

    scores: dict[str, dict] = {}  # judge -> key -> score
    items: dict[tuple[str, str], list[float]] = {}
    seconds: dict[str, float] = {}
    errors: list[dict] = []
    verdicts = {}
    # each judge's results are kept as it finishes, so a run that dies (out of memory, say) resumes after it
    partial = Path(args.out).with_suffix(".partial.json")
    key_of, of_key = (lambda k: "/".join(k)), (lambda s: tuple(s.split("/")))  # noqa: E731
    if args.resume and partial.exists():
        saved = json.loads(partial.read_text())
        if saved["judge_model"] == choice.model and saved["documents"] == names:
            scores = {j: {of_key(k): v for k, v in d.items()} for j, d in saved["scores"].items()}
            items = {of_key(k): v for k, v in saved["items"].items()}
            seconds, errors = saved["seconds"], saved["errors"]
            verdicts = {j: {of_key(k): PairVerdict.model_validate(v) for k, v in d.items()}
                        for j, d in saved["verdicts"].items()}
            print(f"resumed {partial}: {', '.join(seconds)} done", flush=True)

    def keep() -> None:
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({
            "judge_model": choice.model, "documents": names, "seconds": seconds, "errors": errors,
            "scores": {j: {key_of(k): v for k, v in d.items()} for j, d in scores.items()},
            "items": {key_of(k): v for k, v in items.items()},
            "verdicts": {j: {key_of(k): v.model_dump() for k, v in d.items()} for j, d in verdicts.items()}}))

    for name in ["length", "rules", *[j for j in model_judges if j not in PAIRWISE]]:
        if name in seconds:
            continue
        t = time.perf_counter()
        out = judge_batch(samples, judges=[name], engine=engine, store=store)
        seconds[name] = time.perf_counter() - t
        scores[name] = {k: j.scores[name] for k, j in zip(keys, out)}
        errors += [{"doc": k[0], "kind": k[1], **e.model_dump(exclude={"replies"})} for k, j in zip(keys, out)
                   for e in j.errors]
        if name == "checklist":
            items = {k: [i.score for i in j.results["checklist"].items] for k, j in zip(keys, out)
                     if "checklist" in j.results}
        print(f"{name}: {seconds[name]:.0f} s", flush=True)
        keep()
    pair_keys = [(n, kind) for n in names for kind in DEGRADATIONS]
    pairs = [PairInput(instruction=DOCS[n][0], first=all_texts[(n, "good")], second=all_texts[(n, kind)])
             for n, kind in pair_keys]
    for name in [j for j in PAIRWISE if j in model_judges and j not in seconds]:
        t = time.perf_counter()
        judged = compare(pairs, CallRecorder(engine, store), reasons=name == "pairwise")
        verdicts[name] = dict(zip(pair_keys, judged))
        seconds[name] = time.perf_counter() - t
        print(f"{name}: {seconds[name]:.0f} s", flush=True)
        keep()
    close_engines()

    summary: dict[str, dict] = {}
    pairs_out = []
    for n in names:
        for kind in DEGRADATIONS:
            row = {"doc": n, "degradation": kind, "words": [words[(n, "good")], words[(n, kind)]],
                   "scores": {j: [scores[j][(n, "good")], scores[j][(n, kind)]] for j in scores}}
            for j, by_key in verdicts.items():
                if (n, kind) in by_key:
                    v = by_key[(n, kind)]
                    row[j] = {"winner": {"first": "good", "second": "degraded", "tie": "tie"}[v.winner],
                              "margin": v.margin, "orders": [o.model_dump() for o in v.orders]}
            pairs_out.append(row)
    judged = [j for j in ["length", "rules", *model_judges] if j in scores or j in verdicts]
    for j in judged:
        row: dict = {}
        for kind in (*DEGRADATIONS, "all"):
            ks = [(n, d) for n in names for d in DEGRADATIONS if kind in ("all", d)]
            if j in PAIRWISE:
                prefs = [{"first": 1, "second": -1, "tie": 0}[verdicts[j][k].winner] for k in ks]
            else:
                prefs = [prefer(scores[j][(k[0], "good")], scores[j][k]) for k in ks]
            row[kind] = share(prefs)
            if kind == "all":
                row["ties"] = sum(p == 0 for p in prefs)
                row["missing"] = sum(p is None for p in prefs)
        verdict_count = len(verdicts[j]) if j in PAIRWISE else len(keys)
        row["seconds"] = round(seconds[j], 1)
        row["seconds_per_verdict"] = round(seconds[j] / verdict_count, 2)
        read = (sum(words[(n, "good")] + words[(n, d)] for n, d in verdicts[j]) * 2 if j in PAIRWISE
                else sum(words.values()))
        row["seconds_per_1000_words_read"] = round(seconds[j] / read * 1000, 2)
        if j == "pairwise":
            row["position_consistency"] = round(
                sum(v.orders[0].preferred == v.orders[1].preferred for v in verdicts[j].values()) / len(verdicts[j]), 3)
        if j == "pairwise-margin":  # the share of pairs whose two leans point to the same text (each lean's sign)
            both = [v for v in verdicts[j].values() if v.orders[0].lean is not None and v.orders[1].lean is not None]
            row["position_consistency"] = round(
                sum((v.orders[0].lean > 0) != (v.orders[1].lean > 0) for v in both) / max(1, len(both)), 3)
            row["mean_position_lean"] = round(
                sum((v.orders[0].lean + v.orders[1].lean) / 2 for v in both) / max(1, len(both)), 2)
        summary[j] = row
    calib = calibration(items, names) if items else None

    from rich.console import Console
    from rich.table import Table

    from bench.machine import commit, cpu_name

    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(), "cpu": cpu_name(),
            "judge_model": choice.model, "judge_model_source": choice.source, "judge_engine": engine.name,
            "engine_start_s": round(start_s, 1), "documents": names,
            "words_per_text": {"min": min(words.values()), "max": max(words.values())}}
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    table = Table("judge", *DEGRADATIONS, "all", "ties", "pos. consistency", "s/verdict", "s/1k words",
                  title=f"good text wins, {len(names) * len(DEGRADATIONS)} pairs · judge {choice.label} · "
                        f"{meta['date']} · {meta['commit']} · {meta['cpu']}")
    for j, row in summary.items():
        table.add_row(j, *[fmt(row[k]) for k in DEGRADATIONS], fmt(row["all"]), str(row["ties"]),
                      fmt(row.get("position_consistency")), f"{row['seconds_per_verdict']:.1f}",
                      f"{row['seconds_per_1000_words_read']:.1f}")
    Console(width=200).print(table)
    if calib:
        print(f"checklist calibration on {calib['texts']} labelled texts (labels {LABELS}):")
        for what in ("equal", "fitted_all", "fitted_leave_one_document_out"):
            print(f"  {what}: R² {calib[what]['r2']}, good over degraded {fmt(calib[what]['good_wins'])}")
        print(f"  fitted weights (sum 100): {calib['weights']}")
    if errors:
        print(f"{len(errors)} judge errors (reported, not scored): {errors[:3]}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {**meta, "summary": summary, "calibration": calib, "pairs": pairs_out, "errors": errors}
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(markdown(result))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Dataset exports (datasets_out): SFT/DPO/lengthen records, filters, dedupe, files and card, the DPO pair
chosen by the clearest judged preference, and an empty result's one-line error. No engine: jobs, runs, plans,
sections, role records and pairwise verdicts are written straight into the store."""

from __future__ import annotations

import json
import random

import pytest

from datasets_out.card import length_counts, score_counts
from datasets_out.export import export_job
from datasets_out.filters import duplicate_reasons, filter_reason
from datasets_out.records import Document, RolePair, best_and_worst, choose_pair, extend_prompt, lengthen_record
from writer.artifacts import Plan, PlannedSection, WrittenSection
from writer.errors import EmptyExportError, UnknownJobError, UsageError
from writer.text.lengths import count_words

VOCAB = [f"{a}{b}" for a in ("river", "stone", "light", "cloud", "field", "ember", "glass", "north", "quiet", "amber")
         for b in ("wood", "fall", "song", "path", "gate", "mark", "line", "ward", "moor", "vale")]


def prose(seed: int, words: int = 120) -> str:
    """Distinct text for each seed: random words from a 100-word vocabulary, in sentences."""
    rng = random.Random(seed)
    tokens = [rng.choice(VOCAB) for _ in range(words)]
    return " ".join(" ".join(tokens[i:i + 12]).capitalize() + "." for i in range(0, words, 12))


def make_run(store, instruction: str, text: str, title: str = "Overview", main_point: str = "The main idea",
             roles: list[dict] | None = None) -> str:
    """A finished one-section run whose document is `text`, with optional Self-Lengthen role records."""
    run_id = store.create_run(instruction, 1000, "option", "fake", "fake-model")
    store.save_plan(run_id, Plan(instruction=instruction, target_words=1000,
                                 sections=[PlannedSection(title=title, main_point=main_point, words=1000)]))
    store.save_section(run_id, WrittenSection(index=0, title=title, text=text, words=count_words(text)))
    if roles:
        store.save_role_records(run_id, 0, roles)
    store.update_run(run_id, status="done")
    return run_id


def make_job(store, job_id: str, docs: list[dict]) -> None:
    """A job whose items are `docs` (line, sample, instruction, required_words, words, scores, text[, roles,
    status]); done items get a run holding their text."""
    items = [{"line": d["line"], "sample": d["sample"], "instruction": d["instruction"],
              "required_words": d["required_words"], "category": d.get("category"), "extra": d.get("extra", {})}
             for d in docs]
    store.create_job(job_id, "instructions.jsonl", "vllm", "fake-model", {"samples": 2}, items, [])
    rows = {(r.line, r.sample): r for r in store.job_items(job_id)}
    for d in docs:
        status = d.get("status", "done")
        if status != "done":
            store.update_item(rows[d["line"], d["sample"]].id, status=status)
            continue
        run_id = make_run(store, d["instruction"], d["text"], roles=d.get("roles"))
        store.update_item(rows[d["line"], d["sample"]].id, status="done", run_id=run_id, words=d["words"],
                          scores=d["scores"])


def _scores(score: float | None, length: float = 90.0) -> dict:
    return {} if score is None else {"length": length, "rules": 2 * score - length, "score": score}


ESSAY, STORY, EXPLAIN = "Write an essay about rivers.", "Write a story about a lighthouse.", "Explain photosynthesis."
# line 1: a clear pair (90 vs 60); line 2: too close to pair (80 vs 78); line 3: one scored sample only
STANDARD = [
    dict(line=1, sample=0, instruction=ESSAY, required_words=1000, words=1000, scores=_scores(90), category="essay",
         extra={"lang": "en"}),
    dict(line=1, sample=1, instruction=ESSAY, required_words=1000, words=600, scores=_scores(60), category="essay"),
    dict(line=2, sample=0, instruction=STORY, required_words=2000, words=2100, scores=_scores(80)),
    dict(line=2, sample=1, instruction=STORY, required_words=2000, words=2000, scores=_scores(78)),
    dict(line=3, sample=0, instruction=EXPLAIN, required_words=500, words=450, scores=_scores(70, length=85.0)),
    dict(line=3, sample=1, instruction=EXPLAIN, required_words=500, words=500, scores=_scores(None)),
    dict(line=4, sample=0, instruction="Never finished.", required_words=800, status="failed"),
    dict(line=4, sample=1, instruction="Never finished.", required_words=800, status="pending"),
]


@pytest.fixture
def job(store):
    docs = [dict(d, text=prose(seed)) for seed, d in enumerate(STANDARD)]
    make_job(store, "job1", docs)
    return {(d["line"], d["sample"]): d for d in docs}


def load(path, to: str, tmp_path):
    import datasets

    return datasets.load_dataset("json" if to == "jsonl" else "parquet", data_files=str(path), split="train",
                                 cache_dir=str(tmp_path / "hf-cache"))


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


SFT_COLUMNS = ["messages", "instruction", "required_words", "words", "length_ratio", "category", "score",
               "length_score", "scores_json", "extra_json", "job", "line", "sample", "run_id", "model"]
DPO_COLUMNS = ["prompt", "chosen", "rejected", "chosen_score", "rejected_score", "margin", "required_words",
               "chosen_words", "rejected_words", "category", "extra_json", "job", "line", "chosen_sample",
               "rejected_sample", "chosen_run_id", "rejected_run_id", "model", "decided_by", "preference_json"]
LENGTHEN_COLUMNS = ["role", "messages", "input_words", "output_words", "instruction", "category", "score", "job",
                    "line", "sample", "run_id", "section", "model"]


# SFT
@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_sft_export_loads_with_datasets(store, job, to, tmp_path):
    report = export_job(store, "job1", "sft", to, tmp_path / "out")
    assert report.path == tmp_path / "out" / f"sft.{to}"
    assert report.card_path == tmp_path / "out" / "README.md"
    assert report.records == 6
    assert report.dropped == {"no_text": 0, "length_ratio": 0, "min_score": 0, "exact_duplicate": 0,
                              "near_duplicate": 0}
    ds = load(report.path, to, tmp_path)
    assert ds.num_rows == 6
    assert ds.column_names == SFT_COLUMNS
    assert [(r["line"], r["sample"]) for r in ds] == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]
    first = ds[0]
    assert first["messages"] == [{"role": "user", "content": ESSAY},
                                 {"role": "assistant", "content": job[1, 0]["text"].strip() + "\n"}]
    assert (first["required_words"], first["words"], first["length_ratio"]) == (1000, 1000, 1.0)
    assert (first["score"], first["length_score"], first["category"]) == (90.0, 90.0, "essay")
    assert json.loads(first["scores_json"]) == {"length": 90.0, "rules": 90.0, "score": 90.0}
    assert json.loads(first["extra_json"]) == {"lang": "en"}
    assert (first["job"], first["model"]) == ("job1", "fake-model")
    assert first["run_id"] == store.job_items("job1")[0].run_id
    assert ds[1]["length_ratio"] == 0.6
    unscored = ds[5]
    assert (unscored["score"], unscored["length_score"], unscored["scores_json"]) == (None, None, "{}")
    assert unscored["category"] is None


def test_length_ratio_window_is_inclusive(store, job, tmp_path):
    # ratios: 1.0, 0.6, 1.05, 1.0, 0.9, 1.0 -> the window [0.9, 1.0] keeps both ends, drops 0.6 and 1.05
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(0.9, 1.0))
    rows = jsonl(report.path)
    assert [(r["line"], r["sample"]) for r in rows] == [(1, 0), (2, 1), (3, 0), (3, 1)]
    assert report.dropped["length_ratio"] == 2 and report.records == 4


def test_min_score_drops_low_and_unscored(store, job, tmp_path):
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", min_score=78)
    rows = jsonl(report.path)
    assert [(r["line"], r["sample"], r["score"]) for r in rows] == [(1, 0, 90.0), (2, 0, 80.0), (2, 1, 78.0)]
    assert report.dropped["min_score"] == 3  # 60, 70 and the unscored one


def test_filters_count_each_item_once(store, job, tmp_path):
    # (1,1) fails both the window and the score: counted under the window, the first check
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(0.8, 1.1), min_score=75)
    assert report.dropped["length_ratio"] == 1
    assert report.dropped["min_score"] == 2  # (3,0) at 70 and (3,1) unscored
    assert report.records == 3


# DPO
@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_dpo_pairs_best_against_worst(store, job, to, tmp_path):
    report = export_job(store, "job1", "dpo", to, tmp_path / "out")
    assert report.records == 1
    assert report.dropped["no_pair"] == 2  # line 2: margin 2 < 5; line 3: only one scored sample
    ds = load(report.path, to, tmp_path)
    assert ds.column_names == DPO_COLUMNS and ds.num_rows == 1
    row = ds[0]
    assert row["prompt"] == [{"role": "user", "content": ESSAY}]
    assert row["chosen"] == [{"role": "assistant", "content": job[1, 0]["text"].strip() + "\n"}]
    assert row["rejected"] == [{"role": "assistant", "content": job[1, 1]["text"].strip() + "\n"}]
    assert (row["chosen_score"], row["rejected_score"], row["margin"]) == (90.0, 60.0, 30.0)
    assert (row["chosen_words"], row["rejected_words"], row["required_words"]) == (1000, 600, 1000)
    assert (row["line"], row["chosen_sample"], row["rejected_sample"]) == (1, 0, 1)
    assert row["decided_by"] == ["length", "rules"]  # no model judge ran: said in the record
    assert json.loads(row["preference_json"]) == {"decided_by": ["length", "rules"]}
    assert "length and rules scores alone" in report.note


def test_dpo_margin_and_filters_on_chosen(store, job, tmp_path):
    report = export_job(store, "job1", "dpo", "jsonl", tmp_path / "out", min_margin=1.0)
    rows = jsonl(report.path)
    assert [(r["line"], r["chosen_sample"], r["rejected_sample"], r["margin"]) for r in rows] == [
        (1, 0, 1, 30.0), (2, 0, 1, 2.0)]
    # the window judges only the chosen document: line 1's rejected (ratio 0.6) does not matter,
    # line 2's chosen (ratio 1.05) is outside [0.9, 1.0]
    report = export_job(store, "job1", "dpo", "jsonl", tmp_path / "out", min_margin=1.0, length_ratio=(0.9, 1.0))
    assert [r["line"] for r in jsonl(report.path)] == [1]
    assert report.dropped == {"no_text": 0, "no_pair": 1, "length_ratio": 1, "min_score": 0, "exact_duplicate": 0,
                              "near_duplicate": 0}
    with pytest.raises(EmptyExportError, match="0 of 1 pairs passed the filters: 1 under min_score 95"):
        export_job(store, "job1", "dpo", "jsonl", tmp_path / "none", min_score=95)
    assert not (tmp_path / "none").exists()


def _doc(sample: int, score: float | None) -> Document:
    return Document(job="j", model="m", line=1, sample=sample, run_id=f"r{sample}", instruction="i",
                    required_words=100, category=None, words=100, text=f"text {sample}",
                    scores={} if score is None else {"score": score})


def test_best_and_worst_of_several_samples():
    docs = [_doc(0, 70), _doc(1, None), _doc(2, 95), _doc(3, 40), _doc(4, 95)]
    best, worst = best_and_worst(docs, min_margin=5)
    assert (best.sample, worst.sample) == (2, 3)  # the tie at 95 keeps the lower sample
    assert best_and_worst(docs, min_margin=55.01) is None
    assert best_and_worst(docs, min_margin=55) is not None  # the margin is inclusive
    assert best_and_worst([_doc(0, 90), _doc(1, None)], min_margin=0) is None


# dedupe
def test_exact_and_near_duplicates_keep_the_better_copy(store, tmp_path):
    a, b = prose(100, 300), prose(101, 300)
    near_b = b.replace(b.split()[150], "changedword", 1)
    docs = [
        dict(line=1, sample=0, text=a, scores=_scores(70)),
        dict(line=1, sample=1, text="  " + a.upper().replace(" ", "\n"), scores=_scores(90)),  # exact, better
        dict(line=2, sample=0, text=b, scores=_scores(95)),
        dict(line=2, sample=1, text=near_b, scores=_scores(50)),  # near, worse
        dict(line=3, sample=0, text=prose(102, 300), scores=_scores(None)),
    ]
    make_job(store, "dups", [dict(d, instruction=f"Task {d['line']}", required_words=300, words=300) for d in docs])
    report = export_job(store, "dups", "sft", "jsonl", tmp_path / "out")
    rows = jsonl(report.path)
    assert [(r["line"], r["sample"]) for r in rows] == [(1, 1), (2, 0), (3, 0)]
    assert (report.dropped["exact_duplicate"], report.dropped["near_duplicate"]) == (1, 1)
    report = export_job(store, "dups", "sft", "jsonl", tmp_path / "out", dedupe=False)
    assert report.records == 5 and report.dropped["exact_duplicate"] == 0


def test_duplicate_reasons_order_by_score():
    text = prose(7, 200)
    reasons = duplicate_reasons([text, prose(8, 200), text], [None, 50.0, 10.0])
    assert reasons == {0: "exact_duplicate"}  # a scored copy beats an unscored one
    assert duplicate_reasons(["one text here", "another text"], [1.0, 2.0]) == {}


def test_filter_reason():
    doc = _doc(0, 80)
    assert filter_reason(doc) is None
    assert filter_reason(doc, length_ratio=(1.0, 1.0)) is None
    assert filter_reason(doc, length_ratio=(1.01, 2)) == "length_ratio"
    assert filter_reason(doc, min_score=80) is None
    assert filter_reason(doc, min_score=80.5) == "min_score"
    assert filter_reason(_doc(0, None), min_score=0) == "min_score"


# lengthen
@pytest.fixture
def lengthen_job(store):
    short, longer, generator_prompt = prose(200, 60), prose(201, 150), "Write section 1 of an essay about rivers."
    roles = [
        {"role": "generator", "input": generator_prompt, "output": short},
        {"role": "extender", "input": short, "output": longer},
        {"role": "extender", "input": longer, "output": prose(202, 100)},  # not longer: skipped
    ]
    docs = [
        dict(line=1, sample=0, instruction=ESSAY, required_words=1000, words=1000, scores=_scores(90),
             text=prose(203), roles=roles),
        dict(line=2, sample=0, instruction=STORY, required_words=1000, words=300, scores=_scores(88),
             text=prose(204), roles=[{"role": "generator", "input": "p", "output": prose(205)}]),
    ]
    make_job(store, "len", docs)
    return {"short": short, "longer": longer, "generator_prompt": generator_prompt}


@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_lengthen_export(store, lengthen_job, to, tmp_path):
    report = export_job(store, "len", "lengthen", to, tmp_path / "out", length_ratio=(0.5, 2.0))
    assert report.records == 2
    assert report.dropped == {"no_text": 0, "length_ratio": 1, "min_score": 0, "not_longer": 1,
                              "exact_duplicate": 0, "near_duplicate": 0}
    ds = load(report.path, to, tmp_path)
    assert ds.column_names == LENGTHEN_COLUMNS and ds.num_rows == 2
    gen, ext = ds[0], ds[1]
    assert (gen["role"], gen["section"], gen["line"], gen["sample"]) == ("generator", 1, 1, 0)
    assert gen["messages"] == [{"role": "user", "content": lengthen_job["generator_prompt"]},
                               {"role": "assistant", "content": lengthen_job["short"]}]
    assert ext["role"] == "extender"
    assert (ext["input_words"], ext["output_words"]) == (60, 150)
    prompt = ext["messages"][0]["content"]
    assert ESSAY in prompt and "Overview: The main idea" in prompt and lengthen_job["short"] in prompt
    assert ext["messages"][1] == {"role": "assistant", "content": lengthen_job["longer"]}
    assert (ext["score"], ext["model"], ext["job"]) == (90.0, "fake-model", "len")


def test_extender_record_without_plan_section():
    pair = RolePair(role="extender", section_index=2, input_text="short draft", output_text="a longer text here",
                    input_words=2, output_words=4)
    record = lengthen_record(_doc(0, 50), pair)
    assert record["section"] == 3
    assert record["messages"][0]["content"] == extend_prompt("i", "", "", "short draft")
    assert "section \"" not in record["messages"][0]["content"]


# card
def test_card_counts_histograms_and_loading(store, job, tmp_path):
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(0.0, 10.0), min_score=None)
    card = report.card_path.read_text(encoding="utf-8")
    assert card.startswith("---\nconfigs:\n- config_name: default\n  data_files: sft.jsonl\n")
    assert "# job1" in card
    assert "| records | 6 |" in card
    assert "| model | fake-model |" in card and "| engine | vllm |" in card
    assert "| length_ratio | 0 |" in card and "| near_duplicate | 0 |" in card
    assert "- min score: not used" in card and "- length ratio window" in card and "0.0 - 10.0" in card
    # words 1000, 600, 2100, 2000, 450, 500; the biggest bucket gets a 30-character bar
    assert f"| <500 | 1 | {'#' * 10} |" in card
    assert f"| 500-2k | 3 | {'#' * 30} |" in card
    assert f"| 2k-4k | 2 | {'#' * 20} |" in card
    assert "| 4k-10k | 0 |  |" in card and "| >10k | 0 |  |" in card
    # scores 90, 60, 80, 78, 70, unscored
    for row in ("| 0-50 | 0 |", "| 50-70 | 1 |", "| 70-85 | 3 |", "| 85-100 | 1 |", "| unscored | 1 |"):
        assert row in card
    assert 'datasets.load_dataset("json", data_files="sft.jsonl", split="train")' in card
    assert "trl.SFTTrainer" in card

    report = export_job(store, "job1", "dpo", "parquet", tmp_path / "out")
    card = report.card_path.read_text(encoding="utf-8")
    assert "data_files: dpo.parquet" in card and "| records | 1 |" in card and "| no_pair | 2 |" in card
    assert 'load_dataset("parquet", data_files="dpo.parquet"' in card and "trl.DPOTrainer" in card


def test_bucket_edges():
    assert [c for _, c in length_counts([0, 499, 500, 1999, 2000, 3999, 4000, 9999, 10000])] == [2, 2, 2, 2, 1]
    assert [c for _, c in score_counts([0, 49.9, 50, 69.9, 70, 84.9, 85, 100, None])] == [2, 2, 2, 2, 1]


@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_empty_result_writes_nothing_and_names_the_filter(store, job, to, tmp_path):
    with pytest.raises(EmptyExportError) as caught:
        export_job(store, "job1", "sft", to, tmp_path / "out", min_score=100)
    assert str(caught.value) == "0 of 6 documents passed the filters: 6 under min_score 100"
    assert caught.value.cli_message == "0 of 6 documents passed the filters: 6 under --min-score 100"
    assert caught.value.exit_code == 1
    assert not (tmp_path / "out").exists()  # no data file, no card, no folder


def _close_pair_job(store) -> None:
    """The issue's case: 2 instructions x 2 samples scored by length and rules only, each pair 2 points apart."""
    docs = [dict(line=line, sample=k, instruction=f"Write about topic {line}.", required_words=120, words=120,
                 scores=_scores(80 - 2 * k), text=prose(10 * line + k)) for line in (1, 2) for k in (0, 1)]
    make_job(store, "close", docs)


def test_cli_empty_dpo_export_exits_1_with_one_line_and_no_file(store, tmp_path):
    from typer.testing import CliRunner

    from writer.cli import app

    _close_pair_job(store)
    res = CliRunner().invoke(app, ["dataset", "export", "close", "--format", "dpo", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output
    assert res.stderr.splitlines() == ["error: 0 of 2 instructions had a pair with a margin of at least 5: lower "
                                       "--min-margin or judge with --judges quality,pairwise"]
    assert not (tmp_path / "out").exists()
    res = CliRunner().invoke(app, ["dataset", "export", "close", "--format", "dpo", "--out", str(tmp_path / "out"),
                                   "--min-margin", "1"])
    assert res.exit_code == 0 and (tmp_path / "out" / "dpo.jsonl").exists()
    assert "note: 2 of 2 pairs were chosen by length and rules scores alone" in res.stderr


# DPO pairs chosen by the judges
def _judged(sample: int, score: float, quality: float | None = None, checklist: float | None = None) -> Document:
    scores = {"length": 90.0, "rules": score, "score": score}
    scores.update({k: v for k, v in (("quality", quality), ("checklist", checklist)) if v is not None})
    return Document(job="j", model="m", line=1, sample=sample, run_id=f"r{sample}", instruction="i",
                    required_words=100, category=None, words=100, text=f"text {sample}", scores=scores)


def _verdict(first: str, second: str, winner: str) -> dict:
    return {"first_run_id": first, "second_run_id": second, "winner": winner, "consistent": winner != "tie",
            "judge_model": "judge-m", "orders": [{"shown_first": "first", "preferred": winner, "reason": "A reads on."},
                                                 {"shown_first": "second", "preferred": winner, "reason": "B loops."}]}


def test_pair_choice_prefers_the_pairwise_verdict_over_scores():
    docs = [_judged(0, 90, quality=80), _judged(1, 60, quality=40)]
    # the judges' scores prefer sample 0; the pairwise judge, in both orders, prefers sample 1: it decides
    verdicts = {frozenset(("r0", "r1")): _verdict("r0", "r1", "second")}
    choice, why = choose_pair(docs, verdicts, min_margin=5)
    assert why is None and (choice.chosen.sample, choice.rejected.sample) == (1, 0)
    assert choice.decided_by == ("pairwise",) and choice.verdict["orders"][1]["reason"] == "B loops."
    # a tie (the orders disagreed) is no verdict: the quality margin decides
    choice, _ = choose_pair(docs, {frozenset(("r0", "r1")): _verdict("r0", "r1", "tie")}, min_margin=5)
    assert (choice.chosen.sample, choice.decided_by) == (0, ("quality",))


def test_pair_choice_picks_the_clearest_of_several_verdicts():
    docs = [_judged(k, 70) for k in range(3)]
    # sample 2 beats both others and sample 0 loses to both: (2, 0) is the clearest preference
    verdicts = {frozenset(("r0", "r1")): _verdict("r0", "r1", "second"),
                frozenset(("r1", "r2")): _verdict("r1", "r2", "second"),
                frozenset(("r0", "r2")): _verdict("r0", "r2", "second")}
    choice, _ = choose_pair(docs, verdicts, min_margin=5)
    assert (choice.chosen.sample, choice.rejected.sample) == (2, 0)
    # verdicts on runs of other instructions are ignored; no margin applies to a pairwise verdict
    choice, _ = choose_pair(docs[:2], verdicts, min_margin=50)
    assert (choice.chosen.sample, choice.rejected.sample) == (1, 0)


def test_pair_choice_by_model_margin_then_rules():
    docs = [_judged(0, 60, quality=70, checklist=80), _judged(1, 90, quality=50, checklist=60),
            _judged(2, 75, quality=72, checklist=78)]
    choice, _ = choose_pair(docs, {}, min_margin=5)  # the model judges' mean, not the length/rules mean
    assert (choice.chosen.sample, choice.rejected.sample, choice.decided_by) == (0, 1, ("quality", "checklist"))
    assert choose_pair(docs, {}, min_margin=21) == (None, "small_margin")
    plain = [_judged(0, 60), _judged(1, 90)]
    choice, _ = choose_pair(plain, {}, min_margin=5)
    assert (choice.chosen.sample, choice.decided_by) == (1, ("length", "rules"))
    assert choose_pair([_judged(0, 60)], {}, min_margin=0) == (None, "too_few")


def test_dpo_export_uses_stored_pairwise_verdicts(store, tmp_path):
    docs = [dict(line=1, sample=k, instruction="Write about tides.", required_words=120, words=120,
                 scores={"length": 90.0, "rules": 90.0 - 30 * k, "quality": 80.0 - 40 * k, "score": 90.0 - 30 * k},
                 text=prose(40 + k)) for k in (0, 1)]
    make_job(store, "pw", docs)
    runs = [it.run_id for it in store.job_items("pw")]
    store.save_judgment(runs[0], "pairwise", 0.0, _verdict(runs[0], runs[1], "second"))
    report = export_job(store, "pw", "dpo", "jsonl", tmp_path / "out")
    (row,) = jsonl(report.path)
    assert (row["chosen_run_id"], row["rejected_run_id"], row["decided_by"]) == (runs[1], runs[0], ["pairwise"])
    assert row["margin"] == -30.0  # the pairwise verdict overrules the scores, and the record shows both
    pref = json.loads(row["preference_json"])
    assert pref["pairwise"]["winner_run_id"] == runs[1] and pref["pairwise"]["orders"][0]["reason"] == "A reads on."
    assert pref["model_scores"] == {"chosen": {"quality": 40.0}, "rejected": {"quality": 80.0}}
    assert report.decided_by == {"pairwise": 1} and report.note is None
    card = report.card_path.read_text()
    assert "## Preferences" in card and "| pairwise: the pairwise judge" in card


# errors
def test_bad_arguments(store, job, tmp_path):
    with pytest.raises(UsageError, match="unknown export format 'kto'"):
        export_job(store, "job1", "kto", "jsonl", tmp_path / "out")
    with pytest.raises(UsageError, match="unknown file type 'csv'"):
        export_job(store, "job1", "sft", "csv", tmp_path / "out")
    with pytest.raises(UsageError, match="output folder's parent does not exist"):
        export_job(store, "job1", "sft", "jsonl", tmp_path / "missing" / "out")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="output folder is a file"):
        export_job(store, "job1", "sft", "jsonl", tmp_path / "afile")
    with pytest.raises(UsageError, match="LOW <= HIGH"):
        export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(2.0, 1.0))
    with pytest.raises(UnknownJobError):
        export_job(store, "nope", "sft", "jsonl", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing is created before the arguments and the job check out
